/**
 * The content labels BuildKit keeps on blobs (spec §2.8) and the descriptor they describe.
 */
import { createHash } from "node:crypto";
import type { Digest } from "../digest/hashSink";

export const LABEL_UNCOMPRESSED = "containerd.io/uncompressed";
export const LABEL_ESTARGZ = "buildkit.io/compression/estargz";
export const LABEL_BLOB_MEDIATYPE = "buildkit.io/blob/mediatype";
export const LABEL_BLOB_ANNOTATION = "buildkit.io/blob/annotation.";
export const LABEL_GC_REF_BLOB = "containerd.io/gc.ref.content.blob-";
/** Layerscope's own: whether the blob's bytes are what BuildKit's compressor would write. */
export const LABEL_COMPARABLE = "layerscope.io/buildkit-comparable";

/** The annotations `addBlobDescToInfo` copies into labels (bk@v0.10.6 cache/refs.go:881-896). */
export const STORED_ANNOTATIONS = [
    "containerd.io/snapshot/stargz/toc.digest",
    "io.containers.estargz.uncompressed-size",
    LABEL_UNCOMPRESSED,
] as const;

export interface BlobDescriptor {
    readonly digest: Digest;
    readonly mediaType: string;
    readonly size: number;
    readonly annotations: Readonly<Record<string, string>>;
    /** The blob's bytes are BuildKit's (Go's compress/gzip, or uncompressed); unknown: false. */
    readonly buildkitComparable?: boolean;
}

/** `addBlobDescToInfo`: the labels that let a descriptor be rebuilt from the store. */
export function descriptorLabels(desc: BlobDescriptor): Record<string, string> {
    const labels: Record<string, string> = { [LABEL_BLOB_MEDIATYPE]: desc.mediaType };
    if (desc.buildkitComparable !== undefined) labels[LABEL_COMPARABLE] = String(desc.buildkitComparable);
    for (const k of STORED_ANNOTATIONS) {
        const v = desc.annotations[k];
        if (v !== undefined) labels[LABEL_BLOB_ANNOTATION + k] = v;
    }
    return labels;
}

/** `getBlobDesc`: the descriptor stored in a blob's labels, or null without blob metadata. */
export function descriptorFromLabels(digest: Digest, size: number, labels: Readonly<Record<string, string>>): BlobDescriptor | null {
    const mediaType = labels[LABEL_BLOB_MEDIATYPE];
    if (!mediaType) return null;
    const annotations: Record<string, string> = {};
    for (const [k, v] of Object.entries(labels)) {
        if (k.startsWith(LABEL_BLOB_ANNOTATION)) annotations[k.slice(LABEL_BLOB_ANNOTATION.length)] = v;
    }
    return { digest, mediaType, size, annotations, buildkitComparable: labels[LABEL_COMPARABLE] === "true" };
}

/** containerd identifiers (lease ids): [A-Za-z0-9]+([._-][A-Za-z0-9]+)*, at most 76 chars. */
export function leaseIdFor(refId: string, suffix = ""): string {
    const id = `${refId}${suffix}`;
    if (/^[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*$/.test(id) && id.length <= 76) {
        return id;
    }
    return `ref-${createHash("sha256").update(refId).digest("hex").slice(0, 32)}${suffix}`;
}
