/**
 * The tree comparison verify-image runs (src/engine/image/compareTrees.ts): the asynchronous walk
 * reports exactly what the synchronous one does, in the same order; and SpecialNodes.touches
 * (consulted several times per applied entry) matches a queued path and its directories only.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { compareTrees, compareTreesAsync } from "../../src/engine/image/compareTrees";
import { SpecialNodes } from "../../src/engine/image/specialNodes";

const work = fs.mkdtempSync(join(tmpdir(), "layerscope-cmp-"));
after(() => fs.rmSync(work, { recursive: true, force: true }));

function tree(name: string, files: Record<string, string | { link: string } | { dir: true; mode?: number }>): string {
    const root = join(work, name);
    fs.mkdirSync(root);
    for (const [rel, spec] of Object.entries(files)) {
        const p = join(root, rel);
        if (typeof spec === "string") {
            fs.writeFileSync(p, spec);
            fs.utimesSync(p, 1700000000, 1700000000);
        } else if ("link" in spec) {
            fs.symlinkSync(spec.link, p);
            fs.lutimesSync(p, 1700000000, 1700000000);
        } else {
            fs.mkdirSync(p, { mode: spec.mode ?? 0o755 });
            fs.chmodSync(p, spec.mode ?? 0o755);
        }
    }
    for (const rel of Object.keys(files).reverse()) {
        if (typeof files[rel] === "object" && "dir" in (files[rel] as object)) fs.utimesSync(join(root, rel), 1700000000, 1700000000);
    }
    fs.utimesSync(root, 1700000000, 1700000000);
    return root;
}

describe("compareTrees", () => {
    const a = tree("a", {
        etc: { dir: true },
        "etc/os-release": "ID=a\n",
        "etc/same": "same\n",
        bin: { dir: true, mode: 0o755 },
        "bin/sh": { link: "busybox" },
        "only-a": "x",
        big: "0123456789".repeat(300_000),
    });
    const b = tree("b", {
        etc: { dir: true },
        "etc/os-release": "ID=b\n",
        "etc/same": "same\n",
        bin: { dir: true, mode: 0o700 },
        "bin/sh": { link: "dash" },
        "only-b": "y",
        big: "0123456789".repeat(299_999) + "012345678X",
    });

    it("the asynchronous walk reports what the synchronous one does, in order", async () => {
        const sync = compareTrees(a, b);
        assert.deepEqual(await compareTreesAsync(a, b), sync);
        assert.equal(sync.length, 6, sync.join("\n"));
        assert.match(sync[0]!, /^big: content [0-9a-f]{64} vs [0-9a-f]{64}$/);
        assert.equal(sync[1], "bin: mode 755 vs 700");
        assert.equal(sync[2], "bin/sh: target busybox vs dash");
        assert.match(sync[3]!, /^etc\/os-release: content /);
        assert.equal(sync[4], "only-a: only in the image's tree");
        assert.equal(sync[5], "only-b: only in the recomputed tree");
    });

    it("equal trees give no differences; the limit bounds the list", async () => {
        assert.deepEqual(await compareTreesAsync(a, a), []);
        assert.deepEqual(await compareTreesAsync(a, b, { limit: 2 }), compareTrees(a, b, 2));
        assert.equal((await compareTreesAsync(a, b, { limit: 2 })).length, 2);
    });

    it("an aborted signal stops the walk with Canceled", async () => {
        await assert.rejects(compareTreesAsync(a, b, { signal: AbortSignal.abort() }), (e: { code?: string }) => e.code === "Canceled");
    });
});

describe("SpecialNodes.touches", () => {
    it("a queued path and the directories above it, nothing else", () => {
        const s = new SpecialNodes();
        assert.equal(s.touches(Buffer.from("/r/a")), false);
        s.mknod(Buffer.from("/r/a/b/c"), { kind: "p", major: 0, minor: 0, mode: 0o644, uid: -1, gid: -1, mtimeNs: null });
        s.setXattr(Buffer.from("/r/x\xff/y", "latin1"), "user.k", Buffer.from("v"));
        for (const p of ["/r/a/b/c", "/r/a/b", "/r/a", "/r", "/r/x\xff/y", "/r/x\xff"]) assert.equal(s.touches(Buffer.from(p, "latin1")), true, p);
        for (const p of ["/r/a/b/c/d", "/r/a/bc", "/r/a/b/", "/r/ab", "/r/x", "/q"]) assert.equal(s.touches(Buffer.from(p, "latin1")), false, p);
    });
});
