/**
 * A drop-in for `GzipMemberWriter` (../gzipMember.ts) with Go's own deflate bytes instead of
 * zlib's: one gzip member exactly as Go 1.19 `gzip.NewWriterLevel` + `Write`... + `Close`
 * writes it, for the whole-blob encoder and for eStargz's per-chunk members.
 */
import type { ByteSink } from "../../archive/tarStream";
import { EngineError } from "../../errors";
import { GoGzipWriter } from "./goGzipWriter";

export class GoGzipMemberWriter {
    /** Writes the header to `out` and starts a member; `out` must not be written meanwhile. */
    static async open(out: ByteSink, goLevel: number): Promise<GoGzipMemberWriter> {
        let writer: GoGzipWriter;
        try {
            writer = new GoGzipWriter(goLevel, (chunk) => out.write(chunk));
        } catch (err) {
            throw new EngineError("InvalidArgument", `gzip: invalid compression level: ${goLevel}`, { level: goLevel }, { cause: err });
        }
        await writer.start();
        return new GoGzipMemberWriter(writer);
    }

    private constructor(private readonly writer: GoGzipWriter) {}

    /** Compresses `chunk`; resolves once the chunk is no longer needed. */
    async write(chunk: Buffer): Promise<void> {
        if (chunk.length > 0) {
            await this.writer.write(chunk);
        }
    }

    /** Ends the deflate stream, waits for its last byte to reach `out`, writes the trailer. */
    async close(): Promise<void> {
        await this.writer.close();
    }

    abort(): void {
        this.writer.abort();
    }
}
