/**
 * Preloaded into a measured layerscope process (`node --require ./loopDelayHook.cjs dist/cli.js
 * …`): watches the main thread's event loop with perf_hooks.monitorEventLoopDelay and, at exit,
 * writes the longest delay (ms) to $LAYERSCOPE_BENCH_LOOP_OUT. The engine runs on this thread as
 * it runs on VS Code's extension host, so the figure is how long a compute blocks the host.
 *
 * A CommonJS preload, not `--import`: with any `--import`, node loads the main module through
 * its ES module loader, which first scans the CJS bundle for exports (cjs-module-lexer): ~70 ms
 * per run that the `layerscope` command does not pay (the bench's `changes` diff: median 0.92 s
 * plain, 1.01 s with `--import`, 0.95 s with `--require`, 5 runs each).
 *
 * `--require` preloads this into every worker thread too; only the main thread is watched (a
 * worker's loop is meant to block, and its figure would overwrite the main thread's). Watching
 * starts once the CLI's module has loaded (its first event-loop turn): loading the bundle is
 * one synchronous stretch of ~100-200 ms that the extension host pays once, at activation, not
 * during a compute.
 *
 * With $LAYERSCOPE_BENCH_STALLS_OUT set, it also records each stall longer than
 * $LAYERSCOPE_BENCH_STALL_MS (default 50) as [start, end] in µs of the monotonic clock, the
 * clock of `--cpu-prof` samples, so stallStacks.mjs can show what ran during each one.
 */
"use strict";
const { writeFileSync } = require("node:fs");
const Module = require("node:module");
const { monitorEventLoopDelay } = require("node:perf_hooks");
const { isMainThread } = require("node:worker_threads");

/** Runs `start` right after the main module (the CLI bundle) has run its top level. */
function afterMainLoads(start) {
    const load = Module._load;
    Module._load = function (request, parent, isMain) {
        const r = load.apply(this, arguments);
        if (isMain) {
            Module._load = load;
            start();
        }
        return r;
    };
}

const out = process.env.LAYERSCOPE_BENCH_LOOP_OUT;
const stallsOut = process.env.LAYERSCOPE_BENCH_STALLS_OUT;
if (isMainThread && out) {
    // 1 ms resolution: the histogram records how late each 1 ms timer fired.
    const h = monitorEventLoopDelay({ resolution: 1 });
    afterMainLoads(() => h.enable());
    process.on("exit", () => {
        h.disable();
        writeFileSync(out, JSON.stringify({ maxMs: h.max / 1e6, p99Ms: h.percentile(99) / 1e6 }));
    });
}
if (isMainThread && stallsOut) {
    const limitNs = BigInt(Math.round(Number(process.env.LAYERSCOPE_BENCH_STALL_MS || 50) * 1e6));
    const stalls = [];
    let last = 0n;
    const tick = () => {
        const now = process.hrtime.bigint();
        if (now - last > limitNs) {
            stalls.push([Number(last / 1000n), Number(now / 1000n)]);
        }
        last = now;
        setTimeout(tick, 1).unref();
    };
    afterMainLoads(() => {
        last = process.hrtime.bigint();
        setTimeout(tick, 1).unref();
    });
    process.on("exit", () => {
        tick(); // a stall that ran until exit
        writeFileSync(stallsOut, JSON.stringify(stalls));
    });
}
