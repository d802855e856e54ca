/**
 * eStargz's small gzip members compressed in batches on goflate workers. eStargz writes one
 * member per file chunk, and most files of a real layer are small (the bench layer: 10,538 of
 * its 10,594 files are under 64 KiB, 236 MB in all); a worker round trip per member costs more
 * than its deflate, and deflating them on the main thread made it the bottleneck (~13 s of a
 * 30 s run, the workers idle meanwhile).
 *
 * So a small member is queued, as its sequence of writes, and queued members go to a worker
 * together once BATCH_BYTES of them are waiting or when the caller flushes (before it waits on
 * one of them). The worker runs each member's writes through its own GoGzipWriter, so the
 * bytes are the ones GoGzipMemberWriter writes on this thread. Each member's bytes go to its
 * own `out`, and its promise settles once they are written there.
 */
import { availableParallelism } from "node:os";
import type { ByteSink } from "../../archive/tarStream";
import { EngineError } from "../../errors";
import { adoptReply, bufferForWorker } from "./bufferPool";
import type { BatchRequest, WorkerReply } from "./goflateWorker";
import { acquireGoflateWorker, discardGoflateWorker, releaseGoflateWorker } from "./workerPool";

/**
 * Input bytes that make a batch: big enough that a message's cost (~0.1 ms) is small against
 * its deflate (~15 ms at 30 MB/s), small enough that both cores get batches.
 */
const BATCH_BYTES = 512 * 1024;

interface Queued {
    readonly writes: Buffer[];
    readonly bytes: number;
    readonly out: ByteSink;
    resolve(): void;
    reject(err: Error): void;
}

interface Batch {
    readonly level: number;
    readonly members: Queued[];
}

export class GoMemberBatcher {
    private open: Queued[] = [];
    private openBytes = 0;
    private openLevel = 0;
    private readonly sealed: Batch[] = [];
    private running = 0;
    private nextId = 0;
    private error: Error | undefined;

    /** `maxRunning`: batches on workers at once (one per core by default). */
    constructor(private readonly maxRunning = availableParallelism()) {}

    /** Queues a member given as its writes (kept as they are); settles once it is in `out`. */
    add(level: number, writes: Buffer[], bytes: number, out: ByteSink): Promise<void> {
        if (this.error !== undefined) {
            return Promise.reject(this.error);
        }
        if (this.open.length > 0 && level !== this.openLevel) {
            this.flush();
        }
        this.openLevel = level;
        const done = new Promise<void>((resolve, reject) => {
            this.open.push({ writes, bytes, out, resolve, reject });
        });
        this.openBytes += bytes;
        if (this.openBytes >= BATCH_BYTES) {
            this.flush();
        }
        return done;
    }

    /** Sends the members queued so far, however few (someone is about to wait for one). */
    flush(): void {
        if (this.open.length === 0) {
            return;
        }
        this.sealed.push({ level: this.openLevel, members: this.open });
        this.open = [];
        this.openBytes = 0;
        this.dispatch();
    }

    abort(reason?: unknown): void {
        this.fail(reason instanceof Error ? reason : new EngineError("Canceled", "gzip members aborted"));
    }

    private dispatch(): void {
        while (this.running < this.maxRunning && this.sealed.length > 0 && this.error === undefined) {
            const batch = this.sealed.shift()!;
            this.running++;
            this.run(batch).catch((err: unknown) => this.fail(err instanceof Error ? err : new Error(String(err))));
        }
    }

    private async run(batch: Batch): Promise<void> {
        let reply: { out: Uint8Array; sizes: Uint32Array };
        try {
            reply = await compressOnWorker(this.nextId++, batch);
        } catch (err) {
            for (const q of batch.members) q.reject(err as Error);
            throw err;
        } finally {
            this.running--;
            this.dispatch();
        }
        // Every member below gets exactly one view (its bytes, maybe none) written to its `out`.
        adoptReply(reply.out, batch.members.length);
        let off = 0;
        for (let k = 0; k < batch.members.length; k++) {
            const q = batch.members[k]!;
            const size = reply.sizes[k]!;
            const bytes = Buffer.from(reply.out.buffer, reply.out.byteOffset + off, size);
            off += size;
            if (this.error !== undefined) {
                q.reject(this.error);
                continue;
            }
            try {
                await q.out.write(bytes);
                q.resolve();
            } catch (err) {
                q.reject(err as Error);
            }
        }
    }

    private fail(err: Error): void {
        if (this.error !== undefined) return;
        this.error = err;
        const waiting = [...this.open, ...this.sealed.flatMap((b) => b.members)];
        this.open = [];
        this.sealed.length = 0;
        for (const q of waiting) q.reject(err);
    }
}

/** One batch on a pooled worker: its writes copied into one transferable buffer. */
async function compressOnWorker(id: number, batch: Batch): Promise<{ out: Uint8Array; sizes: Uint32Array }> {
    let total = 0;
    let nwrites = 0;
    for (const q of batch.members) {
        total += q.bytes;
        nwrites += q.writes.length;
    }
    const data = bufferForWorker(total);
    const writes = new Uint32Array(nwrites);
    const members = new Uint32Array(batch.members.length);
    let off = 0;
    let w = 0;
    batch.members.forEach((q, k) => {
        for (const c of q.writes) {
            data.set(c, off);
            off += c.length;
            writes[w++] = c.length;
        }
        members[k] = q.writes.length;
    });
    const req: BatchRequest = { t: "batch", id, level: batch.level, data, writes, members };
    const worker = await acquireGoflateWorker();
    return new Promise((resolve, reject) => {
        let settled = false;
        const lost = (err: Error): void => {
            if (settled) return;
            settled = true;
            discardGoflateWorker(worker);
            reject(err);
        };
        worker.on("message", (m: WorkerReply) => {
            if (m.t === "batch" && m.id === id && !settled) {
                settled = true;
                releaseGoflateWorker(worker);
                resolve({ out: m.out, sizes: m.sizes });
            } else if (m.t === "error") {
                lost(new EngineError("Internal", `gzip worker: ${m.message}`));
            }
        });
        worker.on("error", (err) => lost(new EngineError("Internal", `gzip worker failed: ${err.message}`, {}, { cause: err })));
        worker.on("exit", (code) => lost(new EngineError("Internal", `gzip worker exited (code ${code})`)));
        worker.postMessage(req, [data.buffer as ArrayBuffer, writes.buffer, members.buffer]);
    });
}
