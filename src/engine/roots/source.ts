/**
 * Snapshot sources the engine opens: a layerscope workspace (layerscope.json), a containerd
 * root, a standalone buildkitd root (buildkit.ts), or a Docker data-root. A root becomes a RootEngine (rootEngine.ts): Layer/BaseLayer refs
 * over its snapshot directories (overlay upperdirs for overlayfs and overlay2, full trees for
 * native), engine state outside the root (default ~/.cache/layerscope/roots/<hash of the root
 * path>/...), since a root is only ever read.
 */
import { existsSync } from "node:fs";
import * as path from "node:path";
import { type OpenOptions, openBlobChain, openWorkspaceEngine, WorkspaceEngine } from "../cache/workspaceEngine";
import { EngineError } from "../errors";
import { buildWorkspace, type Workspace, WORKSPACE_FILE } from "../refs";
import { listDir } from "./access";
import { BUILDKIT_NAMESPACE, loadBuildkitRoot, looksLikeBuildkitRoot } from "./buildkit";
import { type ContainerdImage, type ContainerdRoot, type ContainerdSnapshot, loadContainerdRoot, looksLikeContainerdRoot, type RootSnapshotter, SUPPORTED_SNAPSHOTTERS } from "./containerd";
import { type DockerRoot, loadDockerRoot } from "./docker";
import { summarizeBlob, verifyImage } from "./imageVerify";
import { defaultRootStateDir, type ImageVerifier, isInside, type LayerNode, layerRefs, RootEngine, type RootImageSummary, type RootSummary } from "./rootEngine";
import { summarizeTarSplit } from "./tarSplit";

export type SourceKind = "workspace" | "containerd" | "buildkit" | "docker";

export interface OpenSourceOptions extends OpenOptions {
    /** containerd: which snapshotter's snapshots become refs (default overlayfs when it has any). */
    readonly snapshotter?: string;
    /** containerd: only this namespace (default all; ids get a `<namespace>/` prefix when several). */
    readonly namespace?: string;
}

/** What `dir` is; null when it is none of the sources. PermissionDenied when it cannot be listed. */
export function detectSource(dir: string): SourceKind | null {
    const abs = path.resolve(dir);
    if (existsSync(path.join(abs, WORKSPACE_FILE))) return "workspace";
    const entries = listDir(abs, "the directory (a containerd root is 0700, a Docker data-root 0710)");
    if (entries.includes(WORKSPACE_FILE)) return "workspace";
    if (looksLikeContainerdRoot(entries)) return "containerd";
    if (looksLikeBuildkitRoot(abs, entries)) return "buildkit";
    if (entries.includes("buildkit") && (entries.includes("image") || entries.includes("overlay2"))) return "docker";
    return null;
}

/** Opens any source with the WorkspaceEngine surface; roots give a RootEngine. */
export async function openSourceEngine(dir: string, opts: OpenSourceOptions = {}): Promise<WorkspaceEngine> {
    const kind = detectSource(dir);
    switch (kind) {
        case "workspace":
            return openWorkspaceEngine(dir, opts);
        case "containerd":
            return openContainerdEngine(dir, opts);
        case "buildkit":
            return openBuildkitEngine(dir, opts);
        case "docker":
            return openDockerEngine(dir, opts);
        case null:
            throw new EngineError(
                "InvalidArgument",
                `${path.resolve(dir)}: not a snapshot source (no ${WORKSPACE_FILE}, no io.containerd.* directories, no buildkitd runc-<snapshotter>/, no Docker buildkit/ + image/)`,
                { path: path.resolve(dir) },
            );
    }
}

function containerdVerifier(root: ContainerdRoot): ImageVerifier {
    return (name, engine, signal) => {
        const images = root.images.filter((i) => engine.summary.namespace === null || i.namespace === engine.summary.namespace);
        const image = engine.findImage(images, name);
        const r = image.resolved;
        if (!r) throw new EngineError("FailedPrecondition", `image ${image.name}: ${image.problem ?? "cannot be resolved"}`, { image: image.name });
        const blobs = root.contentBlobs;
        const layers = { name: image.name, namespace: image.namespace, manifest: r.manifest, config: r.config, diffIDs: r.diffIDs, chainIDs: r.chainIDs, blobs: r.layers };
        return verifyImage(engine.workspace, layers, (c) => engine.committedRef(c, image.namespace), (i, sig) => summarizeBlob(blobs, r.layers[i]!, sig), signal);
    };
}

async function openContainerdEngine(dir: string, opts: OpenSourceOptions): Promise<RootEngine> {
    const root = loadContainerdRoot(dir);
    const snapshotter = pickSnapshotter(root, opts.snapshotter);
    const namespace = opts.namespace ?? null;
    if (namespace !== null && !root.namespaces.includes(namespace)) {
        throw new EngineError("NotFound", `${root.root}: no namespace ${JSON.stringify(namespace)} (namespaces: ${root.namespaces.join(", ") || "none"})`, { path: root.root });
    }
    const snaps = root.snapshots.filter((s) => s.snapshotter === snapshotter && (namespace === null || s.namespace === namespace));
    const problems = [...root.problems];
    const { refs, infos } = layerRefs(root.root, containerdNodes(snaps), problems);
    const ws = buildWorkspace(root.root, root.metaDb, { snapshotter, refs });
    const base = await rootWorkspaceEngine(root.root, ws, defaultRootStateDir(root.root, snapshotter, namespace), opts);
    const summary: RootSummary = {
        source: "containerd",
        root: root.root,
        snapshotter,
        namespace,
        snapshotters: root.snapshotters,
        namespaces: root.namespaces,
        images: root.images.filter((i) => namespace === null || i.namespace === namespace).map(imageSummary),
        problems,
    };
    return new RootEngine(base, summary, infos, containerdVerifier(root));
}

/** The engine over a root's refs, its state kept outside the root (`--state` may not point in). */
async function rootWorkspaceEngine(rootDir: string, ws: Workspace, defaultStateDir: string, opts: OpenSourceOptions): Promise<WorkspaceEngine> {
    const stateDir = path.resolve(opts.stateDir ?? defaultStateDir);
    if (isInside(rootDir, stateDir)) {
        throw new EngineError("InvalidArgument", `--state ${stateDir} is inside the root ${rootDir}; the engine never writes into a root`, { path: stateDir });
    }
    return new WorkspaceEngine(ws, stateDir, await openBlobChain(ws, stateDir, opts));
}

function pickSnapshotter(root: ContainerdRoot, wanted: string | undefined): RootSnapshotter {
    if (wanted !== undefined) {
        if (!(SUPPORTED_SNAPSHOTTERS as readonly string[]).includes(wanted)) {
            throw new EngineError("Unsupported", `snapshotter ${JSON.stringify(wanted)} is not supported (${SUPPORTED_SNAPSHOTTERS.join(", ")})`, { snapshotter: wanted });
        }
        if (!root.snapshotters.includes(wanted)) {
            throw new EngineError("NotFound", `${root.root}: no ${wanted} snapshotter (has ${root.snapshotters.join(", ") || "none"})`, { path: root.root });
        }
        return wanted as RootSnapshotter;
    }
    for (const sn of SUPPORTED_SNAPSHOTTERS) {
        if (root.snapshots.some((s) => s.snapshotter === sn)) return sn;
    }
    return "overlayfs";
}

/** containerd snapshots as layer nodes; ids get a `<namespace>/` prefix when several namespaces are in. */
function containerdNodes(snaps: readonly ContainerdSnapshot[]): LayerNode[] {
    const multi = new Set(snaps.map((s) => s.namespace)).size > 1;
    const idOf = (ns: string, key: string): string => (multi ? `${ns}/${key}` : key);
    return snaps.map((s) => ({
        id: idOf(s.namespace, s.key),
        parent: s.parent === null ? null : idOf(s.namespace, s.parent),
        dir: s.dir,
        description: `${s.snapshotter} ${s.kind} snapshot ${s.key} (id ${s.id})`,
        info: { namespace: s.namespace, snapshotter: s.snapshotter, key: s.key, kind: s.kind, id: s.id, dir: s.dir, parent: s.parent, labels: s.labels, createdAt: s.createdAt },
    }));
}


/**
 * A standalone buildkitd root: its BuildKit records as refs (parent = cache.parent), each over
 * the containerd snapshot it reads (namespace buildkit), as the Docker reader does over layers.
 */
async function openBuildkitEngine(dir: string, opts: OpenSourceOptions): Promise<RootEngine> {
    const root = loadBuildkitRoot(dir, opts.snapshotter);
    if (opts.namespace !== undefined && opts.namespace !== BUILDKIT_NAMESPACE) {
        throw new EngineError("NotFound", `${root.root}: a buildkitd root has only the namespace ${BUILDKIT_NAMESPACE} (not ${JSON.stringify(opts.namespace)})`, { path: root.root });
    }
    const problems = [...root.problems];
    const nodes: LayerNode[] = [];
    for (const r of root.records) {
        const s = r.snapshot;
        if (!s || r.mergeParents.length > 0 || r.diffParents) continue;
        nodes.push({
            id: r.id,
            parent: r.parent,
            dir: s.dir,
            description: r.description ?? `BuildKit record ${r.id}`,
            info: {
                namespace: BUILDKIT_NAMESPACE,
                snapshotter: root.snapshotter,
                key: r.id,
                kind: r.committed ? "committed" : "mutable",
                id: s.id,
                dir: s.dir,
                parent: r.parent,
                labels: s.labels,
                createdAt: r.createdAt,
                buildkit: {
                    description: r.description,
                    recordType: r.recordType,
                    chainID: r.chainID,
                    diffID: r.diffID,
                    blobChainID: r.blobChainID,
                    equalMutable: r.equalMutable,
                    size: r.size,
                    snapshot: s.key,
                    snapshotKind: s.kind,
                },
            },
        });
    }
    const { refs, infos } = layerRefs(root.root, nodes, problems);
    const ws = buildWorkspace(root.root, root.metadataDb, { snapshotter: root.snapshotter, refs });
    const base = await rootWorkspaceEngine(root.root, ws, defaultRootStateDir(root.root, root.snapshotter, BUILDKIT_NAMESPACE), opts);
    const ctd = root.containerd;
    const summary: RootSummary = {
        source: "buildkit",
        root: root.root,
        snapshotter: root.snapshotter,
        namespace: BUILDKIT_NAMESPACE,
        snapshotters: root.snapshotters,
        namespaces: ctd.namespaces,
        images: ctd.images.map(imageSummary),
        problems,
    };
    return new RootEngine(base, summary, infos, containerdVerifier(ctd));
}

async function openDockerEngine(dir: string, opts: OpenSourceOptions): Promise<RootEngine> {
    const root = loadDockerRoot(dir);
    if (opts.snapshotter !== undefined && opts.snapshotter !== root.driver) {
        throw new EngineError("NotFound", `${root.root}: a Docker data-root has only its ${root.driver} layers (not ${opts.snapshotter})`, { path: root.root });
    }
    const problems = [...root.problems];
    const nodes: LayerNode[] = [];
    for (const l of root.layers.values()) {
        nodes.push({
            id: l.chainID,
            parent: l.parent,
            dir: l.dir,
            description: `docker layer ${l.chainID} (overlay2 ${l.cacheID})`,
            info: { namespace: null, snapshotter: root.driver, key: l.chainID, kind: "committed", id: l.cacheID, dir: l.dir, parent: l.parent, labels: {}, createdAt: null },
        });
    }
    for (const r of root.records) {
        if (!r.dir) continue;
        nodes.push({
            id: r.id,
            parent: r.parent,
            dir: r.dir,
            description: r.description ?? `BuildKit record ${r.id}`,
            info: {
                namespace: null,
                snapshotter: root.driver,
                key: r.id,
                kind: r.committed ? "committed" : "mutable",
                id: r.graphID ?? r.id,
                dir: r.dir,
                parent: r.parent,
                labels: {},
                createdAt: r.createdAt,
                buildkit: { description: r.description, recordType: r.recordType, chainID: r.chainID, diffID: r.diffID, blobChainID: r.blobChainID, equalMutable: r.equalMutable, size: r.size },
            },
        });
    }
    const { refs, infos } = layerRefs(root.root, nodes, problems);
    // The overlay2 diff directories are upperdirs: the overlayfs views and differ apply.
    const ws = buildWorkspace(root.root, path.join(root.root, "buildkit", "metadata_v2.db"), { snapshotter: "overlayfs", refs });
    const base = await rootWorkspaceEngine(root.root, ws, defaultRootStateDir(root.root, root.driver, null), opts);
    const summary: RootSummary = {
        source: "docker",
        root: root.root,
        snapshotter: root.driver,
        namespace: null,
        snapshotters: [root.driver],
        namespaces: [],
        images: root.images.map((i) => ({ namespace: null, name: i.name, target: i.id, manifest: null, config: i.id, diffIDs: i.diffIDs, chainIDs: i.chainIDs, problem: i.problem })),
        problems,
    };
    return new RootEngine(base, summary, infos, dockerVerifier(root));
}

function dockerVerifier(root: DockerRoot): ImageVerifier {
    return (name, engine, signal) => {
        const image = engine.findImage(root.images.map((i) => ({ ...i, namespace: null })), name);
        if (image.problem) throw new EngineError("FailedPrecondition", `image ${image.name}: ${image.problem}`, { image: image.name });
        const layers = {
            name: image.name,
            namespace: "",
            manifest: "",
            config: image.id,
            diffIDs: image.diffIDs,
            chainIDs: image.chainIDs,
            blobs: image.chainIDs.map((c) => ({ digest: c, mediaType: "docker layer (tar-split)" })),
        };
        const original = (i: number, sig?: AbortSignal) => {
            const l = root.layers.get(image.chainIDs[i]!);
            return l ? summarizeTarSplit(l.tarSplit, l.dir, sig) : Promise.resolve(null);
        };
        return verifyImage(engine.workspace, layers, (c) => engine.committedRef(c, null), original, signal);
    };
}

function imageSummary(i: ContainerdImage): RootImageSummary {
    return {
        namespace: i.namespace,
        name: i.name,
        target: i.target.digest,
        manifest: i.resolved?.manifest ?? null,
        config: i.resolved?.config ?? null,
        diffIDs: i.resolved?.diffIDs ?? [],
        chainIDs: i.resolved?.chainIDs ?? [],
        problem: i.problem,
    };
}
