/**
 * One fuzz target in a worker thread, for a time budget. The main thread watches a heartbeat (an
 * execution counter in shared memory) and the current input (also shared), so an input that
 * hangs is saved and the worker terminated, which stops even a synchronous loop.
 *
 * Loop: pick an input from the corpus (the seeds plus every input that gave a new outcome
 * signature), mutate it, run it. A thrown non-EngineError is a crash: the input is written to
 * the crash directory (once per distinct error) and the loop goes on.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parentPort, workerData } from "node:worker_threads";
import { Rng } from "../helpers/rng";
import { Mutator } from "./mutate";
import { makeTarget, type TargetName } from "./targets";

export interface WorkerInput {
    readonly target: TargetName;
    readonly seconds: number;
    readonly seed: number;
    readonly crashDir: string;
    /** [0] executions, [1] current input length; the input bytes follow in `input`. */
    readonly beat: SharedArrayBuffer;
    readonly input: SharedArrayBuffer;
}

export interface CrashReport {
    readonly signature: string;
    readonly file: string;
    readonly error: string;
}

export interface WorkerResult {
    readonly executions: number;
    readonly outcomes: number;
    readonly corpus: number;
    readonly crashes: readonly CrashReport[];
}

async function main(d: WorkerInput): Promise<WorkerResult> {
    const work = fs.mkdtempSync(join(fs.existsSync("/dev/shm") ? "/dev/shm" : tmpdir(), `layerscope-fuzz-${d.target}-`));
    const beat = new Int32Array(d.beat);
    const shared = Buffer.from(d.input);
    const rng = new Rng(d.seed);
    const mutator = new Mutator(rng);
    const target = makeTarget(d.target, work);
    const corpus = target.seeds();
    const seen = new Set<string>();
    const crashes = new Map<string, CrashReport>();
    let executions = 0;
    const deadline = Date.now() + d.seconds * 1000;
    try {
        // Every seed once, unmutated: the corpus must pass before anything is mutated.
        const queue = [...corpus];
        while (Date.now() < deadline) {
            const base = queue.shift();
            const input = base ?? target.mutate(mutator.mutate(rng.pick(corpus), corpus, target.maxLen), corpus, mutator, rng);
            const len = Math.min(input.length, shared.length);
            input.copy(shared, 0, 0, len);
            Atomics.store(beat, 1, len);
            let sig: string;
            try {
                sig = await target.run(input, rng);
            } catch (err) {
                const e = err as Error;
                const frame = (e?.stack ?? "").split("\n").find((l) => l.includes(" at ")) ?? "";
                const signature = `${e?.name ?? typeof err}: ${String(e?.message ?? err).split("\n")[0]!.slice(0, 120)} ${frame.trim()}`;
                if (!crashes.has(signature)) {
                    fs.mkdirSync(d.crashDir, { recursive: true });
                    const file = join(d.crashDir, `${d.target}-crash-${createHash("sha256").update(input).digest("hex").slice(0, 16)}.bin`);
                    fs.writeFileSync(file, input);
                    crashes.set(signature, { signature, file, error: String(e?.stack ?? err) });
                }
                sig = `crash ${signature}`;
            }
            executions++;
            Atomics.store(beat, 0, executions);
            if (!seen.has(sig)) {
                seen.add(sig);
                if (base === undefined && input.length <= target.maxLen) corpus.push(input);
            }
        }
    } finally {
        fs.rmSync(work, { recursive: true, force: true });
    }
    return { executions, outcomes: seen.size, corpus: corpus.length, crashes: [...crashes.values()] };
}

if (parentPort) {
    main(workerData as WorkerInput).then(
        (r) => parentPort!.postMessage({ type: "done", result: r }),
        (err: unknown) => parentPort!.postMessage({ type: "failed", error: String((err as Error)?.stack ?? err) }),
    );
}
