/**
 * containerd's metadata database (`io.containerd.metadata.v1.bolt/meta.db`), read-only. Schema
 * from containerd `metadata/buckets.go` (v1, schema version 3):
 *
 *   v1/<namespace>/images/<name>/{target/{digest,mediatype,size}, labels/, annotations/}
 *   v1/<namespace>/content/blob/<digest>/{size, labels/}
 *   v1/<namespace>/snapshots/<snapshotter>/<key>/{name, parent, labels/, children/}
 *   v1/<namespace>/containers/<id>/{image, snapshotter, snapshotKey, labels/}
 *   v1/<namespace>/leases/<id>/{labels/, snapshots/<sn>/<key>, content/<digest>}
 *
 * `name` of a snapshot is its key in the snapshotter's own database (snapshotterDb.ts): the join.
 */
import { BoltDB, type Bucket } from "../bbolt";
import { goTime, text, varint } from "./encoding";

export interface Descriptor {
    readonly digest: string;
    readonly mediaType: string;
    readonly size: number;
}

export interface MetaImage {
    readonly name: string;
    readonly target: Descriptor;
    readonly labels: Record<string, string>;
    readonly createdAt: string | null;
}

export interface MetaSnapshot {
    readonly key: string;
    /** The key in the snapshotter's metadata.db ("<namespace>/<n>/<key>"). */
    readonly name: string;
    readonly parent: string | null;
    readonly labels: Record<string, string>;
    readonly createdAt: string | null;
}

export interface MetaContainer {
    readonly id: string;
    readonly image: string | null;
    readonly snapshotter: string | null;
    readonly snapshotKey: string | null;
}

export interface MetaLease {
    readonly id: string;
    readonly labels: Record<string, string>;
    /** snapshotter → keys the lease holds. */
    readonly snapshots: Record<string, string[]>;
}

export interface MetaNamespace {
    readonly name: string;
    readonly images: MetaImage[];
    readonly content: Map<string, { size: number | null; labels: Record<string, string> }>;
    /** snapshotter → key → snapshot. */
    readonly snapshots: Map<string, Map<string, MetaSnapshot>>;
    readonly containers: MetaContainer[];
    readonly leases: MetaLease[];
}

export interface ContainerdMeta {
    readonly version: number | null;
    readonly namespaces: MetaNamespace[];
}

export function readContainerdMeta(file: string): ContainerdMeta {
    return BoltDB.read(file, (tx) => {
        const v1 = tx.root.bucket("v1");
        if (!v1) return { version: null, namespaces: [] };
        const version = v1.get("version");
        const namespaces: MetaNamespace[] = [];
        for (const e of v1.entries()) {
            if (e.bucket) namespaces.push(readNamespace(e.key.toString("utf8"), e.bucket));
        }
        return { version: version ? varint(version) : null, namespaces };
    });
}

function readNamespace(name: string, ns: Bucket): MetaNamespace {
    const images: MetaImage[] = [];
    for (const e of buckets(ns.bucket("images"))) {
        const t = e.bucket.bucket("target");
        images.push({
            name: e.name,
            target: {
                digest: text(t?.get("digest") ?? null) ?? "",
                mediaType: text(t?.get("mediatype") ?? null) ?? "",
                size: (t?.get("size") && varint(t.get("size")!)) ?? 0,
            },
            labels: strings(e.bucket.bucket("labels")),
            createdAt: goTime(e.bucket.get("createdat")),
        });
    }
    const content = new Map<string, { size: number | null; labels: Record<string, string> }>();
    for (const e of buckets(ns.dig("content", "blob"))) {
        const size = e.bucket.get("size");
        content.set(e.name, { size: size ? varint(size) : null, labels: strings(e.bucket.bucket("labels")) });
    }
    const snapshots = new Map<string, Map<string, MetaSnapshot>>();
    for (const sn of buckets(ns.bucket("snapshots"))) {
        const byKey = new Map<string, MetaSnapshot>();
        for (const e of buckets(sn.bucket)) {
            byKey.set(e.name, {
                key: e.name,
                name: text(e.bucket.get("name")) ?? "",
                parent: text(e.bucket.get("parent")) || null,
                labels: strings(e.bucket.bucket("labels")),
                createdAt: goTime(e.bucket.get("createdat")),
            });
        }
        snapshots.set(sn.name, byKey);
    }
    const containers: MetaContainer[] = [];
    for (const e of buckets(ns.bucket("containers"))) {
        containers.push({
            id: e.name,
            image: text(e.bucket.get("image")),
            snapshotter: text(e.bucket.get("snapshotter")),
            snapshotKey: text(e.bucket.get("snapshotKey")),
        });
    }
    const leases: MetaLease[] = [];
    for (const e of buckets(ns.bucket("leases"))) {
        const held: Record<string, string[]> = {};
        for (const sn of buckets(e.bucket.bucket("snapshots"))) {
            held[sn.name] = [...sn.bucket.entries()].map((k) => k.key.toString("utf8"));
        }
        leases.push({ id: e.name, labels: strings(e.bucket.bucket("labels")), snapshots: held });
    }
    return { name, images, content, snapshots, containers, leases };
}

function* buckets(b: Bucket | null): Generator<{ name: string; bucket: Bucket }> {
    if (!b) return;
    for (const e of b.entries()) {
        if (e.bucket) yield { name: e.key.toString("utf8"), bucket: e.bucket };
    }
}

/** A labels-style bucket as a record of strings (nested buckets skipped). */
export function strings(b: Bucket | null): Record<string, string> {
    const out: Record<string, string> = {};
    if (!b) return out;
    for (const e of b.entries()) {
        if (e.value) out[e.key.toString("utf8")] = e.value.toString("utf8");
    }
    return out;
}
