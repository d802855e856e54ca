/**
 * The WebAssembly deflate step is committed as base64 (deflateStepWasm.ts) so that `npm ci`
 * needs no compiler; this rebuilds it from deflateStep.c with clang and lld (CI installs them)
 * and fails when the committed module is not the build of the committed source.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { describe, it } from "node:test";
import { repoRoot } from "../helpers/imports";

const repo = repoRoot;
const hasClang = spawnSync("clang", ["--version"], { stdio: "ignore" }).status === 0 &&
    spawnSync("wasm-ld", ["--version"], { stdio: "ignore" }).status === 0;
// .ci/run installs them: there a missing clang is a failure, not a skip.
const skip = hasClang || process.env.CI ? false : "clang and lld are not installed (apt-get install clang lld)";

describe("deflate step WebAssembly", () => {
    it("deflateStepWasm.ts is the build of deflateStep.c", { skip }, (t) => {
        const r = spawnSync(process.execPath, [path.join(repo, "scripts", "build-wasm.mjs"), "--check"], { encoding: "utf8" });
        if (r.status === 2 && hasClang) {
            // Another clang version: its bytes differ and are not comparable.
            t.skip(r.stderr.trim());
            return;
        }
        assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
    });
});
