/**
 * `layerscope import`: an image (OCI layout, OCI archive, docker save archive) into a workspace.
 * Each layer's original blob is ingested into the workspace's content store (verified while it
 * streams), decompressed and applied into a snapshot directory (native: a full rootfs, the
 * parent's copied first, as containerd's native snapshotter does; overlayfs: an upperdir), its
 * diffID checked against the config, then the refs are appended to layerscope.json as a Layer
 * chain and the blobs recorded as their blobs (with their media types and annotations), so
 * chain IDs and blob digests show in `refs`.
 *
 * Nothing is written outside the workspace. Each snapshot is built in a temporary directory
 * beside its final place and renamed when complete; a failed import removes every snapshot it
 * made and leaves layerscope.json as it was. Blobs it ingested stay unreferenced until `gc`.
 */
import { randomBytes } from "node:crypto";
import { existsSync, promises as fsp, readFileSync, realpathSync } from "node:fs";
import * as path from "node:path";
import { WHITEOUT_EPOCH, type WhiteoutTime } from "../archive/whiteoutTime";
import { LABEL_UNCOMPRESSED } from "../cache/labels";
import { beginImport, endImport, isSnapshotDirOf } from "../cache/importJournal";
import { openBlobChain, type RefReport, WorkspaceEngine } from "../cache/workspaceEngine";
import { type CompressionType, detectCompression, fromMediaType, MediaTypeDockerSchema2Layer, MediaTypeDockerSchema2LayerGzip, MediaTypeDockerSchema2LayerZstd, openDecoded } from "../compression";
import { readToc } from "../compression/estargz/tocReader";
import { ContentStore } from "../content";
import type { Digest } from "../digest/hashSink";
import { EngineError, fromSystemError } from "../errors";
import { removeTree } from "../fs/removeTree";
import { execFileOffThread } from "../util/execOffThread";
import { writeFileAtomic } from "../fs/atomicFile";
import { buildWorkspace, parseWorkspaceFile, type RefSpec, type Snapshotter, STATE_DIR, WORKSPACE_FILE, type WorkspaceFile } from "../refs";
import { REF_ID_MAX, REF_ID_PATTERN } from "../refs/workspaceFile";
import { type ApplyResult, applyLayer } from "./applyLayer";
import { estargzAnnotations } from "./estargzToc";
import { openFiles } from "./imageFiles";
import type { Platform } from "./imageTypes";
import { ingestBlob } from "./ingestBlob";
import { formatPlatform, parsePlatform } from "./platform";
import { type ImageLayer, type ResolvedImage, resolveImage, type SourceKind } from "./resolveImage";
import type { TarTraits } from "./tarTraits";

export interface ImportOptions {
    /** `os/arch[/variant]` or a Platform; default the host's. */
    readonly platform?: string | Platform;
    /** Which image of a layout or archive holding several (ref name or repo tag). */
    readonly name?: string;
    /** Default: the workspace's, else native. */
    readonly snapshotter?: Snapshotter;
    /** Ref ids are `<prefix>-1` … `<prefix>-N`; default from the image name or config digest. */
    readonly refPrefix?: string;
    readonly stateDir?: string;
    /** Bound on each layer's decompressed size (default 64 GiB; 0 = none). */
    readonly maxLayerBytes?: number;
    /** Bound on each layer's decompressed/compressed ratio past 64 MiB (default 1000; 0 = none). */
    readonly maxRatio?: number;
    readonly signal?: AbortSignal;
    readonly onProgress?: (event: ImportProgress) => void;
}

export interface ImportProgress {
    readonly layer: number;
    readonly layers: number;
    readonly phase: "ingest" | "apply" | "record";
    readonly ref: string;
}

export interface ImportedLayer {
    readonly ref: string;
    readonly snapshot: string;
    readonly diffID: Digest;
    readonly blob: { readonly digest: Digest; readonly mediaType: string; readonly size: number; readonly compression: CompressionType };
    /**
     * Annotations read from the blob and recorded on its variant: for eStargz the TOC digest and
     * uncompressed size (checked against the descriptor's, filled in when it has none).
     */
    readonly annotations: Readonly<Record<string, string>>;
    readonly entries: number;
    readonly skippedXattrs: number;
    /** The whiteout time read from the layer's own whiteouts (Unix seconds), or null if it has none. */
    readonly whiteoutTime: string | null;
    readonly traits: TarTraits;
}

export interface ImportReport {
    readonly source: string;
    readonly kind: SourceKind;
    readonly image: string | null;
    readonly platform: string;
    readonly manifestDigest: Digest | null;
    readonly configDigest: Digest;
    readonly workspace: string;
    readonly stateDir: string;
    readonly snapshotter: Snapshotter;
    readonly top: string | null;
    readonly layers: readonly ImportedLayer[];
    /** `refs` reports of the new refs, bottom first. */
    readonly refs: readonly RefReport[];
}

export async function importImage(source: string, workspace: string, opts: ImportOptions = {}): Promise<ImportReport> {
    const files = await openFiles(source);
    try {
        const platform = typeof opts.platform === "string" ? parsePlatform(opts.platform) : opts.platform;
        const img = await resolveImage(files, { platform, name: opts.name });
        return await importResolved(img, files, workspace, opts);
    } finally {
        await files.close();
    }
}

async function importResolved(img: ResolvedImage, files: Awaited<ReturnType<typeof openFiles>>, workspace: string, opts: ImportOptions): Promise<ImportReport> {
    await fsp.mkdir(workspace, { recursive: true }).catch((err: unknown) => {
        throw fromSystemError(err, workspace, "creating the workspace");
    });
    const root = realpathSync(workspace);
    const wsFile = path.join(root, WORKSPACE_FILE);
    const existing: WorkspaceFile | null = existsSync(wsFile) ? parseWorkspaceFile(readFileSync(wsFile, "utf8"), wsFile) : null;
    const snapshotter = opts.snapshotter ?? existing?.snapshotter ?? "native";
    if (existing && existing.snapshotter !== snapshotter) {
        throw new EngineError(
            "FailedPrecondition",
            `${wsFile}: the workspace's snapshotter is ${existing.snapshotter}, not ${snapshotter}; import into another workspace`,
            { path: wsFile, reason: "snapshotter-mismatch" },
        );
    }
    const prefix = opts.refPrefix ?? defaultPrefix(img);
    const ids = img.layers.map((_, i) => `${prefix}-${i + 1}`);
    const taken = new Set(existing?.refs.map((r) => r.id) ?? []);
    for (const id of ids) {
        if (!REF_ID_PATTERN.test(id) || id.length > REF_ID_MAX) {
            throw new EngineError("InvalidArgument", `ref id ${JSON.stringify(id)} is not valid (${REF_ID_PATTERN.source}); choose another --id`, { reason: "bad-ref-id" });
        }
        if (taken.has(id)) {
            throw new EngineError("AlreadyExists", `${wsFile}: already has a ref ${JSON.stringify(id)}; import with another --id prefix`, { path: wsFile, ref: id, reason: "ref-exists" });
        }
    }
    const snapDir = path.join(root, "snapshots");
    await fsp.mkdir(snapDir, { recursive: true }).catch((err: unknown) => {
        throw fromSystemError(err, snapDir, "creating the snapshots directory");
    });
    const stateDir = path.resolve(opts.stateDir ?? path.join(root, STATE_DIR));
    const store = await ContentStore.open(stateDir);
    await store.cleanupIngests(); // what killed runs left
    const intent = await beginImport(store, root, ids);
    let failed = false;
    try {
        const layers = await applyLayers(img, files, { root, snapDir, ids, snapshotter, store }, opts);
        const refs: RefSpec[] = layers.map((l, i) => ({
            id: l.ref,
            ...(i > 0 ? { parent: layers[i - 1]!.ref } : {}),
            snapshot: l.snapshot,
            ...(img.layers[i]!.description ? { description: img.layers[i]!.description! } : {}),
        }));
        const doc: WorkspaceFile = { snapshotter, refs: [...(existing?.refs ?? []), ...refs] };
        const reports = await commitImport({ root, wsFile, doc, refs, store, stateDir }, img, layers, opts);
        return {
            source: files.path,
            kind: img.kind,
            image: img.name,
            platform: formatPlatform(img.platform),
            manifestDigest: img.manifestDigest,
            configDigest: img.configDigest,
            workspace: root,
            stateDir,
            snapshotter,
            top: layers.length > 0 ? layers[layers.length - 1]!.ref : null,
            layers,
            refs: reports,
        };
    } catch (err) {
        failed = true;
        throw err;
    } finally {
        // A snapshot the failed import could not remove keeps the journal: the next import or gc
        // of this workspace rolls it back once this process has exited.
        if (!failed || !(await leftovers(snapDir, ids))) await endImport(store, intent);
    }
}

/** Whether a snapshot directory (or its build directory) of one of `ids` is still there. */
async function leftovers(snapDir: string, ids: readonly string[]): Promise<boolean> {
    const names = await fsp.readdir(snapDir).catch(() => [] as string[]);
    return names.some((n) => ids.some((id) => isSnapshotDirOf(n, id)));
}

interface Target {
    readonly root: string;
    readonly snapDir: string;
    readonly ids: readonly string[];
    readonly snapshotter: Snapshotter;
    readonly store: ContentStore;
}

/** Ingests and applies every layer; on failure removes every snapshot it made. */
async function applyLayers(img: ResolvedImage, files: Awaited<ReturnType<typeof openFiles>>, t: Target, opts: ImportOptions): Promise<ImportedLayer[]> {
    const { root, snapDir, ids, snapshotter, store } = t;
    const made: string[] = [];
    const layers: ImportedLayer[] = [];
    try {
        for (const layer of img.layers) {
            const id = ids[layer.index]!;
            const progress = (phase: ImportProgress["phase"]): void => opts.onProgress?.({ layer: layer.index, layers: img.layers.length, phase, ref: id });
            progress("ingest");
            if ((await files.size(layer.member)) === null) {
                throw new EngineError("NotFound", `${files.path}: layer ${layer.index} blob ${layer.member} is missing`, { path: files.path, reason: "missing-blob" });
            }
            const blob = await ingestBlob(
                store,
                () => files.open(layer.member),
                layer.descriptor ? { digest: layer.descriptor.digest, size: layer.descriptor.size } : null,
                `import-${img.configDigest.slice(7, 23)}-${layer.index}`,
                `${files.path}: layer ${layer.index} (${layer.member})`,
                opts.signal,
            );
            progress("apply");
            const blobPath = store.blobPath(blob.digest);
            const compression = await detectCompression(blobPath);
            const tocDigest = await checkBlobKind(blobPath, compression, layer, `${files.path}: layer ${layer.index} (${layer.member})`);
            const final = path.join(snapDir, id);
            const parent = layer.index > 0 && snapshotter === "native" ? path.join(snapDir, ids[layer.index - 1]!) : null;
            const applied = await buildSnapshot(final, parent, (dir) =>
                applyLayer(openDecoded(blobPath, compression === "estargz" ? "gzip" : compression), {
                    root: dir,
                    mode: snapshotter,
                    maxBytes: opts.maxLayerBytes,
                    maxRatio: opts.maxRatio,
                    compressedSize: blob.size,
                    skipNames: compression === "estargz" ? ["stargz.index.json"] : [],
                    signal: opts.signal,
                }).then((r) => {
                    checkDiffID(r, layer, files.path);
                    return r;
                }),
                opts.signal,
            );
            made.push(final);
            const blobAnnotations = tocDigest ? estargzAnnotations(tocDigest, applied.size, layer.descriptor?.annotations, `${files.path}: layer ${layer.index} (${layer.member})`) : {};
            await store.updateLabels(blob.digest, compression === "uncompressed" ? {} : { [LABEL_UNCOMPRESSED]: layer.diffID });
            const wt = applied.traits.whiteoutMtimes;
            layers.push({
                ref: id,
                snapshot: path.relative(root, final),
                diffID: layer.diffID,
                blob: { digest: blob.digest, size: blob.size, mediaType: layer.descriptor?.mediaType ?? dockerMediaType(compression), compression },
                entries: applied.entries,
                annotations: blobAnnotations,
                skippedXattrs: applied.skippedXattrs,
                whiteoutTime: wt.length > 0 ? wt[0]! : null,
                traits: applied.traits,
            });
        }
    } catch (err) {
        for (const dir of made) await removeTree(dir).catch(() => undefined); // the error being reported matters more
        throw err;
    }
    return layers;
}

/**
 * The imported blobs become the refs' blobs, then layerscope.json names the refs (the commit),
 * then chain metadata is computed bottom-up. NOTE: blobs are recorded before the workspace file
 * names the refs, so a kill at any point leaves either no refs (the journal rolls the snapshots
 * back) or refs whose blobs are the image's own; records an earlier, rolled-back import left for
 * these ids are reset first.
 */
async function commitImport(c: Commit, img: ResolvedImage, layers: readonly ImportedLayer[], opts: ImportOptions): Promise<RefReport[]> {
    const { root, wsFile, doc, stateDir } = c;
    let chain: Awaited<ReturnType<typeof openBlobChain>>;
    try {
        if (layers.length > 0) await syncFilesystem(root);
        // Refuse before touching any ref record if another process committed one of our ids.
        await c.store.lock.withLock(async () => mergedWorkspaceFile(c));
        chain = await openBlobChain(buildWorkspace(root, wsFile, doc), stateDir);
        for (const [i, l] of layers.entries()) {
            opts.onProgress?.({ layer: i, layers: layers.length, phase: "record", ref: l.ref });
            const desc = img.layers[i]!.descriptor;
            const annotations = { ...(desc?.annotations ?? {}), ...l.annotations, [LABEL_UNCOMPRESSED]: l.diffID };
            const whiteoutTime: WhiteoutTime = l.whiteoutTime !== null ? { seconds: BigInt(l.whiteoutTime) } : WHITEOUT_EPOCH;
            const ref = chain.workspace.get(l.ref);
            await chain.meta.reset(l.ref);
            // NOTE: for eStargz the config's diffID covers the TOC too (D'), as BuildKit records it.
            await chain.setBlob(ref, { digest: l.blob.digest, mediaType: l.blob.mediaType, size: l.blob.size, annotations, buildkitComparable: false }, l.diffID, whiteoutTime);
        }
        // The commit: re-read under the store lock (imports with other --id prefixes may have
        // committed since we read it) and append our refs, so no other import's refs are lost
        // and a rollback (which reads it under the same lock) sees every committed ref.
        await c.store.lock.withLock(async () => {
            const merged = await mergedWorkspaceFile(c);
            await writeFileAtomic(wsFile, `${JSON.stringify(merged, null, 2)}\n`);
        });
    } catch (err) {
        for (const l of layers) await removeTree(path.join(root, l.snapshot)).catch(() => undefined);
        throw err;
    }
    if (layers.length === 0) return [];
    const engine = new WorkspaceEngine(chain.workspace, stateDir, chain);
    await engine.computeBlobChain(layers[layers.length - 1]!.ref, { createIfNeeded: false, signal: opts.signal });
    return Promise.all(layers.map((l) => engine.report(l.ref)));
}

interface Commit {
    readonly root: string;
    readonly wsFile: string;
    /** The workspace as read before the import, with the new refs appended. */
    readonly doc: WorkspaceFile;
    /** The new refs. */
    readonly refs: readonly RefSpec[];
    readonly store: ContentStore;
    readonly stateDir: string;
}

/**
 * Store lock held. layerscope.json as it is now with the new refs appended; AlreadyExists if it
 * now names one of them, FailedPrecondition if its snapshotter changed.
 */
async function mergedWorkspaceFile(c: Commit): Promise<WorkspaceFile> {
    let text: string | null;
    try {
        text = await fsp.readFile(c.wsFile, "utf8");
    } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw fromSystemError(err, c.wsFile, "re-reading the workspace file to commit the import");
        text = null;
    }
    const now = text === null ? null : parseWorkspaceFile(text, c.wsFile);
    if (now && now.snapshotter !== c.doc.snapshotter) {
        throw new EngineError(
            "FailedPrecondition",
            `${c.wsFile}: the workspace's snapshotter became ${now.snapshotter} during the import (this import is ${c.doc.snapshotter}); import into another workspace`,
            { path: c.wsFile, reason: "snapshotter-mismatch" },
        );
    }
    const taken = new Set(now?.refs.map((r) => r.id) ?? []);
    const clash = c.refs.find((r) => taken.has(r.id));
    if (clash) {
        throw new EngineError(
            "AlreadyExists",
            `${c.wsFile}: another process added a ref ${JSON.stringify(clash.id)} during this import; nothing was imported, import again with another --id prefix`,
            { path: c.wsFile, ref: clash.id, reason: "ref-exists" },
        );
    }
    return { snapshotter: c.doc.snapshotter, refs: [...(now?.refs ?? []), ...c.refs] };
}

// Off the event loop: spawning blocks the calling thread until the child has exec'd.
const execFileAsync = execFileOffThread;

/**
 * Builds a snapshot in a temporary directory beside `final` and renames it there when complete.
 * `signal` kills the parent's copy (cp -a) when it aborts; the temporary directory is removed
 * once cp has exited.
 */
export async function buildSnapshot<T>(final: string, parent: string | null, fill: (dir: string) => Promise<T>, signal?: AbortSignal): Promise<T> {
    const tmp = path.join(path.dirname(final), `.${path.basename(final)}.tmp-${randomBytes(6).toString("hex")}`);
    try {
        if (parent) {
            await fsp.mkdir(tmp, { mode: 0o755 });
            // cp -a keeps ns mtimes, owners, modes, xattrs, hard links and special files, which
            // the differ compares; our own temporary paths only, no shell. Asynchronous: a
            // parent of gigabytes must not hold the event loop (the extension host's) meanwhile.
            await copyParent(parent, tmp, final, signal);
        } else {
            await fsp.mkdir(tmp, { mode: 0o755 });
            await fsp.chmod(tmp, 0o755);
        }
        const result = await fill(tmp);
        await fsp.rename(tmp, final);
        return result;
    } catch (err) {
        await removeTree(tmp).catch(() => undefined);
        throw err;
    }
}

const TOC_DIGEST = "containerd.io/snapshot/stargz/toc.digest";

/**
 * The blob is what its descriptor says: a layer media type whose compression matches the bytes
 * (eStargz is gzip); an eStargz footer points at a well-formed TOC, and a toc.digest annotation
 * names that TOC. Returns an eStargz blob's TOC digest (recorded on its variant), else null.
 */
async function checkBlobKind(blobPath: string, compression: CompressionType, layer: ImageLayer, where: string): Promise<Digest | null> {
    const desc = layer.descriptor;
    if (!desc) return compression === "estargz" ? (await readToc(blobPath)).digest : null; // docker save archives carry no descriptors
    const declared = fromMediaType(desc.mediaType);
    if (declared === "unknown") {
        throw new EngineError("Unsupported", `${where}: media type ${desc.mediaType} is not a layer type Layerscope can apply (encrypted? an artifact?)`, { path: where, reason: "media-type" });
    }
    const actual = compression === "estargz" ? "gzip" : compression;
    if (declared !== actual) {
        throw new EngineError("Corrupt", `${where}: media type ${desc.mediaType} says ${declared}, the blob is ${compression}`, { path: where, reason: "media-type-mismatch" });
    }
    const want = desc.annotations?.[TOC_DIGEST];
    if (compression !== "estargz") {
        if (want === undefined) return null;
        throw new EngineError("Corrupt", `${where}: annotated as eStargz (toc.digest ${want}) but the blob has no eStargz footer`, { path: where, reason: "bad-estargz-footer" });
    }
    // A footer was found: it and the TOC it points at must hold, annotated or not.
    const toc = await readToc(blobPath);
    if (want !== undefined && toc.digest !== want) {
        throw new EngineError("Corrupt", `${where}: the eStargz TOC has digest ${toc.digest}, the toc.digest annotation says ${want}`, { path: where, reason: "toc-digest-mismatch" });
    }
    return toc.digest;
}

/** `cp -a` of the parent snapshot; a failure says what and where, ENOSPC and EIO as such. */
async function copyParent(parent: string, tmp: string, final: string, signal?: AbortSignal): Promise<void> {
    try {
        await execFileAsync("cp", ["-a", "--reflink=auto", "--", `${parent}/.`, tmp], { maxBuffer: 1 << 20, signal });
    } catch (err) {
        if ((err as { code?: unknown }).code === "ABORT_ERR") throw new EngineError("Canceled", "canceled", { path: final });
        throw toolError(err, final, `copying the parent snapshot ${parent}`, "cp -a");
    }
}

/**
 * syncfs(2) of the filesystem holding the snapshots (`sync -f`, GNU coreutils), before
 * layerscope.json names them. Neither applyLayer nor `cp -a` fsyncs the files it writes, so
 * without this a write the disk lost (EIO at writeback) would go unnoticed and the workspace
 * would commit refs whose files are not what the layers say. One call flushes the whole import,
 * and since Linux 5.8 it reports writeback errors no one has seen yet, even from before it ran.
 */
async function syncFilesystem(dir: string): Promise<void> {
    try {
        await execFileAsync("sync", ["-f", "--", dir], { maxBuffer: 1 << 20 });
    } catch (err) {
        throw toolError(err, dir, "syncing the imported snapshots to disk", "sync -f");
    }
}

/** A failed tool run as an EngineError: ENOSPC, EIO and EROFS as such, else its first line. */
function toolError(err: unknown, where: string, what: string, tool: string): EngineError {
    const stderr = String((err as { stderr?: unknown }).stderr ?? "").trim();
    const code = /No space left on device/.test(stderr) ? "ENOSPC" : /Input\/output error/.test(stderr) ? "EIO" : /Read-only file system/.test(stderr) ? "EROFS" : undefined;
    const action = `${what} (${tool}: ${stderr.split("\n")[0]})`;
    if (code) return fromSystemError(Object.assign(new Error(stderr), { code }), where, action);
    return new EngineError("Io", `${where}: failed ${action}`, { path: where }, { cause: err });
}

function checkDiffID(r: ApplyResult, layer: ImageLayer, where: string): void {
    if (r.diffID !== layer.diffID) {
        throw new EngineError(
            "Corrupt",
            `${where}: layer ${layer.index} (${layer.member}) decompresses to ${r.diffID}, the config's diff_ids[${layer.index}] says ${layer.diffID}`,
            { path: where, reason: "diffid-mismatch", layer: layer.index },
        );
    }
}

function dockerMediaType(c: CompressionType): string {
    switch (c) {
        case "uncompressed":
            return MediaTypeDockerSchema2Layer;
        case "zstd":
            return MediaTypeDockerSchema2LayerZstd;
        default:
            return MediaTypeDockerSchema2LayerGzip;
    }
}

function defaultPrefix(img: ResolvedImage): string {
    if (img.name) {
        const s = img.name.replace(/^.*\//, "").replace(/[^A-Za-z0-9._-]+/g, "-").replace(/^[^A-Za-z0-9]+/, "");
        if (s) return s.slice(0, 100);
    }
    return `img-${img.configDigest.slice(7, 19)}`;
}
