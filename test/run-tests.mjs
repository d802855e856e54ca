#!/usr/bin/env node
// Runs every compiled test file (out/**/*.test.js) with Node's built-in runner. Files are passed
// explicitly: when Node 20 searches a folder itself it treats every .js under a `test` folder
// as a test file, helpers included. Extra arguments go to `node --test` (e.g. --test-only).
import { readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { spawnSync } from "node:child_process";

const root = new URL("..", import.meta.url).pathname;
const outDir = join(root, "out");

function find(dir) {
    const found = [];
    for (const name of readdirSync(dir).sort()) {
        const p = join(dir, name);
        if (statSync(p).isDirectory()) {
            if (name !== "e2e" || process.env.LAYERSCOPE_E2E) found.push(...find(p));
        } else if (name.endsWith(".test.js")) {
            found.push(p);
        }
    }
    return found;
}

const files = find(outDir);
if (files.length === 0) {
    console.error("run-tests: no compiled tests under out/ (run `npm run build:tests` first)");
    process.exit(1);
}
const args = ["--test", "--test-reporter=spec", ...process.argv.slice(2), ...files.map((f) => relative(root, f))];
const r = spawnSync(process.execPath, args, { cwd: root, stdio: "inherit" });
process.exit(r.status ?? 1);
