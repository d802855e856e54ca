/**
 * Mirrors BuildKit `cache/refs.go` `linkBlob`, `walkBlob`, `getBlobWithCompression` and
 * `cache/converter.go` `needsConversion`: a ref's compression variants are blobs linked to its
 * main blob by `containerd.io/gc.ref.content.blob-<digest>` labels (both ways), each carrying its
 * own descriptor in `buildkit.io/blob/*` labels, and held by the `<ref>-variants` lease.
 */
import type { ContentStore, CreateLeaseOptions } from "../content";
import { type CompressionType, fromMediaType, isEStargz, isLayerMediaType } from "../compression";
import type { Digest } from "../digest/hashSink";
import { EngineError, isEngineError } from "../errors";
import {
    type BlobDescriptor,
    descriptorFromLabels,
    descriptorLabels,
    LABEL_ESTARGZ,
    LABEL_GC_REF_BLOB,
    leaseIdFor,
} from "./labels";

/** `linkBlob(desc)` of ref `refId` whose main blob is `main`. */
export async function linkBlob(store: ContentStore, refId: string, main: Digest, desc: BlobDescriptor): Promise<void> {
    const lease = leaseIdFor(refId, "-variants");
    await ensureLease(store, lease, { labels: { "layerscope.ref": refId } });
    await store.addLeaseResource(lease, { type: "content", digest: desc.digest });
    await store.updateLabels(desc.digest, { [LABEL_GC_REF_BLOB + main]: main, ...descriptorLabels(desc) });
    if (desc.digest !== main) {
        await store.updateLabels(main, { [LABEL_GC_REF_BLOB + desc.digest]: desc.digest });
    }
}

/**
 * Creates the lease unless it exists. NOTE: two requests (two compressions of one ref, or two
 * processes) may both find it missing; the loser's AlreadyExists is success.
 */
export async function ensureLease(store: ContentStore, id: string, opts: CreateLeaseOptions): Promise<void> {
    if ((await store.listLeases()).some((l) => l.id === id)) return;
    try {
        await store.createLease(id, opts);
    } catch (err) {
        if (!isEngineError(err, "AlreadyExists")) throw err;
    }
}

/** `walkBlob`: the main blob's descriptor, then every linked variant (sorted, not random). */
export async function walkBlob(store: ContentStore, main: Digest): Promise<BlobDescriptor[]> {
    const out: BlobDescriptor[] = [];
    const seen = new Set<string>();
    const visit = async (d: Digest): Promise<void> => {
        if (seen.has(d)) return;
        seen.add(d);
        const info = await store.info(d);
        if (!info) return;
        const desc = descriptorFromLabels(d, info.size, info.labels);
        if (desc) out.push(desc);
        const children = Object.keys(info.labels)
            .filter((k) => k.startsWith(LABEL_GC_REF_BLOB))
            .map((k) => info.labels[k] as Digest)
            .sort();
        for (const c of children) await visit(c);
    };
    await visit(main);
    return out;
}

/** `isEStargz`, cached in the blob's `buildkit.io/compression/estargz` label. */
export async function blobIsEStargz(store: ContentStore, digest: Digest): Promise<boolean> {
    const info = await store.info(digest);
    if (!info) return false;
    const cached = info.labels[LABEL_ESTARGZ];
    if (cached === "true" || cached === "false") return cached === "true";
    const result = await isEStargz(store.blobPath(digest));
    await store.updateLabels(digest, { [LABEL_ESTARGZ]: String(result) });
    return result;
}

/** `needsConversion(desc, target)`: level is never considered. */
export async function needsConversion(store: ContentStore, desc: BlobDescriptor, target: CompressionType): Promise<boolean> {
    const layer = isLayerMediaType(desc.mediaType);
    const from = fromMediaType(desc.mediaType);
    switch (target) {
        case "uncompressed":
            return layer && from !== "uncompressed";
        case "gzip":
            return !((!layer || from === "gzip") && !(await blobIsEStargz(store, desc.digest)));
        case "zstd":
            return layer && from !== "zstd";
        case "estargz":
            return layer && !(await blobIsEStargz(store, desc.digest));
        default:
            throw new EngineError("InvalidArgument", `unknown compression type during conversion: ${JSON.stringify(target)}`);
    }
}

/** `getBlobWithCompression`: the first descriptor in walk order that needs no conversion. */
export async function getBlobWithCompression(store: ContentStore, main: Digest, target: CompressionType): Promise<BlobDescriptor | null> {
    for (const desc of await walkBlob(store, main)) {
        if (!(await needsConversion(store, desc, target))) {
            return desc;
        }
    }
    return null;
}
