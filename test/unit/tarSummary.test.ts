/**
 * TarSummary on tars GNU tar writes (gnu and posix formats, long names, PAX records, 10240-byte
 * records) and on the layer tars our own writer makes: entries, formats and trailers as
 * `tar` itself lists them; the running digest is the tar's sha256.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { writeDiff } from "../../src/engine";
import { TarSummary } from "../../src/engine/roots/tarSummary";

let dir: string;
const long = `${"d".repeat(60)}/${"f".repeat(70)}.txt`;
before(() => {
    dir = mkdtempSync(path.join(tmpdir(), "tar-summary-"));
    const t = path.join(dir, "tree");
    mkdirSync(path.join(t, "d".repeat(60)), { recursive: true });
    writeFileSync(path.join(t, long), "long\n");
    writeFileSync(path.join(t, "a.txt"), "a".repeat(1000));
    symlinkSync("a.txt", path.join(t, "link"));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function summarize(bytes: Buffer, chunk = 777): TarSummary {
    const s = new TarSummary("test");
    for (let i = 0; i < bytes.length; i += chunk) s.write(bytes.subarray(i, i + chunk));
    return s;
}

const hasTar = spawnSync("tar", ["--version"]).status === 0;

describe("TarSummary", { skip: hasTar ? undefined : "needs GNU tar" }, () => {
    for (const format of ["gnu", "posix"] as const) {
        it(`reads GNU tar --format=${format}: long names, links, sizes, content hashes, 10240-byte records`, () => {
            const out = path.join(dir, `${format}.tar`);
            const r = spawnSync("tar", [`--format=${format}`, "--sort=name", "--owner=0", "--group=0", "--numeric-owner", "-C", path.join(dir, "tree"), "-cf", out, "."]);
            assert.equal(r.status, 0, String(r.stderr));
            const bytes = readFileSync(out);
            const s = summarize(bytes);
            assert.equal(s.digest(), `sha256:${createHash("sha256").update(bytes).digest("hex")}`);
            assert.ok(s.formats.has(format === "gnu" ? "gnu" : "ustar"));
            const byName = new Map(s.entries.map((e) => [e.name, e]));
            assert.equal(byName.get(long)!.sha256, createHash("sha256").update("long\n").digest("hex"));
            assert.equal(byName.get("a.txt")!.size, 1000);
            assert.equal(byName.get("link")!.type, "symlink");
            assert.equal(byName.get("link")!.linkname, "a.txt");
            assert.equal(bytes.length % 10240, 0);
            assert.ok(s.trailer() >= 1024);
            if (format === "posix") assert.ok(s.paxNames.some((n) => n.includes("PaxHeaders")));
        });
    }

    it("reads the layer tar our writer makes: two zero blocks, ustar/PAX, no names", async () => {
        const empty = path.join(dir, "empty");
        mkdirSync(empty);
        const s = new TarSummary("ours");
        const r = await writeDiff({ lower: empty, upper: path.join(dir, "tree"), output: s });
        assert.equal(s.digest(), r.diffID);
        assert.equal(s.trailer(), 1024);
        assert.ok(!s.formats.has("gnu"));
        assert.ok(s.entries.every((e) => e.uname === "" && e.gname === ""));
        assert.deepEqual(s.entries.find((e) => e.name === long)?.size, 5);
    });

    it("a header with a bad size is Corrupt, not a crash", () => {
        const h = Buffer.alloc(512);
        h.write("x.txt");
        h.write("zzzzzzzzzzz", 124);
        assert.throws(() => summarize(Buffer.concat([h, Buffer.alloc(1024)])), /not a readable tar/);
    });
});
