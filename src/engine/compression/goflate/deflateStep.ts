/**
 * The hot loop of Go's `deflate` (levels 2-9: hashing, `findMatch`, lazy matching, tokens and
 * their symbol counts) as WebAssembly, built from wasm/deflateStep.c by scripts/build-wasm.mjs. deflate.ts keeps the
 * rest of the compressor (fill, window slide, hash rebase, block writing) and shares the arrays
 * with the module: each DeflateStep owns one instance, whose linear memory holds the window,
 * hash chains, tokens and the loop state, seen from here through typed arrays.
 *
 * NOTE: compiled, the whole level-6 deflate of 96 MiB of the bench layer takes 19% less time
 * than with the loop in JavaScript (3.97 s -> 3.21 s, median of 3); the output is the same,
 * byte for byte, and the goflate tests check it. What is left in the loop is mostly latency:
 * ~10.7 chain candidates per findMatch call (~5 per position), each a dependent load from
 * hashPrev.
 */
import { DEFLATE_STEP_WASM } from "./wasm/deflateStepWasm";

/** Indices of the loop state in `state` (the `st` array of deflateStep.c). */
export const S_INDEX = 0;
export const S_LENGTH = 1;
export const S_OFFSET = 2;
export const S_CHAIN_HEAD = 3;
export const S_BYTE_AVAILABLE = 4;
export const S_NTOKENS = 5;
export const S_WINDOW_END = 6;
export const S_HASH_OFFSET = 7;
export const S_SYNC = 8;
export const S_GOOD = 9;
export const S_LAZY = 10;
export const S_NICE = 11;
export const S_CHAIN = 12;
export const S_FAST_SKIP_HASHING = 13;
export const S_BLOCK_END = 14;
const S_COUNT = 15;

/** `run()` results: stopped; a block ends at state[S_BLOCK_END] (then go on / then stop). */
export const RUN_STOP = 0;
export const RUN_BLOCK = 1;
export const RUN_LAST_BLOCK = 2;

interface Exports {
    readonly memory: { readonly buffer: ArrayBuffer };
    run(): number;
    window_ptr(): number;
    hash_head_ptr(): number;
    hash_prev_ptr(): number;
    tokens_ptr(): number;
    state_ptr(): number;
    window_len(): number;
    hash_head_len(): number;
    hash_prev_len(): number;
    tokens_len(): number;
    state_len(): number;
    init(): void;
    lit_freq_ptr(): number;
    off_freq_ptr(): number;
    lit_freq_len(): number;
    off_freq_len(): number;
}

let compiled: WebAssembly.Module | undefined;

export class DeflateStep {
    readonly window: Uint8Array;
    readonly hashHead: Int32Array;
    readonly hashPrev: Int32Array;
    readonly tokens: Uint32Array;
    readonly state: Int32Array;
    /**
     * Symbol counts of the tokens made since they were last zeroed: literal/length symbols
     * (without the end-of-block marker) and distance codes. Zero them with the tokens.
     */
    readonly litFreq: Int32Array;
    readonly offFreq: Int32Array;
    readonly run: () => number;

    constructor(windowSize: number, hashSize: number, hashPrevSize: number, tokenCount: number, numLit: number, numOffsets: number) {
        compiled ??= new WebAssembly.Module(Buffer.from(DEFLATE_STEP_WASM, "base64"));
        // The module's memory is its own and never grows, so these views stay valid.
        const x = new WebAssembly.Instance(compiled).exports as unknown as Exports;
        const want: Array<[string, number, number]> = [
            ["window", windowSize, x.window_len()],
            ["hashHead", hashSize, x.hash_head_len()],
            ["hashPrev", hashPrevSize, x.hash_prev_len()],
            ["tokens", tokenCount, x.tokens_len()],
            ["state", S_COUNT, x.state_len()],
            ["litFreq", numLit, x.lit_freq_len()],
            ["offFreq", numOffsets, x.off_freq_len()],
        ];
        for (const [name, ts, c] of want) {
            if (ts !== c) {
                throw new Error(`goflate: the deflate step's ${name} holds ${c} elements, deflate.ts expects ${ts}: rebuild it (node scripts/build-wasm.mjs)`);
            }
        }
        const mem = x.memory.buffer;
        this.window = new Uint8Array(mem, x.window_ptr(), windowSize);
        this.hashHead = new Int32Array(mem, x.hash_head_ptr(), hashSize);
        this.hashPrev = new Int32Array(mem, x.hash_prev_ptr(), hashPrevSize);
        this.tokens = new Uint32Array(mem, x.tokens_ptr(), tokenCount);
        this.state = new Int32Array(mem, x.state_ptr(), S_COUNT);
        this.litFreq = new Int32Array(mem, x.lit_freq_ptr(), numLit);
        this.offFreq = new Int32Array(mem, x.off_freq_ptr(), numOffsets);
        x.init();
        this.run = x.run;
    }
}
