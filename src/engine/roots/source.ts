/**
 * Snapshot sources the engine opens: a layerscope workspace (layerscope.json), a containerd
 * root, or a Docker data-root. A root becomes an in-memory Workspace of Layer/BaseLayer refs
 * over its snapshot directories (overlay upperdirs for overlayfs, full trees for native), so
 * computeBlobChain, report, verify and gc work on it unchanged; the engine's own state lives
 * outside the root (default ~/.cache/layerscope/roots/<hash of the root path>/...), since a
 * root is only ever read.
 */
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { type OpenOptions, openBlobChain, type RefReport, WorkspaceEngine } from "../cache/workspaceEngine";
import { openWorkspaceEngine } from "../cache/workspaceEngine";
import { EngineError } from "../errors";
import { buildWorkspace, type RefSpec, WORKSPACE_FILE } from "../refs";
import { listDir } from "./access";
import { CONTENT_BLOBS, type ContainerdRoot, type ContainerdSnapshot, loadContainerdRoot, looksLikeContainerdRoot, META_DB, type RootSnapshotter, SUPPORTED_SNAPSHOTTERS } from "./containerd";
import { type DockerRoot, loadDockerRoot } from "./docker";
import { type ImageVerifyReport, summarizeBlob, verifyImage } from "./imageVerify";
import { summarizeTarSplit } from "./tarSplit";

export type SourceKind = "workspace" | "containerd" | "docker";

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
        case "docker":
            return openDockerEngine(dir, opts);
        case null:
            throw new EngineError(
                "InvalidArgument",
                `${path.resolve(dir)}: not a snapshot source (no ${WORKSPACE_FILE}, no io.containerd.* directories, no Docker buildkit/ + image/)`,
                { path: path.resolve(dir) },
            );
    }
}

export interface SnapshotInfo {
    /** containerd namespace; null for a Docker data-root. */
    readonly namespace: string | null;
    /** overlayfs or native (containerd), overlay2 (Docker). */
    readonly snapshotter: string;
    /** containerd snapshot key; BuildKit record id or layer chain ID (Docker). */
    readonly key: string;
    /** containerd's snapshot kinds; BuildKit's mutable records; Docker image layers (committed). */
    readonly kind: "committed" | "active" | "view" | "mutable";
    /** The directory id: snapshotter id (containerd) or graph driver id (Docker). */
    readonly id: number | string;
    readonly dir: string;
    readonly parent: string | null;
    readonly labels: Record<string, string>;
    readonly createdAt: string | null;
    /** What BuildKit's cache metadata says about the record (Docker's built-in BuildKit). */
    readonly buildkit?: BuildkitRecordInfo;
}

export interface BuildkitRecordInfo {
    readonly description: string | null;
    readonly recordType: string | null;
    readonly chainID: string | null;
    readonly diffID: string | null;
    readonly blobChainID: string | null;
    readonly equalMutable: string | null;
    readonly size: number | null;
}

export type RootRefReport = RefReport & { readonly snapshot: SnapshotInfo | null };

export interface RootImageSummary {
    readonly namespace: string | null;
    readonly name: string;
    readonly target: string;
    readonly manifest: string | null;
    readonly config: string | null;
    readonly diffIDs: string[];
    readonly chainIDs: string[];
    readonly problem: string | null;
}

export interface RootSummary {
    readonly source: "containerd" | "docker";
    readonly root: string;
    readonly snapshotter: string;
    readonly namespace: string | null;
    readonly snapshotters: string[];
    readonly namespaces: string[];
    readonly images: RootImageSummary[];
    readonly problems: string[];
}

export type ImageVerifier = (name: string, engine: RootEngine, signal?: AbortSignal) => Promise<ImageVerifyReport>;

/** A snapshot root as a workspace: refs over its snapshot directories, plus what the root says about them. */
export class RootEngine extends WorkspaceEngine {
    constructor(
        base: WorkspaceEngine,
        readonly summary: RootSummary,
        private readonly infos: ReadonlyMap<string, SnapshotInfo>,
        private readonly verifier: ImageVerifier,
    ) {
        super(base.workspace, base.stateDir, base.chain);
    }

    get source(): "containerd" | "docker" {
        return this.summary.source;
    }

    snapshotInfo(id: string): SnapshotInfo | null {
        return this.infos.get(id) ?? null;
    }

    snapshotInfos(): ReadonlyMap<string, SnapshotInfo> {
        return this.infos;
    }

    override async report(id: string): Promise<RootRefReport> {
        return { ...(await super.report(id)), snapshot: this.snapshotInfo(id) };
    }

    /** Recomputes the image's layers from the snapshots and compares them with its diff_ids. */
    verifyImage(name: string, signal?: AbortSignal): Promise<ImageVerifyReport> {
        return this.verifier(name, this, signal);
    }

    /** The one image a user's name stands for (docker.io/ and library/ may be left out). */
    findImage<T extends { name: string; namespace: string | null }>(images: readonly T[], name: string): T {
        const matches = images.filter((i) => i.name === name || i.name === `docker.io/${name}` || i.name === `docker.io/library/${name}`);
        if (matches.length === 0) {
            throw new EngineError("NotFound", `${this.summary.root}: no image ${JSON.stringify(name)} (images: ${images.map((i) => i.name).join(", ") || "none"})`, { path: this.summary.root, image: name });
        }
        if (matches.length > 1) {
            throw new EngineError("InvalidArgument", `image ${name} is in several namespaces (${matches.map((m) => m.namespace).join(", ")}); pass --namespace`, { image: name });
        }
        return matches[0]!;
    }

    /** The committed ref whose key is `chainID` (in `namespace`), or null. */
    committedRef(chainID: string, namespace: string | null) {
        for (const [id, info] of this.infos) {
            if (info.namespace === namespace && info.key === chainID && info.kind === "committed") return this.workspace.get(id);
        }
        return null;
    }
}

function containerdVerifier(root: ContainerdRoot): ImageVerifier {
    return (name, engine, signal) => {
        const images = root.images.filter((i) => engine.summary.namespace === null || i.namespace === engine.summary.namespace);
        const image = engine.findImage(images, name);
        const r = image.resolved;
        if (!r) throw new EngineError("FailedPrecondition", `image ${image.name}: ${image.problem ?? "cannot be resolved"}`, { image: image.name });
        const blobs = path.join(root.root, CONTENT_BLOBS);
        const layers = { name: image.name, namespace: image.namespace, manifest: r.manifest, config: r.config, diffIDs: r.diffIDs, chainIDs: r.chainIDs, blobs: r.layers };
        return verifyImage(engine.workspace, layers, (c) => engine.committedRef(c, image.namespace), (i, sig) => summarizeBlob(blobs, r.layers[i]!, sig), signal);
    };
}

export function defaultRootStateDir(root: string, snapshotter: string, namespace: string | null): string {
    const cache = process.env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache");
    const hash = createHash("sha256").update(root).digest("hex").slice(0, 16);
    return path.join(cache, "layerscope", "roots", hash, namespace ? `${snapshotter}-${namespace}` : snapshotter);
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
    const ws = buildWorkspace(root.root, path.join(root.root, META_DB), { snapshotter, refs });
    const stateDir = path.resolve(opts.stateDir ?? defaultRootStateDir(root.root, snapshotter, namespace));
    if (isInside(root.root, stateDir)) {
        throw new EngineError("InvalidArgument", `--state ${stateDir} is inside the root ${root.root}; the engine never writes into a root`, { path: stateDir });
    }
    const base = new WorkspaceEngine(ws, stateDir, await openBlobChain(ws, stateDir, opts));
    const summary: RootSummary = {
        source: "containerd",
        root: root.root,
        snapshotter,
        namespace,
        snapshotters: root.snapshotters,
        namespaces: root.namespaces,
        images: root.images
            .filter((i) => namespace === null || i.namespace === namespace)
            .map((i) => ({
                namespace: i.namespace,
                name: i.name,
                target: i.target.digest,
                manifest: i.resolved?.manifest ?? null,
                config: i.resolved?.config ?? null,
                diffIDs: i.resolved?.diffIDs ?? [],
                chainIDs: i.resolved?.chainIDs ?? [],
                problem: i.problem,
            })),
        problems,
    };
    return new RootEngine(base, summary, infos, containerdVerifier(root));
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

interface LayerNode {
    readonly id: string;
    readonly parent: string | null;
    readonly dir: string;
    readonly description: string;
    readonly info: SnapshotInfo;
}

/** Layer refs, parents first; a node whose parent is missing is skipped with its children. */
function layerRefs(root: string, nodes: readonly LayerNode[], problems: string[]): { refs: RefSpec[]; infos: Map<string, SnapshotInfo> } {
    const byId = new Map(nodes.map((n) => [n.id, n]));
    const refs: RefSpec[] = [];
    const infos = new Map<string, SnapshotInfo>();
    const state = new Map<string, "visiting" | "ok" | "skipped">();
    const visit = (id: string): boolean => {
        const st = state.get(id);
        if (st === "ok") return true;
        if (st === "skipped") return false;
        if (st === "visiting") {
            problems.push(`snapshot ${id}: its parents form a cycle; skipped`);
            state.set(id, "skipped");
            return false;
        }
        const n = byId.get(id)!;
        state.set(id, "visiting");
        if (n.parent !== null && (!byId.has(n.parent) || !visit(n.parent))) {
            problems.push(`snapshot ${id}: parent ${n.parent} is not readable here; skipped`);
            state.set(id, "skipped");
            return false;
        }
        refs.push({ id, ...(n.parent === null ? {} : { parent: n.parent }), snapshot: path.relative(root, n.dir), description: n.description });
        infos.set(id, n.info);
        state.set(id, "ok");
        return true;
    };
    for (const id of [...byId.keys()].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0))) visit(id);
    return { refs, infos };
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

function isInside(dir: string, p: string): boolean {
    const rel = path.relative(dir, p);
    return rel === "" || (!rel.startsWith("..") && !path.isAbsolute(rel));
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
    const stateDir = path.resolve(opts.stateDir ?? defaultRootStateDir(root.root, root.driver, null));
    if (isInside(root.root, stateDir)) {
        throw new EngineError("InvalidArgument", `--state ${stateDir} is inside the root ${root.root}; the engine never writes into a root`, { path: stateDir });
    }
    const base = new WorkspaceEngine(ws, stateDir, await openBlobChain(ws, stateDir, opts));
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
