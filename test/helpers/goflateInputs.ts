/**
 * Deterministic inputs for the goflate tests (unit and conformance share them, so the digests
 * hardcoded in the unit test can be re-checked against the oracle), and a driver that feeds an
 * input to GoGzipWriter in a given pattern of write sizes.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { gunzipSync } from "node:zlib";
import { GoGzipWriter } from "../../src/engine/compression/goflate/goGzipWriter";
import { goldenDir } from "../fixtures/goldenMeta";
import { randomBytes, textBytes } from "./compressionKit";

/** Every level Go's gzip accepts: HuffmanOnly, default, stored, BestSpeed, 2-9. */
export const GO_LEVELS = [-2, -1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9] as const;

/** Word salad with a small vocabulary: matches at many distances, not one repeated line. */
export function wordsBytes(n: number, seed = 7): Buffer {
    const words = "the quick brown fox jumps over lazy dog layer blob digest tar gzip deflate huffman window match".split(" ");
    const out = Buffer.allocUnsafe(n);
    let x = seed >>> 0;
    let p = 0;
    while (p < n) {
        x = (Math.imul(x, 1103515245) + 12345) >>> 0;
        const w = words[(x >>> 16) % words.length]! + ((x & 15) === 0 ? "\n" : " ");
        p += out.write(w, p, "latin1");
    }
    return out;
}

/** Text, random, zeros and text again: blocks change between stored, fixed and dynamic. */
export function mixedBytes(): Buffer {
    return Buffer.concat([wordsBytes(100_000, 1), randomBytes(50_000, 3), Buffer.alloc(70_000), textBytes(200_000)]);
}

/** The golden differ tars (the fixtures are GNU gzip -9n; the tars inside are the oracle's). */
export function goldenTars(): Array<[string, Buffer]> {
    return fs.readdirSync(goldenDir())
        .filter((n) => n.endsWith(".tar.gz"))
        .sort()
        .map((n) => [n.replace(/\.gz$/, ""), gunzipSync(fs.readFileSync(path.join(goldenDir(), n)))]);
}

/** The inputs whose Go digests the unit test hardcodes (keep in step with GOLDEN_DIGESTS). */
export function goldenDigestInputs(): Array<[string, Buffer]> {
    const tar = goldenTars().find(([n]) => n === "base-all.tar")!;
    return [
        ["words 300k", wordsBytes(300_000)],
        ["mixed", mixedBytes()],
        ["random 65537", randomBytes(65_537, 11)],
        ["base-all.tar", tar[1]],
    ];
}

/** Write sizes repeating `pattern` (e.g. [1] for byte-at-a-time, [1 << 30] for one write). */
export async function goGzipChunked(data: Buffer, level: number, pattern: readonly number[]): Promise<Buffer> {
    const out: Buffer[] = [];
    const w = new GoGzipWriter(level, async (c) => void out.push(c));
    for (let off = 0, i = 0; off < data.length; i++) {
        const n = Math.min(pattern[i % pattern.length]!, data.length - off);
        // A scratch copy scribbled over after the write: the writer must not keep it.
        const copy = Buffer.from(data.subarray(off, off + n));
        await w.write(copy);
        copy.fill(0xa5);
        off += n;
    }
    await w.close();
    return Buffer.concat(out);
}

/** Pseudo-random write sizes in [1, max], reproducible from the seed. */
export function randomSizes(count: number, max: number, seed: number): number[] {
    const sizes: number[] = [];
    let x = seed >>> 0 || 1;
    for (let i = 0; i < count; i++) {
        x = (Math.imul(x, 1103515245) + 12345) >>> 0;
        sizes.push(1 + ((x >>> 8) % max));
    }
    return sizes;
}
