/**
 * `npm run fuzz`: runs each fuzz target (targets.ts) for a bounded time in a worker thread and
 * reports executions, distinct outcomes, crashes and hangs per target. Exit 1 on any crash or
 * hang; the inputs are saved in the crash directory.
 *
 *   LAYERSCOPE_FUZZ_SECONDS     seconds per target (default 60)
 *   LAYERSCOPE_FUZZ_TARGETS     comma-separated subset of tar,estargz,bbolt,manifest
 *   LAYERSCOPE_FUZZ_SEED        PRNG seed (default: time-based, printed)
 *   LAYERSCOPE_FUZZ_TIMEOUT_MS  an input running longer is a hang (default 10000)
 *   LAYERSCOPE_FUZZ_CRASHES     where crashing/hanging inputs go (default ./fuzz-crashes)
 *
 * Replay one saved input: node out/test/fuzz/fuzz.js --replay TARGET FILE
 *
 * Why not a coverage-guided fuzzer: jazzer.js 4.0.0 installs from npm without a download (its
 * prebuilt libFuzzer addons are in the tarball) but the Linux addon needs GLIBC 2.38 (Debian 12
 * has 2.36), and building it needs cmake-js fetching Node headers. So: mutation fuzzing with
 * format-aware repairs and outcome-signature feedback (see mutate.ts, worker.ts).
 */
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Worker } from "node:worker_threads";
import { Rng } from "../helpers/rng";
import { makeTarget, TARGET_NAMES, type TargetName } from "./targets";
import type { CrashReport, WorkerInput, WorkerResult } from "./worker";

export interface TargetReport {
    readonly target: TargetName;
    readonly seconds: number;
    readonly executions: number;
    readonly execsPerSecond: number;
    readonly outcomes: number;
    readonly corpus: number;
    readonly crashes: readonly CrashReport[];
    readonly hangs: readonly string[];
}

export interface FuzzOptions {
    readonly seconds: number;
    readonly seed: number;
    readonly timeoutMs: number;
    readonly crashDir: string;
}

const MAX_INPUT = 1 << 20;

/** One target for `seconds`, restarting its worker after a hang or a crash that killed it. */
export async function fuzzTarget(target: TargetName, o: FuzzOptions): Promise<TargetReport> {
    const start = Date.now();
    const end = start + o.seconds * 1000;
    let executions = 0;
    let outcomes = 0;
    let corpus = 0;
    const crashes: CrashReport[] = [];
    const hangs: string[] = [];
    for (let round = 0; Date.now() < end || round === 0; round++) {
        const beat = new SharedArrayBuffer(8);
        const input = new SharedArrayBuffer(MAX_INPUT);
        const data: WorkerInput = { target, seconds: Math.max(0.1, (end - Date.now()) / 1000), seed: o.seed + round, crashDir: o.crashDir, beat, input };
        const w = new Worker(join(__dirname, "worker.js"), { workerData: data });
        const counter = new Int32Array(beat);
        const current = (): Buffer => Buffer.from(input, 0, Atomics.load(counter, 1));
        const save = (kind: string): string => {
            fs.mkdirSync(o.crashDir, { recursive: true });
            const file = join(o.crashDir, `${target}-${kind}-${Date.now()}.bin`);
            fs.writeFileSync(file, current());
            return file;
        };
        const r = await new Promise<WorkerResult | null>((done) => {
            let last = -1;
            let since = Date.now();
            const timer = setInterval(() => {
                const n = Atomics.load(counter, 0);
                if (n !== last) {
                    last = n;
                    since = Date.now();
                } else if (Date.now() - since > o.timeoutMs) {
                    hangs.push(save("hang"));
                    clearInterval(timer);
                    void w.terminate().then(() => done(null));
                }
            }, 100);
            w.on("message", (m: { type: string; result?: WorkerResult; error?: string }) => {
                clearInterval(timer);
                if (m.type === "done") done(m.result!);
                else {
                    crashes.push({ signature: `worker failed: ${m.error?.split("\n")[0]}`, file: save("crash"), error: m.error ?? "" });
                    done(null);
                }
            });
            w.on("error", (err) => {
                clearInterval(timer);
                crashes.push({ signature: `uncaught in worker: ${String(err.message).split("\n")[0]}`, file: save("crash"), error: String(err.stack ?? err) });
                done(null);
            });
        });
        executions += r ? r.executions : Atomics.load(counter, 0);
        if (r) {
            outcomes = Math.max(outcomes, r.outcomes);
            corpus = Math.max(corpus, r.corpus);
            crashes.push(...r.crashes);
        }
    }
    const seconds = (Date.now() - start) / 1000;
    return { target, seconds, executions, execsPerSecond: Math.round(executions / seconds), outcomes, corpus, crashes, hangs };
}

async function replay(target: TargetName, file: string): Promise<void> {
    const work = fs.mkdtempSync(join(tmpdir(), "layerscope-replay-"));
    try {
        const sig = await makeTarget(target, work).run(fs.readFileSync(file), new Rng(1));
        process.stdout.write(`${sig}\n`);
    } finally {
        fs.rmSync(work, { recursive: true, force: true });
    }
}

async function main(): Promise<number> {
    const argv = process.argv.slice(2);
    if (argv[0] === "--replay") {
        await replay(argv[1] as TargetName, argv[2]!);
        return 0;
    }
    const env = process.env;
    const targets = (env.LAYERSCOPE_FUZZ_TARGETS ? env.LAYERSCOPE_FUZZ_TARGETS.split(",") : [...TARGET_NAMES]) as TargetName[];
    for (const t of targets) if (!(TARGET_NAMES as readonly string[]).includes(t)) throw new Error(`unknown fuzz target ${t} (${TARGET_NAMES.join(", ")})`);
    const opts: FuzzOptions = {
        seconds: Number(env.LAYERSCOPE_FUZZ_SECONDS ?? 60),
        seed: Number(env.LAYERSCOPE_FUZZ_SEED ?? (Date.now() & 0x7fffffff)),
        timeoutMs: Number(env.LAYERSCOPE_FUZZ_TIMEOUT_MS ?? 10_000),
        crashDir: resolve(env.LAYERSCOPE_FUZZ_CRASHES ?? "fuzz-crashes"),
    };
    process.stdout.write(`fuzz: seed ${opts.seed}, ${opts.seconds} s per target, hang after ${opts.timeoutMs} ms, crashes to ${opts.crashDir}\n`);
    let bad = 0;
    const reports: TargetReport[] = [];
    for (const t of targets) {
        const r = await fuzzTarget(t, opts);
        reports.push(r);
        bad += r.crashes.length + r.hangs.length;
        process.stdout.write(`${t.padEnd(9)} ${String(r.executions).padStart(9)} execs  ${r.seconds.toFixed(1).padStart(6)} s  ${String(r.execsPerSecond).padStart(6)}/s  ${String(r.outcomes).padStart(4)} outcomes  ${r.crashes.length} crashes  ${r.hangs.length} hangs\n`);
        for (const c of r.crashes) process.stdout.write(`  crash: ${c.signature}\n    input: ${c.file}\n${c.error.split("\n").slice(0, 8).map((l) => `    ${l}`).join("\n")}\n`);
        for (const h of r.hangs) process.stdout.write(`  hang: input ${h}\n`);
    }
    process.stdout.write(`${JSON.stringify({ seed: opts.seed, reports: reports.map((r) => ({ ...r, crashes: r.crashes.length, hangs: r.hangs.length })) })}\n`);
    return bad === 0 ? 0 : 1;
}

if (require.main === module) {
    main().then((code) => (process.exitCode = code), (err: unknown) => {
        process.stderr.write(`fuzz: ${String((err as Error)?.stack ?? err)}\n`);
        process.exitCode = 2;
    });
}
