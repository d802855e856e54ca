#!/usr/bin/env node
/**
 * Issue 6's large-input check: seeded random layer tars from 0 bytes to hundreds of MB
 * (compressible text-like, random, mixed), compressed by `layerscope compress` (dist/cli.js) and
 * by the oracle at every gzip level BuildKit can ask for (-2 HuffmanOnly: v0.10.6 passes
 * `compression-level` straight to gzip.NewWriterLevel, blobs.go:490; -1; 0…9), as gzip and as
 * eStargz (the oracle's `estargz-lossless`, BuildKit's writer). Blob digests, diffIDs and eStargz
 * TOC digests must be equal. One tar at a time is written to a temporary directory and removed
 * after its levels; the two compressors run side by side.
 *
 *   node test/conformance/largeCompress.mjs [--small] [--max-mib N] [--seed S] [--levels -1,6]
 *                                           [--cases 8,9] [--formats gzip,estargz]
 *
 * --small is what `npm test` runs (largeCompress.test.ts): a few MB, every level. The default is
 * the full run (up to --max-mib, 300 by default). Needs LAYERSCOPE_ORACLE (or the oracle at
 * ~/.cache/layerscope-oracle/oracle). Prints one line per case and level, then a summary; exit 1
 * on any mismatch.
 */
import { execFile } from "node:child_process";
import { createCipheriv, createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const MiB = 1 << 20;
const ALL_LEVELS = [-2, -1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9];

function parseArgs(argv) {
    const a = { small: false, maxMiB: 300, seed: 6, levels: ALL_LEVELS, cases: null, formats: ["gzip", "estargz"] };
    for (let i = 0; i < argv.length; i++) {
        const k = argv[i];
        if (k === "--small") a.small = true;
        else if (k === "--max-mib") a.maxMiB = Number(argv[++i]);
        else if (k === "--seed") a.seed = Number(argv[++i]);
        else if (k === "--levels") a.levels = argv[++i].split(",").map(Number);
        else if (k === "--cases") a.cases = argv[++i].split(",").map(Number);
        else if (k === "--formats") a.formats = argv[++i].split(",");
        else throw new Error(`unknown argument ${k}`);
    }
    return a;
}

/** The cases: [label, kind, approximate bytes]; "raw0" is a 0-byte input (not a tar). */
function plan(a) {
    if (a.small) {
        return [
            ["0 bytes", "raw0", 0],
            ["empty tar", "text", 0],
            ["200 KiB mixed", "mixed", 200 << 10],
            ["2 MiB mixed", "mixed", 2 * MiB],
        ];
    }
    const cap = (n) => Math.min(n, a.maxMiB * MiB);
    return [
        ["0 bytes", "raw0", 0],
        ["empty tar", "text", 0],
        ["3 KiB text", "text", 3 << 10],
        ["300 KiB random", "random", 300 << 10],
        ["300 KiB mixed", "mixed", 300 << 10],
        ["16 MiB text", "text", cap(16 * MiB)],
        ["16 MiB random", "random", cap(16 * MiB)],
        ["64 MiB mixed", "mixed", cap(64 * MiB)],
        [`${a.maxMiB} MiB text`, "text", a.maxMiB * MiB],
        [`${a.maxMiB} MiB mixed`, "mixed", a.maxMiB * MiB],
    ];
}

// --- seeded content ----------------------------------------------------------------------------

/** xorshift32: sizes, names and choices. */
class Rng {
    constructor(seed) {
        this.s = seed >>> 0 || 0x9e3779b9;
    }
    next() {
        let x = this.s;
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        this.s = x >>> 0;
        return this.s;
    }
    below(n) {
        return this.next() % n;
    }
}

/** Seeded incompressible bytes: AES-128-CTR of zeros under a key derived from the seed. */
function randomStream(seed) {
    const key = createHash("sha256").update(`layerscope-large-${seed}`).digest();
    return createCipheriv("aes-128-ctr", key.subarray(0, 16), key.subarray(16, 32));
}

const WORDS = "layer blob digest chain snapshot overlay whiteout tar gzip zstd estargz toc chunk offset manifest config index lease label content store ingest commit parent merge diff upper lower mount rootfs image build cache ref".split(" ");

/** `n` bytes of a kind: text (words and numbers in lines), random, or mixed runs of both, zeros and repeats. */
function content(kind, n, rng, rand) {
    const out = Buffer.allocUnsafe(n);
    let off = 0;
    const text = (len) => {
        while (len > 0) {
            const w = `${WORDS[rng.below(WORDS.length)]}${rng.below(7) === 0 ? `=${rng.below(100000)}` : ""}${rng.below(11) === 0 ? "\n" : " "}`;
            const k = Math.min(len, w.length);
            out.write(w.slice(0, k), off, "latin1");
            off += k;
            len -= k;
        }
    };
    const random = (len) => {
        const r = rand.update(Buffer.alloc(len));
        r.copy(out, off);
        off += len;
    };
    while (off < n) {
        const left = n - off;
        if (kind === "text") text(Math.min(left, 1 << 16));
        else if (kind === "random") random(Math.min(left, 1 << 16));
        else {
            const len = Math.min(left, 1 + rng.below(1 << (8 + rng.below(10))));
            const pick = rng.below(5);
            if (pick <= 1) text(len);
            else if (pick === 2) random(len);
            else if (pick === 3) {
                out.fill(0, off, off + len);
                off += len;
            } else {
                const unit = out.subarray(Math.max(0, off - 1 - rng.below(300)), off);
                for (let i = 0; i < len; i++) out[off + i] = unit.length ? unit[i % unit.length] : 0x41;
                off += len;
            }
        }
    }
    return out;
}

// --- a tar, streamed to a file ---------------------------------------------------------------

function octal(n, width) {
    return `${n.toString(8).padStart(width - 1, "0")}\0`;
}

function header(name, size, typeflag, mtime, linkname = "") {
    const h = Buffer.alloc(512);
    h.write(name, 0, 100, "utf8");
    h.write(octal(typeflag === "5" ? 0o755 : typeflag === "2" ? 0o777 : 0o644, 8), 100, "latin1");
    h.write(octal(0, 8), 108, "latin1");
    h.write(octal(0, 8), 116, "latin1");
    h.write(octal(size, 12), 124, "latin1");
    h.write(octal(mtime, 12), 136, "latin1");
    h.write("        ", 148, "latin1");
    h.write(typeflag, 156, "latin1");
    h.write(linkname, 157, 100, "utf8");
    h.write("ustar\x0000", 257, "latin1");
    h.write(octal(0, 8), 329, "latin1");
    h.write(octal(0, 8), 337, "latin1");
    let sum = 0;
    for (const b of h) sum += b;
    h.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "latin1");
    return h;
}

/**
 * Writes a tar of about `target` bytes: directories, symlinks, empty files, small files and a
 * few large ones (crossing eStargz's 4 MiB chunk size, one exactly 4 MiB), all of `kind`.
 */
function writeTar(file, kind, target, seed) {
    const fd = fs.openSync(file, "w");
    const rng = new Rng(seed);
    const rand = randomStream(seed);
    const mtime = 1700000000 + rng.below(1e6);
    let total = 0;
    let n = 0;
    const put = (b) => {
        fs.writeSync(fd, b);
        total += b.length;
    };
    try {
        const sizes = [];
        if (target >= 12 * MiB) sizes.push(4 * MiB, 4 * MiB + 1, 9 * MiB + 7);
        while (total < target) {
            const dir = `d${n}/`;
            put(header(dir, 0, "5", mtime));
            put(header(`${dir}link`, 0, "2", mtime, `../d${n}/f0`));
            put(header(`${dir}empty`, 0, "0", mtime));
            const files = 1 + rng.below(12);
            for (let i = 0; i < files && total < target; i++) {
                const left = target - total;
                const big = sizes.shift();
                const size = big ?? Math.min(left, rng.below(8) === 0 ? rng.below(3 * MiB) : rng.below(40000));
                put(header(`${dir}f${i}.${kind === "random" ? "bin" : "txt"}`, size, "0", mtime + i));
                for (let off = 0; off < size; off += MiB) {
                    put(content(kind, Math.min(MiB, size - off), rng, rand));
                }
                if (size % 512) put(Buffer.alloc(512 - (size % 512)));
            }
            n++;
        }
        put(Buffer.alloc(1024));
    } finally {
        fs.closeSync(fd);
    }
    return total;
}

// --- the comparison ----------------------------------------------------------------------------

function run(cmd, args) {
    return new Promise((resolve) => {
        execFile(cmd, args, { maxBuffer: 1 << 26 }, (err, stdout, stderr) => {
            let json = null;
            try {
                json = JSON.parse(stdout.trim().split("\n").pop());
            } catch {
                // reported below
            }
            resolve({ ok: !err && json !== null && json.ok !== false, json, stderr: String(stderr).trim() });
        });
    });
}

async function compareOne(oracle, tar, format, level) {
    const mode = format === "gzip" ? "gzip" : "estargz-lossless";
    const [ours, theirs] = await Promise.all([
        run(process.execPath, [path.join(repo, "dist", "cli.js"), "compress", tar, "--compression", format, "--level", String(level), "--json"]),
        run(oracle, ["compress", "--level", String(level), mode, tar, "/dev/null"]),
    ]);
    if (!ours.ok || !theirs.ok) {
        // Both refusing the same input (a 0-byte "tar" for eStargz) is agreement.
        const both = !ours.ok && !theirs.ok;
        return { match: both, detail: both ? "both refuse" : `ours ${ours.ok ? "ok" : ours.stderr} / oracle ${theirs.ok ? "ok" : theirs.stderr}` };
    }
    const o = ours.json;
    const t = theirs.json;
    const diffs = [];
    if (o.digest !== t.digest) diffs.push(`digest ${o.digest} != ${t.digest}`);
    if (o.size !== t.size) diffs.push(`size ${o.size} != ${t.size}`);
    if (o.diffID !== t.diffID) diffs.push(`diffID ${o.diffID} != ${t.diffID}`);
    if (format === "estargz") {
        const toc = o.annotations?.["containerd.io/snapshot/stargz/toc.digest"];
        if (toc !== t.tocDigest) diffs.push(`toc ${toc} != ${t.tocDigest}`);
    }
    return { match: diffs.length === 0, detail: diffs.join("; ") || `${o.digest.slice(0, 19)}… ${o.size} B` };
}

async function main() {
    const a = parseArgs(process.argv.slice(2));
    const oracle = process.env.LAYERSCOPE_ORACLE || path.join(os.homedir(), ".cache", "layerscope-oracle", "oracle");
    if (!fs.existsSync(oracle)) throw new Error(`no oracle at ${oracle} (set LAYERSCOPE_ORACLE)`);
    if (!fs.existsSync(path.join(repo, "dist", "cli.js"))) throw new Error("dist/cli.js is missing: npm run build");
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "layerscope-large-"));
    const t0 = performance.now();
    let compared = 0;
    let mismatches = 0;
    let bytes = 0;
    try {
        for (const [i, [label, kind, size]] of plan(a).entries()) {
            if (a.cases && !a.cases.includes(i)) continue;
            const tar = path.join(tmp, `case-${i}.tar`);
            const seed = a.seed * 1000 + i;
            const actual = kind === "raw0" ? (fs.writeFileSync(tar, ""), 0) : writeTar(tar, kind, size, seed);
            bytes += actual;
            for (const format of a.formats) {
                for (const level of a.levels) {
                    const t = performance.now();
                    const r = await compareOne(oracle, tar, format, level);
                    compared++;
                    if (!r.match) mismatches++;
                    const secs = ((performance.now() - t) / 1000).toFixed(1);
                    process.stdout.write(`${r.match ? "ok  " : "FAIL"} ${label} (${actual} B, seed ${seed}) ${format} level ${level}: ${r.detail} [${secs} s]\n`);
                }
            }
            fs.rmSync(tar, { force: true });
        }
    } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
    }
    const secs = (performance.now() - t0) / 1000;
    process.stdout.write(`\nlargeCompress: ${compared} comparisons (levels ${a.levels.join(",")}; ${a.formats.join(" and ")}), ${(bytes / MiB).toFixed(1)} MiB of tars, ${mismatches} mismatches, ${secs.toFixed(0)} s\n`);
    process.exitCode = mismatches === 0 ? 0 : 1;
}

main().catch((err) => {
    process.stderr.write(`largeCompress: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 2;
});
