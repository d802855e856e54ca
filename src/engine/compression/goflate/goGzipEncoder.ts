/**
 * Mirrors moby/buildkit v0.10.6 `cache/blobs.go` `gzipWriter` (`gzip.NewWriterLevel(dest,
 * level)`) byte for byte: the whole tar as one gzip member with Go's deflate (goflate), so
 * blob digests match BuildKit's. Same shape as GzipEncoder, which stays the zlib "fast" path.
 * The deflate runs on a worker thread (workerGzip.ts) when its script is there.
 */
import type { ByteSink } from "../../archive/tarStream";
import { StreamEncoder } from "../streamEncoder";
import { type GzipMember, openGoGzipMember } from "./workerGzip";

export class GoGzipEncoder extends StreamEncoder {
    private member: GzipMember | undefined;

    constructor(private readonly out: ByteSink, private readonly goLevel: number, computeDigest: boolean) {
        super(computeDigest);
    }

    protected async consume(chunk: Buffer): Promise<void> {
        this.member ??= await openGoGzipMember(this.out, this.goLevel);
        await this.member.write(chunk);
    }

    protected async close(): Promise<void> {
        // Go writes the header on Close even when nothing was written: an empty tar still
        // becomes a valid (empty) gzip member.
        this.member ??= await openGoGzipMember(this.out, this.goLevel);
        await this.member.close();
    }

    protected override release(): void {
        this.member?.abort();
    }
}
