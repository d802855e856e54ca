/**
 * A Go-exact gzip member compressed on a worker thread (goflateWorker.ts), with the shape of
 * GoGzipMemberWriter: the deflate (~30 MB/s of JavaScript) leaves the main thread, which keeps
 * reading and hashing meanwhile, never blocks its event loop for a whole chunk's deflate, and
 * several layers of a chain compress on several cores at once.
 *
 * The worker sees the same sequence of writes, so the bytes are the ones GoGzipWriter writes on
 * the main thread. Up to IN_FLIGHT input bytes are queued ahead of the worker; the compressed
 * bytes reach `out` in order, and a write's promise settles once its chunk has been copied
 * (the caller may reuse it) and the queue is below the limit.
 *
 * When the worker's script is missing (an unusual bundle), `openGoGzipMember` falls back to the
 * main-thread writer: same bytes, only slower.
 */
import type { Worker } from "node:worker_threads";
import type { ByteSink } from "../../archive/tarStream";
import { adoptReply, copyForWorker } from "./bufferPool";
import { EngineError } from "../../errors";
import type { WorkerReply, WorkerRequest } from "./goflateWorker";
import { GoGzipMemberWriter } from "./goGzipMember";
import { isValidGoLevel } from "./deflate";
import type { GoMemberBatcher } from "./memberBatch";
import { acquireGoflateWorker, discardGoflateWorker, goflateWorkersAvailable, releaseGoflateWorker } from "./workerPool";

/** Input bytes queued ahead of the worker (bounded memory: a few chunks of the tar stream). */
const IN_FLIGHT = 4 << 20;

export interface GzipMember {
    write(chunk: Buffer): Promise<void>;
    close(): Promise<void>;
    abort(): void;
}

/**
 * Opens a Go-exact gzip member on a worker when the worker script is there, else on this
 * thread; waits while every worker of the pool is busy. Writes the header to `out` first;
 * `out` must not be written meanwhile.
 */
export async function openGoGzipMember(out: ByteSink, goLevel: number): Promise<GzipMember> {
    if (!goflateWorkersAvailable() || !isValidGoLevel(goLevel)) {
        return GoGzipMemberWriter.open(out, goLevel); // also reports an invalid level
    }
    return new WorkerGzipMember(out, goLevel, await acquireGoflateWorker());
}

interface Waiter {
    readonly bytes: number;
    resolve(): void;
    reject(err: Error): void;
}

class WorkerGzipMember implements GzipMember {
    private worker: Worker | undefined;
    private nextId = 0;
    /** Requests sent and not yet answered, by id. */
    private readonly waiting = new Map<number, Waiter>();
    private queuedBytes = 0;
    private readonly outstanding: Array<Promise<void>> = [];
    /** Compressed output goes to `out` through this chain, in reply order. */
    private written: Promise<void> = Promise.resolve();
    private error: Error | undefined;

    constructor(private readonly out: ByteSink, level: number, w: Worker) {
        this.worker = w;
        w.on("message", (m: WorkerReply) => this.onReply(m));
        w.on("error", (err) => this.fail(new EngineError("Internal", `gzip worker failed: ${err.message}`, {}, { cause: err })));
        w.on("exit", (code) => this.fail(new EngineError("Internal", `gzip worker exited (code ${code})`)));
        // The header is the first thing GoGzipWriter writes; it comes back with the first reply.
        this.post({ t: "start", level });
    }

    async write(chunk: Buffer): Promise<void> {
        if (chunk.length === 0) {
            return;
        }
        this.check();
        // NOTE: a copy of its own, transferred: the caller reuses `chunk` once we resolve.
        const buf = copyForWorker(chunk);
        this.queuedBytes += buf.length;
        const done = this.request({ t: "data", id: this.nextId, buf }, buf.length, [buf.buffer as ArrayBuffer]);
        done.catch(() => undefined);
        this.outstanding.push(done);
        while (this.queuedBytes > IN_FLIGHT && this.error === undefined) {
            await this.oldest();
        }
        this.check();
    }

    async close(): Promise<void> {
        this.check();
        await this.request({ t: "close", id: this.nextId }, 0, []);
        await this.written;
        this.check();
        const w = this.worker;
        this.worker = undefined;
        if (w) releaseGoflateWorker(w);
    }

    abort(): void {
        this.fail(new EngineError("Canceled", "gzip member aborted"));
    }

    private post(m: WorkerRequest, transfer: ArrayBuffer[] = []): void {
        this.worker!.postMessage(m, transfer);
    }

    private request(m: WorkerRequest & { id: number }, bytes: number, transfer: ArrayBuffer[]): Promise<void> {
        this.nextId++;
        const p = new Promise<void>((resolve, reject) => {
            this.waiting.set(m.id, { bytes, resolve, reject });
        });
        this.post(m, transfer);
        return p;
    }

    /** Waits for the oldest outstanding data request. */
    private async oldest(): Promise<void> {
        await this.outstanding.shift();
    }

    private onReply(m: WorkerReply): void {
        if (m.t === "error") {
            this.fail(new EngineError("Internal", `gzip worker: ${m.message}`));
            return;
        }
        const w = this.waiting.get(m.id);
        if (!w) return;
        this.waiting.delete(m.id);
        adoptReply(m.out);
        const out = Buffer.from(m.out.buffer, m.out.byteOffset, m.out.byteLength);
        this.written = this.written.then(async () => {
            if (out.length > 0 && this.error === undefined) {
                await this.out.write(out);
            }
        });
        // NOTE: `w` has left `waiting`, so fail() cannot reach it: it is settled here either way,
        // or a write that failed (ENOSPC, EIO) would leave its caller waiting forever.
        this.written.then(
            () => {
                this.queuedBytes -= w.bytes;
                w.resolve();
            },
            (err: unknown) => {
                this.fail(err instanceof Error ? err : new Error(String(err)));
                w.reject(this.error!);
            },
        );
    }

    private fail(err: Error): void {
        if (this.error !== undefined) return;
        this.error = err;
        for (const w of this.waiting.values()) w.reject(err);
        this.waiting.clear();
        const w = this.worker;
        this.worker = undefined;
        if (w) {
            discardGoflateWorker(w);
        }
    }

    private check(): void {
        if (this.error !== undefined) throw this.error;
    }
}

/** Members smaller than this are batched (memberBatch.ts): a worker round trip costs more. */
const SMALL_MEMBER = 64 * 1024;

/**
 * A Go-exact member for eStargz, which writes one per file chunk: its writes are kept until it
 * closes or passes SMALL_MEMBER bytes; a small member then goes to `batcher` (or, without
 * one or without worker threads, is deflated here in one go), a larger one moves to a worker.
 * Either way the deflater sees the same writes, so the bytes are the same. The header reaches
 * `out` with the first compressed bytes, not at open.
 */
export async function openSmallFirstGoGzipMember(
    out: ByteSink,
    goLevel: number,
    batcher?: GoMemberBatcher,
): Promise<SmallFirstMember | GzipMember> {
    if (!isValidGoLevel(goLevel)) {
        return GoGzipMemberWriter.open(out, goLevel); // reports the invalid level
    }
    return new SmallFirstMember(out, goLevel, goflateWorkersAvailable() ? batcher : undefined);
}

export class SmallFirstMember implements GzipMember {
    private kept: Buffer[] = [];
    private keptBytes = 0;
    private member: GzipMember | undefined;
    private aborted = false;
    /** Set when `close` handed the member to the batcher: it holds no worker meanwhile. */
    batched = false;

    constructor(
        private readonly out: ByteSink,
        private readonly level: number,
        private readonly batcher: GoMemberBatcher | undefined,
    ) {}

    async write(chunk: Buffer): Promise<void> {
        if (chunk.length === 0) {
            return;
        }
        if (this.member !== undefined) {
            return this.member.write(chunk);
        }
        if (this.keptBytes + chunk.length < SMALL_MEMBER) {
            this.kept.push(Buffer.from(chunk)); // the caller reuses `chunk` once we resolve
            this.keptBytes += chunk.length;
            return;
        }
        // Large now: the kept writes, then this one, go to a worker member (which copies what it
        // sends). Keeping a copy of this write too would copy nearly every byte of a big file's
        // first write once more, only to drop it.
        this.member = await openGoGzipMember(this.out, this.level);
        if (this.aborted) {
            this.member.abort(); // aborted while waiting for a worker: give it back
            return;
        }
        await this.replay();
        return this.member.write(chunk);
    }

    async close(): Promise<void> {
        if (this.member === undefined && this.batcher !== undefined) {
            // NOTE: set before the first await, so the caller sees it as soon as close returns.
            this.batched = true;
            const kept = this.kept;
            this.kept = [];
            return this.batcher.add(this.level, kept, this.keptBytes, this.out);
        }
        if (this.member === undefined) {
            this.member = await GoGzipMemberWriter.open(this.out, this.level);
            await this.replay();
        }
        await this.member.close();
    }

    abort(): void {
        this.aborted = true;
        this.member?.abort();
        this.kept = [];
    }

    private async replay(): Promise<void> {
        const kept = this.kept;
        this.kept = [];
        for (const c of kept) {
            await this.member!.write(c);
        }
    }
}
