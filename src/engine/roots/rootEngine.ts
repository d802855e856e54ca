/**
 * A snapshot root as a workspace: an in-memory Workspace of Layer/BaseLayer refs over the root's
 * snapshot directories, the root's own description of each (SnapshotInfo), its images, and the
 * per-source image verifier. The WorkspaceEngine surface (computeBlobChain, report, verify, gc)
 * works on it unchanged; the engine's state lives outside the root.
 */
import { createHash } from "node:crypto";
import * as os from "node:os";
import * as path from "node:path";
import { type RefReport, WorkspaceEngine } from "../cache/workspaceEngine";
import { EngineError } from "../errors";
import type { RefSpec } from "../refs";
import type { ImageVerifyReport } from "./imageVerify";

export interface SnapshotInfo {
    /** containerd namespace ("buildkit" in a buildkitd root); null for a Docker data-root. */
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
    /** What BuildKit's cache metadata says about the record (Docker's built-in BuildKit, buildkitd). */
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
    /** Standalone buildkitd: the containerd snapshot the record reads (its own or its equal mutable's) and its kind. */
    readonly snapshot?: string;
    readonly snapshotKind?: "committed" | "active" | "view";
}

export type RootRefReport = RefReport & { readonly snapshotInfo: SnapshotInfo | null };

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
    readonly source: "containerd" | "buildkit" | "docker";
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

    get source(): "containerd" | "buildkit" | "docker" {
        return this.summary.source;
    }

    snapshotInfo(id: string): SnapshotInfo | null {
        return this.infos.get(id) ?? null;
    }

    snapshotInfos(): ReadonlyMap<string, SnapshotInfo> {
        return this.infos;
    }

    override async report(id: string): Promise<RootRefReport> {
        return { ...(await super.report(id)), snapshotInfo: this.snapshotInfo(id) };
    }

    /** Recomputes the image's layers from the snapshots and compares them with its diff_ids. */
    async verifyImage(name: string, signal?: AbortSignal): Promise<ImageVerifyReport> {
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

export function defaultRootStateDir(root: string, snapshotter: string, namespace: string | null): string {
    const cache = process.env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache");
    const hash = createHash("sha256").update(root).digest("hex").slice(0, 16);
    return path.join(cache, "layerscope", "roots", hash, namespace ? `${snapshotter}-${namespace}` : snapshotter);
}

export interface LayerNode {
    readonly id: string;
    readonly parent: string | null;
    readonly dir: string;
    readonly description: string;
    readonly info: SnapshotInfo;
}

/** Layer refs, parents first; a node whose parent is missing is skipped with its children. */
export function layerRefs(root: string, nodes: readonly LayerNode[], problems: string[]): { refs: RefSpec[]; infos: Map<string, SnapshotInfo> } {
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

export function isInside(dir: string, p: string): boolean {
    const rel = path.relative(dir, p);
    return rel === "" || (!rel.startsWith("..") && !path.isAbsolute(rel));
}
