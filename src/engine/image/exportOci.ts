/**
 * `layerscope export`: a ref's layer chain as an OCI image layout (image-spec v1.1
 * image-layout.md): `oci-layout`, `index.json` (the manifest tagged with
 * `org.opencontainers.image.ref.name`), the manifest, a config whose `rootfs.diff_ids` are the
 * layers' diffIDs and whose history comes from the refs' descriptions, and the blobs. Layers use
 * the requested compression's variant (converted when missing, BuildKit's `ensureCompression`)
 * and carry its annotations (eStargz TOC digest and uncompressed size), as BuildKit's exporter
 * writes them. An existing layout gets the manifest added (same tag: replaced), as skopeo does.
 */
import { createHash, randomBytes } from "node:crypto";
import { existsSync, promises as fsp, readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import type { WhiteoutTime } from "../archive/whiteoutTime";
import { type BlobDescriptor, LABEL_UNCOMPRESSED } from "../cache/labels";
import { getBlobWithCompression } from "../cache/variants";
import { openWorkspaceEngine } from "../cache/workspaceEngine";
import { type CompressionConfig, StoreUncompressedSizeAnnotation, TOCJSONDigestAnnotation, toOCILayerType } from "../compression";
import type { Digest } from "../digest/hashSink";
import { EngineError, fromSystemError } from "../errors";
import { writeFileAtomic } from "../fs/atomicFile";
import { chainIDs } from "../identity/chainID";
import { AnnotationRefName, checkIndex, type Descriptor, MediaTypeImageConfig, MediaTypeImageIndex, MediaTypeImageManifest, parseJson, type Platform } from "./imageTypes";
import { formatPlatform, hostPlatform } from "./platform";

export interface ExportOptions {
    /** org.opencontainers.image.ref.name of the manifest in index.json (default: the ref id). */
    readonly tag?: string;
    /** Default: each layer's main blob as it is (gzip when it must be computed). */
    readonly compression?: CompressionConfig;
    readonly platform?: Platform;
    readonly stateDir?: string;
    readonly whiteoutTime?: WhiteoutTime;
    readonly signal?: AbortSignal;
}

export interface ExportedLayer {
    readonly ref: string;
    readonly descriptor: Descriptor;
    readonly diffID: Digest;
}

export interface ExportReport {
    readonly layout: string;
    readonly ref: string;
    readonly tag: string;
    readonly platform: string;
    readonly manifest: Descriptor;
    readonly config: Descriptor;
    readonly chainID: Digest | null;
    readonly layers: readonly ExportedLayer[];
}

const KEPT_ANNOTATIONS = [TOCJSONDigestAnnotation, StoreUncompressedSizeAnnotation];

export async function exportOci(workspace: string, refId: string, outDir: string, opts: ExportOptions = {}): Promise<ExportReport> {
    const engine = await openWorkspaceEngine(workspace, { stateDir: opts.stateDir, whiteoutTime: opts.whiteoutTime });
    const ref = engine.workspace.get(refId);
    const comp = opts.compression;
    await engine.computeBlobChain(refId, { createIfNeeded: true, compression: comp ? { ...comp, force: false } : { type: "gzip" }, signal: opts.signal });
    const store = engine.chain.store;
    const layers: ExportedLayer[] = [];
    const history: object[] = [];
    for (const layer of ref.layerChain()) {
        let desc: BlobDescriptor = engine.chain.mainDescriptor(layer.id);
        if (comp) {
            await engine.chain.ensureCompression(layer, comp, opts.signal);
            const v = await getBlobWithCompression(store, desc.digest, comp.type);
            if (!v) throw new EngineError("Internal", `ref ${layer.id}: no ${comp.type} variant after conversion`);
            desc = v;
        }
        const diffID = (desc.annotations[LABEL_UNCOMPRESSED] ?? desc.digest) as Digest;
        const annotations: Record<string, string> = {};
        for (const k of KEPT_ANNOTATIONS) if (desc.annotations[k] !== undefined) annotations[k] = desc.annotations[k]!;
        layers.push({
            ref: layer.id,
            diffID,
            descriptor: {
                mediaType: toOCILayerType(desc.mediaType) ?? desc.mediaType,
                digest: desc.digest,
                size: desc.size,
                ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
            },
        });
        history.push({ created_by: layer.description || `layerscope ref ${layer.id}`, comment: "layerscope export" });
    }
    const platform = opts.platform ?? hostPlatform();
    const diffIDs = layers.map((l) => l.diffID);
    const config = {
        architecture: platform.architecture,
        os: platform.os,
        ...(platform.variant ? { variant: platform.variant } : {}),
        config: {},
        rootfs: { type: "layers", diff_ids: diffIDs },
        history,
    };
    const out = path.resolve(outDir);
    await prepareLayout(out);
    for (const l of layers) {
        await copyBlob(store.blobPath(l.descriptor.digest), out, l.descriptor.digest);
    }
    const configDesc = await writeJsonBlob(out, config, MediaTypeImageConfig);
    const manifest = { schemaVersion: 2, mediaType: MediaTypeImageManifest, config: configDesc, layers: layers.map((l) => l.descriptor) };
    const tag = opts.tag ?? refId;
    const manifestDesc = await writeJsonBlob(out, manifest, MediaTypeImageManifest);
    await writeIndex(out, { ...manifestDesc, annotations: { [AnnotationRefName]: tag }, platform });
    const ids = chainIDs(diffIDs);
    return {
        layout: out,
        ref: refId,
        tag,
        platform: formatPlatform(platform),
        manifest: manifestDesc,
        config: configDesc,
        chainID: (ids[ids.length - 1] as Digest | undefined) ?? null,
        layers,
    };
}

async function prepareLayout(out: string): Promise<void> {
    if (existsSync(out)) {
        const entries = readdirSync(out);
        if (entries.length > 0 && !entries.includes("oci-layout")) {
            throw new EngineError("FailedPrecondition", `${out}: exists and is not an OCI layout; export into an empty or new directory`, { path: out, reason: "not-a-layout" });
        }
    }
    await fsp.mkdir(path.join(out, "blobs", "sha256"), { recursive: true }).catch((err: unknown) => {
        throw fromSystemError(err, out, "creating the layout");
    });
    await writeFileAtomic(path.join(out, "oci-layout"), `${JSON.stringify({ imageLayoutVersion: "1.0.0" })}\n`);
}

function blobFile(out: string, d: Digest): string {
    return path.join(out, "blobs", "sha256", d.slice("sha256:".length));
}

async function copyBlob(src: string, out: string, digest: Digest): Promise<void> {
    const dest = blobFile(out, digest);
    if (existsSync(dest)) return; // content-addressed: already there (containerd's AlreadyExists is success)
    const tmp = `${dest}.tmp-${randomBytes(6).toString("hex")}`;
    await fsp.copyFile(src, tmp, 2 /* COPYFILE_FICLONE: reflink when the filesystem can */);
    await fsp.chmod(tmp, 0o644);
    await fsp.rename(tmp, dest);
}

async function writeJsonBlob(out: string, doc: object, mediaType: string): Promise<Descriptor> {
    const bytes = Buffer.from(JSON.stringify(doc));
    const digest = `sha256:${createHash("sha256").update(bytes).digest("hex")}` as Digest;
    const dest = blobFile(out, digest);
    if (!existsSync(dest)) await writeFileAtomic(dest, bytes);
    return { mediaType, digest, size: bytes.length };
}

async function writeIndex(out: string, desc: Descriptor): Promise<void> {
    const file = path.join(out, "index.json");
    let manifests: Descriptor[] = [];
    if (existsSync(file)) {
        manifests = [...checkIndex(parseJson(readFileSync(file), file), file).manifests];
    }
    const tag = desc.annotations?.[AnnotationRefName];
    manifests = manifests.filter((m) => m.annotations?.[AnnotationRefName] !== tag);
    manifests.push(desc);
    await writeFileAtomic(file, `${JSON.stringify({ schemaVersion: 2, mediaType: MediaTypeImageIndex, manifests })}\n`);
}
