/**
 * A standalone buildkitd root (`/var/lib/buildkit`, OCI/runc worker), read in place. BuildKit
 * v0.10.6 `worker/runc/runc.go` puts one directory per snapshotter there:
 *
 *   runc-<sn>/metadata_v2.db     BuildKit's cache records (buildkitMeta.ts)
 *   runc-<sn>/containerdmeta.db  containerd's metadata schema (metadata.NewDB), namespace "buildkit"
 *   runc-<sn>/snapshots/         containerd's <sn> snapshotter rooted here: metadata.db, snapshots/<id>
 *   runc-<sn>/content/blobs/     containerd's local content store
 *
 * So the root is read with the containerd-root loader (containerd.ts) on these paths, and the
 * records are joined to its snapshots the way the Docker reader joins them to layers: a record's
 * snapshot is `cache.snapshot` (default its id) in namespace buildkit; a committed record whose
 * snapshot is not there yet (BuildKit commits the snapshot lazily) reads its equal mutable's
 * active snapshot (`cache.equalMutable`). Refs are the records, parent = `cache.parent`, as
 * BuildKit itself sees them.
 *
 * Checked against real data: the metadata_v2.db key/value layout (dumps of dockerd 20.10's
 * BuildKit) and containerd's databases (made by containerd 1.6 itself in the tests). Not checked
 * against a real buildkitd root: none can run here (no Debian package); the directory layout and
 * the namespace come from BuildKit's source (worker/runc/runc.go, worker/base), and the test
 * fixture (test/fixtures/realstate/tools/make-buildkit-root.sh) is assembled from containerd's
 * own databases plus a metadata_v2.db written with BuildKit's bucket/key layout.
 */
import { existsSync, realpathSync, statSync } from "node:fs";
import * as path from "node:path";
import { EngineError } from "../errors";
import { checkReadable, listDir, rootError } from "./access";
import { type BuildkitMetaRecord, readBuildkitRecords } from "./buildkitMeta";
import { type ContainerdRoot, type ContainerdSnapshot, loadContainerdLayout, type RootSnapshotter, SUPPORTED_SNAPSHOTTERS } from "./containerd";
import { readContainerdMeta } from "./containerdMeta";

export const BUILDKIT_NAMESPACE = "buildkit";
const WORKER_PREFIX = "runc-";
const WORKER_FILES = ["metadata_v2.db", "containerdmeta.db", "snapshots"] as const;

export interface BuildkitRecord extends BuildkitMetaRecord {
    /** The containerd snapshot the record reads (its own, or its equal mutable's); null when none. */
    readonly snapshot: ContainerdSnapshot | null;
}

export interface BuildkitRoot {
    readonly kind: "buildkit";
    /** The directory opened (/var/lib/buildkit or one runc-<sn>/). */
    readonly root: string;
    /** The worker directory read (runc-<sn>/). */
    readonly worker: string;
    readonly snapshotter: RootSnapshotter;
    /** Snapshotters of the runc workers present (runc-<sn>/ with a metadata_v2.db). */
    readonly snapshotters: string[];
    readonly containerd: ContainerdRoot;
    readonly records: BuildkitRecord[];
    readonly metadataDb: string;
    readonly problems: string[];
}

function isWorkerDir(entries: readonly string[]): boolean {
    return WORKER_FILES.every((f) => entries.includes(f));
}

/** True for /var/lib/buildkit (a runc-<sn>/ worker inside) or for a runc-<sn>/ directory itself. */
export function looksLikeBuildkitRoot(dir: string, entries: readonly string[]): boolean {
    if (isWorkerDir(entries)) return true;
    return entries.some((e) => e.startsWith(WORKER_PREFIX) && existsSync(path.join(dir, e, "metadata_v2.db")));
}

export function loadBuildkitRoot(dir: string, wanted?: string): BuildkitRoot {
    let root: string;
    try {
        root = realpathSync(path.resolve(dir));
    } catch (err) {
        throw rootError(err, path.resolve(dir), "the buildkitd root", "opening the buildkitd root");
    }
    const entries = listDir(root, "the buildkitd root (buildkitd keeps runc-<snapshotter>/ 0700)");
    const problems: string[] = [];
    // Workers: the directory itself, or its runc-<sn>/ children.
    const workers = new Map<string, string>();
    if (isWorkerDir(entries)) {
        const base = path.basename(root);
        if (base.startsWith(WORKER_PREFIX)) {
            workers.set(base.slice(WORKER_PREFIX.length), root);
        } else {
            // Renamed or copied: the snapshotter is the one containerdmeta.db names.
            const metaDb = path.join(root, "containerdmeta.db");
            checkReadable(metaDb, "containerd's metadata database");
            const ns = readContainerdMeta(metaDb).namespaces.find((n) => n.name === BUILDKIT_NAMESPACE);
            for (const name of ns?.snapshots.keys() ?? []) workers.set(name, root);
            if (workers.size === 0) workers.set("overlayfs", root);
        }
    } else {
        for (const e of entries.sort()) {
            if (!e.startsWith(WORKER_PREFIX)) continue;
            const w = path.join(root, e);
            if (existsSync(path.join(w, "metadata_v2.db"))) workers.set(e.slice(WORKER_PREFIX.length), w);
        }
        for (const e of entries) {
            if (e.startsWith("containerd-")) {
                problems.push(`${e}/: BuildKit's containerd worker keeps its snapshots in containerd's own root (open that root; namespace ${BUILDKIT_NAMESPACE})`);
            }
        }
    }
    const supported = [...workers.keys()].filter((sn) => (SUPPORTED_SNAPSHOTTERS as readonly string[]).includes(sn));
    for (const sn of workers.keys()) {
        if (!supported.includes(sn)) problems.push(`worker ${WORKER_PREFIX}${sn}: snapshotter ${sn} is not supported (only ${SUPPORTED_SNAPSHOTTERS.join(", ")})`);
    }
    let sn: string;
    if (wanted !== undefined) {
        if (!(SUPPORTED_SNAPSHOTTERS as readonly string[]).includes(wanted)) {
            throw new EngineError("Unsupported", `snapshotter ${JSON.stringify(wanted)} is not supported (${SUPPORTED_SNAPSHOTTERS.join(", ")})`, { snapshotter: wanted });
        }
        if (!workers.has(wanted)) {
            throw new EngineError("NotFound", `${root}: no ${WORKER_PREFIX}${wanted}/ worker (has ${[...workers.keys()].map((w) => WORKER_PREFIX + w).join(", ") || "none"})`, { path: root });
        }
        sn = wanted;
    } else {
        const pick = SUPPORTED_SNAPSHOTTERS.find((s) => workers.has(s));
        if (!pick) {
            throw new EngineError("Unsupported", `${root}: no runc worker with a supported snapshotter (${[...workers.keys()].map((w) => WORKER_PREFIX + w).join(", ") || "none"}; supported: ${SUPPORTED_SNAPSHOTTERS.join(", ")})`, { path: root });
        }
        sn = pick;
    }
    const worker = workers.get(sn)!;
    const snapshotsDir = path.join(worker, "snapshots");
    if (!existsSync(snapshotsDir) || !statSync(snapshotsDir).isDirectory()) {
        throw new EngineError("NotFound", `${worker}: no snapshots/ directory (the ${sn} snapshotter's root)`, { path: worker });
    }
    const containerd = loadContainerdLayout(root, {
        metaDb: path.join(worker, "containerdmeta.db"),
        contentBlobs: path.join(worker, "content", "blobs"),
        snapshotters: new Map([[sn, snapshotsDir]]),
    });
    problems.push(...containerd.problems);
    const metadataDb = path.join(worker, "metadata_v2.db");
    checkReadable(metadataDb, "BuildKit's cache metadata");
    const raw = readBuildkitRecords(metadataDb);
    const snaps = new Map(containerd.snapshots.filter((s) => s.namespace === BUILDKIT_NAMESPACE && s.snapshotter === sn).map((s) => [s.key, s]));
    const byId = new Map(raw.map((r) => [r.id, r]));
    const records: BuildkitRecord[] = raw.map((r) => {
        const own = snaps.get(r.snapshotID) ?? null;
        const eq = r.equalMutable ? byId.get(r.equalMutable) : undefined;
        const snapshot = own ?? (eq ? (snaps.get(eq.snapshotID) ?? null) : null);
        return { ...r, snapshot };
    });
    const recordsById = new Map(records.map((r) => [r.id, r]));
    const used = new Set<string>();
    for (const r of records) {
        if (r.snapshot) used.add(r.snapshot.key);
        if (r.mergeParents.length > 0 || r.diffParents) {
            problems.push(`BuildKit record ${r.id}: a ${r.mergeParents.length > 0 ? "merge" : "diff"} record (its layers come from other records); not a ref`);
            continue;
        }
        if (!r.snapshot) {
            problems.push(`BuildKit record ${r.id}: no snapshot ${r.snapshotID} in namespace ${BUILDKIT_NAMESPACE} (${r.blobOnly ? "a blob not unpacked yet" : "not in the snapshotter"}); not a ref`);
            continue;
        }
        // BuildKit prepares a record's snapshot on its parent's: the two databases should agree.
        const parent = r.parent ? recordsById.get(r.parent) : undefined;
        const expected = parent ? (parent.snapshot?.key ?? parent.snapshotID) : null;
        if (r.parent && r.snapshot.parent !== expected) {
            problems.push(`BuildKit record ${r.id}: cache.parent ${r.parent} has snapshot ${expected ?? "(unknown record)"}, but snapshot ${r.snapshot.key}'s parent is ${r.snapshot.parent ?? "none"}`);
        }
    }
    const orphans = [...snaps.keys()].filter((k) => !used.has(k));
    if (orphans.length > 0) problems.push(`${orphans.length} snapshot(s) in namespace ${BUILDKIT_NAMESPACE} belong to no record (${orphans.slice(0, 3).join(", ")}${orphans.length > 3 ? ", …" : ""})`);
    return { kind: "buildkit", root, worker, snapshotter: sn as RootSnapshotter, snapshotters: [...workers.keys()].sort(), containerd, records, metadataDb, problems };
}
