/**
 * Mirrors Go 1.19 `src/compress/flate/huffman_code.go` `huffmanEncoder`: length-limited Huffman
 * codes built with the package-merge style `bitCounts`, literals ordered by (freq, literal) and
 * codes handed out in literal order within each length (RFC 1951 §3.2.2).
 *
 * NOTE: Go sorts with `sort.Sort`, which is not stable, but both orders are total (literals are
 * unique), so any correct sort gives the same codes.
 */
import { MAX_NUM_LIT } from "./tokens";

const MAX_BITS_LIMIT = 16;
const MAX_INT32 = 0x7fffffff;

export class HuffmanEncoder {
    /** Bit-reversed code of each symbol, ready to be written LSB first. */
    readonly code: Uint16Array;
    /** Code length of each symbol; 0 when the symbol is unused. */
    readonly len: Uint8Array;
    private readonly bitCount = new Int32Array(17);
    /** (freq << 16 | literal) for the used symbols, sorted; one extra slot for the sentinel. */
    private readonly keys = new Float64Array(MAX_NUM_LIT + 1);
    private readonly freqs = new Int32Array(MAX_NUM_LIT + 1);
    private readonly lits = new Uint16Array(MAX_NUM_LIT + 1);
    private readonly chunk = new Uint16Array(MAX_NUM_LIT + 1);

    constructor(size: number) {
        this.code = new Uint16Array(size);
        this.len = new Uint8Array(size);
    }

    /** Total bits for `freq` coded with this table (`bitLength`). */
    bitLength(freq: Int32Array): number {
        const len = this.len;
        let total = 0;
        for (let i = 0; i < freq.length; i++) {
            const f = freq[i]!;
            if (f !== 0) {
                total += f * len[i]!;
            }
        }
        return total;
    }

    /** `generate`: the minimum code for `freq` with no code longer than `maxBits`. */
    generate(freq: Int32Array, maxBits: number): void {
        const keys = this.keys;
        let count = 0;
        for (let i = 0; i < freq.length; i++) {
            const f = freq[i]!;
            if (f !== 0) {
                keys[count++] = f * 65536 + i;
            } else {
                this.len[i] = 0;
            }
        }
        if (count <= 2) {
            // One or two symbols: each gets a 1-bit code, in literal order.
            for (let i = 0; i < count; i++) {
                const lit = keys[i]! % 65536;
                this.code[lit] = i;
                this.len[lit] = 1;
            }
            return;
        }
        // byFreq: ascending frequency, ties by literal; one numeric key orders both.
        const sorted = keys.subarray(0, count).sort();
        for (let i = 0; i < count; i++) {
            const k = sorted[i]!;
            this.lits[i] = k % 65536;
            this.freqs[i] = Math.floor(k / 65536);
        }
        const bits = this.bitCounts(count, maxBits);
        this.assignEncodingAndSize(bits, count);
    }

    /**
     * `bitCounts`: how many literals get each code length, for n >= 3 literals sorted by
     * frequency. Returns the highest length in use (the tree is never deeper than n - 1).
     */
    private bitCounts(n: number, maxBits: number): number {
        const freqs = this.freqs;
        freqs[n] = MAX_INT32; // maxNode() sentinel
        if (maxBits > n - 1) {
            maxBits = n - 1;
        }
        // Per level: lastFreq, nextCharFreq, nextPairFreq, needed. Level 0 is a bogus level
        // whose `needed` stays 0 so that level 1's nextPairFreq is never chosen.
        const lastFreq = new Int32Array(MAX_BITS_LIMIT + 1);
        const nextCharFreq = new Int32Array(MAX_BITS_LIMIT + 1);
        const nextPairFreq = new Int32Array(MAX_BITS_LIMIT + 1);
        const needed = new Int32Array(MAX_BITS_LIMIT + 1);
        // leafCounts[i * 16 + j]: literals left of the level-j ancestor of level i's rightmost node.
        const leafCounts = new Int32Array(MAX_BITS_LIMIT * MAX_BITS_LIMIT);
        for (let level = 1; level <= maxBits; level++) {
            lastFreq[level] = freqs[1]!;
            nextCharFreq[level] = freqs[2]!;
            nextPairFreq[level] = level === 1 ? MAX_INT32 : freqs[0]! + freqs[1]!;
            leafCounts[level * MAX_BITS_LIMIT + level] = 2;
        }
        // 2n - 2 items are needed at the top level and two are already there.
        needed[maxBits] = 2 * n - 4;
        let level = maxBits;
        for (;;) {
            if (nextPairFreq[level] === MAX_INT32 && nextCharFreq[level] === MAX_INT32) {
                // Out of leaves and pairs: close this level for good.
                needed[level] = 0;
                nextPairFreq[level + 1] = MAX_INT32;
                level++;
                continue;
            }
            const prevFreq = lastFreq[level]!;
            if (nextCharFreq[level]! < nextPairFreq[level]!) {
                // The next item on this level is a leaf.
                const c = leafCounts[level * MAX_BITS_LIMIT + level]! + 1;
                lastFreq[level] = nextCharFreq[level]!;
                leafCounts[level * MAX_BITS_LIMIT + level] = c;
                nextCharFreq[level] = freqs[c]!;
            } else {
                // The next item is a pair from the level below, which must make two more.
                lastFreq[level] = nextPairFreq[level]!;
                leafCounts.copyWithin(level * MAX_BITS_LIMIT, (level - 1) * MAX_BITS_LIMIT, (level - 1) * MAX_BITS_LIMIT + level);
                needed[level - 1] = 2;
            }
            needed[level] = needed[level]! - 1;
            if (needed[level] === 0) {
                if (level === maxBits) {
                    break;
                }
                nextPairFreq[level + 1] = (prevFreq + lastFreq[level]!) | 0;
                level++;
            } else {
                while (needed[level - 1]! > 0) {
                    level--;
                }
            }
        }
        if (leafCounts[maxBits * MAX_BITS_LIMIT + maxBits] !== n) {
            throw new Error("goflate: huffman leafCounts[maxBits][maxBits] != n");
        }
        const bitCount = this.bitCount;
        let bits = 1;
        const top = maxBits * MAX_BITS_LIMIT;
        for (let lv = maxBits; lv > 0; lv--) {
            bitCount[bits] = leafCounts[top + lv]! - leafCounts[top + lv - 1]!;
            bits++;
        }
        return maxBits;
    }

    /** `assignEncodingAndSize`: the most frequent literals get the shortest codes. */
    private assignEncodingAndSize(maxBits: number, count: number): void {
        const bitCount = this.bitCount;
        const chunk = this.chunk;
        let code = 0;
        let end = count;
        for (let n = 0; n <= maxBits; n++) {
            code = (code << 1) & 0xffff;
            const bits = bitCount[n]!;
            if (n === 0 || bits === 0) {
                continue;
            }
            // list[end-bits:end] get n-bit codes code, code+1, ... in literal order.
            const c = chunk.subarray(0, bits);
            c.set(this.lits.subarray(end - bits, end));
            c.sort();
            for (let i = 0; i < bits; i++) {
                const lit = c[i]!;
                this.code[lit] = reverseBits(code, n);
                this.len[lit] = n;
                code = (code + 1) & 0xffff;
            }
            end -= bits;
        }
    }
}

/** `reverseBits`: the low `bitLength` bits of `number`, reversed. */
export function reverseBits(number: number, bitLength: number): number {
    let v = (number << (16 - bitLength)) & 0xffff;
    let r = 0;
    for (let i = 0; i < 16; i++) {
        r = (r << 1) | (v & 1);
        v >>= 1;
    }
    return r;
}

/** RFC 1951 §3.2.6 fixed literal/length code (`generateFixedLiteralEncoding`). */
function fixedLiteralEncoding(): HuffmanEncoder {
    const h = new HuffmanEncoder(MAX_NUM_LIT);
    for (let ch = 0; ch < MAX_NUM_LIT; ch++) {
        let bits: number;
        let size: number;
        if (ch < 144) {
            bits = ch + 48; // 00110000 .. 10111111
            size = 8;
        } else if (ch < 256) {
            bits = ch + 400 - 144; // 110010000 .. 111111111
            size = 9;
        } else if (ch < 280) {
            bits = ch - 256; // 0000000 .. 0010111
            size = 7;
        } else {
            bits = ch + 192 - 280; // 11000000 .. 11000111
            size = 8;
        }
        h.code[ch] = reverseBits(bits, size);
        h.len[ch] = size;
    }
    return h;
}

function fixedOffsetEncoding(): HuffmanEncoder {
    const h = new HuffmanEncoder(30);
    for (let ch = 0; ch < 30; ch++) {
        h.code[ch] = reverseBits(ch, 5);
        h.len[ch] = 5;
    }
    return h;
}

export const FIXED_LITERAL_ENCODING = fixedLiteralEncoding();
export const FIXED_OFFSET_ENCODING = fixedOffsetEncoding();
