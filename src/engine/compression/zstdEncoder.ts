/**
 * Mirrors moby/buildkit v0.10.6 `cache/blobs.go` `zstdWriter` (klauspost `zstd.NewWriter(dest,
 * zstd.WithEncoderLevel(toZstdEncoderLevel(level)))`), with the native libzstd binding.
 *
 * klauspost writes one frame for the whole layer; the binding only compresses whole buffers, so
 * to keep memory bounded the tar is cut into independent frames of FRAME_INPUT bytes. Concatenated
 * frames are one valid zstd stream (RFC 8878 §3.1), which every decoder (containerd's
 * DecompressStream, `zstd -d`) reads as the same bytes. Each frame gets a content size and an
 * XXH64 checksum (the binding writes neither; klauspost always writes the checksum).
 *
 * Frames are independent, so up to one per core compress at once on libuv's thread
 * pool while the next fills; they are written in input order, so the blob depends only on the
 * input and the level, never on timing or core count. The checksum of each frame is computed
 * here while its compression runs. Compressed bytes differ from klauspost's (spec §7.5).
 * One frame more in flight than cores bought no speed and cost 30-50 MiB of peak RSS on the bench's
 * 5 GB layer: each call's output and match tables stay in its libuv thread's malloc arena.
 */
import { zstdCompress } from "./zstdNative";
import { availableParallelism } from "node:os";
import type { ByteSink } from "../archive/tarStream";
import { EngineError } from "../errors";
import { StreamEncoder } from "./streamEncoder";
import { xxh64 } from "./xxh64";
import { withSizeAndChecksum } from "./zstdFrame";

/** Uncompressed bytes per frame. */
export const FRAME_INPUT = 4 * 1024 * 1024;

export class ZstdEncoder extends StreamEncoder {
    /** Input buffers whose frame is done, for reuse (garbage 4 MiB buffers would pile up). */
    private readonly free: Buffer[] = [];
    private current: Buffer = Buffer.allocUnsafe(FRAME_INPUT);
    private used = 0;
    private frames = 0;
    /** Frames being compressed, oldest first; each resolves to its bytes in order. */
    private readonly inFlight: Array<Promise<Buffer[]>> = [];
    private readonly maxInFlight: number;

    constructor(
        private readonly out: ByteSink,
        private readonly level: number,
        computeDigest: boolean,
        parallel = availableParallelism(),
    ) {
        super(computeDigest);
        this.maxInFlight = Math.max(1, parallel);
    }

    protected async consume(chunk: Buffer): Promise<void> {
        let off = 0;
        while (off < chunk.length) {
            const n = Math.min(chunk.length - off, FRAME_INPUT - this.used);
            chunk.copy(this.current, this.used, off, off + n);
            this.used += n;
            off += n;
            if (this.used === FRAME_INPUT) {
                await this.startFrame();
            }
        }
    }

    protected async close(): Promise<void> {
        // An empty tar still gets one (empty) frame: a zero-byte file is not a zstd stream.
        if (this.used > 0 || this.frames === 0) {
            await this.startFrame();
        }
        while (this.inFlight.length > 0) {
            await this.writeOldest();
        }
    }

    protected override release(): void {
        for (const p of this.inFlight) {
            p.catch(() => undefined);
        }
        this.inFlight.length = 0;
    }

    /** Hands the filled buffer to a frame job and starts a fresh one. */
    private async startFrame(): Promise<void> {
        while (this.inFlight.length >= this.maxInFlight) {
            await this.writeOldest();
        }
        const buffer = this.current;
        const job = this.compressFrame(buffer.subarray(0, this.used));
        // NOTE: the job owns the buffer until it settles; only then is it reused.
        job.then(() => this.free.push(buffer), () => undefined);
        this.inFlight.push(job);
        this.frames++;
        this.current = this.free.pop() ?? Buffer.allocUnsafe(FRAME_INPUT);
        this.used = 0;
    }

    private async writeOldest(): Promise<void> {
        for (const part of await this.inFlight.shift()!) {
            await this.out.write(part);
        }
    }

    /** One frame's bytes: header with content size, the body, the XXH64 checksum. */
    private async compressFrame(input: Buffer): Promise<Buffer[]> {
        const compressed = zstdCompress(input, this.level);
        compressed.catch(() => undefined);
        const sum = xxh64(input)[1];
        let frame: Buffer;
        try {
            frame = await compressed;
        } catch (err) {
            throw new EngineError("Internal", `zstd compression failed: ${String(err)}`, {}, { cause: err });
        }
        const { header, bodyOffset } = withSizeAndChecksum(frame, input.length);
        const checksum = Buffer.alloc(4);
        checksum.writeUInt32LE(sum, 0); // the low 32 bits of XXH64, little-endian
        return [header, frame.subarray(bodyOffset), checksum];
    }
}
