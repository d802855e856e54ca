/**
 * Fast, deterministic synthetic content for the bench input. Nothing here calls
 * crypto.randomBytes per file: two 1 MiB blocks (one random, one text-like) are made once from a
 * seeded PRNG, and every file is cut from them with a per-file rotation, plus a per-chunk XOR key
 * (random kind) or a per-chunk stamp line (text kind), so no two files or chunks are equal and
 * a compressor with a window of a few MiB still finds nothing to share between random chunks.
 */
import { closeSync, fchmodSync, fchownSync, openSync, writeSync } from "node:fs";

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;
const BLOCK = MiB;

/** mulberry32: tiny, fast, good enough for picking names and sizes. */
export class Rng {
    constructor(seed) {
        this.s = seed >>> 0;
    }

    u32() {
        let t = (this.s = (this.s + 0x6d2b79f5) | 0);
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return (t ^ (t >>> 14)) >>> 0;
    }

    /** [0, 1) */
    float() {
        return this.u32() / 0x1_0000_0000;
    }

    /** An integer in [lo, hi). */
    int(lo, hi) {
        return lo + Math.floor(this.float() * (hi - lo));
    }

    chance(p) {
        return this.float() < p;
    }

    pick(items) {
        return items[this.int(0, items.length)];
    }
}

/** A 32-bit mix of two integers (for per-file, per-chunk offsets and keys). */
export function mix(a, b) {
    let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b + 0x7f4a7c15, 0xc2b2ae35);
    h ^= h >>> 16;
    h = Math.imul(h, 0x21f0aaad);
    h ^= h >>> 15;
    return h >>> 0;
}

/** An ArrayBuffer-backed buffer, so 32-bit views at any multiple-of-4 offset are aligned. */
function alignedBuffer(size) {
    return Buffer.from(new ArrayBuffer(size));
}

const SYLLABLES = [
    "al",
    "be",
    "con",
    "da",
    "er",
    "fi",
    "go",
    "ha",
    "in",
    "jo",
    "ka",
    "lo",
    "me",
    "no",
    "or",
    "pa",
    "qu",
    "re",
    "st",
    "te",
    "un",
    "ve",
    "wa",
    "xi",
    "yo",
    "ze",
    "th",
    "ing",
];
const PUNCT = [" ", " ", " ", " ", ", ", ". ", "(", ")", " = ", "; ", ": ", "_", "/", "{", "}"];

export function makeWords(rng, count) {
    const words = [];
    for (let i = 0; i < count; i++) {
        let w = "";
        for (let n = rng.int(1, 5); n > 0; n--) {
            w += rng.pick(SYLLABLES);
        }
        words.push(w);
    }
    return words;
}

/** The two source blocks, each stored twice in a row so any 1 MiB window is contiguous. */
export function makeBlocks(seed) {
    const rng = new Rng(seed);
    const random = alignedBuffer(2 * BLOCK);
    const r32 = new Uint32Array(random.buffer, 0, BLOCK / 4);
    for (let i = 0; i < r32.length; i++) {
        r32[i] = rng.u32();
    }
    random.copy(random, BLOCK, 0, BLOCK);

    const words = makeWords(rng, 4096);
    const text = alignedBuffer(2 * BLOCK);
    let pos = 0;
    let line = 0;
    while (pos < BLOCK) {
        let s = `${"    ".repeat(rng.int(0, 4))}`;
        while (s.length < rng.int(30, 110)) {
            s += rng.pick(words) + rng.pick(PUNCT);
        }
        s += line++ % 7 === 0 ? "\n\n" : "\n";
        pos += text.write(s, pos, "latin1");
    }
    text.copy(text, BLOCK, 0, BLOCK);
    return { random, text };
}

const scratch = alignedBuffer(BLOCK);

function writeAll(fd, buf) {
    for (let off = 0; off < buf.length; ) {
        off += writeSync(fd, buf, off, buf.length - off);
    }
}

/** Writes `size` bytes of `kind` ("random" | "text") content, unique per `seed`, to `fd`. */
export function writeContent(fd, blocks, size, kind, seed) {
    for (let pos = 0, k = 0; pos < size; k++) {
        const len = Math.min(BLOCK, size - pos);
        const off = mix(seed, k) & (BLOCK - 4); // a multiple of 4 below BLOCK
        if (kind === "random") {
            const key = mix(seed ^ 0x5bd1e995, k) | 1;
            const words = Math.ceil(len / 4);
            const src = new Uint32Array(blocks.random.buffer, off, words);
            const dst = new Uint32Array(scratch.buffer, 0, words);
            for (let i = 0; i < words; i++) {
                dst[i] = src[i] ^ key;
            }
            writeAll(fd, scratch.subarray(0, len));
        } else {
            const stamp = Buffer.from(`// file ${seed.toString(16)} chunk ${k}\n`, "latin1");
            if (len > stamp.length) {
                writeAll(fd, stamp);
                writeAll(fd, blocks.text.subarray(off, off + len - stamp.length));
            } else {
                writeAll(fd, blocks.text.subarray(off, off + len));
            }
        }
        pos += len;
    }
}

/** Small files skew small: 0–64 KiB, mean ~26 KiB, ~3% empty. */
export function smallSize(rng) {
    return rng.chance(0.03) ? 0 : Math.floor(64 * KiB * rng.float() ** 1.5);
}

/** Creates a regular file with `f.size` bytes of content, `f.mode` and owner `f.uid`:`f.uid`. */
export function writeFile(abs, f, blocks, seed) {
    const fd = openSync(abs, "wx", 0o600);
    try {
        writeContent(fd, blocks, f.size, f.kind, mix(seed, f.seed));
        fchmodSync(fd, f.mode);
        if (f.uid !== 0) {
            fchownSync(fd, f.uid, f.uid);
        }
    } finally {
        closeSync(fd);
    }
}
