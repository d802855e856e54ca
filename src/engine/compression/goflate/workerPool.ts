/**
 * The goflate worker threads (goflateWorker.ts), pooled: starting one costs ~10 ms and ~9 MB,
 * and a layer opens a member per chunk. A worker is taken for one job at a time (a whole
 * streaming member, or one batch of small members) and comes back idle; at most one per core
 * (plus one) is kept idle, the rest are ended.
 */
import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import * as path from "node:path";
import { Worker } from "node:worker_threads";

/** Next to this module: dist/ in the bundles, the compiled goflate folder in tests. */
const WORKER_FILE = path.join(__dirname, "goflateWorker.js");
let available: boolean | undefined;
const idle: Worker[] = [];

/** Whether the worker script is there (an unusual bundle may lack it: then work stays here). */
export function goflateWorkersAvailable(): boolean {
    available ??= existsSync(WORKER_FILE);
    return available;
}

export function acquireGoflateWorker(): Worker {
    const w = idle.pop() ?? new Worker(WORKER_FILE);
    w.ref();
    return w;
}

/** Returns a worker whose job ended cleanly (its listeners are dropped here). */
export function releaseGoflateWorker(w: Worker): void {
    w.removeAllListeners("message");
    w.removeAllListeners("error");
    w.removeAllListeners("exit");
    if (idle.length <= availableParallelism()) {
        w.unref();
        idle.push(w);
    } else {
        void w.terminate();
    }
}
