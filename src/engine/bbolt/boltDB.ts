/**
 * A read-only bbolt file, read with positioned reads (pages on demand, never the whole file) and
 * without any lock: containerd and dockerd hold an exclusive flock on their databases while they
 * run, and a reader must not wait for them nor block them.
 *
 * Consistency without a lock: bbolt is copy-on-write. A commit writes new pages, then the meta
 * page; the pages of the tree that transaction t published are freed by t+1 and reused no earlier
 * than t+2. So a read that starts and ends under the same meta (same txid and root) saw one
 * consistent tree. `view` re-reads the meta after the read and runs it again when a commit
 * landed in between (bounded); a Corrupt error seen while the meta moved is treated the same
 * way, since it may come from a page reused under us.
 *
 * Damage is a Corrupt EngineError naming the file and the page, never a hang: page ids are
 * checked against the high-water mark and the file size, flags against what the link expects,
 * each page's own id against the link, and pages are claimed by one bucket and visited once
 * per walk (bucket.ts), so cycles end as errors.
 */
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { EngineError, fromSystemError } from "../errors";
import { Bucket } from "./bucket";
import { type Meta, META_SIZE, type MetaResult, parseMeta, pickMeta } from "./meta";
import { BRANCH_PAGE_FLAG, flagName, LEAF_PAGE_FLAG, type Page, PAGE_HEADER_SIZE, readPageHeader } from "./page";

export interface BoltOpenOptions {
    /** How many times a read is tried while commits keep landing (default 8). */
    readonly maxAttempts?: number;
}

const MIN_PAGE_SIZE = 512;
const MAX_PAGE_SIZE = 1 << 20;
/** Pages kept per read transaction: enough for a walk, bounded for a huge file. */
const CACHE_PAGES = 1024;

export class BoltDB {
    private fd: number | null;

    private constructor(
        readonly path: string,
        fd: number,
        private readonly maxAttempts: number,
    ) {
        this.fd = fd;
    }

    static open(path: string, opts: BoltOpenOptions = {}): BoltDB {
        let fd: number;
        try {
            fd = openSync(path, "r");
        } catch (err) {
            throw fromSystemError(err, path, "opening a bbolt database");
        }
        return new BoltDB(path, fd, Math.max(1, opts.maxAttempts ?? 8));
    }

    /** Reads a whole database once: opens, runs `fn` in a read transaction, closes. */
    static read<T>(path: string, fn: (tx: BoltTx) => T, opts: BoltOpenOptions = {}): T {
        const db = BoltDB.open(path, opts);
        try {
            return db.view(fn);
        } finally {
            db.close();
        }
    }

    close(): void {
        if (this.fd !== null) {
            closeSync(this.fd);
            this.fd = null;
        }
    }

    /**
     * Runs `fn` (synchronous, and free of side effects: it may run more than once) over one
     * consistent state of the file.
     */
    view<T>(fn: (tx: BoltTx) => T): T {
        let lastChange = "";
        for (let attempt = 0; attempt < this.maxAttempts; attempt++) {
            if (attempt > 0) pause(Math.min(50, 2 ** attempt));
            const meta = this.currentMeta();
            const tx = new BoltTx(this.path, this.fdOrThrow(), meta);
            let result: T | undefined;
            let failure: unknown = null;
            try {
                result = fn(tx);
            } catch (err) {
                if (!(err instanceof EngineError && err.code === "Corrupt")) throw err;
                failure = err;
            }
            if (result instanceof Promise) {
                throw new EngineError("Internal", "BoltDB.view takes a synchronous function");
            }
            const now = this.currentMeta();
            if (now.txid === meta.txid && now.root === meta.root) {
                if (failure) throw failure;
                return result as T;
            }
            lastChange = `txid ${meta.txid} -> ${now.txid}`;
        }
        throw new EngineError(
            "Unavailable",
            `${this.path}: the database kept changing while it was read (${this.maxAttempts} attempts, last ${lastChange}); retry, or read a copy`,
            { path: this.path },
        );
    }

    private fdOrThrow(): number {
        if (this.fd === null) throw new EngineError("FailedPrecondition", `${this.path}: bbolt database is closed`, { path: this.path });
        return this.fd;
    }

    /** Reads both meta pages now and picks the current one (DB.meta()). */
    private currentMeta(): Meta {
        const fd = this.fdOrThrow();
        const size = fstatSync(fd).size;
        const corrupt = (why: string): EngineError =>
            new EngineError("Corrupt", `${this.path}: not a readable bbolt database: ${why}`, { path: this.path, page: 0 });
        if (size < PAGE_HEADER_SIZE + META_SIZE) throw corrupt(`the file is ${size} bytes, too small for a meta page`);
        const m0 = parseMeta(readAt(fd, 0, PAGE_HEADER_SIZE + META_SIZE, this.path));
        if (!m0.ok && m0.why === "big-endian") {
            throw new EngineError("Unsupported", `${this.path}: a bbolt file written on a big-endian host; only little-endian files are read`, { path: this.path });
        }
        // Page 1 sits one page in; trust meta 0's page size, or look for a valid meta 1.
        const sizes = m0.ok ? [m0.meta.pageSize] : candidateSizes();
        let m1: MetaResult = { ok: false, why: "not found" };
        for (const ps of sizes) {
            if (!validPageSize(ps) || ps + PAGE_HEADER_SIZE + META_SIZE > size) continue;
            const r = parseMeta(readAt(fd, ps, PAGE_HEADER_SIZE + META_SIZE, this.path));
            if (r.ok && r.meta.pageSize === ps) {
                m1 = r;
                break;
            }
        }
        const meta = pickMeta(m0, m1);
        if (!meta) {
            const why0 = m0.ok ? "ok" : m0.why;
            throw corrupt(`neither meta page is valid (page 0: ${why0}; page 1: ${m1.ok ? "ok" : m1.why})`);
        }
        if (!validPageSize(meta.pageSize)) throw corrupt(`page size ${meta.pageSize} is not a power of two in [${MIN_PAGE_SIZE}, ${MAX_PAGE_SIZE}]`);
        return meta;
    }
}

/** One consistent state of the file: the meta it started under and the pages it read. */
export class BoltTx {
    readonly pageSize: number;
    private readonly size: number;
    private readonly cache = new Map<number, Page>();
    /** Which bucket each visited page belongs to (a page shared by two buckets is a cycle). */
    private readonly owners = new Map<number, string>();
    readonly root: Bucket;

    constructor(
        readonly path: string,
        private readonly fd: number,
        readonly meta: Meta,
    ) {
        this.pageSize = meta.pageSize;
        this.size = fstatSync(fd).size;
        this.root = new Bucket(this, [], meta.root, meta.rootSequence, null);
    }

    get txid(): bigint {
        return this.meta.txid;
    }

    corrupt(pgid: number | null, why: string): EngineError {
        const where = pgid === null ? "" : ` page ${pgid}:`;
        return new EngineError(
            "Corrupt",
            `${this.path}:${where} ${why} (the bbolt file is damaged; if a daemon is writing it, read a copy or stop the daemon)`,
            { path: this.path, page: pgid ?? undefined },
        );
    }

    /** Marks `pgid` as a page of `owner` (a bucket path); another owner means a cycle. */
    claim(pgid: number, owner: string): void {
        const prev = this.owners.get(pgid);
        if (prev !== undefined && prev !== owner) {
            throw this.corrupt(pgid, `the page is linked from two buckets (${show(prev)} and ${show(owner)})`);
        }
        this.owners.set(pgid, owner);
    }

    /** A branch or leaf page, checked: in range, in the file, its own id, an expected flag. */
    page(pgid: number): Page {
        const hit = this.cache.get(pgid);
        if (hit) return hit;
        if (pgid < 2 || pgid >= this.meta.pgid) {
            throw this.corrupt(pgid, `page id out of range (pages 2..${this.meta.pgid - 1} hold data)`);
        }
        const off = pgid * this.pageSize;
        if (off + this.pageSize > this.size) {
            throw this.corrupt(pgid, `the file is truncated (${this.size} bytes; the page ends at ${off + this.pageSize})`);
        }
        const head = readPageHeader(readAt(this.fd, off, PAGE_HEADER_SIZE, this.path));
        if (!head || head.id !== pgid) {
            throw this.corrupt(pgid, `the page header says page ${head?.id ?? "(out of range)"}`);
        }
        if (head.flags !== BRANCH_PAGE_FLAG && head.flags !== LEAF_PAGE_FLAG) {
            throw this.corrupt(pgid, `expected a branch or leaf page, found a ${flagName(head.flags)} page`);
        }
        const span = (1 + head.overflow) * this.pageSize;
        if (pgid + head.overflow >= this.meta.pgid) {
            throw this.corrupt(pgid, `${head.overflow} overflow pages run past the last allocated page ${this.meta.pgid - 1}`);
        }
        if (off + span > this.size) {
            throw this.corrupt(pgid, `the file is truncated (${this.size} bytes; the page and its ${head.overflow} overflow pages end at ${off + span})`);
        }
        const page: Page = { ...head, buf: readAt(this.fd, off, span, this.path) };
        if (this.cache.size >= CACHE_PAGES) {
            this.cache.delete(this.cache.keys().next().value!);
        }
        this.cache.set(pgid, page);
        return page;
    }
}

function readAt(fd: number, position: number, length: number, path: string): Buffer {
    const buf = Buffer.allocUnsafe(length);
    let done = 0;
    try {
        while (done < length) {
            const n = readSync(fd, buf, done, length - done, position + done);
            if (n === 0) break;
            done += n;
        }
    } catch (err) {
        throw fromSystemError(err, path, "reading a bbolt database");
    }
    if (done < length) {
        throw new EngineError("Corrupt", `${path}: the file ended at byte ${position + done} inside a page (truncated)`, { path });
    }
    return buf;
}

function validPageSize(n: number): boolean {
    return n >= MIN_PAGE_SIZE && n <= MAX_PAGE_SIZE && (n & (n - 1)) === 0;
}

function candidateSizes(): number[] {
    const out: number[] = [];
    for (let n = MIN_PAGE_SIZE; n <= MAX_PAGE_SIZE; n *= 2) out.push(n);
    return out;
}

function pause(ms: number): void {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function show(owner: string): string {
    return owner === "" ? "(root)" : owner;
}
