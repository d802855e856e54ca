/**
 * Preloaded into a measured layerscope process (`node --import ./loopDelayHook.mjs dist/cli.js
 * …`): watches the main thread's event loop with perf_hooks.monitorEventLoopDelay and, at exit,
 * writes the longest delay (ms) to $LAYERSCOPE_BENCH_LOOP_OUT. The engine runs on this thread as
 * it runs on VS Code's extension host, so the figure is how long a compute blocks the host.
 */
import { writeFileSync } from "node:fs";
import { monitorEventLoopDelay } from "node:perf_hooks";

const out = process.env.LAYERSCOPE_BENCH_LOOP_OUT;
if (out) {
    // 1 ms resolution: the histogram records how late each 1 ms timer fired.
    const h = monitorEventLoopDelay({ resolution: 1 });
    h.enable();
    process.on("exit", () => {
        h.disable();
        writeFileSync(out, JSON.stringify({ maxMs: h.max / 1e6, p99Ms: h.percentile(99) / 1e6 }));
    });
}
