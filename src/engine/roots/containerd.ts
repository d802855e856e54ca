/**
 * A containerd root (`/var/lib/containerd`, or a standalone buildkitd's), read-only and without
 * the daemon: meta.db (namespaces, images, content labels, snapshot keys and parents) joined
 * with each snapshotter's metadata.db (ids, kinds, labels) and the snapshot directories:
 *
 *   overlayfs: io.containerd.snapshotter.v1.overlayfs/snapshots/<id>/fs  (an upperdir)
 *   native:    io.containerd.snapshotter.v1.native/snapshots/<id>        (a full tree)
 *
 * Layout and schemas: containerd `metadata/buckets.go`, `snapshots/storage/bolt.go`,
 * `snapshots/overlay/overlay.go`. The join is meta.db's `name` = the snapshotter's key; parents
 * come from meta.db (`parent` = the parent's key in the same namespace), since nothing on disk
 * links snapshot directories to each other.
 */
import { existsSync, realpathSync, statSync } from "node:fs";
import * as path from "node:path";
import type { Digest } from "../digest/hashSink";
import { EngineError } from "../errors";
import { chainIDs as computeChainIDs } from "../identity/chainID";
import { checkReadable, listDir, rootError } from "./access";
import { type ResolvedImage, resolveImage } from "./contentBlobs";
import { type ContainerdMeta, type Descriptor, readContainerdMeta } from "./containerdMeta";
import { readSnapshotterDb, type SnapshotKind, type StoredSnapshot } from "./snapshotterDb";

export const META_DB = path.join("io.containerd.metadata.v1.bolt", "meta.db");
export const CONTENT_BLOBS = path.join("io.containerd.content.v1.content", "blobs");
const SNAPSHOTTER_PREFIX = "io.containerd.snapshotter.v1.";
/** The snapshotters whose directories the engine can diff. */
export const SUPPORTED_SNAPSHOTTERS = ["overlayfs", "native"] as const;
export type RootSnapshotter = (typeof SUPPORTED_SNAPSHOTTERS)[number];

export interface ContainerdSnapshot {
    readonly namespace: string;
    readonly snapshotter: string;
    readonly key: string;
    /** The key in the snapshotter's metadata.db. */
    readonly backendKey: string;
    readonly kind: SnapshotKind;
    readonly id: number;
    readonly parent: string | null;
    /** meta.db labels, then the snapshotter's own (containerd.io/snapshot/*). */
    readonly labels: Record<string, string>;
    /** The layer directory: an upperdir (overlayfs) or a full tree (native). */
    readonly dir: string;
    readonly createdAt: string | null;
    readonly size: number | null;
    readonly inodes: number | null;
}

export interface ContainerdImage {
    readonly namespace: string;
    readonly name: string;
    readonly target: Descriptor;
    readonly labels: Record<string, string>;
    readonly resolved: (ResolvedImage & { readonly chainIDs: string[]; readonly uncompressed: Array<string | null> }) | null;
    /** Why the image could not be resolved (missing blob, unknown media type…). */
    readonly problem: string | null;
}

export interface ContainerdRoot {
    readonly kind: "containerd";
    readonly root: string;
    /** The metadata database and the content store's blobs/ (they differ in a buildkitd root). */
    readonly metaDb: string;
    readonly contentBlobs: string;
    readonly metaVersion: number | null;
    readonly namespaces: string[];
    /** Snapshotter directories present, supported or not. */
    readonly snapshotters: string[];
    readonly snapshots: ContainerdSnapshot[];
    readonly images: ContainerdImage[];
    readonly containers: Array<{ namespace: string; id: string; image: string | null; snapshotter: string | null; snapshotKey: string | null }>;
    readonly leases: Array<{ namespace: string; id: string; labels: Record<string, string>; snapshots: Record<string, string[]> }>;
    /** Things skipped, each one line (a snapshot without its directory, …). */
    readonly problems: string[];
}

/** True when `dir` holds containerd's plugin directories. */
export function looksLikeContainerdRoot(entries: readonly string[]): boolean {
    return entries.includes("io.containerd.metadata.v1.bolt") || entries.some((e) => e.startsWith(SNAPSHOTTER_PREFIX));
}

/**
 * Where a containerd-style root keeps its databases: containerd's own layout, or a standalone
 * buildkitd's `runc-<sn>/` (containerdmeta.db, snapshots/, content/; buildkit.ts).
 */
export interface ContainerdLayout {
    /** The metadata database (meta.db, or buildkitd's containerdmeta.db). */
    readonly metaDb: string;
    /** The content store's blobs/ directory. */
    readonly contentBlobs: string;
    /** Snapshotter name → its directory (metadata.db and snapshots/<id>). */
    readonly snapshotters: ReadonlyMap<string, string>;
}

export function loadContainerdRoot(dir: string): ContainerdRoot {
    let root: string;
    try {
        root = realpathSync(path.resolve(dir));
    } catch (err) {
        throw rootError(err, path.resolve(dir), "the containerd root", "opening the containerd root");
    }
    const entries = listDir(root, "the containerd root (containerd keeps it 0700)");
    const snapshotters = new Map(
        entries
            .filter((e) => e.startsWith(SNAPSHOTTER_PREFIX))
            .sort()
            .map((e) => [e.slice(SNAPSHOTTER_PREFIX.length), path.join(root, e)] as const),
    );
    return loadContainerdLayout(root, { metaDb: path.join(root, META_DB), contentBlobs: path.join(root, CONTENT_BLOBS), snapshotters });
}

/** Reads a containerd-style root laid out as `layout` says (all paths inside `root`). */
export function loadContainerdLayout(root: string, layout: ContainerdLayout): ContainerdRoot {
    checkReadable(layout.metaDb, "containerd's metadata database");
    const meta = readContainerdMeta(layout.metaDb);
    const snapshotters = [...layout.snapshotters.keys()].sort();
    const problems: string[] = [];
    const snapshots: ContainerdSnapshot[] = [];
    for (const sn of snapshotters) {
        const used = meta.namespaces.some((ns) => (ns.snapshots.get(sn)?.size ?? 0) > 0);
        if (!used) continue;
        if (!(SUPPORTED_SNAPSHOTTERS as readonly string[]).includes(sn)) {
            problems.push(`snapshotter ${sn}: not supported (only ${SUPPORTED_SNAPSHOTTERS.join(", ")}); its snapshots are not listed`);
            continue;
        }
        snapshots.push(...loadSnapshotter(layout.snapshotters.get(sn)!, sn as RootSnapshotter, meta, problems));
    }
    const images: ContainerdImage[] = [];
    for (const ns of meta.namespaces) {
        for (const img of ns.images) {
            images.push(resolveContainerdImage(layout.contentBlobs, ns.name, img, ns.content));
        }
    }
    return {
        kind: "containerd",
        root,
        metaDb: layout.metaDb,
        contentBlobs: layout.contentBlobs,
        metaVersion: meta.version,
        namespaces: meta.namespaces.map((n) => n.name),
        snapshotters,
        snapshots,
        images,
        containers: meta.namespaces.flatMap((ns) => ns.containers.map((c) => ({ namespace: ns.name, ...c }))),
        leases: meta.namespaces.flatMap((ns) => ns.leases.map((l) => ({ namespace: ns.name, ...l }))),
        problems,
    };
}

function loadSnapshotter(base: string, sn: RootSnapshotter, meta: ContainerdMeta, problems: string[]): ContainerdSnapshot[] {
    const dbFile = path.join(base, "metadata.db");
    checkReadable(dbFile, `the ${sn} snapshotter's database`);
    const stored = readSnapshotterDb(dbFile);
    const out: ContainerdSnapshot[] = [];
    for (const ns of meta.namespaces) {
        for (const s of ns.snapshots.get(sn)?.values() ?? []) {
            const backend: StoredSnapshot | undefined = stored.get(s.name);
            if (!backend) {
                problems.push(`${sn} ${ns.name}/${s.key}: meta.db names ${JSON.stringify(s.name)}, which the snapshotter's metadata.db does not have`);
                continue;
            }
            const dir = path.join(base, "snapshots", String(backend.id), ...(sn === "overlayfs" ? ["fs"] : []));
            if (!existsSync(dir) || !statSync(dir).isDirectory()) {
                problems.push(`${sn} ${ns.name}/${s.key}: snapshot directory ${dir} is missing`);
                continue;
            }
            out.push({
                namespace: ns.name,
                snapshotter: sn,
                key: s.key,
                backendKey: s.name,
                kind: backend.kind,
                id: backend.id,
                parent: s.parent,
                labels: { ...s.labels, ...backend.labels },
                dir,
                createdAt: s.createdAt ?? backend.createdAt,
                size: backend.size,
                inodes: backend.inodes,
            });
        }
    }
    return out;
}

function resolveContainerdImage(
    blobs: string,
    namespace: string,
    img: { name: string; target: Descriptor; labels: Record<string, string> },
    content: Map<string, { labels: Record<string, string> }>,
): ContainerdImage {
    try {
        const r = resolveImage(blobs, img.target);
        const chainIDs: string[] = computeChainIDs(r.diffIDs as Digest[]);
        const uncompressed = r.layers.map((l) => content.get(l.digest)?.labels["containerd.io/uncompressed"] ?? null);
        return { namespace, name: img.name, target: img.target, labels: img.labels, resolved: { ...r, chainIDs, uncompressed }, problem: null };
    } catch (err) {
        if (!(err instanceof EngineError) || err.code === "PermissionDenied") throw err;
        return { namespace, name: img.name, target: img.target, labels: img.labels, resolved: null, problem: err.message };
    }
}
