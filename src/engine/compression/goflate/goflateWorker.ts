/**
 * The worker side of workerGzip.ts: one Go-exact gzip member (GoGzipWriter) per job, fed by
 * the main thread's `data` messages in order, so the deflater sees the same sequence of Go
 * `Write` calls and writes the same bytes it would on the main thread.
 *
 * Messages in: `start {level}`, `data {id, buf}` (buf transferred), `close {id}`.
 * Messages out: `done {id, out}` once a data/close message is compressed (out: the compressed
 * bytes it produced, transferred, possibly empty), `error {id, message}`.
 *
 * Built as its own bundle (dist/goflateWorker.js) and, for the unbundled tests, compiled next to
 * workerGzip.js; it imports only goflate and node: modules.
 */
import { parentPort } from "node:worker_threads";
import { GoGzipWriter } from "./goGzipWriter";

export type WorkerRequest =
    | { t: "start"; level: number }
    | { t: "data"; id: number; buf: Uint8Array }
    | { t: "close"; id: number };

export type WorkerReply =
    | { t: "done"; id: number; out: Uint8Array }
    | { t: "error"; id: number; message: string };

let writer: GoGzipWriter | undefined;
let pending: Buffer[] = [];
let pendingBytes = 0;

function collect(chunk: Buffer): void {
    pending.push(chunk);
    pendingBytes += chunk.length;
}

/** Everything produced since the last reply, as one buffer of its own (transferable). */
function takeOutput(): Uint8Array {
    const all = new Uint8Array(pendingBytes);
    let off = 0;
    for (const c of pending) {
        all.set(c, off);
        off += c.length;
    }
    pending = [];
    pendingBytes = 0;
    return all;
}

async function handle(m: WorkerRequest): Promise<void> {
    switch (m.t) {
        case "start":
            writer?.abort();
            pending = [];
            pendingBytes = 0;
            writer = new GoGzipWriter(m.level, collect);
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
    const out = takeOutput();
    parentPort!.postMessage({ t: "done", id: m.id, out } satisfies WorkerReply, [out.buffer as ArrayBuffer]);
}

// NOTE: GoGzipWriter's output callback is synchronous here (collect), so every `await` above
// settles in a microtask: messages are handled strictly one after the other.
let chain: Promise<void> = Promise.resolve();
parentPort?.on("message", (m: WorkerRequest) => {
    chain = chain.then(() =>
        handle(m).catch((err: unknown) => {
            writer = undefined;
            const id = m.t === "start" ? -1 : m.id;
            const message = err instanceof Error ? err.message : String(err);
            parentPort!.postMessage({ t: "error", id, message } satisfies WorkerReply);
        }),
    );
});
