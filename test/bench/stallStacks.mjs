#!/usr/bin/env node
/**
 * What blocked the event loop: for each stall recorded by loopDelayHook.cjs
 * ($LAYERSCOPE_BENCH_STALLS_OUT), the main thread's `--cpu-prof` samples inside it, as self time
 * per function and the commonest stacks. Both use the monotonic clock in µs.
 *
 *   node test/bench/stallStacks.mjs MAIN.cpuprofile STALLS.json [N]   (the N longest, default 5)
 *
 * Under load a stall may be the scheduler's, not the code's: the thread was runnable but not
 * running (samples few for its length), or waiting in epoll while its timer was already due
 * ("(idle)" samples). "busy" is the sampled time outside (idle) and (program).
 */
import * as fs from "node:fs";

export function stallReport(profile, stalls, n = 5) {
    const byId = new Map(profile.nodes.map((x) => [x.id, x]));
    const parent = new Map();
    for (const x of profile.nodes) for (const c of x.children ?? []) parent.set(c, x.id);
    const name = (id) => {
        const cf = byId.get(id).callFrame;
        const file = (cf.url || "").split("/").pop();
        return `${cf.functionName || "(anonymous)"}${file ? ` ${file}:${cf.lineNumber + 1}` : ""}`;
    };
    const stack = (id) => {
        const names = [];
        for (let x = id; x !== undefined && byId.get(x).callFrame.functionName !== "(root)"; x = parent.get(x)) {
            names.push(name(x));
        }
        return names.slice(0, 6).join(" < ");
    };
    const times = [];
    let t = profile.startTime;
    for (let i = 0; i < profile.samples.length; i++) {
        t += profile.timeDeltas[i];
        times.push(t);
    }
    const lines = [];
    const longest = [...stalls].sort((a, b) => b[1] - b[0] - (a[1] - a[0])).slice(0, n);
    for (const [start, end] of longest) {
        const fns = new Map();
        const stacks = new Map();
        let sampled = 0;
        let busy = 0;
        for (let i = 0; i < times.length; i++) {
            if (times[i] < start || times[i] > end) continue;
            const id = profile.samples[i];
            const us = profile.timeDeltas[i];
            sampled += us;
            const fn = byId.get(id).callFrame.functionName;
            if (fn !== "(idle)" && fn !== "(program)") busy += us;
            fns.set(name(id), (fns.get(name(id)) ?? 0) + us);
            const s = stack(id);
            stacks.set(s, (stacks.get(s) ?? 0) + us);
        }
        lines.push(
            `stall ${((end - start) / 1000).toFixed(0)} ms at +${((start - profile.startTime) / 1e6).toFixed(2)} s (sampled ${(sampled / 1000).toFixed(0)} ms, busy ${(busy / 1000).toFixed(0)} ms)`,
        );
        for (const [f, us] of [...fns].sort((a, b) => b[1] - a[1]).slice(0, 6)) {
            lines.push(`  ${(us / 1000).toFixed(1).padStart(7)} ms  ${f}`);
        }
        for (const [s, us] of [...stacks].sort((a, b) => b[1] - a[1]).slice(0, 3)) {
            lines.push(`  stack (${(us / 1000).toFixed(0)} ms): ${s}`);
        }
    }
    return lines;
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split("/").pop())) {
    const [prof, stallsFile, n] = process.argv.slice(2);
    if (!prof || !stallsFile) {
        process.stderr.write("usage: node test/bench/stallStacks.mjs MAIN.cpuprofile STALLS.json [N]\n");
        process.exit(2);
    }
    const lines = stallReport(JSON.parse(fs.readFileSync(prof, "utf8")), JSON.parse(fs.readFileSync(stallsFile, "utf8")), Number(n) || 5);
    process.stdout.write(`${lines.join("\n")}\n`);
}
