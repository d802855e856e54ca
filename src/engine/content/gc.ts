/**
 * Mirrors containerd `gc/gc.go` `Tricolor` and, from `metadata/gc.go`, `scanRoots`,
 * `references`, `sendLabelRefs` and `remove`, for content only. Run with the store lock held,
 * which plays the part of containerd's exclusive bolt transaction plus `cs.l.Lock()`.
 *
 * Roots (scanRoots):
 * - every lease's content resources, unless the lease's `containerd.io/gc.expire` (RFC 3339)
 *   has passed. A lease labelled `containerd.io/gc.flat` contributes them as *flat* nodes
 *   (containerd's `resourceContentFlat`);
 * - every blob labelled `containerd.io/gc.root` (any value; containerd ignores it too);
 * - the expected digest of every active ingest (containerd's ResourceIngest -> expected edge),
 *   so a blob a writer is about to find "already existing" is never swept under it.
 * Edges (references/sendLabelRefs): a non-flat content node points at the value of each label
 * `containerd.io/gc.ref.content` or `containerd.io/gc.ref.content[./]<anything>` that is a
 * digest; a flat node points at nothing. A node is (digest, flat), as in containerd, so a blob
 * reached flat by one lease is still followed when another lease reaches it normally. Edges to
 * absent blobs are ignored ("node may be created from dead edge").
 * Mark is Tricolor's depth-first gray stack; sweep removes every blob not marked, then its
 * label record, then label records whose blob is gone, expired leases, and stale ingests
 * (those whose owner process is gone; ingests.ts).
 */
import { promises as fsp } from "node:fs";
import * as path from "node:path";
import type { Digest } from "../digest/hashSink";
import { fromSystemError } from "../errors";
import { fsyncDir } from "./durableFs";
import { activeExpectedDigests, removeStaleIngests } from "./ingests";
import {
    LABEL_GC_EXPIRE,
    LABEL_GC_FLAT,
    LABEL_GC_ROOT,
    type Labels,
    contentRefs,
    readBlobRecord,
} from "./labels";
import type { LeaseManager } from "./leases";
import type { StoreLayout } from "./layout";
import type { RefLocks } from "./refLocks";

export interface GcOptions {
    /** Report what would be removed without removing anything. */
    readonly dryRun?: boolean;
}

export interface GcResult {
    /** Blobs removed, sorted. */
    readonly removed: Digest[];
    /** Their total size. */
    readonly bytes: number;
    readonly ingestsRemoved: number;
    /** Expired leases removed. */
    readonly leasesRemoved: string[];
}

interface GcHost {
    readonly layout: StoreLayout;
    readonly refs: RefLocks;
    readonly leases: LeaseManager;
}

type GcNode = readonly [digest: Digest, flat: boolean];

async function listHexNames(dir: string, suffix: string): Promise<string[]> {
    try {
        const re = new RegExp(`^[a-f0-9]{64}${suffix.replace(".", "\\.")}$`);
        return (await fsp.readdir(dir)).filter((n) => re.test(n)).sort();
    } catch (err) {
        throw fromSystemError(err, dir, "listing the content store");
    }
}

function isExpired(labels: Labels, now: number): boolean {
    const exp = labels[LABEL_GC_EXPIRE];
    const t = exp === undefined ? NaN : Date.parse(exp);
    return !Number.isNaN(t) && now > t; // an unparsable expiry is ignored, as containerd does
}

/** Tricolor: everything reachable from `roots`. */
function mark(roots: GcNode[], labelsOf: Map<Digest, Labels>): Set<Digest> {
    const seen = new Set<string>();
    const reachable = new Set<Digest>();
    const grays = [...roots];
    while (grays.length > 0) {
        const [digest, flat] = grays.pop()!;
        const key = `${flat ? "f" : "c"}${digest}`;
        if (seen.has(key)) continue;
        seen.add(key);
        reachable.add(digest);
        const labels = flat ? undefined : labelsOf.get(digest);
        for (const target of labels ? contentRefs(labels) : []) {
            if (!seen.has(`c${target}`)) grays.push([target, false]);
        }
    }
    return reachable;
}

/** Store lock held. */
export async function collectGarbage(host: GcHost, opts: GcOptions = {}): Promise<GcResult> {
    const { layout } = host;
    const dryRun = opts.dryRun ?? false;
    const now = Date.now();
    const roots: GcNode[] = [];
    const expired: string[] = [];
    for (const lease of await host.leases.readAll()) {
        if (isExpired(lease.labels, now)) {
            expired.push(lease.id);
            continue;
        }
        const flat = lease.labels[LABEL_GC_FLAT] !== undefined;
        roots.push(...lease.content.map((d): GcNode => [d, flat]));
    }
    const labelsOf = new Map<Digest, Labels>();
    const blobs = (await listHexNames(layout.blobsDir, "")).map((hex): Digest => `sha256:${hex}`);
    for (const d of blobs) {
        const labels = (await readBlobRecord(layout, d))?.labels ?? {};
        labelsOf.set(d, labels);
        if (labels[LABEL_GC_ROOT] !== undefined) roots.push([d, false]);
    }
    roots.push(...(await activeExpectedDigests(layout, host.refs)).map((d): GcNode => [d, false]));

    const reachable = mark(roots, labelsOf);
    const removed: Digest[] = [];
    let bytes = 0;
    for (const d of blobs) {
        if (reachable.has(d)) continue;
        const blob = layout.blobPath(d);
        const st = await fsp.stat(blob).catch(() => undefined);
        if (!st) continue;
        removed.push(d);
        bytes += st.size;
        if (!dryRun) {
            await fsp.rm(blob, { force: true });
            await fsp.rm(layout.labelsPath(d), { force: true });
        }
    }
    if (!dryRun) {
        await removeOrphanRecords(layout, new Set(blobs.filter((d) => reachable.has(d))));
        for (const id of expired) await host.leases.removeLocked(id);
        await fsyncDir(layout.blobsDir);
        await fsyncDir(layout.labelsDir);
    }
    const ingestsRemoved = await removeStaleIngests(layout, host.refs, 0, dryRun);
    return { removed, bytes, ingestsRemoved, leasesRemoved: expired };
}

/** Label records left by a crash between removing a blob and removing its record. */
async function removeOrphanRecords(layout: StoreLayout, kept: Set<Digest>): Promise<void> {
    for (const name of await listHexNames(layout.labelsDir, ".json")) {
        const d: Digest = `sha256:${name.slice(0, 64)}`;
        if (!kept.has(d)) {
            await fsp.rm(path.join(layout.labelsDir, name), { force: true });
        }
    }
}
