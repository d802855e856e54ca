/**
 * Mirrors containerd `metadata/leases.go` (`Create`, `Delete`, `List`, `AddResource`,
 * `DeleteResource`, `ListResources`, `parseLeaseResource`) and `leases/lease.go`
 * (`WithLabels`, `WithExpiration`): a lease is one JSON file holding its labels and the
 * resources it keeps alive. Like containerd, a resource need not exist to be added.
 */
import { promises as fsp } from "node:fs";
import type { Digest } from "../digest/hashSink";
import { EngineError, assertNever, fromSystemError } from "../errors";
import { readJson, removeDurable, writeJsonDurable } from "./durableFs";
import { LABEL_GC_EXPIRE, LABEL_GC_FLAT, type Labels, cleanLabels } from "./labels";
import { type StoreLayout, checkDigest, checkIdentifier } from "./layout";
import type { StoreLock } from "./storeLock";

/** What a lease holds: containerd's `content` and `snapshots/<snapshotter>` resource types. */
export type LeaseResource =
    | { readonly type: "content"; readonly digest: Digest }
    | { readonly type: "snapshot"; readonly snapshotter: string; readonly key: string };

export interface Lease {
    readonly id: string;
    readonly createdAt: Date;
    readonly labels: Labels;
}

export interface CreateLeaseOptions {
    readonly labels?: Labels;
    /** Sets `containerd.io/gc.flat`: gc keeps the lease's resources but not what they reference. */
    readonly flat?: boolean;
    /** Milliseconds from now; sets `containerd.io/gc.expire` (RFC 3339), after which gc ignores the lease. */
    readonly expiration?: number;
}

/** The lease file. Resource lists are kept sorted. */
export interface LeaseRecord {
    readonly id: string;
    readonly createdAt: string;
    readonly labels: Labels;
    readonly content: readonly Digest[];
    readonly snapshots: Readonly<Record<string, readonly string[]>>;
}

function rfc3339(ms: number): string {
    return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

function parseLease(v: unknown, file: string): LeaseRecord {
    const r = v as Partial<LeaseRecord> | null;
    const ok =
        r &&
        typeof r === "object" &&
        typeof r.id === "string" &&
        typeof r.createdAt === "string" &&
        typeof r.labels === "object" &&
        r.labels !== null &&
        Array.isArray(r.content) &&
        typeof r.snapshots === "object" &&
        r.snapshots !== null;
    if (!ok) {
        throw new EngineError(
            "Corrupt",
            `${file}: not a lease record; remove it to drop the lease`,
            { path: file },
        );
    }
    return r as LeaseRecord;
}

function toLease(r: LeaseRecord): Lease {
    return { id: r.id, createdAt: new Date(r.createdAt), labels: r.labels };
}

function withItem(list: readonly string[], item: string, add: boolean): string[] {
    const set = new Set(list);
    if (add) set.add(item);
    else set.delete(item);
    return [...set].sort();
}

function editResource(rec: LeaseRecord, r: LeaseResource, add: boolean): LeaseRecord {
    switch (r.type) {
        case "content":
            return {
                ...rec,
                content: withItem(
                    rec.content,
                    checkDigest(r.digest, "content resource"),
                    add,
                ) as Digest[],
            };
        case "snapshot": {
            const name = checkIdentifier(r.snapshotter, "snapshotter");
            const keys = withItem(rec.snapshots[name] ?? [], r.key, add);
            const snapshots: Record<string, readonly string[]> = { ...rec.snapshots, [name]: keys };
            if (keys.length === 0) delete snapshots[name];
            return { ...rec, snapshots };
        }
        default:
            return assertNever(r, "lease resource");
    }
}

export class LeaseManager {
    constructor(
        private readonly layout: StoreLayout,
        private readonly lock: StoreLock,
    ) {}

    async create(id: string, opts: CreateLeaseOptions = {}): Promise<Lease> {
        const file = this.layout.leasePath(id);
        const labels: Record<string, string> = { ...cleanLabels(opts.labels) };
        if (opts.flat) labels[LABEL_GC_FLAT] = new Date().toISOString();
        if (opts.expiration !== undefined)
            labels[LABEL_GC_EXPIRE] = rfc3339(Date.now() + opts.expiration);
        return this.lock.withLock(async () => {
            if ((await readJson(file)) !== undefined) {
                throw new EngineError(
                    "AlreadyExists",
                    `lease ${JSON.stringify(id)} already exists`,
                    { lease: id },
                );
            }
            const rec: LeaseRecord = {
                id,
                createdAt: new Date().toISOString(),
                labels: cleanLabels(labels),
                content: [],
                snapshots: {},
            };
            await writeJsonDurable(this.layout.tmpPath("lease"), file, rec);
            return toLease(rec);
        });
    }

    async delete(id: string): Promise<void> {
        const file = this.layout.leasePath(id);
        return this.lock.withLock(async () => {
            if (!(await removeDurable(file))) {
                throw new EngineError("NotFound", `lease ${JSON.stringify(id)} does not exist`, {
                    lease: id,
                });
            }
        });
    }

    async list(): Promise<Lease[]> {
        return (await this.readAll()).map(toLease);
    }

    async addResource(id: string, r: LeaseResource): Promise<void> {
        return this.lock.withLock(() => this.editLocked(id, r, true));
    }

    async deleteResource(id: string, r: LeaseResource): Promise<void> {
        return this.lock.withLock(() => this.editLocked(id, r, false));
    }

    async listResources(id: string): Promise<LeaseResource[]> {
        const rec = await this.get(id);
        const out: LeaseResource[] = rec.content.map((digest) => ({ type: "content", digest }));
        for (const [snapshotter, keys] of Object.entries(rec.snapshots)) {
            out.push(...keys.map((key) => ({ type: "snapshot" as const, snapshotter, key })));
        }
        return out;
    }

    /** Reads one lease; NotFound when it does not exist. */
    async get(id: string): Promise<LeaseRecord> {
        const file = this.layout.leasePath(id);
        const v = await readJson(file);
        if (v === undefined) {
            throw new EngineError("NotFound", `lease ${JSON.stringify(id)} does not exist`, {
                lease: id,
            });
        }
        return parseLease(v, file);
    }

    /** Every lease, sorted by id. */
    async readAll(): Promise<LeaseRecord[]> {
        let names: string[];
        try {
            names = await fsp.readdir(this.layout.leasesDir);
        } catch (err) {
            throw fromSystemError(err, this.layout.leasesDir, "listing leases");
        }
        const out: LeaseRecord[] = [];
        for (const name of names.filter((n) => n.endsWith(".json")).sort()) {
            const file = `${this.layout.leasesDir}/${name}`;
            const v = await readJson(file);
            if (v !== undefined) out.push(parseLease(v, file));
        }
        return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    }

    /** Adds or removes one resource; the caller holds the store lock. */
    async editLocked(id: string, r: LeaseResource, add: boolean): Promise<void> {
        const rec = await this.get(id);
        const next = editResource(rec, r, add);
        if (JSON.stringify(next) !== JSON.stringify(rec)) {
            await writeJsonDurable(this.layout.tmpPath("lease"), this.layout.leasePath(id), next);
        }
    }

    /** Removes a lease file without the NotFound check (gc of expired leases); lock held. */
    async removeLocked(id: string): Promise<void> {
        await removeDurable(this.layout.leasePath(id));
    }
}
