/**
 * The worker side of workerGzip.ts: one Go-exact gzip member (GoGzipWriter) per job, fed by
 * the main thread's `data` messages in order, so the deflater sees the same sequence of Go
 * `Write` calls and writes the same bytes it would on the main thread.
 *
 * Messages in: `start {level}`, `data {id, buf}` (buf transferred), `close {id}`.
 * Messages out: `done {id, out}` once a data/close message is compressed (out: the compressed
 * bytes it produced, transferred, possibly empty), `error {id, message}`. A data message's
 * reply is written into the buffer its input came in when it fits (the writer keeps no
 * reference to its input), so that buffer goes back to the main thread's pool (bufferPool.ts).
 *
 * A `batch` is a job of its own, independent of the member above: many small members (eStargz
 * writes one per file), each as its sequence of writes, compressed one after the other into
 * whole gzip members; the reply carries them back to back with each member's size.
 *
 * Built as its own bundle (dist/goflateWorker.js) and, for the unbundled tests, compiled next to
 * workerGzip.js; it imports only goflate and node: modules.
 */
import { parentPort } from "node:worker_threads";
import { POOL_BUFFER_BYTES } from "./bufferPool";
import { GoGzipWriter } from "./goGzipWriter";
import { recycleChunk } from "./outputQueue";

export type WorkerRequest =
    | { t: "start"; level: number }
    | { t: "data"; id: number; buf: Uint8Array }
    | { t: "close"; id: number }
    | BatchRequest;

/**
 * Small members in one message: `data` holds every write back to back, `writes` each write's
 * length, `members` how many writes each member has (0: an empty member).
 */
export interface BatchRequest {
    readonly t: "batch";
    readonly id: number;
    readonly level: number;
    readonly data: Uint8Array;
    readonly writes: Uint32Array;
    readonly members: Uint32Array;
}

export type WorkerReply =
    | { t: "done"; id: number; out: Uint8Array }
    | { t: "batch"; id: number; out: Uint8Array; sizes: Uint32Array }
    | { t: "error"; id: number; message: string };

/**
 * A job's compressed bytes so far, copied out of the writer's chunks as they come (each chunk
 * then goes back to the output queue's spare list) and kept between jobs: a streaming member's
 * reply to a 1 MiB write is ~1 MiB, a batch's at most its input and a little more.
 */
class Collector {
    private buf = new Uint8Array(POOL_BUFFER_BYTES);
    length = 0;

    readonly add = (chunk: Uint8Array): void => {
        if (this.length + chunk.length > this.buf.length) {
            const grown = new Uint8Array(Math.max(2 * this.buf.length, this.length + chunk.length));
            grown.set(this.buf.subarray(0, this.length));
            this.buf = grown;
        }
        this.buf.set(chunk, this.length);
        this.length += chunk.length;
        recycleChunk(chunk);
    };

    /**
     * The bytes collected, as one buffer of its own (transferable): the start of `into` (an
     * input this worker is done with) when it is large enough, else a new one. Forgets them.
     */
    take(into: ArrayBuffer | undefined): Uint8Array {
        const n = this.length;
        const out = into !== undefined && into.byteLength >= n ? new Uint8Array(into, 0, n) : new Uint8Array(n);
        out.set(this.buf.subarray(0, n));
        this.length = 0;
        return out;
    }

    /** Back to empty, after a failure. */
    clear(): void {
        this.length = 0;
    }
}

let writer: GoGzipWriter | undefined;
const member = new Collector();
const batch = new Collector();

/** Gzips each member of a batch with the writes it was given (own collector, own writers). */
async function compressBatch(m: BatchRequest): Promise<void> {
    batch.clear();
    const sizes = new Uint32Array(m.members.length);
    let w = 0;
    let off = 0;
    for (let k = 0; k < m.members.length; k++) {
        const start = batch.length;
        const gz = new GoGzipWriter(m.level, batch.add);
        await gz.start();
        for (let j = 0; j < m.members[k]!; j++) {
            const n = m.writes[w++]!;
            await gz.write(m.data.subarray(off, off + n));
            off += n;
        }
        await gz.close();
        sizes[k] = batch.length - start;
    }
    // Every member is compressed: the input's buffer is free to carry the reply back when it fits.
    const out = batch.take(m.data.buffer as ArrayBuffer);
    const reply: WorkerReply = { t: "batch", id: m.id, out, sizes };
    parentPort!.postMessage(reply, [out.buffer as ArrayBuffer, sizes.buffer as ArrayBuffer]);
}

async function handle(m: WorkerRequest): Promise<void> {
    switch (m.t) {
        case "batch":
            return compressBatch(m);
        case "start":
            writer?.abort();
            member.clear();
            writer = new GoGzipWriter(m.level, member.add);
            await writer.start();
            return;
        case "data":
            await writer!.write(m.buf);
            break;
        case "close":
            await writer!.close();
            writer = undefined;
            break;
    }
    const out = member.take(m.t === "data" ? (m.buf.buffer as ArrayBuffer) : undefined);
    parentPort!.postMessage({ t: "done", id: m.id, out } satisfies WorkerReply, [out.buffer as ArrayBuffer]);
}

// NOTE: GoGzipWriter's output callback is synchronous here (Collector.add), so every `await` above
// settles in a microtask: messages are handled strictly one after the other.
let chain: Promise<void> = Promise.resolve();
parentPort?.on("message", (m: WorkerRequest) => {
    chain = chain.then(() =>
        handle(m).catch((err: unknown) => {
            if (m.t !== "batch") {
                writer = undefined;
            }
            const id = m.t === "start" ? -1 : m.id;
            const message = err instanceof Error ? err.message : String(err);
            parentPort!.postMessage({ t: "error", id, message } satisfies WorkerReply);
        }),
    );
});
