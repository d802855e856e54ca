/**
 * The shared shape of the stream encoders (uncompressed, gzip, zstd): writes run in call order,
 * the first error sticks, and the input is counted and optionally hashed as it passes.
 * The uncompressed passthrough lives here too: BuildKit v0.10 passes a nil compressor
 * (`cache/blobs.go` `computeBlobChain`), so the differ's tar is the blob.
 */
import type { ByteSink } from "../archive/tarStream";
import { HashSink } from "../digest/hashSink";
import { abortedError, finishedError, SerialQueue } from "./serialSink";
import type { BlobEncoder, EncodeResult } from "./types";

export abstract class StreamEncoder implements BlobEncoder {
    protected readonly queue = new SerialQueue();
    private readonly hash: HashSink | undefined;
    private size = 0;
    private finished = false;

    constructor(computeDigest: boolean) {
        this.hash = computeDigest ? new HashSink() : undefined;
    }

    write(chunk: Buffer): Promise<void> {
        if (this.finished) {
            return Promise.reject(finishedError());
        }
        return this.queue.run(async () => {
            this.hash?.write(chunk);
            this.size += chunk.length;
            await this.consume(chunk);
        });
    }

    async finish(): Promise<EncodeResult> {
        if (this.finished) {
            throw finishedError();
        }
        this.finished = true;
        try {
            await this.queue.run(() => this.close());
            await this.queue.drain();
        } catch (err) {
            // A failed finish lets go of what abort would (workers, frames in flight).
            this.abort(err);
            throw err;
        }
        return {
            annotations: {},
            uncompressedSize: this.size,
            ...(this.hash ? { uncompressedDigest: this.hash.digest() } : {}),
        };
    }

    abort(reason?: unknown): void {
        this.queue.fail(abortedError(reason));
        this.release();
    }

    protected abstract consume(chunk: Buffer): Promise<void>;
    protected abstract close(): Promise<void>;
    protected release(): void {}
}

export class UncompressedEncoder extends StreamEncoder {
    constructor(private readonly out: ByteSink, computeDigest: boolean) {
        super(computeDigest);
    }

    protected async consume(chunk: Buffer): Promise<void> {
        if (chunk.length > 0) {
            await this.out.write(chunk);
        }
    }

    protected async close(): Promise<void> {}
}
