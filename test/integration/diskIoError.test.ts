/**
 * I/O errors (EIO): the state directory (and, for import, the workspace) on an ext4 filesystem
 * without a journal on a loop device the test sets up (as root). To fail, the device is shrunk under the mounted
 * filesystem: the backing file is cut at C bytes (its tail kept aside) and `losetup -c` reloads
 * the size, so every write the filesystem sends past C ends in "attempt to access beyond end of
 * device" and fsync(2) returns EIO, as on a disk with bad sectors. No journal: a journal write
 * on the lost sectors would abort the filesystem (EROFS), not fail the write.
 * A sweep of C over the device lands the failure on blob data, ingest set-up, records and
 * snapshot copies (import). Then the device is healed (tail put back, size reloaded, e2fsck,
 * mounted afresh so nothing is read from the page cache): the store is sound (no partial blob,
 * whole metadata), every blob that was there before is still there and whole, verify passes,
 * and the next run finishes with the digests of a run that never failed.
 * Skips without root, losetup, mkfs.ext4/e2fsck (Debian e2fsprogs) or a free loop device.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, readdirSync, rmSync, truncateSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { after, before, describe, it } from "node:test";
import { Rng } from "../helpers/rng";
import { blobDigests, leftovers, storeProblems } from "../helpers/storeInvariants";
import { WorkspaceKit } from "../helpers/workspaceKit";

const cli = join(__dirname, "..", "..", "..", "dist", "cli.js");
const DEVICE_BYTES = 16 << 20;
const BLOCK = 1024;
/** Bitmaps, inode tables and reserved GDT blocks of all groups end before this (dumpe2fs). */
const METADATA_END = 3 << 19;
/** Cut points tried per command (LAYERSCOPE_EIO_CASES). */
const CASES = Math.max(3, Number(process.env.LAYERSCOPE_EIO_CASES ?? 8));

function run(args: string[]): { code: number; stdout: string; stderr: string } {
    const r = spawnSync(process.execPath, [cli, ...args], { encoding: "utf8" });
    return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function ok(args: string[]): string {
    const r = run(args);
    assert.equal(r.code, 0, `layerscope ${args.join(" ")}: ${r.stderr}`);
    return r.stdout;
}

function sh(cmd: string, args: string[], okCodes: number[] = [0]): string {
    const r = spawnSync(cmd, args, { encoding: "utf8" });
    if (!okCodes.includes(r.status ?? -1)) throw new Error(`${cmd} ${args.join(" ")}: exit ${r.status}: ${r.stderr}${r.error ?? ""}`);
    return r.stdout;
}

function noise(n: number, salt: number): Buffer {
    const rng = new Rng(salt);
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i += 4) b.writeUInt32LE(rng.next(), i);
    return b;
}

function digestsOf(json: string): unknown {
    const out = JSON.parse(json) as { refs: Array<{ id: string; diffID: string | null; chainID: string | null; blob: { digest: string } | null; variants: Array<{ digest: string }> }> };
    return out.refs.map((r) => ({ id: r.id, diffID: r.diffID, chainID: r.chainID, blob: r.blob?.digest ?? null, variants: r.variants.map((v) => v.digest).sort() }));
}

const work = mkdtempSync(join(tmpdir(), "layerscope-eio-"));
const img = join(work, "disk.img");
const mnt = join(work, "mnt");
let dev = "";

/** Makes the filesystem on a loop device and mounts it; returns why it cannot, or null. */
function setUp(): string | null {
    if (process.getuid?.() !== 0) return "needs root for a loop device and mount (CI runs as root)";
    for (const tool of ["losetup", "mkfs.ext4", "e2fsck"]) {
        if (spawnSync(tool, ["-V"]).error) return `${tool} is not installed (Debian: mount, e2fsprogs)`;
    }
    mkdirSync(mnt);
    closeSync(openSync(img, "w"));
    truncateSync(img, DEVICE_BYTES);
    // No journal; 1 KiB blocks, 8 groups of 2 MiB: the allocator spreads directories over the
    // groups, so the sweep of the cut meets file data and directory blocks of every kind of
    // file. flex_bg keeps every group's bitmaps and inode table in the first METADATA_END bytes,
    // which no cut reaches: a filesystem that cannot read its bitmaps answers ENOMEM or ENOENT
    // to mkdir (seen here), not EIO.
    const mk = spawnSync("mkfs.ext4", ["-q", "-F", "-O", "^has_journal,flex_bg", "-b", String(BLOCK), "-g", "2048", img], { encoding: "utf8" });
    if (mk.status !== 0) return `mkfs.ext4 failed: ${mk.stderr.trim()}`;
    const lo = spawnSync("losetup", ["-f", "--show", img], { encoding: "utf8" });
    if (lo.status !== 0) return `no loop device: ${lo.stderr.trim()}`;
    dev = lo.stdout.trim();
    const m = spawnSync("mount", ["-t", "ext4", "-o", "errors=continue", dev, mnt], { encoding: "utf8" });
    return m.status === 0 ? null : `cannot mount ext4 from ${dev}: ${m.stderr.trim()}`;
}

const skip = setUp();
after(() => {
    spawnSync("umount", [mnt]);
    if (dev) spawnSync("losetup", ["-d", dev]);
    rmSync(work, { recursive: true, force: true });
});

/** The device ends at `cut`: what the filesystem writes past it fails (EIO). Returns the tail. */
function fail(cut: number): Buffer {
    sh("sync", ["-f", mnt]);
    const tail = Buffer.alloc(DEVICE_BYTES - cut);
    const fd = openSync(img, "r");
    try {
        readSync(fd, tail, 0, tail.length, cut);
    } finally {
        closeSync(fd);
    }
    truncateSync(img, cut);
    sh("losetup", ["-c", dev]);
    return tail;
}

/** The sectors come back with what they held before the fault; a fresh mount reads the disk. */
function heal(cut: number, tail: Buffer): void {
    sh("umount", [mnt]);
    const fd = openSync(img, "r+");
    try {
        writeSync(fd, tail, 0, tail.length, cut);
    } finally {
        closeSync(fd);
    }
    sh("losetup", ["-c", dev]);
    // Writes the filesystem lost (bitmaps, inodes, directory blocks) are what e2fsck is for.
    sh("e2fsck", ["-f", "-y", dev], [0, 1]);
    sh("mount", ["-t", "ext4", "-o", "errors=continue", dev, mnt]);
}

interface Case {
    readonly op: "compute" | "convert" | "import";
    readonly cut: number;
}

describe("I/O errors (EIO) during compute, convert and import", { skip: skip ?? undefined }, () => {
    const kit = new WorkspaceKit();
    const layout = join(work, "layout");
    const want: Record<string, unknown> = {};
    const tried: Record<string, { failed: number; passed: number; while: Set<string> }> = {};
    after(() => {
        kit.dispose();
        const line = Object.entries(tried).map(([op, t]) => `${op} ${t.failed + t.passed} (${t.failed} hit EIO: ${[...t.while].sort().join("; ")})`).join(", ");
        process.stdout.write(`# EIO sweep: ${line}; no blob lost, no partial file, verify passed after each\n`);
    });

    before(() => {
        kit.snapshot("base", { from: null, write: { "data/a.bin": noise(96 << 10, 1), "etc/os-release": "ID=eio\n" } });
        kit.snapshot("app", { from: "base", write: { "app/b.bin": noise(64 << 10, 2) } });
        kit.snapshot("other", { from: null, write: { "opt/d.bin": noise(64 << 10, 3) } });
        kit.refs([
            { id: "base", snapshot: "snapshots/base" },
            { id: "app", parent: "base", snapshot: "snapshots/app" },
            { id: "other", snapshot: "snapshots/other" },
        ]);
        const ref = join(work, "ref-state");
        ok(["compute", kit.dir, "--ref", "other", "--state", ref]);
        want.compute = digestsOf(ok(["compute", kit.dir, "--ref", "app", "--state", ref, "--json"]));
        want.convert = digestsOf(ok(["convert", kit.dir, "--ref", "app", "--compression", "zstd", "--state", ref, "--json"]));
        ok(["export", kit.dir, "--ref", "app", "--oci", layout, "--state", ref]);
        want.import = digestsOf(ok(["import", layout, join(work, "ref-import"), "--id", "img", "--json"]));
    });

    /** A store holding "other" (and for convert, app's blobs): what must survive. */
    function prepare(c: Case): { argv: string[]; state: string; ws: string } {
        const dir = join(mnt, "case");
        rmSync(dir, { recursive: true, force: true });
        for (const n of readdirSync(join(mnt, "lost+found"))) rmSync(join(mnt, "lost+found", n), { recursive: true, force: true });
        const state = join(dir, "state");
        ok(["compute", kit.dir, "--ref", "other", "--state", state]);
        if (c.op === "convert") ok(["compute", kit.dir, "--ref", "app", "--state", state]);
        switch (c.op) {
            case "compute":
                return { argv: ["compute", kit.dir, "--ref", "app", "--state", state, "--json"], state, ws: kit.dir };
            case "convert":
                return { argv: ["convert", kit.dir, "--ref", "app", "--compression", "zstd", "--state", state, "--json"], state, ws: kit.dir };
            case "import": {
                const ws = join(dir, "ws");
                return { argv: ["import", layout, ws, "--id", "img", "--state", state, "--json"], state, ws };
            }
        }
    }

    function blobHashes(state: string): Map<string, string> {
        return new Map(blobDigests(state).map((d) => [d, createHash("sha256").update(readFileSync(join(state, "blobs", "sha256", d.slice(7)))).digest("hex")]));
    }

    /** CASES cuts from METADATA_END to the whole device (the last: no fault), on block boundaries. */
    function cuts(op: Case["op"]): Case[] {
        const lo = METADATA_END;
        return Array.from({ length: CASES }, (_, i) => ({ op, cut: lo + Math.round(((DEVICE_BYTES - lo) * i) / (CASES - 1) / BLOCK) * BLOCK }));
    }

    for (const op of ["compute", "convert", "import"] as const) {
        it(`${op}: the device cut at ${CASES} places, the last one whole`, { timeout: 1_800_000 }, () => {
            tried[op] = { failed: 0, passed: 0, while: new Set() };
            for (const c of cuts(op)) {
                const where = `${op} with the device cut at ${c.cut} bytes`;
                const { argv, state, ws } = prepare(c);
                const before = blobHashes(state);
                const tail = fail(c.cut);
                let r: ReturnType<typeof run>;
                try {
                    r = run(argv);
                } finally {
                    heal(c.cut, tail);
                }
                if (r.code === 0) {
                    tried[op].passed++;
                    assert.deepEqual(digestsOf(r.stdout), want[op], where);
                } else {
                    tried[op].failed++;
                    assert.equal(r.code, 1, `${where}: ${r.stderr}`);
                    const m = /^layerscope \w+: (\/.*?): input\/output error \(EIO, while (.*?)\): the disk or filesystem failed; check the device \(dmesg\)/.exec(r.stderr);
                    assert.ok(m, `${where}: the EIO message: ${r.stderr}`);
                    tried[op].while.add(`${m[2].replace(/"[^"]*"/g, "…")} ${relative(join(mnt, "case"), m[1]).split("/").slice(0, 2).join("/")}/`);
                    assert.ok(r.stderr.includes(mnt), `${where}: the error names the path: ${r.stderr}`);
                    assert.doesNotMatch(r.stderr, /\n\s+at /, `${where}: no stack trace`);
                }
                assert.deepEqual(storeProblems(state), [], where);
                const afterRun = blobHashes(state);
                for (const [d, h] of before) assert.equal(afterRun.get(d), h, `${where}: blob ${d} was there before`);
                if (existsSync(join(ws, "layerscope.json"))) {
                    const v = run(["verify", ws, "--state", state, "--json"]);
                    assert.equal(v.code, 0, `${where}: verify: ${v.stdout}${v.stderr}`);
                }
                // Device healthy again: the next run finishes as if nothing had happened.
                if (r.code !== 0) {
                    const again = op === "import" && existsSync(join(ws, "layerscope.json")) ? ok(["compute", ws, "--state", state, "--json"]) : ok(argv);
                    assert.deepEqual(digestsOf(again), want[op], `${where}: the next run`);
                }
                assert.deepEqual(leftovers(state), [], `${where}: left over`);
            }
            assert.ok(tried[op].failed > 0 && tried[op].passed > 0, `${op}: the sweep covers both failing and whole (${JSON.stringify({ ...tried[op], while: [...tried[op].while] })})`);
        });
    }

    it("the sweeps failed both blob data and metadata writes", () => {
        const hits = Object.values(tried).flatMap((t) => [...t.while]);
        assert.ok(hits.some((h) => / state\/ingest\/$/.test(h)), `blob data: ${hits.join("; ")}`);
        assert.ok(hits.some((h) => / state\/(meta|refs|labels)\/$/.test(h)), `metadata: ${hits.join("; ")}`);
    });
});
