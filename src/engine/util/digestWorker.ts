/**
 * sha256 (and optionally writing to a file descriptor) on a worker thread, so hashing a layer
 * runs on the second core while the main thread walks the tree and reads files. Blocks are
 * SharedArrayBuffers of a BlockRing; the worker acknowledges each block once it is hashed and
 * written, and the main thread reuses it only then.
 *
 * The worker's code is a self-contained string (only `node:` modules), so it runs the same from
 * the CLI bundle, the extension bundle and unbundled tests.
 */
import { Worker } from "node:worker_threads";
import { BlockRing } from "../archive/tarStream";
import { EngineError, fromSystemError } from "../errors";

const WORKER_SOURCE = `
"use strict";
const { parentPort } = require("node:worker_threads");
const { createHash } = require("node:crypto");
const { writeSync } = require("node:fs");
let blocks = [];
let hash = null;
let fd = -1;
let failed = false;
parentPort.on("message", (m) => {
    if (m.t === "init") {
        blocks = m.sabs.map((s) => Buffer.from(s));
        return;
    }
    if (m.t === "start") {
        hash = createHash("sha256");
        fd = m.fd;
        failed = false;
        return;
    }
    if (failed) {
        return;
    }
    try {
        if (m.t === "block") {
            const v = blocks[m.i].subarray(0, m.n);
            hash.update(v);
            for (let o = 0; o < v.length; ) {
                o += writeSync(fd, v, o, v.length - o);
            }
            parentPort.postMessage({ t: "ack", i: m.i });
        } else if (m.t === "end") {
            parentPort.postMessage({ t: "digest", hex: hash.digest("hex") });
            hash = null;
        }
    } catch (e) {
        failed = true;
        parentPort.postMessage({ t: "error", message: String((e && e.message) || e), code: e && e.code });
    }
});
`.replace(/for \(let o = 0;/, "if (fd >= 0) for (let o = 0;");

type WorkerReply =
    | { t: "ack"; i: number }
    | { t: "digest"; hex: string }
    | { t: "error"; message: string; code?: string };

/**
 * A worker and the ring it hashes from, created together and reused together: the blocks are
 * handed to the worker once, so no SharedArrayBuffer is ever left behind in an idle worker
 * (which would never collect it).
 */
interface Hasher {
    readonly worker: Worker;
    readonly ring: BlockRing;
}

const idle: Hasher[] = [];

function acquire(): Hasher {
    const pooled = idle.pop();
    if (pooled) {
        return pooled;
    }
    const ring = new BlockRing();
    const worker = new Worker(WORKER_SOURCE, { eval: true });
    worker.unref();
    worker.postMessage({ t: "init", sabs: ring.sabs });
    return { worker, ring };
}

/** One hashing job: blocks go in, in order; `finish` returns the digest. */
export class DigestJob {
    private readonly waiters = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
    private finishWaiter: { resolve: (hex: string) => void; reject: (e: Error) => void } | undefined;
    private error: Error | undefined;
    private done = false;

    private readonly worker: Worker;
    /** The blocks to fill; block i is handed over with `submit(i, n)`. */
    readonly ring: BlockRing;

    private constructor(
        private readonly hasher: Hasher,
        private readonly what: string,
    ) {
        this.worker = hasher.worker;
        this.ring = hasher.ring;
        this.worker.on("message", this.onMessage);
        this.worker.on("error", this.onError);
    }

    /** Starts a job; with `fd`, the worker also writes every byte to it. */
    static start(fd: number | undefined, what: string): DigestJob {
        const hasher = acquire();
        hasher.worker.ref();
        const job = new DigestJob(hasher, what);
        hasher.worker.postMessage({ t: "start", fd: fd ?? -1 });
        return job;
    }

    /** Hands block `i` (its first `n` bytes) over; resolves when the block may be reused. */
    submit(i: number, n: number): Promise<void> {
        if (this.error) {
            return Promise.reject(this.error);
        }
        return new Promise<void>((resolve, reject) => {
            this.waiters.set(i, { resolve, reject });
            this.worker.postMessage({ t: "block", i, n });
        });
    }

    finish(): Promise<string> {
        if (this.error) {
            return Promise.reject(this.error);
        }
        return new Promise<string>((resolve, reject) => {
            this.finishWaiter = { resolve, reject };
            this.worker.postMessage({ t: "end" });
        });
    }

    /** Returns the worker to the pool (or ends it after a failure). Call once, always. */
    release(): void {
        if (this.done) return;
        this.done = true;
        this.worker.off("message", this.onMessage);
        this.worker.off("error", this.onError);
        if (this.error || this.finishWaiter === undefined || this.waiters.size > 0) {
            void this.worker.terminate();
        } else {
            this.worker.unref();
            idle.push(this.hasher);
        }
    }

    private readonly onMessage = (m: WorkerReply): void => {
        if (m.t === "ack") {
            const w = this.waiters.get(m.i);
            this.waiters.delete(m.i);
            w?.resolve();
        } else if (m.t === "digest") {
            this.finishWaiter?.resolve(m.hex);
        } else {
            // A system error keeps its code, so ENOSPC and EIO get their "what to do" message.
            this.fail(m.code ? fromSystemError(Object.assign(new Error(m.message), { code: m.code }), this.what, "writing the layer tar") : new EngineError("Io", `${this.what}: ${m.message}`));
        }
    };

    private readonly onError = (err: Error): void => {
        this.fail(new EngineError("Internal", `${this.what}: hashing worker failed: ${err.message}`, {}, { cause: err }));
    };

    private fail(err: Error): void {
        this.error ??= err;
        for (const w of this.waiters.values()) w.reject(err);
        this.waiters.clear();
        this.finishWaiter?.reject(err);
    }
}
