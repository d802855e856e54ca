/**
 * Mirrors moby/buildkit v0.10.6 `cache/blobs.go` `gzipWriter` (`gzip.NewWriterLevel(dest,
 * level)`): the whole tar as one gzip member in Go's container format (see gzipMember.ts).
 */
import type { ByteSink } from "../archive/tarStream";
import { GzipMemberWriter } from "./gzipMember";
import { StreamEncoder } from "./streamEncoder";

export class GzipEncoder extends StreamEncoder {
    private member: GzipMemberWriter | undefined;

    constructor(private readonly out: ByteSink, private readonly goLevel: number, computeDigest: boolean) {
        super(computeDigest);
    }

    protected async consume(chunk: Buffer): Promise<void> {
        this.member ??= await GzipMemberWriter.open(this.out, this.goLevel);
        await this.member.write(chunk);
    }

    protected async close(): Promise<void> {
        // Go writes the header on Close even when nothing was written: an empty tar still
        // becomes a valid (empty) gzip member.
        this.member ??= await GzipMemberWriter.open(this.out, this.goLevel);
        await this.member.close();
    }

    protected override release(): void {
        this.member?.abort();
    }
}
