/**
 * XXH64 with seed 0 (https://github.com/Cyan4973/xxHash/blob/dev/doc/xxhash_spec.md), for the
 * zstd frame checksum: the low 32 bits of XXH64 of the frame's content (RFC 8878 §3.1.1).
 * The native zstd binding cannot emit checksums, so frames get theirs here.
 *
 * 64-bit lanes are (hi, lo) pairs of uint32; products keep their low 64 bits, built from
 * 16-bit partial products so every intermediate stays an exact double. That runs at ~150 MB/s,
 * so the 32-byte stripe loop, where all the time goes, runs as WebAssembly (xxh64Wasm.ts,
 * native i64 arithmetic) for large inputs; the JS loop stays for small ones and as a check.
 */
import { wasmStripes } from "./xxh64Wasm";

/** Below this the copy into WebAssembly memory costs more than it saves. */
const WASM_MIN_BYTES = 4096;

// Results of the helpers below (avoids allocating a pair per operation).
let RH = 0;
let RL = 0;

const P1H = 0x9e3779b1, P1L = 0x85ebca87;
const P2H = 0xc2b2ae3d, P2L = 0x27d4eb4f;
const P3H = 0x165667b1, P3L = 0x9e3779f9;
const P4H = 0x85ebca77, P4L = 0xc2b2ae63;
const P5H = 0x27d4eb2f, P5L = 0x165667c5;

/** High 32 bits of the unsigned 64-bit product a*b. */
function mulHi32(a: number, b: number): number {
    const a0 = a & 0xffff, a1 = a >>> 16, b0 = b & 0xffff, b1 = b >>> 16;
    const p01 = a0 * b1, p10 = a1 * b0;
    const mid = ((a0 * b0) >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
    return (a1 * b1 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16)) >>> 0;
}

function mul(ah: number, al: number, bh: number, bl: number): void {
    RL = Math.imul(al, bl) >>> 0;
    RH = (mulHi32(al, bl) + Math.imul(al, bh) + Math.imul(ah, bl)) >>> 0;
}

function add(ah: number, al: number, bh: number, bl: number): void {
    const lo = al + bl;
    RL = lo >>> 0;
    RH = (ah + bh + (lo > 0xffffffff ? 1 : 0)) >>> 0;
}

/** Rotate left by r, 0 < r < 32. */
function rotl(h: number, l: number, r: number): void {
    RH = ((h << r) | (l >>> (32 - r))) >>> 0;
    RL = ((l << r) | (h >>> (32 - r))) >>> 0;
}

/** round(acc, input) = rotl(acc + input * P2, 31) * P1 */
function round(acch: number, accl: number, inh: number, inl: number): void {
    mul(inh, inl, P2H, P2L);
    add(acch, accl, RH, RL);
    rotl(RH, RL, 31);
    mul(RH, RL, P1H, P1L);
}

/** mergeRound(acc, v) = (acc ^ round(0, v)) * P1 + P4 */
function mergeRound(acch: number, accl: number, vh: number, vl: number): void {
    round(0, 0, vh, vl);
    mul((acch ^ RH) >>> 0, (accl ^ RL) >>> 0, P1H, P1L);
    add(RH, RL, P4H, P4L);
}

function u32(b: Uint8Array, i: number): number {
    return (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) >>> 0;
}

type Lanes = [number, number, number, number, number, number, number, number];

/** Runs the stripe loop over data[start, start + n) (n a multiple of 32) on `v` in place. */
function stripes(data: Uint8Array, start: number, n: number, v: number[], useWasm: boolean): void {
    if (useWasm && n >= WASM_MIN_BYTES && wasmStripes(data.subarray(start), n, v)) {
        return;
    }
    let [v1h, v1l, v2h, v2l, v3h, v3l, v4h, v4l] = v as Lanes;
    for (let j = start; j < start + n; j += 32) {
        round(v1h, v1l, u32(data, j + 4), u32(data, j)); v1h = RH; v1l = RL;
        round(v2h, v2l, u32(data, j + 12), u32(data, j + 8)); v2h = RH; v2l = RL;
        round(v3h, v3l, u32(data, j + 20), u32(data, j + 16)); v3h = RH; v3l = RL;
        round(v4h, v4l, u32(data, j + 28), u32(data, j + 24)); v4h = RH; v4l = RL;
    }
    v.splice(0, 8, v1h, v1l, v2h, v2l, v3h, v3l, v4h, v4l);
}

/** Streaming XXH64 (seed 0): `update` any number of times, then `digest` once. */
export class Xxh64 {
    /** The four lanes as (hi, lo) pairs. */
    private readonly v: number[];
    private readonly tail = new Uint8Array(32);
    private tailLen = 0;
    private total = 0;

    constructor(private readonly useWasm = true) {
        // v1 = P1 + P2, v2 = P2, v3 = 0, v4 = -P1 (mod 2^64); -P1 = ~P1 + 1, with no carry into
        // the high word since P1's low word is not 0.
        add(P1H, P1L, P2H, P2L);
        this.v = [RH, RL, P2H, P2L, 0, 0, ~P1H >>> 0, -P1L >>> 0];
    }

    update(data: Uint8Array): this {
        let off = 0;
        this.total += data.length;
        if (this.tailLen > 0) {
            const n = Math.min(32 - this.tailLen, data.length);
            this.tail.set(data.subarray(0, n), this.tailLen);
            this.tailLen += n;
            off = n;
            if (this.tailLen < 32) {
                return this;
            }
            stripes(this.tail, 0, 32, this.v, false);
            this.tailLen = 0;
        }
        const n = (data.length - off) - ((data.length - off) % 32);
        stripes(data, off, n, this.v, this.useWasm);
        off += n;
        this.tail.set(data.subarray(off), 0);
        this.tailLen = data.length - off;
        return this;
    }

    /** XXH64 as [high 32 bits, low 32 bits]. */
    digest(): [number, number] {
        const [v1h, v1l, v2h, v2l, v3h, v3l, v4h, v4l] = this.v as Lanes;
        let hh: number, hl: number;
        if (this.total >= 32) {
            rotl(v1h, v1l, 1); hh = RH; hl = RL;
            rotl(v2h, v2l, 7); add(hh, hl, RH, RL); hh = RH; hl = RL;
            rotl(v3h, v3l, 12); add(hh, hl, RH, RL); hh = RH; hl = RL;
            rotl(v4h, v4l, 18); add(hh, hl, RH, RL); hh = RH; hl = RL;
            mergeRound(hh, hl, v1h, v1l); mergeRound(RH, RL, v2h, v2l);
            mergeRound(RH, RL, v3h, v3l); mergeRound(RH, RL, v4h, v4l);
            hh = RH; hl = RL;
        } else {
            hh = P5H; hl = P5L;
        }
        return finish(hh, hl, this.total, this.tail.subarray(0, this.tailLen));
    }
}

/** XXH64(data, seed 0) as [high 32 bits, low 32 bits]. */
export function xxh64(data: Uint8Array, useWasm = true): [number, number] {
    return new Xxh64(useWasm).update(data).digest();
}

/** Adds the length, folds in the last < 32 bytes, and avalanches. */
function finish(h0: number, l0: number, total: number, data: Uint8Array): [number, number] {
    let hh = h0, hl = l0, i = 0;
    const len = data.length;
    add(hh, hl, Math.floor(total / 2 ** 32) >>> 0, total >>> 0); hh = RH; hl = RL;
    for (; i + 8 <= len; i += 8) {
        round(0, 0, u32(data, i + 4), u32(data, i));
        rotl((hh ^ RH) >>> 0, (hl ^ RL) >>> 0, 27);
        mul(RH, RL, P1H, P1L);
        add(RH, RL, P4H, P4L); hh = RH; hl = RL;
    }
    if (i + 4 <= len) {
        mul(0, u32(data, i), P1H, P1L);
        rotl((hh ^ RH) >>> 0, (hl ^ RL) >>> 0, 23);
        mul(RH, RL, P2H, P2L);
        add(RH, RL, P3H, P3L); hh = RH; hl = RL;
        i += 4;
    }
    for (; i < len; i++) {
        mul(0, data[i]!, P5H, P5L);
        rotl((hh ^ RH) >>> 0, (hl ^ RL) >>> 0, 11);
        mul(RH, RL, P1H, P1L); hh = RH; hl = RL;
    }
    // Avalanche: h ^= h >> 33; h *= P2; h ^= h >> 29; h *= P3; h ^= h >> 32.
    hl = (hl ^ (hh >>> 1)) >>> 0;
    mul(hh, hl, P2H, P2L); hh = RH; hl = RL;
    hl = (hl ^ ((hl >>> 29) | (hh << 3))) >>> 0;
    hh = (hh ^ (hh >>> 29)) >>> 0;
    mul(hh, hl, P3H, P3L); hh = RH; hl = RL;
    hl = (hl ^ hh) >>> 0;
    return [hh, hl];
}
