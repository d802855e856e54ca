/**
 * Mirrors moby/buildkit v0.10.6 `cache/blobs.go` `computeBlobChain` (the switch on `comp.Type`
 * that picks the media type and compressor, spec §2.2): one encoder per compression type, the
 * level validated up front as `gzip.NewWriterLevel` would.
 */
import type { ByteSink } from "../archive/tarStream";
import { assertNever, EngineError } from "../errors";
import { EStargzEncoder, goMembers, zlibMembers } from "./estargz/estargzEncoder";
import { GoGzipEncoder } from "./goflate/goGzipEncoder";
import { GzipEncoder } from "./gzipEncoder";
import { goGzipLevel, GzipNoCompression, toZstdEncoderLevel, ZSTD_NATIVE_LEVEL } from "./levels";
import { ParallelGzipEncoder } from "./parallelGzipEncoder";
import { UncompressedEncoder } from "./streamEncoder";
import type { BlobEncoder, CompressionConfig, EncoderOptions } from "./types";
import { ZstdEncoder } from "./zstdEncoder";

/**
 * An encoder that takes the uncompressed tar and writes the blob for `config` to `out`.
 * Throws `InvalidArgument` for a level the type rejects (gzip/eStargz: -2..9).
 */
export function createEncoder(config: CompressionConfig, out: ByteSink, options: EncoderOptions = {}): BlobEncoder {
    const digest = options.computeUncompressedDigest ?? false;
    switch (config.type) {
        case "uncompressed":
            return new UncompressedEncoder(out, digest);
        case "gzip": {
            const level = goGzipLevel(config.level);
            if (config.gzipImpl !== "fast") {
                return new GoGzipEncoder(out, level, digest);
            }
            // Level 0 keeps Go's exact stored blocks; there is nothing to parallelise.
            return level === GzipNoCompression
                ? new GzipEncoder(out, level, digest)
                : new ParallelGzipEncoder(out, level, digest);
        }
        case "zstd":
            return new ZstdEncoder(out, ZSTD_NATIVE_LEVEL[toZstdEncoderLevel(config.level)], digest);
        case "estargz": {
            const chunkSize = options.estargzChunkSize;
            if (chunkSize !== undefined && (!Number.isSafeInteger(chunkSize) || chunkSize <= 0)) {
                throw new EngineError("InvalidArgument", `invalid eStargz chunk size ${chunkSize}`);
            }
            return new EStargzEncoder(out, goGzipLevel(config.level), chunkSize, config.gzipImpl === "fast" ? zlibMembers : goMembers);
        }
        default:
            return assertNever(config.type, "compression type");
    }
}
