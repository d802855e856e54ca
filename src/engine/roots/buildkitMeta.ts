/**
 * BuildKit's cache metadata (`metadata_v2.db`, BuildKit `cache/metadata` + `cache/metadata.go`),
 * read-only; the same file in Docker's built-in BuildKit (data-root/buildkit/) and in a standalone
 * buildkitd (/var/lib/buildkit/runc-<snapshotter>/):
 *
 *   _main/<recordID>/<key> = JSON {"value": …, "index": …}   (a cleared value is stored empty)
 *   _index/<index>::<recordID> = ""                            (chainid:, blobchainid:, …)
 *   _external/<recordID>/buildkit.contenthash.v0 = protobuf    (not read)
 *
 * Keys (v0.10.6 `cache/metadata.go`): cache.parent, cache.mergeParents, cache.lowerDiffParent,
 * cache.upperDiffParent, cache.description, cache.recordType, cache.snapshot (the snapshot id;
 * absent in BuildKit v0.8, where it is the record id), snapshot.committed, cache.equalMutable,
 * cache.chainID, cache.blobChainID, cache.diffID, cache.blob, cache.blobonly, cache.createdAt
 * (Unix ns), snapshot.size. The key layout and the JSON encoding are checked against real dumps
 * of dockerd 20.10's BuildKit (the team's realstate samples).
 */
import { BoltDB, type Bucket } from "../bbolt";

export interface BuildkitMetaRecord {
    readonly id: string;
    /** `cache.snapshot`, else the record id. */
    readonly snapshotID: string;
    /** Whether `cache.snapshot` was there (newer BuildKit) or the id was assumed (v0.8). */
    readonly snapshotIDStored: boolean;
    readonly parent: string | null;
    /** A merge (cache.mergeParents) or diff (cache.lowerDiffParent/upperDiffParent) record's inputs. */
    readonly mergeParents: string[];
    readonly diffParents: { lower: string | null; upper: string | null } | null;
    readonly description: string | null;
    readonly committed: boolean;
    readonly equalMutable: string | null;
    readonly recordType: string | null;
    readonly chainID: string | null;
    readonly diffID: string | null;
    readonly blobChainID: string | null;
    readonly blob: string | null;
    readonly blobOnly: boolean;
    readonly createdAt: string | null;
    readonly size: number | null;
}

/** `cache.createdAt` (Unix ns) as an ISO time; null when absent or outside what a Date holds. */
export function isoOfUnixNs(v: unknown): string | null {
    if (typeof v !== "number" || !Number.isFinite(v)) return null;
    const ms = Math.floor(v / 1e6);
    return Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString() : null;
}

/** A metadata value: JSON {"value": …, "index": …}; null when absent, cleared or not that. */
function mdValue(b: Bucket, key: string): unknown {
    const v = b.get(key);
    if (!v || v.length === 0) return null;
    try {
        return (JSON.parse(v.toString("utf8")) as { value?: unknown }).value ?? null;
    } catch {
        return null;
    }
}

function str(v: unknown): string | null {
    return typeof v === "string" && v !== "" ? v : null;
}

/** Every record under _main, in key order. */
export function readBuildkitRecords(file: string): BuildkitMetaRecord[] {
    return BoltDB.read(file, (tx) => {
        const out: BuildkitMetaRecord[] = [];
        const main = tx.root.bucket("_main");
        if (!main) return out;
        for (const e of main.entries()) {
            if (!e.bucket) continue;
            const id = e.key.toString("utf8");
            const b = e.bucket;
            const stored = str(mdValue(b, "cache.snapshot"));
            const created = mdValue(b, "cache.createdAt");
            const size = mdValue(b, "snapshot.size");
            const merge = mdValue(b, "cache.mergeParents");
            const lower = str(mdValue(b, "cache.lowerDiffParent"));
            const upper = str(mdValue(b, "cache.upperDiffParent"));
            out.push({
                id,
                snapshotID: stored ?? id,
                snapshotIDStored: stored !== null,
                parent: str(mdValue(b, "cache.parent")),
                mergeParents: Array.isArray(merge) ? merge.filter((m): m is string => typeof m === "string") : [],
                diffParents: lower !== null || upper !== null ? { lower, upper } : null,
                description: str(mdValue(b, "cache.description")),
                committed: mdValue(b, "snapshot.committed") === true,
                equalMutable: str(mdValue(b, "cache.equalMutable")),
                recordType: str(mdValue(b, "cache.recordType")),
                chainID: str(mdValue(b, "cache.chainID")),
                diffID: str(mdValue(b, "cache.diffID")),
                blobChainID: str(mdValue(b, "cache.blobChainID")),
                blob: str(mdValue(b, "cache.blob")),
                blobOnly: mdValue(b, "cache.blobonly") === true,
                createdAt: isoOfUnixNs(created),
                size: typeof size === "number" ? size : null,
            });
        }
        return out;
    });
}
