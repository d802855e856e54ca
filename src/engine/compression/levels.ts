/**
 * Compression levels. Mirrors Go 1.19 `compress/gzip` `NewWriterLevel` (the level check) and
 * moby/buildkit v0.10.6 `cache/blobs.go` `toZstdEncoderLevel`. Spec §5.2.
 */
import { constants as zc, type ZlibOptions } from "node:zlib";
import { assertNever, EngineError } from "../errors";
import type { CompressionConfig } from "./types";

// Go compress/flate constants.
export const GzipHuffmanOnly = -2;
export const GzipDefaultCompression = -1;
export const GzipNoCompression = 0;
export const GzipBestSpeed = 1;
export const GzipBestCompression = 9;

/** The Go gzip level for gzip and eStargz: `Level` as is, nil meaning DefaultCompression. */
export function goGzipLevel(level: number | undefined): number {
    const l = level ?? GzipDefaultCompression;
    if (!Number.isInteger(l) || l < GzipHuffmanOnly || l > GzipBestCompression) {
        // The Go stdlib's own text, which BuildKit passes through (blobs.go:490).
        throw new EngineError("InvalidArgument", `gzip: invalid compression level: ${l}`, { level: l });
    }
    return l;
}

/**
 * zlib parameters for a Go gzip level. zlib's levels 1-9 and -1 (its default, 6, like Go's) are
 * used as they are; Go's HuffmanOnly is zlib's Z_HUFFMAN_ONLY strategy. The deflate bytes still
 * differ from Go's own compress/flate (spec §7.5): only the container format matches.
 */
export function zlibOptionsForGoLevel(goLevel: number): ZlibOptions {
    const base: ZlibOptions = { chunkSize: 64 * 1024 };
    if (goLevel === GzipHuffmanOnly) {
        return { ...base, level: 1, strategy: zc.Z_HUFFMAN_ONLY };
    }
    return { ...base, level: goLevel };
}

/** The gzip header XFL byte Go writes: 2 for BestCompression, 4 for BestSpeed, else 0. */
export function gzipXfl(goLevel: number): number {
    if (goLevel === GzipBestCompression) {
        return 2;
    }
    return goLevel === GzipBestSpeed ? 4 : 0;
}

/** klauspost/compress `zstd.EncoderLevel` values BuildKit can pick. */
export type ZstdEncoderLevel = "SpeedFastest" | "SpeedDefault" | "SpeedBetterCompression" | "SpeedBestCompression";

/** `toZstdEncoderLevel` (v0.10.6 to v0.31; v0.32 switched to `EncoderLevelFromZstd`). */
export function toZstdEncoderLevel(level: number | undefined): ZstdEncoderLevel {
    if (level === undefined) {
        return "SpeedDefault";
    }
    if (!Number.isInteger(level)) {
        throw new EngineError("InvalidArgument", `zstd: invalid compression level: ${level}`, { level });
    }
    if (level < 0) {
        return "SpeedDefault";
    }
    if (level < 3) {
        return "SpeedFastest";
    }
    if (level < 7) {
        return "SpeedDefault";
    }
    return level < 9 ? "SpeedBetterCompression" : "SpeedBestCompression";
}

/**
 * The libzstd level standing in for each klauspost level, from klauspost's own description of
 * them (zstd/encoder_options.go): Fastest "roughly the fastest Zstandard mode" = 1, Default
 * "roughly the default Zstandard mode (level 3)" = 3, Better "about zstd level 7-8" = 7, and
 * Best, whose block search sits between libzstd 10 and 12 in klauspost's benchmarks, = 11.
 * The compressed bytes differ from klauspost's whichever level is chosen.
 */
export const ZSTD_NATIVE_LEVEL: Readonly<Record<ZstdEncoderLevel, number>> = {
    SpeedFastest: 1,
    SpeedDefault: 3,
    SpeedBetterCompression: 7,
    SpeedBestCompression: 11,
};

/**
 * Validates a config's level for its type, as BuildKit would fail at compressor creation.
 * Returns the config unchanged.
 */
export function validateLevel(config: CompressionConfig): CompressionConfig {
    switch (config.type) {
        case "gzip":
        case "estargz":
            goGzipLevel(config.level);
            break;
        case "zstd":
            toZstdEncoderLevel(config.level);
            break;
        case "uncompressed":
            break;
        default:
            assertNever(config.type, "compression type");
    }
    return config;
}
