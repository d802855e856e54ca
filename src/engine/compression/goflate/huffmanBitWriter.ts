/**
 * Mirrors Go 1.19 `src/compress/flate/huffman_bit_writer.go` `huffmanBitWriter`: picks, per
 * block, the smallest of stored / fixed / dynamic Huffman (`writeBlock`), or dynamic vs stored
 * with Go's 1/16 margin (`writeBlockDynamic`, `writeBlockHuff`), and writes the bits LSB first.
 *
 * Go buffers 48 bits at a time and flushes to its writer every 240 bytes; only the resulting
 * byte sequence matters, so bits here go out 16 at a time into an OutputQueue.
 */
import { FIXED_LITERAL_ENCODING, FIXED_OFFSET_ENCODING, HuffmanEncoder } from "./huffmanCode";
import { OutputQueue } from "./outputQueue";
import * as tk from "./tokens";

// NOTE: module-local copies: unbundled CommonJS (the test build) reads imported bindings
// through getters, which the hot loops cannot afford.
const CODEGEN_CODE_COUNT = tk.CODEGEN_CODE_COUNT;
const END_BLOCK_MARKER = tk.END_BLOCK_MARKER;
const LENGTH_BASE = tk.LENGTH_BASE;
const LENGTH_CODES = tk.LENGTH_CODES;
const LENGTH_CODES_START = tk.LENGTH_CODES_START;
const LENGTH_EXTRA_BITS = tk.LENGTH_EXTRA_BITS;
const LENGTH_SHIFT = tk.LENGTH_SHIFT;
const MATCH_TYPE = tk.MATCH_TYPE;
const MAX_NUM_LIT = tk.MAX_NUM_LIT;
const MAX_STORE_BLOCK_SIZE = tk.MAX_STORE_BLOCK_SIZE;
const OFFSET_BASE = tk.OFFSET_BASE;
const OFFSET_CODE_COUNT = tk.OFFSET_CODE_COUNT;
const OFFSET_EXTRA_BITS = tk.OFFSET_EXTRA_BITS;
const OFFSET_MASK = tk.OFFSET_MASK;
const offsetCode = tk.offsetCode;

/** Terminates the run-length coded code lengths in `codegen`. */
const BAD_CODE = 255;
/** RFC 1951 §3.2.7: the order in which code-length code lengths are sent. */
const CODEGEN_ORDER = Uint8Array.from([16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]);

/** `huffOffset`: the distance code of a literal-only block (one used code, 0). */
const HUFF_OFFSET: HuffmanEncoder = (() => {
    const freq = new Int32Array(OFFSET_CODE_COUNT);
    freq[0] = 1;
    const h = new HuffmanEncoder(OFFSET_CODE_COUNT);
    h.generate(freq, 15);
    return h;
})();

export class HuffmanBitWriter {
    readonly out = new OutputQueue();
    /** Pending bits (fewer than 16 between calls) and their count. */
    private bits = 0;
    private nbits = 0;
    private readonly literalFreq = new Int32Array(MAX_NUM_LIT);
    private readonly offsetFreq = new Int32Array(OFFSET_CODE_COUNT);
    private readonly codegen = new Uint8Array(MAX_NUM_LIT + OFFSET_CODE_COUNT + 1);
    private readonly codegenFreq = new Int32Array(CODEGEN_CODE_COUNT);
    private readonly literalEncoding = new HuffmanEncoder(MAX_NUM_LIT);
    private readonly offsetEncoding = new HuffmanEncoder(OFFSET_CODE_COUNT);
    private readonly codegenEncoding = new HuffmanEncoder(CODEGEN_CODE_COUNT);
    /** Second result of `dynamicSize`. */
    private numCodegens = 0;

    /** Forgets pending bits (`reset`); the output queue must have been drained. */
    reset(): void {
        this.bits = 0;
        this.nbits = 0;
    }

    writeBits(b: number, nb: number): void {
        this.bits |= b << this.nbits;
        this.nbits += nb;
        if (this.nbits >= 16) {
            const out = this.out;
            out.reserve(2);
            out.buf[out.pos++] = this.bits;
            out.buf[out.pos++] = this.bits >>> 8;
            this.bits >>>= 16;
            this.nbits -= 16;
        }
    }

    /** Pads the pending bits with zeros to a byte boundary and writes them. */
    flush(): void {
        while (this.nbits > 0) {
            this.out.writeByte(this.bits & 0xff);
            this.bits >>>= 8;
            this.nbits = this.nbits > 8 ? this.nbits - 8 : 0;
        }
        this.bits = 0;
    }

    writeStoredHeader(length: number, isEof: boolean): void {
        this.writeBits(isEof ? 1 : 0, 3);
        this.flush();
        this.writeBits(length, 16);
        this.writeBits(~length & 0xffff, 16);
    }

    writeBytes(src: Uint8Array, start: number, end: number): void {
        if ((this.nbits & 7) !== 0) {
            throw new Error("goflate: writeBytes with unfinished bits");
        }
        this.flush();
        this.out.writeBytes(src, start, end);
    }

    /**
     * `writeBlock`: tokens[0:n] (the array needs room for one more) as the smallest of fixed,
     * dynamic and, when `input` is given and fits, stored. `litCounts` and `offCounts`, when
     * given, are the symbol counts of tokens[0:n], made as the tokens were (deflateStep.c).
     */
    writeBlock(
        tokens: Uint32Array, n: number, eof: boolean, input: Uint8Array | null, inStart: number, inEnd: number,
        litCounts?: Int32Array, offCounts?: Int32Array,
    ): void {
        tokens[n++] = END_BLOCK_MARKER;
        let numLiterals: number;
        let numOffsets: number;
        if (litCounts !== undefined && offCounts !== undefined) {
            this.literalFreq.set(litCounts);
            this.literalFreq[END_BLOCK_MARKER]++;
            this.offsetFreq.set(offCounts);
            [numLiterals, numOffsets] = this.codesFromFreqs();
        } else {
            [numLiterals, numOffsets] = this.indexTokens(tokens, n);
        }
        const storable = input !== null && inEnd - inStart <= MAX_STORE_BLOCK_SIZE;
        const storedSize = storable ? (inEnd - inStart + 5) * 8 : 0;
        let extraBits = 0;
        if (storable) {
            // Extra length/distance bits cost the same in fixed and dynamic blocks, so they are
            // only counted when a stored block competes. The first 8 length codes and the first
            // 4 distance codes have none.
            for (let lc = LENGTH_CODES_START + 8; lc < numLiterals; lc++) {
                extraBits += this.literalFreq[lc]! * LENGTH_EXTRA_BITS[lc - LENGTH_CODES_START]!;
            }
            for (let oc = 4; oc < numOffsets; oc++) {
                extraBits += this.offsetFreq[oc]! * OFFSET_EXTRA_BITS[oc]!;
            }
        }
        let litEnc = FIXED_LITERAL_ENCODING;
        let offEnc = FIXED_OFFSET_ENCODING;
        let size = this.fixedSize(extraBits);
        this.generateCodegen(numLiterals, numOffsets, this.literalEncoding, this.offsetEncoding);
        this.codegenEncoding.generate(this.codegenFreq, 7);
        const dynamicSize = this.dynamicSize(this.literalEncoding, this.offsetEncoding, extraBits);
        if (dynamicSize < size) {
            size = dynamicSize;
            litEnc = this.literalEncoding;
            offEnc = this.offsetEncoding;
        }
        if (storable && storedSize < size) {
            this.writeStoredHeader(inEnd - inStart, eof);
            this.writeBytes(input!, inStart, inEnd);
            return;
        }
        if (litEnc === FIXED_LITERAL_ENCODING) {
            this.writeBits(eof ? 3 : 2, 3);
        } else {
            this.writeDynamicHeader(numLiterals, numOffsets, this.numCodegens, eof);
        }
        this.writeTokens(tokens, n, litEnc, offEnc);
    }

    /** `writeBlockDynamic`: dynamic Huffman unless stored is within 1/16 of it. */
    writeBlockDynamic(tokens: Uint32Array, n: number, eof: boolean, input: Uint8Array, inStart: number, inEnd: number): void {
        tokens[n++] = END_BLOCK_MARKER;
        const [numLiterals, numOffsets] = this.indexTokens(tokens, n);
        this.generateCodegen(numLiterals, numOffsets, this.literalEncoding, this.offsetEncoding);
        this.codegenEncoding.generate(this.codegenFreq, 7);
        const size = this.dynamicSize(this.literalEncoding, this.offsetEncoding, 0);
        if (inEnd - inStart <= MAX_STORE_BLOCK_SIZE && (inEnd - inStart + 5) * 8 < size + (size >> 4)) {
            this.writeStoredHeader(inEnd - inStart, eof);
            this.writeBytes(input, inStart, inEnd);
            return;
        }
        this.writeDynamicHeader(numLiterals, numOffsets, this.numCodegens, eof);
        this.writeTokens(tokens, n, this.literalEncoding, this.offsetEncoding);
    }

    /** `writeBlockHuff`: input[start:end] as literals with a dynamic code, or stored. */
    writeBlockHuff(eof: boolean, input: Uint8Array, start: number, end: number): void {
        const freq = this.literalFreq;
        freq.fill(0);
        for (let i = start; i < end; i++) {
            freq[input[i]!]++;
        }
        freq[END_BLOCK_MARKER] = 1;
        const numLiterals = END_BLOCK_MARKER + 1;
        // NOTE: like Go, the other offsetFreq entries keep their stale counts; HUFF_OFFSET
        // gives them length 0, so they cost nothing.
        this.offsetFreq[0] = 1;
        const numOffsets = 1;
        this.literalEncoding.generate(freq, 15);
        this.generateCodegen(numLiterals, numOffsets, this.literalEncoding, HUFF_OFFSET);
        this.codegenEncoding.generate(this.codegenFreq, 7);
        const size = this.dynamicSize(this.literalEncoding, HUFF_OFFSET, 0);
        if (end - start <= MAX_STORE_BLOCK_SIZE && (end - start + 5) * 8 < size + (size >> 4)) {
            this.writeStoredHeader(end - start, eof);
            this.writeBytes(input, start, end);
            return;
        }
        this.writeDynamicHeader(numLiterals, numOffsets, this.numCodegens, eof);
        const code = this.literalEncoding.code;
        const len = this.literalEncoding.len;
        const out = this.out;
        let bits = this.bits;
        let nbits = this.nbits;
        for (let i = start; i < end; i++) {
            const t = input[i]!;
            bits |= code[t]! << nbits;
            nbits += len[t]!;
            if (nbits >= 16) {
                if (out.pos + 2 > out.buf.length) {
                    out.reserve(2);
                }
                out.buf[out.pos++] = bits;
                out.buf[out.pos++] = bits >>> 8;
                bits >>>= 16;
                nbits -= 16;
            }
        }
        this.bits = bits;
        this.nbits = nbits;
        this.writeBits(code[END_BLOCK_MARKER]!, len[END_BLOCK_MARKER]!);
    }

    /** `indexTokens`: symbol frequencies, the used alphabet sizes, and both dynamic codes. */
    private indexTokens(tokens: Uint32Array, n: number): [number, number] {
        const lf = this.literalFreq;
        const of = this.offsetFreq;
        lf.fill(0);
        of.fill(0);
        for (let i = 0; i < n; i++) {
            const t = tokens[i]!;
            if (t < MATCH_TYPE) {
                lf[t]++;
                continue;
            }
            lf[LENGTH_CODES_START + LENGTH_CODES[(t - MATCH_TYPE) >>> LENGTH_SHIFT]!]++;
            of[offsetCode(t & OFFSET_MASK)]++;
        }
        return this.codesFromFreqs();
    }

    /** The rest of `indexTokens`, from the counts: the used alphabet sizes and both codes. */
    private codesFromFreqs(): [number, number] {
        const lf = this.literalFreq;
        const of = this.offsetFreq;
        let numLiterals = lf.length;
        while (lf[numLiterals - 1] === 0) {
            numLiterals--;
        }
        let numOffsets = of.length;
        while (numOffsets > 0 && of[numOffsets - 1] === 0) {
            numOffsets--;
        }
        if (numOffsets === 0) {
            // No match at all: one distance code is still needed to describe the tree.
            of[0] = 1;
            numOffsets = 1;
        }
        this.literalEncoding.generate(lf, 15);
        this.offsetEncoding.generate(of, 15);
        return [numLiterals, numOffsets];
    }

    /**
     * `generateCodegen`: the RFC 1951 §3.2.7 run-length coding of the concatenated code lengths,
     * into `codegen` (ending in BAD_CODE), with the frequency of each symbol in `codegenFreq`.
     */
    private generateCodegen(numLiterals: number, numOffsets: number, litEnc: HuffmanEncoder, offEnc: HuffmanEncoder): void {
        const freq = this.codegenFreq;
        const cg = this.codegen;
        freq.fill(0);
        // The input lengths are copied into `codegen` first; the output never overtakes them.
        cg.set(litEnc.len.subarray(0, numLiterals), 0);
        cg.set(offEnc.len.subarray(0, numOffsets), numLiterals);
        cg[numLiterals + numOffsets] = BAD_CODE;
        let size = cg[0]!;
        let count = 1;
        let out = 0;
        for (let inIndex = 1; size !== BAD_CODE; inIndex++) {
            const nextSize = cg[inIndex]!;
            if (nextSize === size) {
                count++;
                continue;
            }
            if (size !== 0) {
                cg[out++] = size;
                freq[size]++;
                count--;
                while (count >= 3) {
                    const n = Math.min(6, count);
                    cg[out++] = 16;
                    cg[out++] = n - 3;
                    freq[16]++;
                    count -= n;
                }
            } else {
                while (count >= 11) {
                    const n = Math.min(138, count);
                    cg[out++] = 18;
                    cg[out++] = n - 11;
                    freq[18]++;
                    count -= n;
                }
                if (count >= 3) {
                    cg[out++] = 17;
                    cg[out++] = count - 3;
                    freq[17]++;
                    count = 0;
                }
            }
            count--;
            for (; count >= 0; count--) {
                cg[out++] = size;
                freq[size]++;
            }
            size = nextSize;
            count = 1;
        }
        cg[out] = BAD_CODE;
    }

    /** `dynamicSize` in bits; sets numCodegens (trailing unused code-length codes dropped). */
    private dynamicSize(litEnc: HuffmanEncoder, offEnc: HuffmanEncoder, extraBits: number): number {
        const cf = this.codegenFreq;
        let numCodegens = cf.length;
        while (numCodegens > 4 && cf[CODEGEN_ORDER[numCodegens - 1]!] === 0) {
            numCodegens--;
        }
        this.numCodegens = numCodegens;
        const header = 3 + 5 + 5 + 4 + 3 * numCodegens +
            this.codegenEncoding.bitLength(cf) + cf[16]! * 2 + cf[17]! * 3 + cf[18]! * 7;
        return header + litEnc.bitLength(this.literalFreq) + offEnc.bitLength(this.offsetFreq) + extraBits;
    }

    private fixedSize(extraBits: number): number {
        return 3 + FIXED_LITERAL_ENCODING.bitLength(this.literalFreq) +
            FIXED_OFFSET_ENCODING.bitLength(this.offsetFreq) + extraBits;
    }

    private writeDynamicHeader(numLiterals: number, numOffsets: number, numCodegens: number, isEof: boolean): void {
        this.writeBits(isEof ? 5 : 4, 3);
        this.writeBits(numLiterals - 257, 5);
        this.writeBits(numOffsets - 1, 5);
        this.writeBits(numCodegens - 4, 4);
        const ce = this.codegenEncoding;
        for (let i = 0; i < numCodegens; i++) {
            this.writeBits(ce.len[CODEGEN_ORDER[i]!]!, 3);
        }
        const cg = this.codegen;
        for (let i = 0; ; ) {
            const codeWord = cg[i++]!;
            if (codeWord === BAD_CODE) {
                break;
            }
            this.writeBits(ce.code[codeWord]!, ce.len[codeWord]!);
            if (codeWord === 16) {
                this.writeBits(cg[i++]!, 2);
            } else if (codeWord === 17) {
                this.writeBits(cg[i++]!, 3);
            } else if (codeWord === 18) {
                this.writeBits(cg[i++]!, 7);
            }
        }
    }

    private writeTokens(tokens: Uint32Array, n: number, litEnc: HuffmanEncoder, offEnc: HuffmanEncoder): void {
        const lcode = litEnc.code;
        const llen = litEnc.len;
        const ocode = offEnc.code;
        const olen = offEnc.len;
        const out = this.out;
        let bits = this.bits;
        let nbits = this.nbits;
        for (let i = 0; i < n; i++) {
            const t = tokens[i]!;
            if (out.pos + 8 > out.buf.length) {
                out.reserve(8);
            }
            if (t < MATCH_TYPE) {
                bits |= lcode[t]! << nbits;
                nbits += llen[t]!;
                if (nbits >= 16) {
                    out.buf[out.pos++] = bits;
                    out.buf[out.pos++] = bits >>> 8;
                    bits >>>= 16;
                    nbits -= 16;
                }
                continue;
            }
            // Length code, then its extra bits; each step adds at most 15 bits, so flushing
            // 16 bits after each keeps the accumulator under 32 bits.
            const length = (t - MATCH_TYPE) >>> LENGTH_SHIFT;
            const lc = LENGTH_CODES[length]!;
            const sym = lc + LENGTH_CODES_START;
            bits |= lcode[sym]! << nbits;
            nbits += llen[sym]!;
            if (nbits >= 16) {
                out.buf[out.pos++] = bits;
                out.buf[out.pos++] = bits >>> 8;
                bits >>>= 16;
                nbits -= 16;
            }
            const lx = LENGTH_EXTRA_BITS[lc]!;
            if (lx > 0) {
                bits |= (length - LENGTH_BASE[lc]!) << nbits;
                nbits += lx;
                if (nbits >= 16) {
                    out.buf[out.pos++] = bits;
                    out.buf[out.pos++] = bits >>> 8;
                    bits >>>= 16;
                    nbits -= 16;
                }
            }
            const offset = t & OFFSET_MASK;
            const oc = offsetCode(offset);
            bits |= ocode[oc]! << nbits;
            nbits += olen[oc]!;
            if (nbits >= 16) {
                out.buf[out.pos++] = bits;
                out.buf[out.pos++] = bits >>> 8;
                bits >>>= 16;
                nbits -= 16;
            }
            const ox = OFFSET_EXTRA_BITS[oc]!;
            if (ox > 0) {
                bits |= (offset - OFFSET_BASE[oc]!) << nbits;
                nbits += ox;
                if (nbits >= 16) {
                    out.buf[out.pos++] = bits;
                    out.buf[out.pos++] = bits >>> 8;
                    bits >>>= 16;
                    nbits -= 16;
                }
            }
        }
        this.bits = bits;
        this.nbits = nbits;
    }
}
