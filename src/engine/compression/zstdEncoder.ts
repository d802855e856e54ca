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
 * Two input buffers alternate: while one frame compresses on libuv's thread pool (and its checksum
 * is computed here), the next fills. Compressed bytes differ from klauspost's (spec §7.5).
 */
import { compress } from "@mongodb-js/zstd";
import type { ByteSink } from "../archive/tarStream";
import { EngineError } from "../errors";
import { StreamEncoder } from "./streamEncoder";
import { xxh64 } from "./xxh64";
import { withSizeAndChecksum } from "./zstdFrame";

/** Uncompressed bytes per frame. */
export const FRAME_INPUT = 4 * 1024 * 1024;

export class ZstdEncoder extends StreamEncoder {
    private readonly buffers: Buffer[] = [];
    private current: Buffer;
    private used = 0;
    private frames = 0;
    /** The frame being compressed and written, if any. */
    private inFlight: Promise<void> | undefined;

    constructor(private readonly out: ByteSink, private readonly level: number, computeDigest: boolean) {
        super(computeDigest);
        this.current = this.buffer(0);
    }

    protected async consume(chunk: Buffer): Promise<void> {
        let off = 0;
        while (off < chunk.length) {
            const n = Math.min(chunk.length - off, this.current.length - this.used);
            chunk.copy(this.current, this.used, off, off + n);
            this.used += n;
            off += n;
            if (this.used === this.current.length) {
                await this.startFrame();
            }
        }
    }

    protected async close(): Promise<void> {
        // An empty tar still gets one (empty) frame: a zero-byte file is not a zstd stream.
        if (this.used > 0 || this.frames === 0) {
            await this.startFrame();
        }
        await this.inFlight;
        this.buffers.length = 0;
    }

    /** Hands the filled buffer to a frame job (after the previous one) and switches buffers. */
    private async startFrame(): Promise<void> {
        await this.inFlight;
        const input = this.current.subarray(0, this.used);
        const index = this.frames++;
        this.inFlight = this.writeFrame(input);
        this.inFlight.catch((err: unknown) => this.queue.fail(err));
        this.current = this.buffer((index + 1) % 2);
        this.used = 0;
    }

    private async writeFrame(input: Buffer): Promise<void> {
        let frame: Buffer;
        const compressed = compress(input, this.level);
        compressed.catch(() => undefined);
        // NOTE: `input` stays untouched until this job ends: the next startFrame awaits it
        // before reusing the buffer.
        const sum = xxh64(input)[1];
        try {
            frame = await compressed;
        } catch (err) {
            throw new EngineError("Internal", `zstd compression failed: ${String(err)}`, {}, { cause: err });
        }
        const { header, bodyOffset } = withSizeAndChecksum(frame, input.length);
        const checksum = Buffer.alloc(4);
        checksum.writeUInt32LE(sum, 0); // the low 32 bits of XXH64, little-endian
        await this.out.write(header);
        await this.out.write(frame.subarray(bodyOffset));
        await this.out.write(checksum);
    }

    private buffer(i: number): Buffer {
        this.buffers[i] ??= Buffer.allocUnsafe(FRAME_INPUT);
        return this.buffers[i]!;
    }
}
