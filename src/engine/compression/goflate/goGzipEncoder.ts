/**
 * Mirrors moby/buildkit v0.10.6 `cache/blobs.go` `gzipWriter` (`gzip.NewWriterLevel(dest,
 * level)`) byte for byte: the whole tar as one gzip member with Go's deflate (goflate), so
 * blob digests match BuildKit's. Same shape as GzipEncoder, which stays the zlib "fast" path.
 * The deflate runs on a worker thread (workerGzip.ts) when its script is there.
 */
import type { ByteSink } from "../../archive/tarStream";
import { EngineError } from "../../errors";
import { StreamEncoder } from "../streamEncoder";
import { type GzipMember, openGoGzipMember } from "./workerGzip";

export class GoGzipEncoder extends StreamEncoder {
    private member: GzipMember | undefined;
    private aborted = false;

    constructor(private readonly out: ByteSink, private readonly goLevel: number, computeDigest: boolean) {
        super(computeDigest);
    }

    protected async consume(chunk: Buffer): Promise<void> {
        await (await this.open()).write(chunk);
    }

    protected async close(): Promise<void> {
        // Go writes the header on Close even when nothing was written: an empty tar still
        // becomes a valid (empty) gzip member.
        await (await this.open()).close();
    }

    protected override release(): void {
        this.aborted = true;
        this.member?.abort();
    }

    private async open(): Promise<GzipMember> {
        if (this.member === undefined) {
            // Opening may wait for a pooled worker; an abort meanwhile must give it back.
            const m = await openGoGzipMember(this.out, this.goLevel);
            if (this.aborted) {
                m.abort();
                throw new EngineError("Canceled", "gzip encoder aborted");
            }
            this.member = m;
        }
        return this.member;
    }
}
