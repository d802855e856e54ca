/**
 * The fuzz targets for a few seconds each inside `npm test` (`npm run fuzz` runs them longer):
 * 0 crashes (only EngineErrors may escape a parser), 0 hangs (per-input timeout), and the
 * harness itself proven on targets with a planted crash and a planted hang. The executions per
 * target are printed for the record, never asserted beyond "the seeds ran".
 */
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { fuzzTarget } from "../fuzz/fuzz";
import { TARGET_NAMES } from "../fuzz/targets";

const crashDir = mkdtempSync(join(tmpdir(), "layerscope-fuzz-smoke-"));
after(() => rmSync(crashDir, { recursive: true, force: true }));
const seconds = Number(process.env.LAYERSCOPE_FUZZ_SMOKE_SECONDS ?? 4);
const seed = Number(process.env.LAYERSCOPE_FUZZ_SEED ?? 20261128);

describe("fuzzing (short run)", () => {
    for (const target of TARGET_NAMES) {
        it(`${target}: no crash, no hang`, async () => {
            const r = await fuzzTarget(target, { seconds, seed, timeoutMs: 30_000, crashDir });
            process.stdout.write(`# fuzz ${target}: ${r.executions} executions in ${r.seconds.toFixed(1)} s, ${r.outcomes} outcomes\n`);
            assert.deepEqual(r.crashes.map((c) => `${c.signature}\n${c.error}`), []);
            assert.deepEqual(r.hangs, []);
            assert.ok(r.executions >= 3, `only ${r.executions} executions`);
        });
    }

    it("the harness reports a planted crash with its input", async () => {
        const r = await fuzzTarget("canary-crash", { seconds: 3, seed, timeoutMs: 30_000, crashDir });
        assert.equal(r.crashes.length, 1, JSON.stringify(r.crashes));
        assert.match(r.crashes[0]!.signature, /^TypeError/);
        assert.ok(readdirSync(crashDir).some((f) => f.startsWith("canary-crash-crash-")));
    });

    it("the harness stops a planted endless loop as a hang and saves its input", async () => {
        const r = await fuzzTarget("canary-hang", { seconds: 3, seed, timeoutMs: 500, crashDir });
        assert.ok(r.hangs.length >= 1);
        assert.ok(readdirSync(crashDir).some((f) => f.startsWith("canary-hang-hang-")));
    });
});
