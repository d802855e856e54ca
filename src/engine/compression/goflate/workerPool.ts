/**
 * The goflate worker threads (goflateWorker.ts), pooled and bounded. A worker is taken for one
 * job at a time (a whole streaming member, or one batch of small members) and comes back idle.
 *
 * At most MAX_WORKERS exist at once; `acquire` waits for one to come back beyond that. Before
 * the bound, eStargz (up to 3 streaming members plus 2 batches) and chains (a streaming member
 * per layer) started workers beyond the idle pool's size and ended them again: 70 threads in
 * one eStargz run of the bench layer, each starting cold (~10 ms and ~9 MB to start, then its
 * deflate unoptimised until V8 warms it up), and 8 at once in an 8-layer chain.
 *
 * NOTE: waiting cannot deadlock: a worker's holder only ever needs that worker to finish its
 * job (a member's writes go to its own worker; a batch is one message), never a second one.
 */
import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import * as path from "node:path";
import { Worker } from "node:worker_threads";

/**
 * One per core: the main thread only reads, hashes and hands work over (small eStargz members
 * go in batches), so a worker more adds ~20 MB of RSS and no throughput.
 */
const MAX_WORKERS = availableParallelism();
/** Next to this module: dist/ in the bundles, the compiled goflate folder in tests. */
const WORKER_FILE = path.join(__dirname, "goflateWorker.js");
let available: boolean | undefined;
let live = 0;
const idle: Worker[] = [];
const waiting: Array<(w: Worker) => void> = [];

/**
 * A worker's young generation is capped: its allocations are short-lived (a reply's bytes,
 * token arrays), and V8 otherwise grows each worker's semi-spaces to 16 MiB apiece, ~18 MiB of
 * RSS per worker for no speed (the bench's eStargz case: 212 → 194 MiB peak, same CPU time).
 */
const YOUNG_GENERATION_MB = 4;

function newWorker(): Worker {
    return new Worker(WORKER_FILE, { resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB } });
}

/** Workers started, idle (referenced by no job) and jobs waiting for one: for tests and diagnostics. */
export function goflatePoolState(): { live: number; idle: number; waiting: number } {
    return { live, idle: idle.length, waiting: waiting.length };
}

/** Whether the worker script is there (an unusual bundle may lack it: then work stays here). */
export function goflateWorkersAvailable(): boolean {
    available ??= existsSync(WORKER_FILE);
    return available;
}

/** A worker for one job: an idle one, a new one while fewer than MAX_WORKERS exist, or the next one released. */
export function acquireGoflateWorker(): Promise<Worker> {
    const w = idle.pop();
    if (w !== undefined) {
        w.ref();
        return Promise.resolve(w);
    }
    if (live < MAX_WORKERS) {
        live++;
        return Promise.resolve(newWorker());
    }
    return new Promise((resolve) => waiting.push(resolve));
}

/** Returns a worker whose job ended cleanly (its listeners are dropped here). */
export function releaseGoflateWorker(w: Worker): void {
    w.removeAllListeners("message");
    w.removeAllListeners("error");
    w.removeAllListeners("exit");
    const next = waiting.shift();
    if (next !== undefined) {
        next(w);
        return;
    }
    w.unref();
    idle.push(w);
}

/** Ends a worker whose job failed (its state is unknown); a waiting job gets a fresh one. */
export function discardGoflateWorker(w: Worker): void {
    w.removeAllListeners();
    void w.terminate();
    live--;
    const next = waiting.shift();
    if (next !== undefined) {
        live++;
        next(newWorker());
    }
}
