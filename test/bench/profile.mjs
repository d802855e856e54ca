#!/usr/bin/env node
/**
 * Profiles one layerscope diff or compress on the bench input (built by bench.mjs) with
 * `node --cpu-prof` and prints where each thread's time goes (main, digest and goflate workers).
 *
 *   node test/bench/profile.mjs [base|changes|overlay|gzip|gzip-fast|zstd|estargz|chain]
 *                                                                              (default base)
 *
 * `chain` is the bench's chain case (`compute --ref l7` of the 8-layer chain, a fresh state).
 * The compression cases use the layer tar of the gzip/zstd/estargz bench cases (tars/layer.tar).
 * The main thread's event loop is watched too (loopDelayHook.cjs): for its longest stalls over
 * 50 ms, what ran meanwhile (stallStacks.mjs).
 *
 * Same environment as bench.mjs (LAYERSCOPE_BENCH_DIR, LAYERSCOPE_BENCH_CLI). The profile is
 * kept in <bench dir>/profile/<case>-<time>/.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { printSummary, summarise } from "./cpuprofile.mjs";
import { stallReport } from "./stallStacks.mjs";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const benchDir = path.resolve(process.env.LAYERSCOPE_BENCH_DIR || path.join(repo, ".bench"));
const cli = path.resolve(process.env.LAYERSCOPE_BENCH_CLI || path.join(repo, "dist", "cli.js"));
const input = path.join(benchDir, "input");
const which = process.argv[2] || "base";
const cases = {
    base: [path.join(input, "empty"), path.join(input, "lower")],
    changes: [path.join(input, "lower"), path.join(input, "upper")],
    overlay: ["--overlay", path.join(input, "lower"), path.join(input, "upperdir")],
};
const layerTar = path.join(benchDir, "tars", "layer.tar");
const compressCases = {
    gzip: ["--compression", "gzip"],
    "gzip-fast": ["--compression", "gzip", "--gzip-impl", "fast"],
    zstd: ["--compression", "zstd"],
    estargz: ["--compression", "estargz"],
};
const isCompress = which in compressCases;
const chainDir = path.join(benchDir, "chain");
const needs = isCompress ? layerTar : which === "chain" ? chainDir : path.join(benchDir, "manifest.json");
if (!(cases[which] || isCompress || which === "chain") || !fs.existsSync(needs)) {
    process.stderr.write(
        `usage: node test/bench/profile.mjs [base|changes|overlay|gzip|gzip-fast|zstd|estargz|chain] (after npm run bench built ${needs})\n`,
    );
    process.exit(2);
}
// One fresh directory per run: node writes one profile per thread (main, and the digest worker
// when the engine uses one), named CPU.<date>.<time>.<pid>.<thread id>.<seq>.cpuprofile.
const outDir = path.join(benchDir, "profile", `${which}-${Date.now()}`);
fs.mkdirSync(outDir, { recursive: true });
const stallsFile = path.join(outDir, "stalls.json");
const args = [
    "--cpu-prof",
    "--cpu-prof-dir",
    outDir,
    "--require",
    path.join(path.dirname(fileURLToPath(import.meta.url)), "loopDelayHook.cjs"),
    cli,
    ...(isCompress
        ? ["compress", layerTar, ...compressCases[which]]
        : which === "chain"
          ? ["compute", chainDir, "--state", path.join(outDir, "state"), "--ref", "l7"]
          : ["diff", "--whiteout-time", "0", ...cases[which]]),
    "--json",
];
const t0 = performance.now();
const r = spawnSync(process.execPath, args, {
    encoding: "utf8",
    env: { ...process.env, LAYERSCOPE_BENCH_STALLS_OUT: stallsFile },
});
const wall = (performance.now() - t0) / 1000;
if (r.status !== 0) {
    process.stderr.write(r.stderr);
    process.exit(1);
}
process.stdout.write(`${which}: ${r.stdout.trim()} in ${wall.toFixed(2)} s (profiled)\n`);
const threadOf = (f) => Number(f.split(".").at(-3));
for (const f of fs
    .readdirSync(outDir)
    .filter((n) => n.endsWith(".cpuprofile"))
    .sort((a, b) => threadOf(a) - threadOf(b))) {
    const tid = threadOf(f);
    process.stdout.write(
        `\n=== ${tid === 0 ? "main thread" : `worker thread ${tid}`}: ${path.join(outDir, f)}\n`,
    );
    const profile = JSON.parse(fs.readFileSync(path.join(outDir, f), "utf8"));
    printSummary(summarise(profile, 20), (l) => process.stdout.write(`${l}\n`));
    if (tid === 0) {
        const stalls = JSON.parse(fs.readFileSync(stallsFile, "utf8"));
        const longest = stalls.reduce((m, [a, b]) => Math.max(m, (b - a) / 1000), 0);
        process.stdout.write(`\nevent loop: ${stalls.length} stalls over 50 ms, longest ${longest.toFixed(0)} ms\n`);
        for (const l of stallReport(profile, stalls, 5)) process.stdout.write(`${l}\n`);
    }
}
