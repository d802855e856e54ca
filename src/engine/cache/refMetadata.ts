/**
 * Per-ref metadata, as BuildKit keeps it in its bolt metadata store (cache/metadata.go):
 * diffID, blob, media type, blob size, chainID, blobChainID. Blob fields are set once (setBlob
 * is a no-op when a blob is already set) and chain IDs are first-computation-wins. One JSON file
 * per ref under STATE/refs/.
 *
 * NOTE: every write is a read-modify-write of the file on disk under the content store's lock,
 * through a temporary in STATE/tmp/ (fsync, rename, fsync of refs/): two processes computing
 * the same ref cannot both "win" setBlob, and a process killed mid-write leaves its temporary in
 * tmp/, which the next lock holder removes, never a torn or stray file in refs/.
 */
import { createHash } from "node:crypto";
import { promises as fsp } from "node:fs";
import * as path from "node:path";
import type { Digest } from "../digest/hashSink";
import type { ContentStore } from "../content";
import { writeFileDurable } from "../content/durableFs";
import { EngineError, fromSystemError } from "../errors";
import type { ChainRecord, ChainRecords } from "./chainMetadata";

export interface RefRecord extends ChainRecord {
    readonly id: string;
    readonly diffID?: Digest;
    readonly blob?: Digest;
    readonly mediaType?: string;
    readonly blobSize?: number;
    /** Annotations of the main blob's descriptor (estargz TOC digest, uncompressed size...). */
    readonly annotations?: Readonly<Record<string, string>>;
    readonly chainID?: string;
    readonly blobChainID?: string;
    /** The diffID of the layer tar itself (differs from diffID for eStargz, whose diffID is D'). */
    readonly tarDiffID?: Digest;
    /** The whiteout time (Unix seconds) the blob was computed with, for verify. */
    readonly whiteoutTime?: string;
    /** The main blob's bytes are what BuildKit's compressor would write. */
    readonly buildkitComparable?: boolean;
    readonly createdAt: string;
}

export interface BlobFields {
    readonly diffID: Digest;
    readonly blob: Digest;
    readonly mediaType: string;
    readonly blobSize: number;
    readonly annotations: Readonly<Record<string, string>>;
    readonly tarDiffID: Digest;
    readonly whiteoutTime: string;
    readonly buildkitComparable: boolean;
}

export class RefMetadataStore implements ChainRecords {
    private readonly cache = new Map<string, RefRecord>();
    private readonly dir: string;

    private constructor(
        stateDir: string,
        private readonly store: ContentStore,
    ) {
        this.dir = path.join(stateDir, "refs");
    }

    /**
     * Loads every record (small JSON files; a workspace has at most thousands of refs). One
     * readdir tells which records exist, so a ref never computed costs no open(), and the rest
     * are read a few at a time: opening a source of thousands of refs stays well under a second.
     */
    static async open(stateDir: string, ids: Iterable<string>, content: ContentStore): Promise<RefMetadataStore> {
        const store = new RefMetadataStore(stateDir, content);
        let present: Set<string>;
        try {
            present = new Set(await fsp.readdir(store.dir));
        } catch (err) {
            if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
            present = new Set();
        }
        const toRead: string[] = [];
        for (const id of ids) {
            if (present.has(path.basename(store.file(id)))) {
                toRead.push(id);
            } else {
                store.cache.set(id, { id, createdAt: new Date().toISOString() });
            }
        }
        const next = { i: 0 };
        const reader = async (): Promise<void> => {
            while (next.i < toRead.length) {
                const id = toRead[next.i++]!;
                store.cache.set(id, await store.load(id));
            }
        };
        await Promise.all(Array.from({ length: Math.min(16, toRead.length) }, reader));
        return store;
    }

    get(id: string): RefRecord {
        return this.cache.get(id) ?? { id, createdAt: new Date().toISOString() };
    }

    /** Re-reads a record from disk (another process may have written it). */
    async refresh(id: string): Promise<RefRecord> {
        const rec = await this.load(id);
        this.cache.set(id, rec);
        return rec;
    }

    /** setBlob: records the blob unless one is already set (then the existing one stays). */
    async setBlob(id: string, fields: BlobFields): Promise<RefRecord> {
        return this.update(id, (cur) => (cur.blob ? null : { ...cur, ...fields }));
    }

    async setChain(id: string, chainID: string, blobChainID: string): Promise<void> {
        await this.update(id, (cur) => {
            if (cur.chainID) return null;
            const next: RefRecord = { ...cur };
            if (chainID) Object.assign(next, { chainID });
            if (blobChainID) Object.assign(next, { blobChainID });
            return next.chainID !== cur.chainID || next.blobChainID !== cur.blobChainID ? next : null;
        });
    }

    /** Forgets a ref's blob and chain IDs (used when its snapshot is recomputed from scratch). */
    async reset(id: string): Promise<void> {
        await this.update(id, () => ({ id, createdAt: new Date().toISOString() }));
    }

    /** `change` sees the record on disk and returns the next one, or null to keep it. */
    private async update(id: string, change: (cur: RefRecord) => RefRecord | null): Promise<RefRecord> {
        const rec = await this.store.lock.withLock(async () => {
            const cur = await this.load(id);
            const next = change(cur);
            if (next === null) return cur;
            try {
                await fsp.mkdir(this.dir, { recursive: true });
            } catch (err) {
                throw fromSystemError(err, this.dir, "creating the ref metadata directory");
            }
            await writeFileDurable(this.store.layout.tmpPath("ref"), this.file(id), `${JSON.stringify(next, null, 2)}\n`);
            return next;
        });
        this.cache.set(id, rec);
        return rec;
    }

    private file(id: string): string {
        // ids are free-form strings: name files by a hash, keep the id inside
        return path.join(this.dir, `${createHash("sha256").update(id).digest("hex").slice(0, 32)}.json`);
    }

    private async load(id: string): Promise<RefRecord> {
        let text: string;
        try {
            text = await fsp.readFile(this.file(id), "utf8");
        } catch (err) {
            if ((err as NodeJS.ErrnoException).code === "ENOENT") {
                return { id, createdAt: new Date().toISOString() };
            }
            throw fromSystemError(err, this.file(id), `reading the metadata of ref ${JSON.stringify(id)}`);
        }
        try {
            const rec = JSON.parse(text) as RefRecord;
            if (rec.id !== id) throw new Error(`holds ref ${JSON.stringify(rec.id)}`);
            return rec;
        } catch (err) {
            throw new EngineError(
                "Corrupt",
                `${this.file(id)}: metadata of ref ${JSON.stringify(id)} is unreadable (${(err as Error).message}); delete it to recompute`,
                { path: this.file(id), ref: id },
            );
        }
    }
}
