/**
 * System errors from writes become EngineErrors that say what happened, which path, and what to
 * do, with a stable data.reason (real ENOSPC and EIO through the write paths: the sweeps in
 * test/integration/diskFull.test.ts and diskIoError.test.ts; EROFS only here).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fromSystemError } from "../../src/engine/errors";

function sys(code: string): Error {
    return Object.assign(new Error(`${code}: system says so`), { code });
}

describe("fromSystemError on write failures", () => {
    for (const [code, reason, advice] of [
        ["ENOSPC", "no-space", /free some space \(`layerscope gc` removes unused blobs\)/],
        ["EDQUOT", "no-space", /free some space/],
        ["EIO", "io-error", /check the device \(dmesg\)/],
        ["EROFS", "read-only", /--state DIR/],
    ] as const) {
        it(`${code}: code Io, reason ${reason}, the path, the action and what to do`, () => {
            const e = fromSystemError(sys(code), "/state/blobs/x", "writing ingest \"r\"");
            assert.equal(e.code, "Io");
            assert.equal(e.data.reason, reason);
            assert.equal(e.data.path, "/state/blobs/x");
            assert.match(e.message, /^\/state\/blobs\/x: /);
            assert.match(e.message, /while writing ingest "r"/);
            assert.match(e.message, advice);
            assert.equal((e.cause as Error).message, `${code}: system says so`);
        });
    }
});
