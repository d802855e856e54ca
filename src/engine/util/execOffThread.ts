/**
 * `execFile` whose spawn runs on a helper thread. Node's spawn is synchronous in the calling
 * thread: libuv forks, and the parent waits until the child has exec'd (or failed to) before
 * spawn returns. On a loaded machine that wait is the child's time to be scheduled and search
 * PATH: 70-700 ms measured for `cp -a` on the bench's image case under load 17, all of it a
 * stall of the extension host's event loop (Import Image…). From a worker thread it stalls only
 * that thread.
 *
 * One worker per process, created on first use and unref'd; calls are answered in any order by
 * id. The worker's code is a self-contained string (only `node:` modules), so it runs the same
 * from the CLI bundle, the extension bundle and unbundled tests. Arguments go to execFile as an
 * array: no shell. An AbortSignal kills the child (SIGKILL); the call rejects only once the
 * child has exited, so a caller may remove what it was writing without racing it.
 */
import { Worker } from "node:worker_threads";

const WORKER_SOURCE = `
"use strict";
const { parentPort } = require("node:worker_threads");
const { execFile } = require("node:child_process");
const children = new Map();
parentPort.on("message", (m) => {
    if (m.kill !== undefined) {
        const child = children.get(m.kill);
        if (child) child.kill("SIGKILL");
        return;
    }
    const child = execFile(m.file, m.args, { maxBuffer: m.maxBuffer, encoding: "utf8" }, (err, stdout, stderr) => {
        children.delete(m.id);
        const error = err ? { message: err.message, code: err.code, signal: err.signal, killed: err.killed } : null;
        parentPort.postMessage({ id: m.id, error, stdout, stderr });
    });
    children.set(m.id, child);
});
`;

interface Reply {
    readonly id: number;
    readonly error: { message: string; code?: number | string; signal?: string | null; killed?: boolean } | null;
    readonly stdout: string;
    readonly stderr: string;
}

/** What execFile's promisified form rejects with: an Error carrying code, signal, stdout, stderr. */
export interface ExecOffThreadError extends Error {
    code?: number | string;
    signal?: string | null;
    killed?: boolean;
    stdout: string;
    stderr: string;
}

let worker: Worker | undefined;
let nextId = 0;
const waiting = new Map<number, { resolve: (r: { stdout: string; stderr: string }) => void; reject: (e: Error) => void }>();

function failAll(err: Error): void {
    for (const w of waiting.values()) w.reject(err);
    waiting.clear();
    worker = undefined;
}

function helper(): Worker {
    if (worker) return worker;
    const w = new Worker(WORKER_SOURCE, { eval: true });
    w.on("message", (r: Reply) => {
        const pending = waiting.get(r.id);
        if (!pending) return;
        waiting.delete(r.id);
        if (waiting.size === 0) w.unref();
        if (r.error === null) {
            pending.resolve({ stdout: r.stdout, stderr: r.stderr });
            return;
        }
        const e = new Error(r.error.message) as ExecOffThreadError;
        Object.assign(e, { code: r.error.code, signal: r.error.signal, killed: r.error.killed, stdout: r.stdout, stderr: r.stderr });
        pending.reject(e);
    });
    w.on("error", (err) => failAll(err));
    w.on("exit", (code) => failAll(new Error(`the exec helper thread exited (${code})`)));
    w.unref();
    worker = w;
    return w;
}

function abortError(signal: AbortSignal): ExecOffThreadError {
    const e = new Error("The operation was aborted", { cause: signal.reason }) as ExecOffThreadError;
    Object.assign(e, { name: "AbortError", code: "ABORT_ERR", stdout: "", stderr: "" });
    return e;
}

/**
 * Runs `file` with `args` (no shell) and resolves with its output, or rejects like
 * `promisify(execFile)` does (an Error with code, signal, stdout and stderr). When `signal`
 * aborts, the child is killed and the call rejects with an AbortError (code ABORT_ERR) once the
 * child has exited; an already aborted signal spawns nothing.
 */
export function execFileOffThread(
    file: string,
    args: readonly string[],
    opts: { maxBuffer?: number; signal?: AbortSignal } = {},
): Promise<{ stdout: string; stderr: string }> {
    const { signal } = opts;
    if (signal?.aborted) return Promise.reject(abortError(signal));
    const w = helper();
    const id = nextId++;
    return new Promise((resolve, reject) => {
        const onAbort = (): void => w.postMessage({ kill: id });
        const done = (): void => signal?.removeEventListener("abort", onAbort);
        waiting.set(id, {
            resolve: (r) => {
                done();
                if (signal?.aborted) reject(abortError(signal));
                else resolve(r);
            },
            reject: (e) => {
                done();
                reject(signal?.aborted ? abortError(signal) : e);
            },
        });
        signal?.addEventListener("abort", onAbort, { once: true });
        // NOTE: ref'd while a call is pending, so the process waits for its answer.
        w.ref();
        w.postMessage({ id, file, args: [...args], maxBuffer: opts.maxBuffer ?? 1 << 20 });
    });
}
