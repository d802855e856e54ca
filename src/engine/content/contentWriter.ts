/**
 * Mirrors containerd `content/local/writer.go` (`Write`, `Commit`) and
 * `metadata/content.go` `namespacedWriter.commit`: bytes go to the ingest file while sha256
 * runs over them; commit fsyncs, verifies size and digest, and publishes the blob.
 *
 * Publishing (under the store lock, so gc never sees a blob between steps):
 * 1. the blob's record (labels, createdAt) is written, 2. the blob is added to the writer's
 * lease, 3. the fsynced, already read-only (0444) data file is renamed to blobs/sha256/<hex>
 * and the directory fsynced, 4. the ingest directory is removed. A crash between any two steps
 * leaves an orphan record, a lease entry for absent content, or a stale ingest: all harmless
 * and cleaned by gc. A blob that already exists is success (`existed: true`); as in containerd
 * its labels are kept and the commit's labels are ignored (update them with updateLabels).
 */
import { createHash } from "node:crypto";
import { promises as fsp } from "node:fs";
import type { ByteSink, FdSink } from "../archive/tarStream";
import type { Digest } from "../digest/hashSink";
import { EngineError, fromSystemError } from "../errors";
import { fsyncDir } from "./durableFs";
import { type ExpectedContent, removeIngest } from "./ingests";
import { type Labels, cleanLabels, writeBlobRecord } from "./labels";
import type { LeaseManager } from "./leases";
import { type StoreLayout, checkDigest } from "./layout";
import type { RefLocks } from "./refLocks";
import type { StoreLock } from "./storeLock";

export interface CommitOptions {
    readonly expectedDigest?: Digest;
    readonly expectedSize?: number;
    /** Labels for a new blob (empty values dropped); ignored when the blob already exists. */
    readonly labels?: Labels;
}

export interface CommitResult {
    readonly digest: Digest;
    readonly size: number;
    /** The blob was already in the store (containerd's tolerated ErrAlreadyExists). */
    readonly existed: boolean;
}

/** What a writer needs from its store. */
export interface WriterHost {
    readonly layout: StoreLayout;
    readonly lock: StoreLock;
    readonly refs: RefLocks;
    readonly leases: LeaseManager;
}

const READ_CHUNK = 1024 * 1024;

export class ContentWriter implements ByteSink, FdSink {
    private readonly hash = createHash("sha256");
    private written = 0;
    private fdUsed = false;
    private closed = false;
    /** The first failed write; the writer is unusable after it. */
    private failed: unknown;
    private pending: Promise<void> = Promise.resolve();

    constructor(
        private readonly host: WriterHost,
        readonly ref: string,
        private readonly dataPath: string,
        private readonly fh: fsp.FileHandle,
        private readonly expected: ExpectedContent,
        private readonly lease: string | undefined,
    ) {}

    /**
     * The ingest file's descriptor, for writers on another thread (writeDiff's digest worker).
     * Once read, commit hashes the file's bytes from disk instead of what passed through write().
     */
    get fd(): number {
        this.fdUsed = true;
        return this.fh.fd;
    }

    /** The ingest's data file. */
    get path(): string {
        return this.dataPath;
    }

    /** Bytes passed to write() so far. */
    get offset(): number {
        return this.written;
    }

    /** Writes are queued, so overlapping calls (TarStream ships before acks) stay in order. */
    write(chunk: Buffer): Promise<void> {
        if (this.closed) {
            return Promise.reject(
                new EngineError(
                    "FailedPrecondition",
                    `writer ${JSON.stringify(this.ref)} is closed`,
                    { ref: this.ref },
                ),
            );
        }
        if (this.failed !== undefined) {
            return Promise.reject(this.failed);
        }
        this.hash.update(chunk);
        const at = this.written;
        this.written += chunk.length;
        const done = this.pending.then(() => this.writeAt(chunk, at));
        this.pending = done.catch(() => undefined);
        return done;
    }

    async commit(opts: CommitOptions = {}): Promise<CommitResult> {
        if (this.closed) {
            throw new EngineError(
                "FailedPrecondition",
                `cannot commit on closed writer ${JSON.stringify(this.ref)}`,
                { ref: this.ref },
            );
        }
        this.closed = true;
        try {
            const { digest, size } = await this.finish();
            this.verify(digest, size, opts);
            const labels = cleanLabels(opts.labels);
            const now = new Date();
            await this.fh.chmod(0o444); // read-only before it becomes visible
            await this.fh.utimes(now, now);
            await this.fh.close();
            const existed = await this.host.lock.withLock(() =>
                this.publish(digest, labels, now.toISOString()),
            );
            return { digest, size, existed };
        } catch (err) {
            await this.discard();
            throw err;
        } finally {
            this.host.refs.unlock(this.ref);
        }
    }

    /** Abandons the write and removes the ingest. Safe to call more than once, or after commit. */
    async abort(): Promise<void> {
        if (this.closed) {
            return;
        }
        this.closed = true;
        try {
            await this.pending;
            await this.discard();
        } finally {
            this.host.refs.unlock(this.ref);
        }
    }

    private async writeAt(chunk: Buffer, position: number): Promise<void> {
        if (this.failed !== undefined) {
            throw this.failed; // never write past a hole
        }
        try {
            for (let off = 0; off < chunk.length; ) {
                const { bytesWritten } = await this.fh.write(
                    chunk,
                    off,
                    chunk.length - off,
                    position + off,
                );
                off += bytesWritten;
            }
        } catch (err) {
            this.failed ??= fromSystemError(
                err,
                this.dataPath,
                `writing ingest ${JSON.stringify(this.ref)}`,
            );
            throw this.failed;
        }
    }

    private async finish(): Promise<{ digest: Digest; size: number }> {
        await this.pending;
        if (this.failed !== undefined) {
            throw this.failed;
        }
        try {
            await this.fh.sync();
            const { size } = await this.fh.stat();
            if (!this.fdUsed) {
                return { digest: `sha256:${this.hash.digest("hex")}`, size };
            }
            return { digest: await this.hashFile(size), size };
        } catch (err) {
            throw fromSystemError(
                err,
                this.dataPath,
                `finishing ingest ${JSON.stringify(this.ref)}`,
            );
        }
    }

    private async hashFile(size: number): Promise<Digest> {
        const h = createHash("sha256");
        const buf = Buffer.allocUnsafe(READ_CHUNK);
        for (let pos = 0; pos < size; ) {
            const { bytesRead } = await this.fh.read(buf, 0, Math.min(READ_CHUNK, size - pos), pos);
            if (bytesRead === 0) break;
            h.update(buf.subarray(0, bytesRead));
            pos += bytesRead;
        }
        return `sha256:${h.digest("hex")}`;
    }

    private verify(digest: Digest, size: number, opts: CommitOptions): void {
        const wantSize = opts.expectedSize ?? this.expected.size;
        if (wantSize !== undefined && wantSize !== size) {
            throw new EngineError(
                "FailedPrecondition",
                `ingest ${JSON.stringify(this.ref)}: unexpected commit size ${size}, expected ${wantSize}`,
                {
                    ref: this.ref,
                    size,
                    expectedSize: wantSize,
                },
            );
        }
        const want = opts.expectedDigest ?? this.expected.digest;
        if (want !== undefined && checkDigest(want, "expected digest") !== digest) {
            throw new EngineError(
                "FailedPrecondition",
                `ingest ${JSON.stringify(this.ref)}: unexpected commit digest ${digest}, expected ${want}`,
                {
                    ref: this.ref,
                    digest,
                    expectedDigest: want,
                },
            );
        }
    }

    /** Store lock held. Returns whether the blob already existed. */
    private async publish(digest: Digest, labels: Labels, now: string): Promise<boolean> {
        const { layout, leases } = this.host;
        if (this.lease !== undefined) {
            await leases.get(this.lease); // NotFound if it was deleted meanwhile
        }
        const target = layout.blobPath(digest);
        const existed = await fsp.lstat(target).then(
            () => true,
            () => false,
        );
        if (!existed) {
            await writeBlobRecord(layout, digest, { createdAt: now, updatedAt: now, labels });
        }
        if (this.lease !== undefined) {
            await leases.editLocked(this.lease, { type: "content", digest }, true);
        }
        if (!existed) {
            try {
                await fsp.rename(this.dataPath, target);
            } catch (err) {
                throw fromSystemError(err, target, "moving the blob into the store");
            }
            await fsyncDir(layout.blobsDir);
        }
        await removeIngest(layout, this.ref);
        return existed;
    }

    private async discard(): Promise<void> {
        await this.fh.close().catch(() => undefined);
        await this.host.lock
            .withLock(() => removeIngest(this.host.layout, this.ref))
            .catch(() => undefined);
    }
}
