/**
 * A blob of the content store as a TarIndexTree: its compression found from the media type
 * (and the eStargz footer), its tar indexed once per engine and kept for the next view (a small
 * LRU: an index is one node per entry, never content).
 */
import { type CompressionType, openDecoded } from "../compression";
import { fromMediaType } from "../compression/mediaTypes";
import { blobIsEStargz } from "../cache/variants";
import type { BlobDescriptor } from "../cache/labels";
import type { ContentStore } from "../content";
import { EngineError } from "../errors";
import { createReadStream } from "node:fs";
import { Readable } from "node:stream";
import { openBlobFile, rangeOpener } from "./blobFile";
import { estargzTocOffset, indexEStargz, LossyToc } from "./estargzIndex";
import { indexTarStream } from "./indexTar";
import { StreamPayloads, UncompressedPayloads } from "./payloadSources";
import type { TarIndexTree } from "./tarIndexTree";
import type { BlobOrigin } from "./types";

const CACHED_INDEXES = 16;
const TOC_DIGEST_ANNOTATION = "containerd.io/snapshot/stargz/toc.digest";
const UNCOMPRESSED_SIZE_ANNOTATION = "io.containers.estargz.uncompressed-size";

export async function blobOrigin(store: ContentStore, refId: string, desc: BlobDescriptor): Promise<BlobOrigin> {
    const t = fromMediaType(desc.mediaType);
    if (t === "unknown") {
        throw new EngineError("Unsupported", `ref ${refId}: blob ${desc.digest} has media type ${desc.mediaType}, which is no layer Layerscope can read`, { ref: refId });
    }
    const compression: CompressionType = t === "gzip" && (await blobIsEStargz(store, desc.digest)) ? "estargz" : t;
    return { refId, digest: desc.digest, mediaType: desc.mediaType, compression, size: desc.size, path: store.blobPath(desc.digest), annotations: desc.annotations };
}

/** One index, built once for every caller that waits for it. */
interface SharedIndex {
    readonly tree: Promise<TarIndexTree>;
    /** Aborts the shared work: only when every caller that waits has canceled. */
    readonly controller: AbortController;
    /** Callers waiting with a signal; a caller without one pins the work (it is never canceled). */
    waiters: number;
    pinned: boolean;
    settled: boolean;
}

export class BlobIndexCache {
    private readonly entries = new Map<string, SharedIndex>();

    /**
     * The blob's index, shared with every other caller asking for it. `signal` cancels this
     * caller's wait only; the shared work stops when no caller waits for it any more.
     */
    index(blob: BlobOrigin, signal?: AbortSignal): Promise<TarIndexTree> {
        const key = `${blob.digest}/${blob.compression}`;
        let shared = this.entries.get(key);
        if (shared) {
            this.entries.delete(key); // most recently used last
        } else {
            const controller = new AbortController();
            const made: SharedIndex = { tree: indexBlob(blob, controller.signal), controller, waiters: 0, pinned: false, settled: false };
            made.tree.then(
                () => void (made.settled = true),
                () => {
                    made.settled = true;
                    if (this.entries.get(key) === made) this.entries.delete(key);
                },
            );
            shared = made;
        }
        this.entries.set(key, shared);
        while (this.entries.size > CACHED_INDEXES) this.entries.delete(this.entries.keys().next().value!);
        return this.wait(key, shared, blob, signal);
    }

    private wait(key: string, shared: SharedIndex, blob: BlobOrigin, signal: AbortSignal | undefined): Promise<TarIndexTree> {
        if (!signal) {
            shared.pinned = true;
            return shared.tree;
        }
        shared.waiters++;
        return new Promise<TarIndexTree>((resolve, reject) => {
            const onAbort = (): void => {
                shared.waiters--;
                if (!shared.settled && !shared.pinned && shared.waiters === 0) {
                    shared.controller.abort();
                    if (this.entries.get(key) === shared) this.entries.delete(key);
                }
                reject(new EngineError("Canceled", `blob ${blob.digest} (layer ${blob.refId}): canceled while indexing the layer`, { path: blob.path }, { cause: signal.reason }));
            };
            if (signal.aborted) {
                onAbort();
                return;
            }
            signal.addEventListener("abort", onAbort, { once: true });
            shared.tree.then(
                (tree) => {
                    signal.removeEventListener("abort", onAbort);
                    resolve(tree);
                },
                (err: unknown) => {
                    signal.removeEventListener("abort", onAbort);
                    reject(err);
                },
            );
        });
    }
}

export async function indexBlob(blob: BlobOrigin, signal?: AbortSignal): Promise<TarIndexTree> {
    const label = `blob ${blob.digest} (${blob.compression}, layer ${blob.refId})`;
    const base = blob.offset ?? 0;
    const openFile = rangeOpener(openBlobFile, base, blob.size);
    if (blob.compression === "estargz") {
        try {
            const size = Number(blob.annotations?.[UNCOMPRESSED_SIZE_ANNOTATION]);
            const tarBytes = Number.isSafeInteger(size) && size >= 0 ? size : undefined;
            return await indexEStargz(blob.path, { label, tocDigest: blob.annotations?.[TOC_DIGEST_ANNOTATION], tarBytes, openFile, signal });
        } catch (err) {
            if (!(err instanceof LossyToc)) throw err;
            // Names the TOC cannot spell: read the tar itself (every member, in order).
        }
    }
    if (blob.compression === "uncompressed") {
        return indexTarStream(rangeStream(blob), label, new UncompressedPayloads(blob.path, base), signal);
    }
    const tocOffset = blob.compression === "estargz" ? await estargzTocOffset(blob.path, openFile) : null;
    const decoded = (): Readable =>
        tocOffset === null
            ? openDecoded(rangeStream(blob), blob.compression)
            : tocOffset === 0
              ? Readable.from([])
              : openDecoded(rangeStream(blob, tocOffset), "gzip"); // estargz.Unpack: gunzip [0, tocOffset)
    return indexTarStream(decoded(), label, new StreamPayloads(blob.path, blob.compression as "gzip", decoded), signal);
}

/** The blob's bytes (or its first `length`), wherever it sits in its file. */
function rangeStream(blob: BlobOrigin, length = blob.size): Readable {
    const start = blob.offset ?? 0;
    if (length === 0) return Readable.from([]);
    return createReadStream(blob.path, { start, end: start + length - 1, highWaterMark: 1 << 20 });
}
