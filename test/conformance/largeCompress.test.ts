/**
 * The small version of issue 6's large-input check (largeCompress.mjs --small): seeded random
 * tars (0 bytes, the empty tar, 200 KiB and 2 MiB mixed content) at every gzip level -2..9, as
 * gzip and eStargz, through the built CLI and the oracle; digests must be equal. The full run
 * (hundreds of MB) is `node test/conformance/largeCompress.mjs`.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, it } from "node:test";

const oracle = process.env.LAYERSCOPE_ORACLE;
const script = join(__dirname, "..", "..", "..", "test", "conformance", "largeCompress.mjs");

describe("compress: seeded random tars at every level equal the oracle's", () => {
    it("gzip and eStargz, levels -2..9, 0 B to 2 MiB", { skip: !oracle && "set LAYERSCOPE_ORACLE to compare with Go", timeout: 15 * 60_000 }, () => {
        const r = spawnSync(process.execPath, [script, "--small"], { encoding: "utf8", env: process.env });
        const failures = r.stdout.split("\n").filter((l) => l.startsWith("FAIL"));
        assert.deepEqual(failures, []);
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.stdout, /, 0 mismatches,/);
    });
});
