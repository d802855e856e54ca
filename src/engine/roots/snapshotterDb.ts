/**
 * A containerd snapshotter's own database (`io.containerd.snapshotter.v1.<name>/metadata.db`),
 * read-only. Schema from containerd `snapshots/storage/bolt.go`:
 *
 *   v1/snapshots/<key>/{id uvarint, kind 1 byte, parent key, createdat, updatedat,
 *                       size varint, inodes varint, labels/}
 *   v1/parents/<uvarint parent id 0x00 uvarint child id> = child key
 *
 * `<key>` is what meta.db calls the snapshot's `name`; `id` names the directory snapshots/<id>.
 */
import { BoltDB } from "../bbolt";
import { EngineError } from "../errors";
import { strings } from "./containerdMeta";
import { goTime, text, uvarint, varint } from "./encoding";

export type SnapshotKind = "view" | "active" | "committed";

/** snapshots.Kind: 1 View, 2 Active, 3 Committed (containerd `snapshots/snapshotter.go`). */
const KINDS: Record<number, SnapshotKind> = { 1: "view", 2: "active", 3: "committed" };

export interface StoredSnapshot {
    readonly key: string;
    readonly id: number;
    readonly kind: SnapshotKind;
    readonly parent: string | null;
    readonly labels: Record<string, string>;
    readonly createdAt: string | null;
    readonly updatedAt: string | null;
    /** Disk usage recorded at commit (committed snapshots only). */
    readonly size: number | null;
    readonly inodes: number | null;
}

export function readSnapshotterDb(file: string): Map<string, StoredSnapshot> {
    return BoltDB.read(file, (tx) => {
        const out = new Map<string, StoredSnapshot>();
        const snaps = tx.root.dig("v1", "snapshots");
        if (!snaps) return out;
        for (const e of snaps.entries()) {
            if (!e.bucket) continue;
            const key = e.key.toString("utf8");
            const b = e.bucket;
            const idBuf = b.get("id");
            const kindBuf = b.get("kind");
            const id = idBuf ? uvarint(idBuf) : null;
            const kind = kindBuf && kindBuf.length === 1 ? KINDS[kindBuf[0]!] : undefined;
            if (id === null || kind === undefined) {
                throw new EngineError("Corrupt", `${file}: snapshot ${JSON.stringify(key)} has ${id === null ? "no valid id" : "an unknown kind"}`, { path: file, snapshot: key });
            }
            const size = b.get("size");
            const inodes = b.get("inodes");
            out.set(key, {
                key,
                id,
                kind,
                parent: text(b.get("parent")) || null,
                labels: strings(b.bucket("labels")),
                createdAt: goTime(b.get("createdat")),
                updatedAt: goTime(b.get("updatedat")),
                size: size ? varint(size) : null,
                inodes: inodes ? varint(inodes) : null,
            });
        }
        return out;
    });
}
