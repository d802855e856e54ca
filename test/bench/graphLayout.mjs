#!/usr/bin/env node
/**
 * Layout benchmark of the ref-graph webview: webview/graphLayout.ts on a seeded, BuildKit-shaped
 * graph of 2,000 refs (layer chains, merges, diffs; test/helpers/refGraphs.ts). The TypeScript is
 * bundled in memory with esbuild, so this needs no prior build.
 *
 * `benchGraphLayout()` returns { refs, layoutMs (median wall time of the warm runs), cpuMs (median
 * CPU time, steadier on a shared machine), coldMs (the first run, JIT included), runs, edges,
 * layers, dummies, width, height }; run directly, it prints one line.
 * Environment: LAYERSCOPE_BENCH_GRAPH_REFS (default 2000), LAYERSCOPE_BENCH_GRAPH_RUNS (default 7).
 */
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "esbuild";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

async function loadModules() {
    const out = await build({
        stdin: {
            contents: 'export { layoutGraph } from "./webview/graphLayout.ts"; export { generateRefGraph } from "./test/helpers/refGraphs.ts";',
            resolveDir: repo,
            loader: "ts",
        },
        bundle: true,
        format: "esm",
        platform: "node",
        target: "node20",
        write: false,
        logLevel: "warning",
    });
    const code = out.outputFiles[0].text;
    return import(`data:text/javascript;base64,${Buffer.from(code).toString("base64")}`);
}

function median(xs) {
    const s = [...xs].sort((a, b) => a - b);
    return s[Math.floor(s.length / 2)];
}

export async function benchGraphLayout(opts = {}) {
    const refs = opts.refs ?? Number(process.env.LAYERSCOPE_BENCH_GRAPH_REFS || 2000);
    const runs = opts.runs ?? Number(process.env.LAYERSCOPE_BENCH_GRAPH_RUNS || 7);
    const { layoutGraph, generateRefGraph } = await loadModules();
    const graph = generateRefGraph(refs, 42);
    let t = performance.now();
    let layout = layoutGraph(graph);
    const coldMs = performance.now() - t;
    const times = [];
    const cpu = [];
    for (let i = 0; i < runs; i++) {
        const c = process.cpuUsage();
        t = performance.now();
        layout = layoutGraph(graph);
        times.push(performance.now() - t);
        const used = process.cpuUsage(c);
        cpu.push((used.user + used.system) / 1000);
    }
    return {
        refs,
        layoutMs: Math.round(median(times) * 10) / 10,
        cpuMs: Math.round(median(cpu) * 10) / 10,
        coldMs: Math.round(coldMs * 10) / 10,
        runs,
        edges: layout.edges.length,
        layers: layout.layers,
        dummies: layout.dummies,
        width: Math.round(layout.width),
        height: Math.round(layout.height),
    };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
    const r = await benchGraphLayout();
    console.log(
        `graph layout: ${r.refs} refs, ${r.edges} edges, ${r.layers} layers, ${r.dummies} bend points: ` +
            `${r.layoutMs} ms median of ${r.runs} warm runs (CPU ${r.cpuMs} ms; first run ${r.coldMs} ms)`,
    );
}
