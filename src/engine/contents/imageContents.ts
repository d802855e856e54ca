/**
 * An image's layers read in place, without importing: an OCI layout directory, an OCI archive or
 * a `docker save` archive (image/resolveImage.ts picks the image and platform). Each layer blob
 * is read where it lies (a file, or a byte range of the archive), its compression told from its
 * bytes (the media type is a claim, the magic is the fact), and indexed as a workspace blob is.
 *
 * A layer is named by its index (0 = bottom), its diffID or its blob digest, or a unique prefix
 * of either (at least 4 hex digits, "sha256:" optional).
 */
import { FOOTER_SIZE, openFooter } from "../compression/estargz/footer";
import { isSkippableMagic, ZSTD_MAGIC } from "../compression/zstdFrame";
import type { CompressionType } from "../compression";
import type { Digest } from "../digest/hashSink";
import { EngineError } from "../errors";
import { EmptyTree } from "../fs/emptyTree";
import { MergedTree } from "../fs/mergedTree";
import type { TreeReader } from "../fs/tree";
import { type FileAccess, openFiles } from "../image/imageFiles";
import type { Platform } from "../image/imageTypes";
import { formatPlatform, parsePlatform } from "../image/platform";
import { type ResolvedImage, resolveImage } from "../image/resolveImage";
import { openBlobFile, rangeOpener, readExactly } from "./blobFile";
import { BlobIndexCache } from "./blobLayers";
import { type SizeReport, sizeLayers } from "./layerSizes";
import type { StackLayer } from "./openLayerContents";
import type { TarIndexTree } from "./tarIndexTree";
import { TreeContents } from "./treeContents";
import type { BlobOrigin, LayerContents, LayerView } from "./types";

export interface ImageLayerInfo {
    readonly index: number;
    /** The blob digest (for a docker save layer, which has no descriptor: its diffID). */
    readonly digest: Digest;
    readonly diffID: Digest;
    readonly mediaType: string;
    /** Told from the blob's bytes. */
    readonly compression: CompressionType;
    /** Compressed size in bytes. */
    readonly size: number;
    /** From the config's history (created_by), when there is one. */
    readonly description: string | null;
}

export interface ImageInfo {
    readonly source: string;
    readonly kind: ResolvedImage["kind"];
    readonly name: string | null;
    readonly platform: string;
    readonly configDigest: Digest;
    readonly layers: readonly ImageLayerInfo[];
}

export interface OpenImageOptions {
    readonly platform?: string | Platform;
    /** An image name, when the source holds several. */
    readonly name?: string;
    readonly signal?: AbortSignal;
}

/** Opens an image source for browsing; close() when done. */
export async function openImageSource(source: string, opts: OpenImageOptions = {}): Promise<ImageSource> {
    const files = await openFiles(source);
    try {
        const platform = typeof opts.platform === "string" ? parsePlatform(opts.platform) : opts.platform;
        const img = await resolveImage(files, { platform, name: opts.name });
        const blobs: BlobOrigin[] = [];
        for (const l of img.layers) {
            opts.signal?.throwIfAborted();
            if (!files.locate) throw new EngineError("Unsupported", `${files.path}: layers of this image source cannot be read in place`, { path: files.path });
            const at = await files.locate(l.member);
            if (!at) throw new EngineError("NotFound", `${files.path}: layer ${l.index} (${l.member}) is not in the image`, { path: files.path });
            const compression = await compressionOf(at.file, at.offset, at.size);
            const digest = l.descriptor?.digest ?? l.diffID;
            blobs.push({
                refId: String(l.index),
                digest,
                mediaType: l.descriptor?.mediaType ?? mediaTypeFor(compression),
                compression,
                size: at.size,
                path: at.file,
                offset: at.offset,
                annotations: l.descriptor?.annotations ?? {},
            });
        }
        return new ImageSource(files, img, blobs);
    } catch (err) {
        await files.close();
        throw err;
    }
}

export class ImageSource {
    readonly info: ImageInfo;
    private readonly cache = new BlobIndexCache();

    constructor(
        private readonly files: FileAccess,
        img: ResolvedImage,
        private readonly blobs: readonly BlobOrigin[],
    ) {
        this.info = {
            source: files.path,
            kind: img.kind,
            name: img.name,
            platform: formatPlatform(img.platform),
            configDigest: img.configDigest,
            layers: img.layers.map((l, i) => ({
                index: i,
                digest: blobs[i]!.digest,
                diffID: l.diffID,
                mediaType: blobs[i]!.mediaType,
                compression: blobs[i]!.compression,
                size: blobs[i]!.size,
                description: l.description,
            })),
        };
    }

    /** The index of the layer `ref` names (see the file comment); the top layer when undefined. */
    layerIndex(ref: string | undefined): number {
        const layers = this.info.layers;
        if (layers.length === 0) throw new EngineError("FailedPrecondition", `${this.info.source}: the image has no layers`, { path: this.info.source });
        if (ref === undefined) return layers.length - 1;
        if (/^\d+$/.test(ref)) {
            const i = Number(ref);
            if (i >= layers.length) throw new EngineError("NotFound", `${this.info.source}: no layer ${i}; the image has layers 0 to ${layers.length - 1}`, { path: this.info.source });
            return i;
        }
        const hex = ref.replace(/^sha256:/, "").toLowerCase();
        if (!/^[0-9a-f]{4,64}$/.test(hex)) {
            throw new EngineError("InvalidArgument", `layer ${JSON.stringify(ref)}: give a layer index (0 = bottom), a diffID or blob digest, or a prefix of one (4+ hex digits)`, { ref });
        }
        const hits = layers.filter((l) => l.diffID.slice(7).startsWith(hex) || l.digest.slice(7).startsWith(hex));
        if (hits.length === 1) return hits[0]!.index;
        if (hits.length === 0) throw new EngineError("NotFound", `${this.info.source}: no layer has a diffID or digest starting with ${hex}`, { path: this.info.source, ref });
        throw new EngineError("InvalidArgument", `layer ${JSON.stringify(ref)} is ambiguous: layers ${hits.map((h) => h.index).join(", ")} match; give more digits`, { ref });
    }

    /** A layer's own changes or the merged view up to it. */
    async contents(ref: string | undefined, view: LayerView, signal?: AbortSignal): Promise<LayerContents> {
        const i = this.layerIndex(ref);
        const trees = await this.trees(i, signal);
        const origin = (k: number): LayerContents["origin"] => ({
            kind: "blob",
            blobs: (view === "layer" ? [k] : [...Array(k + 1).keys()]).map((j) => ({ ...this.blobs[j]!, indexedFrom: trees[j]!.indexedFrom })),
        });
        const common = { refId: String(i), view, origin: origin(i), lowerRefId: i > 0 ? String(i - 1) : null };
        if (view === "layer") {
            const lower = async (): Promise<TreeReader> => (i === 0 ? new EmptyTree() : new MergedTree(trees.slice(0, i), `layers 0-${i - 1}`, false));
            return new TreeContents({ ...common, tree: trees[i]!, lower });
        }
        return new TreeContents({ ...common, tree: new MergedTree(trees.slice(0, i + 1), `layers 0-${i}`, false), lower: null });
    }

    /** The size report of the layers up to `ref` (default: all). */
    async sizes(ref?: string, signal?: AbortSignal): Promise<SizeReport> {
        const i = this.layerIndex(ref);
        const trees = await this.trees(i, signal);
        const stack: StackLayer[] = trees.map((tree, j) => ({ refId: String(j), tree, blob: { ...this.blobs[j]!, indexedFrom: tree.indexedFrom }, snapshot: null }));
        return sizeLayers(String(i), stack, signal);
    }

    async close(): Promise<void> {
        await this.files.close();
    }

    /** Indexes of layers 0..top. */
    private trees(top: number, signal?: AbortSignal): Promise<TarIndexTree[]> {
        return Promise.all(this.blobs.slice(0, top + 1).map((b) => this.cache.index(b, signal)));
    }
}

/** gzip (eStargz when its footer parses), zstd or a plain tar, from the bytes themselves. */
async function compressionOf(file: string, offset: number, size: number): Promise<CompressionType> {
    const f = await rangeOpener(openBlobFile, offset, size)(file);
    try {
        const head = await readExactly(f, file, 0, Math.min(4, size), "a layer's first bytes");
        if (head.length >= 3 && head[0] === 0x1f && head[1] === 0x8b && head[2] === 0x08) {
            const tail = size >= FOOTER_SIZE ? await readExactly(f, file, size - FOOTER_SIZE, FOOTER_SIZE, "a layer's last bytes") : Buffer.alloc(0);
            return openFooter(tail) ? "estargz" : "gzip";
        }
        if (head.length === 4 && (head.readUInt32LE(0) === ZSTD_MAGIC || isSkippableMagic(head.readUInt32LE(0)))) return "zstd";
        return "uncompressed";
    } finally {
        await f.close();
    }
}

function mediaTypeFor(c: CompressionType): string {
    switch (c) {
        case "uncompressed":
            return "application/vnd.oci.image.layer.v1.tar";
        case "zstd":
            return "application/vnd.oci.image.layer.v1.tar+zstd";
        default:
            return "application/vnd.oci.image.layer.v1.tar+gzip";
    }
}
