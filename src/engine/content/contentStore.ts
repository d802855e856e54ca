/**
 * Mirrors containerd `content/local/store.go` (`NewStore`, `Info`, `ReaderAt`, `Delete`,
 * `Walk`, `Writer`, `ListStatuses`) wrapped, as containerd's daemon wraps it, by
 * `metadata/content.go` (labels, `Update`, lease bookkeeping on write) and `metadata/gc.go`.
 * Layout: layout.ts. Locking: storeLock.ts. Reads take no lock: every file they open was
 * renamed into place complete, and an unlinked blob stays readable through an open handle.
 */
import { promises as fsp } from "node:fs";
import * as path from "node:path";
import type { Readable } from "node:stream";
import type { Digest } from "../digest/hashSink";
import { EngineError, fromSystemError } from "../errors";
import { ContentWriter } from "./contentWriter";
import { removeDurable } from "./durableFs";
import { type GcOptions, type GcResult, collectGarbage } from "./gc";
import {
    type ExpectedContent,
    type IngestStatus,
    createIngest,
    listIngests,
    removeStaleIngests,
} from "./ingests";
import {
    type LabelUpdate,
    type Labels,
    applyLabelUpdate,
    readBlobRecord,
    writeBlobRecord,
} from "./labels";
import { type CreateLeaseOptions, type Lease, LeaseManager, type LeaseResource } from "./leases";
import { StoreLayout, checkDigest } from "./layout";
import { type RefLocks, refLocksFor } from "./refLocks";
import { StoreLock } from "./storeLock";

export interface OpenOptions {
    /** How long to wait for another process's store lock before failing (default 60 s). */
    readonly lockTimeoutMs?: number;
}

export interface Info {
    readonly digest: Digest;
    readonly size: number;
    readonly createdAt: Date;
    readonly updatedAt: Date;
    readonly labels: Labels;
}

export interface WriterOptions {
    /** Checked at commit; a digest already in the store fails `writer()` with AlreadyExists. */
    readonly expected?: ExpectedContent;
    /** Lease the committed blob is added to, under the same lock as the commit. */
    readonly lease?: string;
}

/** Random access to one blob (containerd's ReaderAt). */
export interface ReaderAt {
    readonly size: number;
    read(buffer: Buffer, offset: number, length: number, position: number): Promise<number>;
    close(): Promise<void>;
}

export class ContentStore {
    private constructor(
        readonly layout: StoreLayout,
        readonly lock: StoreLock,
        readonly refs: RefLocks,
        readonly leases: LeaseManager,
    ) {}

    static async open(stateDir: string, opts: OpenOptions = {}): Promise<ContentStore> {
        const root = path.resolve(stateDir);
        let real: string;
        try {
            for (const dir of new StoreLayout(root).dirs)
                await fsp.mkdir(dir, { recursive: true, mode: 0o755 });
            real = await fsp.realpath(root);
        } catch (err) {
            throw fromSystemError(err, root, "opening the content store");
        }
        const layout = new StoreLayout(real);
        const refs = refLocksFor(real);
        const lock = new StoreLock(layout.lockFile, refs.mutex, opts.lockTimeoutMs ?? 60_000);
        return new ContentStore(layout, lock, refs, new LeaseManager(layout, lock));
    }

    get root(): string {
        return this.layout.root;
    }

    blobPath(digest: Digest): string {
        return this.layout.blobPath(digest);
    }

    async exists(digest: Digest): Promise<boolean> {
        return (await this.info(digest)) !== null;
    }

    async info(digest: Digest): Promise<Info | null> {
        const st = await fsp.stat(this.layout.blobPath(digest)).catch(() => undefined);
        if (!st) {
            return null;
        }
        const rec = await readBlobRecord(this.layout, digest);
        const createdAt = rec ? new Date(rec.createdAt) : st.mtime;
        return {
            digest,
            size: st.size,
            createdAt,
            updatedAt: rec ? new Date(rec.updatedAt) : createdAt,
            labels: rec?.labels ?? {},
        };
    }

    /** Every blob, sorted by digest (containerd's Walk). */
    async list(): Promise<Info[]> {
        const out: Info[] = [];
        for (const name of (await fsp.readdir(this.layout.blobsDir)).sort()) {
            const info = /^[a-f0-9]{64}$/.test(name) ? await this.info(`sha256:${name}`) : null;
            if (info) out.push(info);
        }
        return out;
    }

    /** A stream of the blob's bytes (`end` inclusive, as in fs.createReadStream). */
    async readStream(
        digest: Digest,
        range: { start?: number; end?: number } = {},
    ): Promise<Readable> {
        const fh = await this.openBlob(digest);
        return fh.createReadStream({ ...range, autoClose: true });
    }

    async openReader(digest: Digest): Promise<ReaderAt> {
        const fh = await this.openBlob(digest);
        const { size } = await fh.stat();
        return {
            size,
            read: async (buffer, offset, length, position) =>
                (await fh.read(buffer, offset, length, position)).bytesRead,
            close: () => fh.close(),
        };
    }

    /** Begins a write for `ref`; one active writer per ref (LOCKED_CODE otherwise). */
    async writer(ref: string, opts: WriterOptions = {}): Promise<ContentWriter> {
        if (typeof ref !== "string" || ref === "") {
            throw new EngineError("InvalidArgument", "ref must not be empty", { ref });
        }
        const expected = checkExpected(opts.expected ?? {});
        this.refs.tryLock(ref, expected.digest);
        try {
            return await this.lock.withLock(async () => {
                if (opts.lease !== undefined) await this.leases.get(opts.lease);
                if (expected.digest !== undefined && (await this.exists(expected.digest))) {
                    if (opts.lease !== undefined) {
                        await this.leases.editLocked(
                            opts.lease,
                            { type: "content", digest: expected.digest },
                            true,
                        );
                    }
                    throw new EngineError(
                        "AlreadyExists",
                        `content ${expected.digest} already exists`,
                        { digest: expected.digest },
                    );
                }
                const data = await createIngest(this.layout, ref, expected);
                const fh = await fsp.open(data, "r+").catch((err: unknown) => {
                    throw fromSystemError(err, data, "opening the ingest file");
                });
                return new ContentWriter(this, ref, data, fh, expected, opts.lease);
            });
        } catch (err) {
            this.refs.unlock(ref);
            throw err;
        }
    }

    listIngests(): Promise<IngestStatus[]> {
        return listIngests(this.layout, this.refs);
    }

    /** Removes ingests no live writer owns, last written `olderThan` ms ago or more. */
    cleanupIngests(opts: { olderThan?: number } = {}): Promise<number> {
        return this.lock.withLock(() =>
            removeStaleIngests(this.layout, this.refs, opts.olderThan ?? 0, false),
        );
    }

    /** Sets (string) or deletes (null or "") the named labels; others are kept. */
    async updateLabels(digest: Digest, update: LabelUpdate): Promise<Info> {
        return this.lock.withLock(async () => {
            const info = await this.info(digest);
            if (!info) {
                throw new EngineError("NotFound", `content ${digest} does not exist`, { digest });
            }
            const labels = applyLabelUpdate(info.labels, update);
            const updatedAt = new Date();
            await writeBlobRecord(this.layout, digest, {
                createdAt: info.createdAt.toISOString(),
                updatedAt: updatedAt.toISOString(),
                labels,
            });
            return { ...info, updatedAt, labels };
        });
    }

    /** Removes a blob regardless of leases (containerd's Delete). */
    async delete(digest: Digest): Promise<void> {
        return this.lock.withLock(async () => {
            if (!(await removeDurable(this.layout.blobPath(digest)))) {
                throw new EngineError("NotFound", `content ${digest} does not exist`, { digest });
            }
            await removeDurable(this.layout.labelsPath(digest));
        });
    }

    createLease(id: string, opts: CreateLeaseOptions = {}): Promise<Lease> {
        return this.leases.create(id, opts);
    }

    deleteLease(id: string): Promise<void> {
        return this.leases.delete(id);
    }

    listLeases(): Promise<Lease[]> {
        return this.leases.list();
    }

    addLeaseResource(id: string, resource: LeaseResource): Promise<void> {
        return this.leases.addResource(id, resource);
    }

    removeLeaseResource(id: string, resource: LeaseResource): Promise<void> {
        return this.leases.deleteResource(id, resource);
    }

    listLeaseResources(id: string): Promise<LeaseResource[]> {
        return this.leases.listResources(id);
    }

    gc(opts: GcOptions = {}): Promise<GcResult> {
        return this.lock.withLock(() => collectGarbage(this, opts));
    }

    private async openBlob(digest: Digest): Promise<fsp.FileHandle> {
        const file = this.layout.blobPath(digest);
        try {
            return await fsp.open(file, "r");
        } catch (err) {
            throw fromSystemError(err, file, `opening content ${digest}`);
        }
    }
}

function checkExpected(e: ExpectedContent): ExpectedContent {
    if (e.digest !== undefined) checkDigest(e.digest, "expected digest");
    if (e.size !== undefined && (!Number.isSafeInteger(e.size) || e.size < 0)) {
        throw new EngineError(
            "InvalidArgument",
            `expected size ${e.size} is not a non-negative integer`,
            { size: e.size },
        );
    }
    return e;
}
