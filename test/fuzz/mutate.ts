/**
 * A small mutator for the fuzz targets: the byte-level moves of libFuzzer's MutationDispatcher
 * (flip bits, set interesting values, insert/erase/duplicate ranges, splice another input) plus
 * the format-aware repairs the targets add (tar checksums, bbolt meta checksums), so a mutation
 * gets past the first integrity check and reaches the code behind it.
 */
import { Rng } from "../helpers/rng";

/** Values that find off-by-ones and sign bugs (libFuzzer's "interesting" integers). */
const INTERESTING_8 = [0, 1, 0x7f, 0x80, 0xff, 0x20, 0x2f, 0x2e, 0x30, 0x37, 0x38];
const INTERESTING_32 = [0, 1, 0x7fffffff, 0x80000000, 0xffffffff, 0x100, 0x1000, 0xffff, 0x10000, 512, 511, 513];
/** ASCII fragments parsers of these formats split on. */
const TOKENS = ["../", "/", "..", "\0", "\n", " ", "=", "path=", "size=", "linkpath=", "777777777777", "-1", "99999999999999999999", "0x", "ustar\0", "ustar  \0", '"', "{", "}", "[", "]", ":", ",", "null", "true", "1e999", "-0", "sha256:", "STARGZ", "\\u0000"];

export class Mutator {
    constructor(private readonly rng: Rng) {}

    /** 1..n stacked mutations of `input` (never larger than `maxLen`). */
    mutate(input: Buffer, others: readonly Buffer[], maxLen: number): Buffer {
        let b: Buffer = Buffer.from(input);
        const n = 1 + Math.floor(-Math.log(1 - this.rng.float()) * 2); // mostly 1-3, sometimes many
        for (let i = 0; i < n; i++) b = this.once(b, others, maxLen);
        return b.length > maxLen ? b.subarray(0, maxLen) : b;
    }

    private once(b: Buffer, others: readonly Buffer[], maxLen: number): Buffer {
        const r = this.rng;
        const at = (): number => (b.length === 0 ? 0 : r.int(0, b.length - 1));
        switch (r.int(0, 11)) {
            case 0: // flip a bit
                if (b.length > 0) b[at()]! ^= 1 << r.int(0, 7);
                return b;
            case 1: // a random byte
                if (b.length > 0) b[at()] = r.int(0, 255);
                return b;
            case 2: // an interesting byte
                if (b.length > 0) b[at()] = r.pick(INTERESTING_8);
                return b;
            case 3: { // an interesting 32-bit value, either byte order
                if (b.length < 4) return b;
                const o = r.int(0, b.length - 4);
                const v = r.pick(INTERESTING_32);
                if (r.chance(0.5)) b.writeUInt32LE(v >>> 0, o);
                else b.writeUInt32BE(v >>> 0, o);
                return b;
            }
            case 4: { // erase a range
                if (b.length === 0) return b;
                const o = at();
                const len = r.int(1, Math.min(b.length - o, 1 + r.int(0, 64)));
                return Buffer.concat([b.subarray(0, o), b.subarray(o + len)]);
            }
            case 5: { // insert random bytes
                const bytes = Buffer.alloc(r.int(1, 16));
                for (let i = 0; i < bytes.length; i++) bytes[i] = r.int(0, 255);
                const o = r.int(0, b.length);
                return Buffer.concat([b.subarray(0, o), bytes, b.subarray(o)]).subarray(0, maxLen);
            }
            case 6: { // duplicate a range (repeated headers, repeated records)
                if (b.length === 0) return b;
                const o = at();
                const len = r.int(1, Math.min(b.length - o, 1024));
                const to = r.int(0, b.length);
                return Buffer.concat([b.subarray(0, to), b.subarray(o, o + len), b.subarray(to)]).subarray(0, maxLen);
            }
            case 7: { // overwrite with a token
                const t = Buffer.from(r.pick(TOKENS), "latin1");
                if (b.length < t.length) return b;
                t.copy(b, r.int(0, b.length - t.length));
                return b;
            }
            case 8: { // insert a token
                const t = Buffer.from(r.pick(TOKENS), "latin1");
                const o = r.int(0, b.length);
                return Buffer.concat([b.subarray(0, o), t, b.subarray(o)]).subarray(0, maxLen);
            }
            case 9: { // splice with another input
                if (others.length === 0) return b;
                const o = r.pick(others);
                const cut = r.int(0, b.length);
                const from = o.length === 0 ? 0 : r.int(0, o.length - 1);
                return Buffer.concat([b.subarray(0, cut), o.subarray(from)]).subarray(0, maxLen);
            }
            case 10: { // truncate
                return b.subarray(0, r.int(0, b.length));
            }
            default: { // add/subtract a small delta to a byte (ASCII digits walk through octal fields)
                if (b.length > 0) {
                    const o = at();
                    b[o] = (b[o]! + r.int(-4, 4)) & 0xff;
                }
                return b;
            }
        }
    }
}

/** Recomputes the checksum of every 512-byte block that looks like a tar header. */
export function fixTarChecksums(b: Buffer, rng: Rng): Buffer {
    for (let off = 0; off + 512 <= b.length; off += 512) {
        const blk = b.subarray(off, off + 512);
        if (blk.toString("latin1", 257, 262) !== "ustar" && !rng.chance(0.05)) continue;
        blk.fill(0x20, 148, 156);
        let sum = 0;
        for (const c of blk) sum += c;
        blk.write(sum.toString(8).padStart(6, "0") + "\0 ", 148, "latin1");
    }
    return b;
}

/** FNV-1a 64 over the 56 meta bytes before the checksum, for both meta pages. */
export function fixBoltMetas(b: Buffer): Buffer {
    if (b.length < 16 + 64) return b;
    const pageSize = b.readUInt32LE(16 + 8);
    for (const base of [16, pageSize + 16]) {
        if (pageSize < 16 || base + 64 > b.length) continue;
        let h = 0xcbf29ce484222325n;
        for (const x of b.subarray(base, base + 56)) h = ((h ^ BigInt(x)) * 0x100000001b3n) & 0xffffffffffffffffn;
        b.writeBigUInt64LE(h, base + 56);
    }
    return b;
}
