/**
 * Mirrors Go 1.19 `src/compress/flate/deflate.go` `compressor`: the level dispatch (`init`),
 * the write loop (`write`: step, then fill, until the input is used up), `close`, and the four
 * steps: `store` (level 0), `storeHuff` (-2, HuffmanOnly), `encSpeed` (1, see deflateFast.ts)
 * and `deflate` (2-9, -1 = 6: hash chains with lazy matching from level 4).
 *
 * NOTE: the write loop is kept exactly, including where the window slides, because Go's output
 * depends on it in one corner (a block boundary between two possible slide points); with the
 * same sequence of writes the output is Go's byte for byte.
 */
import { DeflateFast } from "./deflateFast";
import { HuffmanBitWriter } from "./huffmanBitWriter";
import type { OutputQueue } from "./outputQueue";
import * as tk from "./tokens";

// NOTE: module-local copies: unbundled CommonJS (the test build) reads imported bindings
// through getters, which the hot loops cannot afford.
const BASE_MATCH_LENGTH = tk.BASE_MATCH_LENGTH;
const BASE_MATCH_OFFSET = tk.BASE_MATCH_OFFSET;
const LENGTH_SHIFT = tk.LENGTH_SHIFT;
const MATCH_TYPE = tk.MATCH_TYPE;
const MAX_MATCH_LENGTH = tk.MAX_MATCH_LENGTH;
const MAX_STORE_BLOCK_SIZE = tk.MAX_STORE_BLOCK_SIZE;
const MIN_MATCH_LENGTH = tk.MIN_MATCH_LENGTH;

export const HuffmanOnly = -2;
export const DefaultCompression = -1;
export const NoCompression = 0;
export const BestSpeed = 1;
export const BestCompression = 9;

const LOG_WINDOW_SIZE = 15;
const WINDOW_SIZE = 1 << LOG_WINDOW_SIZE;
const WINDOW_MASK = WINDOW_SIZE - 1;
/** Tokens per block before a block is written regardless. */
const MAX_FLATE_BLOCK_TOKENS = 1 << 14;
const HASH_BITS = 17;
const HASH_SIZE = 1 << HASH_BITS;
const HASH_SHIFT = 32 - HASH_BITS;
/** hashHead/hashPrev hold position + hashOffset; rebased before passing this. */
const MAX_HASH_OFFSET = 1 << 24;
const HASHMUL = 0x1e35a7bd;
const SKIP_NEVER = 0x7fffffff;
const MAX_INT32 = 0x7fffffff;

/** `levels`: good, lazy, nice, chain, fastSkipHashing for levels 2-9. */
const LEVELS: ReadonlyArray<readonly [number, number, number, number, number]> = [
    [0, 0, 0, 0, 0],
    [0, 0, 0, 0, 0],
    // Levels 2-3 do not try lazy matches.
    [4, 0, 16, 8, 5],
    [4, 0, 32, 32, 6],
    // Levels 4-9: more lazy matching, stricter "good enough".
    [4, 4, 16, 16, SKIP_NEVER],
    [8, 16, 32, 32, SKIP_NEVER],
    [8, 16, 128, 128, SKIP_NEVER],
    [8, 32, 128, 256, SKIP_NEVER],
    [32, 128, 258, 1024, SKIP_NEVER],
    [32, 258, 258, 4096, SKIP_NEVER],
];

/** `hash4`: the top 17 bits of the big-endian 4 bytes at i times 0x1e35a7bd. */
function hash4(b: Uint8Array, i: number): number {
    return Math.imul(b[i + 3]! | (b[i + 2]! << 8) | (b[i + 1]! << 16) | (b[i]! << 24), HASHMUL) >>> HASH_SHIFT;
}

type Step = "store" | "storeHuff" | "encSpeed" | "deflate";

export function isValidGoLevel(level: number): boolean {
    return Number.isInteger(level) && level >= HuffmanOnly && level <= BestCompression;
}

export class GoDeflater {
    private readonly w = new HuffmanBitWriter();
    private readonly stepKind: Step;
    private readonly window: Uint8Array;
    private readonly view: DataView;
    private windowEnd = 0;
    private sync = false;
    private closed = false;
    private readonly tokens: Uint32Array;
    private ntokens = 0;

    // BestSpeed.
    private readonly bestSpeed: DeflateFast | undefined;

    // Levels 2-9.
    private readonly good: number = 0;
    private readonly lazy: number = 0;
    private readonly nice: number = 0;
    private readonly chain: number = 0;
    private readonly fastSkipHashing: number = 0;
    private readonly hashHead: Int32Array;
    private readonly hashPrev: Int32Array;
    private chainHead = -1;
    private hashOffset = 1;
    private index = 0;
    private blockStart = 0;
    /** Lazy matching: window[index-1] is still to be emitted. */
    private byteAvailable = false;
    private length = MIN_MATCH_LENGTH - 1;
    private offset = 0;
    // findMatch results.
    private matchLength = 0;
    private matchOffset = 0;

    constructor(readonly level: number) {
        if (!isValidGoLevel(level)) {
            throw new RangeError(`flate: invalid compression level ${level}: want value in range [-2, 9]`);
        }
        this.hashHead = EMPTY_I32;
        this.hashPrev = EMPTY_I32;
        if (level === NoCompression || level === HuffmanOnly) {
            this.stepKind = level === NoCompression ? "store" : "storeHuff";
            this.window = new Uint8Array(MAX_STORE_BLOCK_SIZE);
            this.tokens = EMPTY_U32;
        } else if (level === BestSpeed) {
            this.stepKind = "encSpeed";
            this.window = new Uint8Array(MAX_STORE_BLOCK_SIZE);
            this.bestSpeed = new DeflateFast();
            // encode may emit one token per byte, plus the end-of-block marker.
            this.tokens = new Uint32Array(MAX_STORE_BLOCK_SIZE + 1);
        } else {
            this.stepKind = "deflate";
            [this.good, this.lazy, this.nice, this.chain, this.fastSkipHashing] = LEVELS[level === -1 ? 6 : level]!;
            this.window = new Uint8Array(2 * WINDOW_SIZE);
            this.hashHead = new Int32Array(HASH_SIZE);
            this.hashPrev = new Int32Array(WINDOW_SIZE);
            this.tokens = new Uint32Array(MAX_FLATE_BLOCK_TOKENS + 1);
        }
        this.view = new DataView(this.window.buffer, this.window.byteOffset, this.window.byteLength);
    }

    /** Where the compressed bytes collect; the caller drains it. */
    get out(): OutputQueue {
        return this.w.out;
    }

    /**
     * One turn of Go's write loop: `step`, then `fill` from b[off:]. Returns how many bytes
     * were taken; call again with the rest until all of b is taken (that is one Go Write).
     */
    writeSome(b: Uint8Array, off: number): number {
        if (this.closed) {
            throw new Error("goflate: write after close");
        }
        this.step();
        const n = this.stepKind === "deflate" ? this.fillDeflate(b, off) : this.fillStore(b, off);
        return n;
    }

    /** One Go `Write(b)`, synchronously. */
    write(b: Uint8Array): void {
        for (let off = 0; off < b.length; ) {
            off += this.writeSome(b, off);
        }
    }

    /** `close`: flush everything, then the empty final stored block. */
    close(): void {
        if (this.closed) {
            return;
        }
        this.sync = true;
        this.step();
        this.w.writeStoredHeader(0, true);
        this.w.flush();
        this.closed = true;
    }

    /** `Reset` for reuse at the same level; the output queue must have been drained. */
    reset(): void {
        this.w.reset();
        this.sync = false;
        this.closed = false;
        this.windowEnd = 0;
        this.ntokens = 0;
        switch (this.stepKind) {
            case "store":
            case "storeHuff":
                break;
            case "encSpeed":
                this.bestSpeed!.reset();
                break;
            case "deflate":
                this.chainHead = -1;
                this.hashHead.fill(0);
                this.hashPrev.fill(0);
                this.hashOffset = 1;
                this.index = 0;
                this.blockStart = 0;
                this.byteAvailable = false;
                this.length = MIN_MATCH_LENGTH - 1;
                this.offset = 0;
                break;
        }
    }

    private step(): void {
        switch (this.stepKind) {
            case "store":
                this.store();
                break;
            case "storeHuff":
                this.storeHuff();
                break;
            case "encSpeed":
                this.encSpeed();
                break;
            case "deflate":
                this.deflate();
                break;
        }
    }

    private fillStore(b: Uint8Array, off: number): number {
        const n = Math.min(b.length - off, this.window.length - this.windowEnd);
        this.window.set(b.subarray(off, off + n), this.windowEnd);
        this.windowEnd += n;
        return n;
    }

    private writeStoredBlock(start: number, end: number): void {
        this.w.writeStoredHeader(end - start, false);
        this.w.writeBytes(this.window, start, end);
    }

    private store(): void {
        if (this.windowEnd > 0 && (this.windowEnd === MAX_STORE_BLOCK_SIZE || this.sync)) {
            this.writeStoredBlock(0, this.windowEnd);
            this.windowEnd = 0;
        }
    }

    private storeHuff(): void {
        if ((this.windowEnd < this.window.length && !this.sync) || this.windowEnd === 0) {
            return;
        }
        this.w.writeBlockHuff(false, this.window, 0, this.windowEnd);
        this.windowEnd = 0;
    }

    /** `encSpeed`: BestSpeed compresses whole 65535-byte windows (and the rest on sync). */
    private encSpeed(): void {
        const end = this.windowEnd;
        if (end < MAX_STORE_BLOCK_SIZE) {
            if (!this.sync) {
                return;
            }
            if (end < 128) {
                // Small tails: stored up to 16 bytes, else Huffman-only.
                if (end === 0) {
                    return;
                }
                if (end <= 16) {
                    this.writeStoredBlock(0, end);
                } else {
                    this.w.writeBlockHuff(false, this.window, 0, end);
                }
                this.windowEnd = 0;
                this.bestSpeed!.reset();
                return;
            }
        }
        const n = this.bestSpeed!.encode(this.tokens, this.window, end);
        // Removed less than 1/16th: Huffman-only is as good and cheaper.
        if (n > end - (end >> 4)) {
            this.w.writeBlockHuff(false, this.window, 0, end);
        } else {
            this.w.writeBlockDynamic(this.tokens, n, false, this.window, 0, end);
        }
        this.windowEnd = 0;
    }

    /** `fillDeflate`: slide the window down by WINDOW_SIZE when it is nearly used up. */
    private fillDeflate(b: Uint8Array, off: number): number {
        if (this.index >= 2 * WINDOW_SIZE - (MIN_MATCH_LENGTH + MAX_MATCH_LENGTH)) {
            this.window.copyWithin(0, WINDOW_SIZE, 2 * WINDOW_SIZE);
            this.index -= WINDOW_SIZE;
            this.windowEnd -= WINDOW_SIZE;
            if (this.blockStart >= WINDOW_SIZE) {
                this.blockStart -= WINDOW_SIZE;
            } else {
                // The block's start slid out: it can no longer be written as stored.
                this.blockStart = MAX_INT32;
            }
            this.hashOffset += WINDOW_SIZE;
            if (this.hashOffset > MAX_HASH_OFFSET) {
                this.rebaseHashes();
            }
        }
        const n = Math.min(b.length - off, this.window.length - this.windowEnd);
        this.window.set(b.subarray(off, off + n), this.windowEnd);
        this.windowEnd += n;
        return n;
    }

    private rebaseHashes(): void {
        const delta = this.hashOffset - 1;
        this.hashOffset -= delta;
        this.chainHead -= delta;
        for (const table of [this.hashPrev, this.hashHead]) {
            for (let i = 0; i < table.length; i++) {
                const v = table[i]!;
                table[i] = v > delta ? v - delta : 0;
            }
        }
    }

    private writeBlock(index: number): void {
        if (index > 0) {
            const hasWindow = this.blockStart <= index;
            const start = this.blockStart;
            this.blockStart = index;
            this.w.writeBlock(this.tokens, this.ntokens, false, hasWindow ? this.window : null, start, index);
        }
    }

    /**
     * `findMatch`: a match at `pos` longer than `prevLength`, looking at `chain` candidates at
     * most. Sets matchLength/matchOffset and returns whether one was found.
     */
    private findMatch(pos: number, prevHead: number, prevLength: number, lookahead: number): boolean {
        const win = this.window;
        const view = this.view;
        const hashPrev = this.hashPrev;
        const hashOffset = this.hashOffset;
        const minMatchLook = lookahead < MAX_MATCH_LENGTH ? lookahead : MAX_MATCH_LENGTH;
        // Stop at a match this long.
        const nice = this.nice < minMatchLook ? this.nice : minMatchLook;
        let tries = this.chain;
        let length = prevLength;
        if (length >= this.good) {
            tries >>= 2;
        }
        let offset = 0;
        let ok = false;
        let wEnd = win[pos + length]!;
        const minIndex = pos - WINDOW_SIZE;
        for (let i = prevHead; tries > 0; tries--) {
            if (wEnd === win[i + length]) {
                // matchLen: four bytes at a time, then the first differing byte.
                let n = 0;
                while (n + 4 <= minMatchLook && view.getInt32(i + n, true) === view.getInt32(pos + n, true)) {
                    n += 4;
                }
                while (n < minMatchLook && win[i + n] === win[pos + n]) {
                    n++;
                }
                if (n > length && (n > MIN_MATCH_LENGTH || pos - i <= 4096)) {
                    length = n;
                    offset = pos - i;
                    ok = true;
                    if (n >= nice) {
                        break;
                    }
                    wEnd = win[pos + n]!;
                }
            }
            if (i === minIndex) {
                // hashPrev[i & WINDOW_MASK] has been overwritten already.
                break;
            }
            i = hashPrev[i & WINDOW_MASK]! - hashOffset;
            if (i < minIndex || i < 0) {
                break;
            }
        }
        this.matchLength = length;
        this.matchOffset = offset;
        return ok;
    }

    private deflate(): void {
        if (this.windowEnd - this.index < MIN_MATCH_LENGTH + MAX_MATCH_LENGTH && !this.sync) {
            return;
        }
        const windowEnd = this.windowEnd;
        const maxInsertIndex = windowEnd - (MIN_MATCH_LENGTH - 1);
        const sync = this.sync;
        const win = this.window;
        const tokens = this.tokens;
        const hashHead = this.hashHead;
        const hashPrev = this.hashPrev;
        const hashOffset = this.hashOffset; // constant within a step: it changes only in fill
        const lazyMode = this.fastSkipHashing === SKIP_NEVER;
        const fastSkipHashing = this.fastSkipHashing;
        const lazy = this.lazy;
        // NOTE: the state lives in locals inside the loop (no closure may capture them, or they
        // leave registers) and is written back before every block write and on exit.
        let index = this.index;
        let length = this.length;
        let offset = this.offset;
        let chainHead = this.chainHead;
        let byteAvailable = this.byteAvailable;
        let ntokens = this.ntokens;
        for (;;) {
            const lookahead = windowEnd - index;
            if (lookahead < MIN_MATCH_LENGTH + MAX_MATCH_LENGTH) {
                if (!sync) {
                    break;
                }
                if (lookahead === 0) {
                    // Flush the pending literal and the current block.
                    if (byteAvailable) {
                        tokens[ntokens++] = win[index - 1]!;
                        byteAvailable = false;
                    }
                    if (ntokens > 0) {
                        this.index = index;
                        this.length = length;
                        this.offset = offset;
                        this.chainHead = chainHead;
                        this.byteAvailable = byteAvailable;
                        this.ntokens = ntokens;
                        this.writeBlock(index);
                        ntokens = 0;
                    }
                    break;
                }
            }
            if (index < maxInsertIndex) {
                const h = hash4(win, index);
                chainHead = hashHead[h]!;
                hashPrev[index & WINDOW_MASK] = chainHead;
                hashHead[h] = index + hashOffset;
            }
            const prevLength = length;
            const prevOffset = offset;
            length = MIN_MATCH_LENGTH - 1;
            offset = 0;
            const minIndex = index - WINDOW_SIZE > 0 ? index - WINDOW_SIZE : 0;
            if (chainHead - hashOffset >= minIndex &&
                (lazyMode ? lookahead > prevLength && prevLength < lazy : lookahead > MIN_MATCH_LENGTH - 1)) {
                if (this.findMatch(index, chainHead - hashOffset, MIN_MATCH_LENGTH - 1, lookahead)) {
                    length = this.matchLength;
                    offset = this.matchOffset;
                }
            }
            if (lazyMode ? prevLength >= MIN_MATCH_LENGTH && length <= prevLength : length >= MIN_MATCH_LENGTH) {
                // Emit the previous match (lazy) or this one (levels 2-3).
                tokens[ntokens++] = lazyMode
                    ? MATCH_TYPE + ((prevLength - BASE_MATCH_LENGTH) << LENGTH_SHIFT) + (prevOffset - BASE_MATCH_OFFSET)
                    : MATCH_TYPE + ((length - BASE_MATCH_LENGTH) << LENGTH_SHIFT) + (offset - BASE_MATCH_OFFSET);
                // Hash every position up to the end of the match (index and index-1 are in
                // already); without enough lookahead the last two are left out.
                if (length <= fastSkipHashing) {
                    const newIndex = lazyMode ? index + prevLength - 1 : index + length;
                    let i = index + 1;
                    for (; i < newIndex; i++) {
                        if (i < maxInsertIndex) {
                            const h = hash4(win, i);
                            hashPrev[i & WINDOW_MASK] = hashHead[h]!;
                            hashHead[h] = i + hashOffset;
                        }
                    }
                    index = i;
                    if (lazyMode) {
                        byteAvailable = false;
                        length = MIN_MATCH_LENGTH - 1;
                    }
                } else {
                    // Long matches at levels 2-3 are not hashed position by position.
                    index += length;
                }
                if (ntokens === MAX_FLATE_BLOCK_TOKENS) {
                    // The block includes the current character.
                    this.index = index;
                    this.length = length;
                    this.offset = offset;
                    this.chainHead = chainHead;
                    this.byteAvailable = byteAvailable;
                    this.ntokens = ntokens;
                    this.writeBlock(index);
                    ntokens = 0;
                }
            } else {
                if (!lazyMode || byteAvailable) {
                    const i = lazyMode ? index - 1 : index;
                    tokens[ntokens++] = win[i]!;
                    if (ntokens === MAX_FLATE_BLOCK_TOKENS) {
                        this.index = index;
                        this.length = length;
                        this.offset = offset;
                        this.chainHead = chainHead;
                        this.byteAvailable = byteAvailable;
                        this.ntokens = ntokens;
                        this.writeBlock(i + 1);
                        ntokens = 0;
                    }
                }
                index++;
                if (lazyMode) {
                    byteAvailable = true;
                }
            }
        }
        this.index = index;
        this.length = length;
        this.offset = offset;
        this.chainHead = chainHead;
        this.byteAvailable = byteAvailable;
        this.ntokens = ntokens;
    }
}

const EMPTY_I32 = new Int32Array(0);
const EMPTY_U32 = new Uint32Array(0);
