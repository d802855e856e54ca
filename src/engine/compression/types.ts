/**
 * Mirrors moby/buildkit v0.10.6 `util/compression/compression.go` (`Type`, `Config`, `Parse`):
 * the closed set of layer compressions and the per-blob configuration.
 *
 * BuildKit's `Type` is an int with `UnknownCompression = -1`; here the four real kinds are a
 * string union and "unknown" only appears where BuildKit can return it (`fromMediaType`).
 */
import type { ByteSink } from "../archive/tarStream";
import type { Digest } from "../digest/hashSink";
import { EngineError } from "../errors";

export type CompressionType = "uncompressed" | "gzip" | "zstd" | "estargz";

export const COMPRESSION_TYPES: readonly CompressionType[] = ["uncompressed", "gzip", "zstd", "estargz"];

/** BuildKit's `compression.Default` (`Gzip`). */
export const DEFAULT_COMPRESSION: CompressionType = "gzip";

export interface CompressionConfig {
    readonly type: CompressionType;
    /** `Level *int`: undefined means the library default (gzip -1, zstd SpeedDefault). */
    readonly level?: number;
    /** Convert every layer of the chain, not just new blobs (§4.7). Not used by the encoders. */
    readonly force?: boolean;
    /**
     * gzip and eStargz deflate: "go" (default) is a port of Go's compress/flate, so blob digests
     * match BuildKit's; "fast" is Node's zlib, several times faster, digests not comparable.
     */
    readonly gzipImpl?: GzipImpl;
}

export type GzipImpl = "go" | "fast";

/**
 * Whether a blob made with `config` has the bytes BuildKit (Go's compress/gzip) would write:
 * uncompressed always; gzip and eStargz with the Go deflate; zstd never (libzstd is not
 * klauspost's encoder).
 */
export function isBuildkitComparable(config: CompressionConfig): boolean {
    switch (config.type) {
        case "uncompressed":
            return true;
        case "gzip":
        case "estargz":
            return config.gzipImpl !== "fast";
        case "zstd":
            return false;
    }
}

/**
 * `compression.Parse`, v0.11+ behaviour: an unknown name is an error instead of
 * `UnknownCompression` (v0.10 returned Unknown and failed later with a vaguer message).
 */
export function parseCompressionType(s: string): CompressionType {
    if ((COMPRESSION_TYPES as readonly string[]).includes(s)) {
        return s as CompressionType;
    }
    throw new EngineError(
        "InvalidArgument",
        `unsupported compression type ${s} (want one of ${COMPRESSION_TYPES.join(", ")})`,
        { value: s },
    );
}

/** What `finish()` reports once the last compressed byte has been handed to the sink. */
export interface EncodeResult {
    /**
     * The descriptor annotations the compressor's finalizer adds (BuildKit's `finalize`): only
     * eStargz has one (toc.digest, uncompressed-size, containerd.io/uncompressed = D').
     */
    readonly annotations: Record<string, string>;
    /**
     * sha256 of the decompressed blob: D' for eStargz (input tar + TOC tar); for the other types
     * only when `computeUncompressedDigest` was asked for (it is then the input's diffID).
     */
    readonly uncompressedDigest?: Digest;
    /** Bytes of the decompressed blob (for eStargz including the TOC tar). */
    readonly uncompressedSize?: number;
    /** eStargz only: sha256 of the TOC JSON bytes. */
    readonly tocDigest?: Digest;
}

/**
 * A ByteSink for the uncompressed tar bytes that writes the compressed blob to its output sink.
 * Writes are processed in call order even when a caller issues the next write before the
 * previous promise settled (TarStream does); each chunk is released when its promise settles.
 */
export interface BlobEncoder extends ByteSink {
    write(chunk: Buffer): Promise<void>;
    /** Flushes and closes the blob; rejects with the first error any write met. */
    finish(): Promise<EncodeResult>;
    /** Releases native resources after a failure; later writes reject. Idempotent. */
    abort(reason?: unknown): void;
}

export interface EncoderOptions {
    /** Also hash the input for gzip/zstd/uncompressed (eStargz always computes D'). */
    readonly computeUncompressedDigest?: boolean;
    /** eStargz only: the writer's `ChunkSize` (default 4 MiB; BuildKit never sets it). */
    readonly estargzChunkSize?: number;
}
