/**
 * Mirrors moby/buildkit v0.10.6 `util/compression/compression.go` (`FromMediaType`,
 * `DefaultMediaType`, `toOCILayerType`) and containerd v1.6.3 `images/mediatypes.go`
 * (`IsLayerType`). Spec §5.3 and §4.1.
 */
import { assertNever } from "../errors";
import type { CompressionType } from "./types";

// OCI image-spec v1.0.2 layer media types (specs-go/v1/mediatype.go).
export const MediaTypeImageLayer = "application/vnd.oci.image.layer.v1.tar";
export const MediaTypeImageLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip";
export const MediaTypeImageLayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd";
export const MediaTypeImageLayerNonDistributable = "application/vnd.oci.image.layer.nondistributable.v1.tar";
export const MediaTypeImageLayerNonDistributableGzip = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";
export const MediaTypeImageLayerNonDistributableZstd = "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd";

// Docker schema2 layer media types (containerd images/mediatypes.go). The zstd one is
// BuildKit's own non-standard `mediaTypeDockerSchema2LayerZstd`.
export const MediaTypeDockerSchema2Layer = "application/vnd.docker.image.rootfs.diff.tar";
export const MediaTypeDockerSchema2LayerGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip";
export const MediaTypeDockerSchema2LayerZstd = "application/vnd.docker.image.rootfs.diff.tar.zstd";
export const MediaTypeDockerSchema2LayerForeign = "application/vnd.docker.image.rootfs.foreign.diff.tar";
export const MediaTypeDockerSchema2LayerForeignGzip = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";

/** What `FromMediaType` can answer: never "estargz" (it has no media type of its own). */
export type MediaTypeCompression = "uncompressed" | "gzip" | "zstd" | "unknown";

/** `toOCILayerType`: every layer media type BuildKit knows, mapped to its OCI form. */
const TO_OCI_LAYER_TYPE: ReadonlyMap<string, string> = new Map([
    [MediaTypeImageLayer, MediaTypeImageLayer],
    [MediaTypeImageLayerNonDistributable, MediaTypeImageLayerNonDistributable],
    [MediaTypeImageLayerNonDistributableGzip, MediaTypeImageLayerNonDistributableGzip],
    [MediaTypeImageLayerNonDistributableZstd, MediaTypeImageLayerNonDistributableZstd],
    [MediaTypeDockerSchema2Layer, MediaTypeImageLayer],
    [MediaTypeImageLayerGzip, MediaTypeImageLayerGzip],
    [MediaTypeDockerSchema2LayerGzip, MediaTypeImageLayerGzip],
    [MediaTypeDockerSchema2LayerForeign, MediaTypeImageLayerNonDistributable],
    [MediaTypeDockerSchema2LayerForeignGzip, MediaTypeImageLayerNonDistributableGzip],
    [MediaTypeImageLayerZstd, MediaTypeImageLayerZstd],
    [MediaTypeDockerSchema2LayerZstd, MediaTypeImageLayerZstd],
]);

/** The OCI form of a known layer media type, or undefined (BuildKit logs and keeps it). */
export function toOCILayerType(mediaType: string): string | undefined {
    return TO_OCI_LAYER_TYPE.get(mediaType);
}

/**
 * `FromMediaType`: the compression a layer media type declares. Anything BuildKit does not map
 * (including `+encrypted` and non-layer types) is "unknown" (v0.10; v0.11+ returns an error).
 */
export function fromMediaType(mediaType: string): MediaTypeCompression {
    switch (TO_OCI_LAYER_TYPE.get(mediaType)) {
        case MediaTypeImageLayer:
        case MediaTypeImageLayerNonDistributable:
            return "uncompressed";
        case MediaTypeImageLayerGzip:
        case MediaTypeImageLayerNonDistributableGzip:
            return "gzip";
        case MediaTypeImageLayerZstd:
        case MediaTypeImageLayerNonDistributableZstd:
            return "zstd";
        default:
            return "unknown";
    }
}

const DOCKER_LAYER_BASES: ReadonlySet<string> = new Set([
    MediaTypeDockerSchema2Layer,
    MediaTypeDockerSchema2LayerGzip,
    MediaTypeDockerSchema2LayerForeign,
    MediaTypeDockerSchema2LayerForeignGzip,
]);

/**
 * containerd `images.IsLayerType`: any `application/vnd.oci.image.layer.*`, or one of the four
 * Docker layer types once `+suffixes` are stripped. NOTE: BuildKit's Docker zstd type is *not*
 * a layer here (containerd does not know it), so `needsConversion` never converts it.
 */
export function isLayerMediaType(mediaType: string): boolean {
    if (mediaType.startsWith("application/vnd.oci.image.layer.")) {
        return true;
    }
    const plus = mediaType.indexOf("+");
    return DOCKER_LAYER_BASES.has(plus < 0 ? mediaType : mediaType.slice(0, plus));
}

/** `Type.DefaultMediaType()`: always the OCI type; eStargz is gzip by media type. */
export function defaultMediaType(type: CompressionType): string {
    switch (type) {
        case "uncompressed":
            return MediaTypeImageLayer;
        case "gzip":
        case "estargz":
            return MediaTypeImageLayerGzip;
        case "zstd":
            return MediaTypeImageLayerZstd;
        default:
            return assertNever(type, "compression type");
    }
}
