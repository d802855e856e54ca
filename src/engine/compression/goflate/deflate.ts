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
import {
    DeflateStep, RUN_LAST_BLOCK, RUN_STOP, S_BLOCK_END, S_BYTE_AVAILABLE, S_CHAIN, S_CHAIN_HEAD, S_FAST_SKIP_HASHING,
    S_GOOD, S_HASH_OFFSET, S_INDEX, S_LAZY, S_LENGTH, S_NICE, S_NTOKENS, S_OFFSET, S_SYNC, S_WINDOW_END,
} from "./deflateStep";
import { HuffmanBitWriter } from "./huffmanBitWriter";
import type { OutputQueue } from "./outputQueue";
import * as tk from "./tokens";

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
/** Tokens per block before a block is written regardless. */
const MAX_FLATE_BLOCK_TOKENS = 1 << 14;
const HASH_BITS = 17;
const HASH_SIZE = 1 << HASH_BITS;
/** hashHead/hashPrev hold position + hashOffset; rebased before passing this. */
const MAX_HASH_OFFSET = 1 << 24;
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

type Step = "store" | "storeHuff" | "encSpeed" | "deflate";

export function isValidGoLevel(level: number): boolean {
    return Number.isInteger(level) && level >= HuffmanOnly && level <= BestCompression;
}

export class GoDeflater {
    private readonly w = new HuffmanBitWriter();
    private readonly stepKind: Step;
    private readonly window: Uint8Array;
    private windowEnd = 0;
    private sync = false;
    private closed = false;
    private readonly tokens: Uint32Array;
    private ntokens = 0;

    // BestSpeed.
    private readonly bestSpeed: DeflateFast | undefined;

    // Levels 2-9: the loop's arrays and parameters live in the WebAssembly step.
    private readonly loop: DeflateStep | undefined;
    private readonly hashHead: Int32Array;
    private readonly hashPrev: Int32Array;
    // The loop's own state (chainHead, the pending match, byteAvailable) lives only in
    // loop.state; these are shared with fill and block writing, and copied in for each run.
    private hashOffset = 1;
    private index = 0;
    private blockStart = 0;

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
            const step = new DeflateStep(2 * WINDOW_SIZE, HASH_SIZE, WINDOW_SIZE, MAX_FLATE_BLOCK_TOKENS + 1, tk.MAX_NUM_LIT, tk.OFFSET_CODE_COUNT);
            this.loop = step;
            [step.state[S_GOOD], step.state[S_LAZY], step.state[S_NICE], step.state[S_CHAIN], step.state[S_FAST_SKIP_HASHING]] =
                LEVELS[level === -1 ? 6 : level]!;
            this.resetLoopState();
            this.window = step.window;
            this.hashHead = step.hashHead;
            this.hashPrev = step.hashPrev;
            this.tokens = step.tokens;
        }
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
                this.resetLoopState();
                this.hashHead.fill(0);
                this.hashPrev.fill(0);
                this.hashOffset = 1;
                this.index = 0;
                this.blockStart = 0;
                break;
        }
    }

    /** No chain head, no pending match or literal, no symbols counted. */
    private resetLoopState(): void {
        const step = this.loop!;
        step.state[S_CHAIN_HEAD] = -1;
        step.state[S_LENGTH] = MIN_MATCH_LENGTH - 1;
        step.state[S_OFFSET] = 0;
        step.state[S_BYTE_AVAILABLE] = 0;
        step.litFreq.fill(0);
        step.offFreq.fill(0);
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
        this.loop!.state[S_CHAIN_HEAD] -= delta;
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
            const step = this.loop!;
            this.w.writeBlock(this.tokens, this.ntokens, false, hasWindow ? this.window : null, start, index, step.litFreq, step.offFreq);
        }
    }

    /**
     * `deflate` (levels 2-9): hash every position, find matches along the hash chains
     * (`findMatch`), match lazily from level 4, and write a block every MAX_FLATE_BLOCK_TOKENS
     * tokens and at the end on sync. The loop runs in WebAssembly (deflateStep.ts); it stops
     * at each block end so that the block is written here, then goes on.
     */
    private deflate(): void {
        const step = this.loop!;
        const s = step.state;
        s[S_INDEX] = this.index;
        s[S_NTOKENS] = this.ntokens;
        s[S_WINDOW_END] = this.windowEnd;
        s[S_HASH_OFFSET] = this.hashOffset;
        s[S_SYNC] = this.sync ? 1 : 0;
        for (;;) {
            const r = step.run();
            if (r === RUN_STOP) {
                break;
            }
            this.ntokens = s[S_NTOKENS]!;
            this.writeBlock(s[S_BLOCK_END]!);
            s[S_NTOKENS] = 0;
            step.litFreq.fill(0);
            step.offFreq.fill(0);
            if (r === RUN_LAST_BLOCK) {
                break;
            }
        }
        this.index = s[S_INDEX]!;
        this.ntokens = s[S_NTOKENS]!;
    }
}

const EMPTY_I32 = new Int32Array(0);
const EMPTY_U32 = new Uint32Array(0);
