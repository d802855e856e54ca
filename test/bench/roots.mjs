#!/usr/bin/env node
/**
 * Time to open a snapshot root and list its refs (reports of every ref), in process and as a
 * CLI run (`layerscope refs ROOT --json`, node start-up included). Median of N warm runs.
 *
 *   npm run build && npm run build:tests
 *   node test/bench/roots.mjs ROOT[:SNAPSHOTTER]...      (roots from make-containerd-root.sh / make-docker-root.sh)
 *
 * LAYERSCOPE_BENCH_RUNS: runs per root (default 5). Engine state goes to a temp dir.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const engine = createRequire(import.meta.url)(path.join(repo, "out/src/engine/index.js"));
const runs = Number(process.env.LAYERSCOPE_BENCH_RUNS || 5);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const state = mkdtempSync(path.join(tmpdir(), "layerscope-bench-roots-"));

try {
    for (const arg of process.argv.slice(2)) {
        const [root, snapshotter] = arg.split(":");
        const inProc = [];
        const cli = [];
        let refs = 0;
        for (let i = 0; i <= runs; i++) {
            const t0 = performance.now();
            const e = await engine.openSourceEngine(root, { snapshotter, stateDir: path.join(state, "s") });
            const reports = await Promise.all(e.refIds().map((id) => e.report(id)));
            const t1 = performance.now();
            refs = reports.length;
            const t2 = performance.now();
            execFileSync(process.execPath, [path.join(repo, "dist/cli.js"), "refs", root, "--json", "--state", path.join(state, "s"), ...(snapshotter ? ["--snapshotter", snapshotter] : [])]);
            const t3 = performance.now();
            if (i > 0) {
                inProc.push(t1 - t0);
                cli.push(t3 - t2);
            }
        }
        console.log(`${arg}: ${engine.detectSource(root)}, ${refs} refs: open+list ${median(inProc).toFixed(1)} ms in process, ${median(cli).toFixed(0)} ms as \`layerscope refs --json\` (median of ${runs})`);
    }
} finally {
    rmSync(state, { recursive: true, force: true });
}
