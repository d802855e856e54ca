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
 *
 * ENOSPC: test/integration/diskFull.test.ts; the fixture and the checks after each run are
 * shared: test/helpers/faultSweep.ts.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { closeSync, mkdirSync, mkdtempSync, openSync, readSync, readdirSync, rmSync, truncateSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { after, before, describe, it } from "node:test";
import { FaultSweep, SWEEP_OPS, run, type RunResult, type SweepOp } from "../helpers/faultSweep";

const DEVICE_BYTES = 16 << 20;
const BLOCK = 1024;
/** Bitmaps, inode tables and reserved GDT blocks of all groups end before this (dumpe2fs). */
const METADATA_END = 3 << 19;
/** Cut points tried per command (LAYERSCOPE_EIO_CASES). */
const CASES = Math.max(3, Number(process.env.LAYERSCOPE_EIO_CASES ?? 8));

function sh(cmd: string, args: string[], okCodes: number[] = [0]): string {
    const r = spawnSync(cmd, args, { encoding: "utf8" });
    if (!okCodes.includes(r.status ?? -1)) throw new Error(`${cmd} ${args.join(" ")}: exit ${r.status}: ${r.stderr}${r.error ?? ""}`);
    return r.stdout;
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

/** CASES cuts from METADATA_END to the whole device (the last: no fault), on block boundaries. */
function cuts(): number[] {
    const lo = METADATA_END;
    return Array.from({ length: CASES }, (_, i) => lo + Math.round(((DEVICE_BYTES - lo) * i) / (CASES - 1) / BLOCK) * BLOCK);
}

describe("I/O errors (EIO) during compute, convert and import", { skip: skip ?? undefined }, () => {
    const lostFound = join(mnt, "lost+found");
    const sweep = new FaultSweep({
        work,
        mnt,
        osId: "eio",
        reset: () => {
            for (const n of readdirSync(lostFound)) rmSync(join(lostFound, n), { recursive: true, force: true });
        },
    });
    /** Per op: what each failed run was doing and under which store folder ("finishing ingest … state/ingest/"). */
    const hit: Partial<Record<SweepOp, Set<string>>> = {};
    after(() => {
        sweep.dispose();
        const line = Object.entries(sweep.tried).map(([op, t]) => `${op} ${t.failed + t.passed} (${t.failed} hit EIO: ${[...(hit[op as SweepOp] ?? [])].sort().join("; ")})`).join(", ");
        process.stdout.write(`# EIO sweep: ${line}; no blob lost, no partial file, verify passed after each\n`);
    });
    before(() => sweep.makeFixture());

    for (const op of SWEEP_OPS) {
        it(`${op}: the device cut at ${CASES} places, the last one whole`, { timeout: 1_800_000 }, () => {
            const seen = (hit[op] = new Set());
            for (const cut of cuts()) {
                const where = `${op} with the device cut at ${cut} bytes`;
                const cutShort = (argv: string[]): RunResult => {
                    const tail = fail(cut);
                    try {
                        return run(argv);
                    } finally {
                        heal(cut, tail);
                    }
                };
                sweep.runCase(op, where, cutShort, (r) => {
                    const m = /^layerscope \w+: (\/.*?): input\/output error \(EIO, while (.*?)\): the disk or filesystem failed; check the device \(dmesg\)/.exec(r.stderr);
                    assert.ok(m, `${where}: the EIO message: ${r.stderr}`);
                    seen.add(`${m[2].replace(/"[^"]*"/g, "…")} ${relative(join(mnt, "case"), m[1]).split("/").slice(0, 2).join("/")}/`);
                });
            }
            sweep.assertBothOutcomes(op, "failing and whole", { while: [...seen] });
        });
    }

    it("the sweeps failed both blob data and metadata writes", () => {
        const hits = Object.values(hit).flatMap((t) => [...t]);
        assert.ok(hits.some((h) => / state\/ingest\/$/.test(h)), `blob data: ${hits.join("; ")}`);
        assert.ok(hits.some((h) => / state\/(meta|refs|labels)\/$/.test(h)), `metadata: ${hits.join("; ")}`);
    });
});
