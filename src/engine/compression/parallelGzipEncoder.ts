/**
 * The "fast" gzip (zlib, not BuildKit-comparable) on every core, as pigz does it
 * (madler/pigz `pigz.c` `compress_thread`): the tar is cut into BLOCK-byte blocks, each deflated
 * independently on libuv's thread pool with the previous block's last 32 KiB as its preset
 * dictionary, and the raw deflate pieces are joined into ONE gzip member in Go's container
 * format (gzipMember.ts header, CRC-32 and ISIZE trailer).
 *
 * Joining works because every block but the last ends with Z_SYNC_FLUSH: its deflate data stops
 * on a byte boundary after an empty non-final stored block (`00 00 ff ff`), with no final block,
 * so the next block's bits simply follow; the last block ends with Z_FINISH (BFINAL set). The
 * dictionary only lets a block's matches reach back into the previous block, as a single deflate
 * stream's 32 KiB window would (RFC 1951 §2: distances ≤ 32768).
 *
 * The output depends only on the input, the level and BLOCK, never on timing or core count:
 * blocks are cut at fixed offsets and written in order. CRC-32 runs here as the bytes arrive
 * (zlib's, SIMD; a 1 MiB block takes ~0.1 ms), so no crc32_combine is needed.
 */
import * as zlib from "node:zlib";
import { availableParallelism } from "node:os";
import type { ByteSink } from "../archive/tarStream";
import { EngineError } from "../errors";
import { crc32 } from "./crc32";
import { goGzipHeader } from "./gzipMember";
import { zlibOptionsForGoLevel } from "./levels";
import { StreamEncoder } from "./streamEncoder";

/** Uncompressed bytes per block: big enough that the 32 KiB dictionary costs ~0.1% of ratio. */
export const BLOCK = 1 << 20;
/** deflate's window: the most a match can reach back (RFC 1951 §3.2.5). */
const DICT = 32 * 1024;

export class ParallelGzipEncoder extends StreamEncoder {
    /** Input blocks whose deflate is done, for reuse. */
    private readonly free: Buffer[] = [];
    private current: Buffer = Buffer.allocUnsafe(BLOCK);
    private used = 0;
    /** The last DICT bytes before `current`, or empty at the start. */
    private dictionary: Buffer = Buffer.alloc(0);
    /** Deflated blocks in flight, oldest first; written to `out` in this order. */
    private readonly inFlight: Array<Promise<Buffer>> = [];
    private readonly maxInFlight: number;
    private crc = 0;
    private isize = 0;
    private wroteHeader = false;

    constructor(
        private readonly out: ByteSink,
        private readonly goLevel: number,
        computeDigest: boolean,
        parallel = availableParallelism(),
    ) {
        super(computeDigest);
        // One more than the cores so a core never waits for the main thread to hand it work.
        this.maxInFlight = Math.max(1, parallel) + 1;
    }

    protected async consume(chunk: Buffer): Promise<void> {
        this.crc = crc32(chunk, this.crc);
        this.isize = (this.isize + chunk.length) % 2 ** 32;
        let off = 0;
        while (off < chunk.length) {
            if (this.used === BLOCK) {
                // More input follows, so the full block is not the last one.
                await this.dispatch(zlib.constants.Z_SYNC_FLUSH);
            }
            const n = Math.min(chunk.length - off, BLOCK - this.used);
            chunk.copy(this.current, this.used, off, off + n);
            this.used += n;
            off += n;
        }
    }

    protected async close(): Promise<void> {
        await this.dispatch(zlib.constants.Z_FINISH);
        while (this.inFlight.length > 0) {
            await this.writeOldest();
        }
        const t = Buffer.allocUnsafe(8);
        t.writeUInt32LE(this.crc >>> 0, 0);
        t.writeUInt32LE(this.isize, 4); // ISIZE is the input size modulo 2^32
        await this.out.write(t);
    }

    protected override release(): void {
        // Jobs already on the thread pool finish on their own; their results are dropped.
        for (const p of this.inFlight) {
            p.catch(() => undefined);
        }
        this.inFlight.length = 0;
    }

    /** Starts deflating `current` (ending with `flush`) and moves on to a fresh block. */
    private async dispatch(flush: number): Promise<void> {
        while (this.inFlight.length >= this.maxInFlight) {
            await this.writeOldest();
        }
        const block = this.current;
        const input = block.subarray(0, this.used);
        const options: zlib.ZlibOptions = { ...zlibOptionsForGoLevel(this.goLevel), finishFlush: flush };
        if (this.dictionary.length > 0) {
            options.dictionary = this.dictionary;
        }
        const job = new Promise<Buffer>((resolve, reject) => {
            // NOTE: the thread pool reads `input` until the callback runs; its block goes back
            // to `free` only then.
            zlib.deflateRaw(input, options, (err, res) => (err ? reject(wrapZlib(err)) : resolve(res)));
        });
        job.then(() => this.free.push(block), () => undefined);
        this.inFlight.push(job);
        this.dictionary = Buffer.from(input.subarray(Math.max(0, input.length - DICT)));
        this.current = this.free.pop() ?? Buffer.allocUnsafe(BLOCK);
        this.used = 0;
    }

    private async writeOldest(): Promise<void> {
        const deflated = await this.inFlight.shift()!;
        if (!this.wroteHeader) {
            this.wroteHeader = true;
            await this.out.write(goGzipHeader(this.goLevel));
        }
        await this.out.write(deflated);
    }
}

function wrapZlib(err: Error): EngineError {
    return new EngineError("Internal", `deflate failed: ${err.message}`, {}, { cause: err });
}
