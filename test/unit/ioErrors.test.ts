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

describe("fromSystemError on other failures", () => {
    it("EISDIR: InvalidArgument naming the path and what to give instead", () => {
        const e = fromSystemError(sys("EISDIR"), "/tmp", "reading the tar");
        assert.equal(e.code, "InvalidArgument");
        assert.equal(e.message, "/tmp: is a directory where a file was expected (while reading the tar); give the path of a file");
    });

    it("a code the message already starts with is not repeated; one it lacks is added", () => {
        assert.equal(fromSystemError(sys("EBADF"), "/x", "reading").message, "/x: EBADF: system says so (while reading)");
        const bare = Object.assign(new Error("bad file descriptor"), { code: "EBADF" });
        assert.equal(fromSystemError(bare, "/x", "reading").message, "/x: EBADF: bad file descriptor (while reading)");
    });
});
