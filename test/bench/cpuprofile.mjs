#!/usr/bin/env node
/**
 * Summarises a V8 `.cpuprofile` (from `node --cpu-prof`): self time per function and per
 * module, and the share of "(idle)" (the main thread waiting, e.g. for the thread pool),
 * "(garbage collector)" and "(program)" (native code outside JS frames).
 *
 *   node test/bench/cpuprofile.mjs FILE.cpuprofile [TOP]
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

/** Self time (ms) per function key and per module, from samples and their time deltas. */
export function summarise(profile, top = 25) {
    const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    const selfUs = new Map();
    for (let i = 0; i < profile.samples.length; i++) {
        const id = profile.samples[i];
        selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
    }
    const fns = new Map();
    const modules = new Map();
    let total = 0;
    for (const [id, us] of selfUs) {
        const cf = byId.get(id).callFrame;
        const file = cf.url ? cf.url.replace(/^file:\/\//, "") : "";
        const where = file ? `${shortFile(file)}:${cf.lineNumber + 1}` : "";
        const key = `${cf.functionName || "(anonymous)"}${where ? ` ${where}` : ""}`;
        fns.set(key, (fns.get(key) ?? 0) + us);
        const mod = file ? shortFile(file) : cf.functionName;
        modules.set(mod, (modules.get(mod) ?? 0) + us);
        total += us;
    }
    const rank = (m) =>
        [...m]
            .sort((a, b) => b[1] - a[1])
            .slice(0, top)
            .map(([name, us]) => ({
                name,
                ms: Math.round(us / 1000),
                pct: Math.round((1000 * us) / total) / 10,
            }));
    return { totalMs: Math.round(total / 1000), functions: rank(fns), modules: rank(modules) };
}

function shortFile(f) {
    const i = f.indexOf("/dist/");
    return i >= 0 ? f.slice(i + 1) : f.startsWith("node:") ? f : path.basename(f);
}

export function printSummary(s, print) {
    print(`total sampled: ${s.totalMs} ms`);
    print("\nself time by function:");
    for (const r of s.functions) {
        print(`  ${String(r.ms).padStart(7)} ms  ${r.pct.toFixed(1).padStart(5)}%  ${r.name}`);
    }
    print("\nself time by module:");
    for (const r of s.modules) {
        print(`  ${String(r.ms).padStart(7)} ms  ${r.pct.toFixed(1).padStart(5)}%  ${r.name}`);
    }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
    const [file, top] = process.argv.slice(2);
    if (!file) {
        process.stderr.write("usage: node test/bench/cpuprofile.mjs FILE.cpuprofile [TOP]\n");
        process.exit(2);
    }
    const s = summarise(JSON.parse(fs.readFileSync(file, "utf8")), Number(top) || 25);
    printSummary(s, (l) => process.stdout.write(`${l}\n`));
}
