/**
 * Layer compression: BuildKit v0.10.6's four compression types (uncompressed, gzip, zstd,
 * eStargz), their media types and levels, streaming encoders over the tar bytes, bounded-memory
 * decoders, and detection from a blob's bytes. src/engine/index.ts re-exports from here.
 */
export {
    type BlobEncoder,
    type CompressionConfig,
    type CompressionType,
    COMPRESSION_TYPES,
    DEFAULT_COMPRESSION,
    type EncodeResult,
    type EncoderOptions,
    parseCompressionType,
    type GzipImpl,
    isBuildkitComparable,
} from "./types";
export {
    defaultMediaType,
    fromMediaType,
    isLayerMediaType,
    type MediaTypeCompression,
    MediaTypeDockerSchema2Layer,
    MediaTypeDockerSchema2LayerForeign,
    MediaTypeDockerSchema2LayerForeignGzip,
    MediaTypeDockerSchema2LayerGzip,
    MediaTypeDockerSchema2LayerZstd,
    MediaTypeImageLayer,
    MediaTypeImageLayerGzip,
    MediaTypeImageLayerNonDistributable,
    MediaTypeImageLayerNonDistributableGzip,
    MediaTypeImageLayerNonDistributableZstd,
    MediaTypeImageLayerZstd,
    toOCILayerType,
} from "./mediaTypes";
export {
    goGzipLevel,
    toZstdEncoderLevel,
    validateLevel,
    ZSTD_NATIVE_LEVEL,
    type ZstdEncoderLevel,
} from "./levels";
export { createEncoder } from "./createEncoder";
export { compressFile, type CompressedBlob } from "./compressFile";
export { type DecodeSource, openDecoded } from "./decode";
export { detectCompression, isEStargz } from "./detect";
export {
    DEFAULT_CHUNK_SIZE as ESTARGZ_DEFAULT_CHUNK_SIZE,
    StoreUncompressedSizeAnnotation,
    TOCJSONDigestAnnotation,
    UncompressedAnnotation,
} from "./estargz/estargzEncoder";
export { footerBytes as estargzFooterBytes } from "./estargz/footer";
