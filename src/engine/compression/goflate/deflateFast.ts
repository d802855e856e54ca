/**
 * Mirrors Go 1.19 `src/compress/flate/deflatefast.go` `deflateFast`: BestSpeed's Snappy-style
 * matcher. One 14-bit hash table of (4-byte value, absolute position), matches may reach into
 * the previous block, and the skip distance grows by one every 32 bytes without a match.
 */
import * as tk from "./tokens";

// NOTE: module-local copies: unbundled CommonJS (the test build) reads imported bindings
// through getters, which the hot loops cannot afford.
const BASE_MATCH_LENGTH = tk.BASE_MATCH_LENGTH;
const BASE_MATCH_OFFSET = tk.BASE_MATCH_OFFSET;
const MAX_MATCH_LENGTH = tk.MAX_MATCH_LENGTH;
const MAX_MATCH_OFFSET = tk.MAX_MATCH_OFFSET;
const MAX_STORE_BLOCK_SIZE = tk.MAX_STORE_BLOCK_SIZE;
const MATCH_TYPE = tk.MATCH_TYPE;
const LENGTH_SHIFT = tk.LENGTH_SHIFT;

const TABLE_BITS = 14;
const TABLE_SIZE = 1 << TABLE_BITS;
const TABLE_MASK = TABLE_SIZE - 1;
const TABLE_SHIFT = 32 - TABLE_BITS;
/** Positions are int32 in Go; they are shifted down before `cur` could overflow. */
const BUFFER_RESET = 0x7fffffff - MAX_STORE_BLOCK_SIZE * 2;
/** Snappy's thresholds, kept for identical output. */
const INPUT_MARGIN = 16 - 1;
const MIN_NON_LITERAL_BLOCK_SIZE = 1 + 1 + INPUT_MARGIN;

function load32(b: Uint8Array, i: number): number {
    return b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24);
}

function hash(u: number): number {
    return Math.imul(u, 0x1e35a7bd) >>> TABLE_SHIFT;
}

export class DeflateFast {
    /** table[h]: the int32 value at the position and the position plus `cur`. */
    private readonly tableVal = new Int32Array(TABLE_SIZE);
    private readonly tableOffset = new Int32Array(TABLE_SIZE);
    private readonly prev = new Uint8Array(MAX_STORE_BLOCK_SIZE);
    private prevLen = 0;
    private cur = MAX_STORE_BLOCK_SIZE;

    /** `encode`: appends the tokens of src[0:srcLen] to dst from index 0; returns the count. */
    encode(dst: Uint32Array, src: Uint8Array, srcLen: number): number {
        if (this.cur >= BUFFER_RESET) {
            this.shiftOffsets();
        }
        let n = 0;
        if (srcLen < MIN_NON_LITERAL_BLOCK_SIZE) {
            this.cur += MAX_STORE_BLOCK_SIZE;
            this.prevLen = 0;
            for (let i = 0; i < srcLen; i++) {
                dst[n++] = src[i]!;
            }
            return n;
        }
        const tableVal = this.tableVal;
        const tableOffset = this.tableOffset;
        const cur = this.cur;
        // Stop looking for copies this close to the end (Snappy's fast literal path margin).
        const sLimit = srcLen - INPUT_MARGIN;
        let nextEmit = 0;
        let s = 0;
        let cv = load32(src, s);
        let nextHash = hash(cv);
        outer: for (;;) {
            // Heuristic match skipping: after 32 bytes without a match look at every other
            // byte, after 32 more at every third, and so on.
            let skip = 32;
            let nextS = s;
            let candVal = 0;
            let candOffset = 0;
            for (;;) {
                s = nextS;
                const step = skip >> 5;
                nextS = s + step;
                skip += step;
                if (nextS > sLimit) {
                    break outer;
                }
                const h = nextHash & TABLE_MASK;
                candVal = tableVal[h]!;
                candOffset = tableOffset[h]!;
                const now = load32(src, nextS);
                tableVal[h] = cv;
                tableOffset[h] = s + cur;
                nextHash = hash(now);
                const offset = s - (candOffset - cur);
                if (offset > MAX_MATCH_OFFSET || cv !== candVal) {
                    cv = now;
                    continue;
                }
                break;
            }
            // A 4-byte match at s: src[nextEmit:s] goes out as literals first.
            while (nextEmit < s) {
                dst[n++] = src[nextEmit++]!;
            }
            for (;;) {
                s += 4;
                const t = candOffset - cur + 4;
                const l = this.matchLen(s, t, src, srcLen);
                dst[n++] = MATCH_TYPE + ((l + 4 - BASE_MATCH_LENGTH) << LENGTH_SHIFT) + (s - t - BASE_MATCH_OFFSET);
                s += l;
                nextEmit = s;
                if (s >= sLimit) {
                    break outer;
                }
                // Hash s-1 and s before looking for an immediate next copy at s.
                const x0 = load32(src, s - 1);
                const prevHash = hash(x0) & TABLE_MASK;
                tableVal[prevHash] = x0;
                tableOffset[prevHash] = cur + s - 1;
                const x1 = load32(src, s);
                const currHash = hash(x1) & TABLE_MASK;
                candVal = tableVal[currHash]!;
                candOffset = tableOffset[currHash]!;
                tableVal[currHash] = x1;
                tableOffset[currHash] = cur + s;
                const offset = s - (candOffset - cur);
                if (offset > MAX_MATCH_OFFSET || x1 !== candVal) {
                    cv = load32(src, s + 1);
                    nextHash = hash(cv);
                    s++;
                    break;
                }
            }
        }
        while (nextEmit < srcLen) {
            dst[n++] = src[nextEmit++]!;
        }
        this.cur += srcLen;
        this.prev.set(src.subarray(0, srcLen));
        this.prevLen = srcLen;
        return n;
    }

    /**
     * `matchLen` between src[s:] and src[t:], at most 258 - 4 bytes; a negative t starts the
     * match in the previous block and may continue into the current one.
     */
    private matchLen(s: number, t: number, src: Uint8Array, srcLen: number): number {
        let s1 = s + MAX_MATCH_LENGTH - 4;
        if (s1 > srcLen) {
            s1 = srcLen;
        }
        if (t >= 0) {
            const len = s1 - s;
            for (let i = 0; i < len; i++) {
                if (src[s + i] !== src[t + i]) {
                    return i;
                }
            }
            return len;
        }
        const tp = this.prevLen + t;
        if (tp < 0) {
            return 0;
        }
        const prev = this.prev;
        const blen = Math.min(this.prevLen - tp, s1 - s);
        for (let i = 0; i < blen; i++) {
            if (src[s + i] !== prev[tp + i]) {
                return i;
            }
        }
        const n = blen;
        if (s + n === s1) {
            return n;
        }
        // The previous block ran out: continue from the start of the current one.
        const alen = s1 - (s + n);
        for (let i = 0; i < alen; i++) {
            if (src[s + n + i] !== src[i]) {
                return i + n;
            }
        }
        return alen + n;
    }

    /** `reset`: forget the history; bumping `cur` puts every table entry out of range. */
    reset(): void {
        this.prevLen = 0;
        this.cur += MAX_MATCH_OFFSET;
        if (this.cur >= BUFFER_RESET) {
            this.shiftOffsets();
        }
    }

    /** `shiftOffsets`: rebases positions to cur = maxMatchOffset + 1 (golang.org/issue/18636). */
    private shiftOffsets(): void {
        if (this.prevLen === 0) {
            this.tableVal.fill(0);
            this.tableOffset.fill(0);
            this.cur = MAX_MATCH_OFFSET + 1;
            return;
        }
        const off = this.tableOffset;
        for (let i = 0; i < TABLE_SIZE; i++) {
            const v = off[i]! - this.cur + MAX_MATCH_OFFSET + 1;
            off[i] = v < 0 ? 0 : v;
        }
        this.cur = MAX_MATCH_OFFSET + 1;
    }
}
