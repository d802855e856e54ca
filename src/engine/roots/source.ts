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
import { CONTENT_BLOBS, type ContainerdImage, type ContainerdRoot, type ContainerdSnapshot, loadContainerdRoot, looksLikeContainerdRoot, META_DB, type RootSnapshotter, SUPPORTED_SNAPSHOTTERS } from "./containerd";
import { type ImageVerifyReport, verifyImage } from "./imageVerify";

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
            throw new EngineError("Unsupported", `${path.resolve(dir)}: Docker data-roots are detected but not read yet; open the containerd root, or a workspace`, { path: path.resolve(dir) });
        case null:
            throw new EngineError(
                "InvalidArgument",
                `${path.resolve(dir)}: not a snapshot source (no ${WORKSPACE_FILE}, no io.containerd.* directories, no Docker buildkit/ + image/)`,
                { path: path.resolve(dir) },
            );
    }
}

export interface SnapshotInfo {
    readonly namespace: string;
    readonly snapshotter: string;
    readonly key: string;
    readonly kind: "committed" | "active" | "view";
    readonly id: number;
    readonly dir: string;
    readonly parent: string | null;
    readonly labels: Record<string, string>;
    readonly createdAt: string | null;
}

export type RootRefReport = RefReport & { readonly snapshot: SnapshotInfo | null };

export interface RootSummary {
    readonly source: "containerd";
    readonly root: string;
    readonly snapshotter: RootSnapshotter;
    readonly namespace: string | null;
    readonly snapshotters: string[];
    readonly namespaces: string[];
    readonly images: Array<{ namespace: string; name: string; target: string; manifest: string | null; config: string | null; diffIDs: string[]; chainIDs: string[]; problem: string | null }>;
    readonly problems: string[];
}

export class RootEngine extends WorkspaceEngine {
    constructor(
        base: WorkspaceEngine,
        readonly root: ContainerdRoot,
        readonly summary: RootSummary,
        private readonly infos: ReadonlyMap<string, SnapshotInfo>,
    ) {
        super(base.workspace, base.stateDir, base.chain);
    }

    get source(): "containerd" {
        return "containerd";
    }

    snapshotInfo(id: string): SnapshotInfo | null {
        return this.infos.get(id) ?? null;
    }

    override async report(id: string): Promise<RootRefReport> {
        return { ...(await super.report(id)), snapshot: this.snapshotInfo(id) };
    }

    /** Images of the root (of the chosen namespace), by name. */
    images(): ContainerdImage[] {
        return this.root.images.filter((i) => this.summary.namespace === null || i.namespace === this.summary.namespace);
    }

    async verifyImage(name: string, signal?: AbortSignal): Promise<ImageVerifyReport> {
        const matches = this.images().filter((i) => i.name === name || i.name === `docker.io/${name}` || i.name === `docker.io/library/${name}`);
        if (matches.length === 0) {
            throw new EngineError("NotFound", `${this.root.root}: no image ${JSON.stringify(name)} (images: ${this.images().map((i) => i.name).join(", ") || "none"})`, { path: this.root.root, image: name });
        }
        if (matches.length > 1) {
            throw new EngineError("InvalidArgument", `image ${name} is in several namespaces (${matches.map((m) => m.namespace).join(", ")}); pass --namespace`, { image: name });
        }
        const image = matches[0]!;
        const refFor = (chainID: string) => {
            for (const [id, info] of this.infos) {
                if (info.namespace === image.namespace && info.key === chainID && info.kind === "committed") return this.workspace.get(id);
            }
            return null;
        };
        return verifyImage(this.workspace, path.join(this.root.root, CONTENT_BLOBS), image, refFor, signal);
    }
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
    const { refs, infos } = refsOf(snaps, problems);
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
    return new RootEngine(base, root, summary, infos);
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

/** Layer refs, parents first; a snapshot whose parent is missing is skipped with its children. */
function refsOf(snaps: readonly ContainerdSnapshot[], problems: string[]): { refs: RefSpec[]; infos: Map<string, SnapshotInfo> } {
    const multi = new Set(snaps.map((s) => s.namespace)).size > 1;
    const idOf = (s: { namespace: string; key: string }): string => (multi ? `${s.namespace}/${s.key}` : s.key);
    const byId = new Map(snaps.map((s) => [idOf(s), s]));
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
        const s = byId.get(id)!;
        state.set(id, "visiting");
        const parentId = s.parent === null ? null : idOf({ namespace: s.namespace, key: s.parent });
        if (parentId !== null && (!byId.has(parentId) || !visit(parentId))) {
            problems.push(`snapshot ${id}: parent ${s.parent} is not readable here; skipped`);
            state.set(id, "skipped");
            return false;
        }
        const rel = path.relative(rootOf(s), s.dir);
        refs.push({ id, ...(parentId === null ? {} : { parent: parentId }), snapshot: rel, description: `${s.snapshotter} ${s.kind} snapshot ${s.key} (id ${s.id})` });
        infos.set(id, { namespace: s.namespace, snapshotter: s.snapshotter, key: s.key, kind: s.kind, id: s.id, dir: s.dir, parent: s.parent, labels: s.labels, createdAt: s.createdAt });
        state.set(id, "ok");
        return true;
    };
    const order = [...byId.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    for (const id of order) visit(id);
    return { refs, infos };
}

/** The containerd root a snapshot dir lies in: <root>/io.containerd.snapshotter.v1.<sn>/snapshots/<id>[/fs]. */
function rootOf(s: ContainerdSnapshot): string {
    const marker = `${path.sep}io.containerd.snapshotter.v1.${s.snapshotter}${path.sep}`;
    return s.dir.slice(0, s.dir.lastIndexOf(marker));
}

function isInside(dir: string, p: string): boolean {
    const rel = path.relative(dir, p);
    return rel === "" || (!rel.startsWith("..") && !path.isAbsolute(rel));
}
