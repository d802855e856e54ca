/**
 * The goflate buffer pool's bookkeeping: a buffer comes back only once every view handed out of
 * it was given back, each counted once; buffers it did not hand out never enter it.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { adoptReply, bufferForWorker, bufferPoolState, copyForWorker, POOL_BUFFER_BYTES, recycle, releaseIdleBuffers } from "../../src/engine/compression/goflate/bufferPool";

/** What a worker sends back: the buffer moved to a new ArrayBuffer object, as a transfer does. */
function transferred(view: Uint8Array, length: number): Uint8Array {
    const ab = structuredClone(view.buffer, { transfer: [view.buffer as ArrayBuffer] });
    return new Uint8Array(ab, 0, length);
}

describe("goflate buffer pool", () => {
    it("a batch reply returns to the pool with its last view, once", () => {
        releaseIdleBuffers();
        const reply = transferred(bufferForWorker(300_000), 120_000);
        adoptReply(reply, 3);
        const views = [0, 40_000, 80_000].map((o) => Buffer.from(reply.buffer, o, 40_000));
        recycle(views[0]!);
        recycle(views[1]!);
        assert.equal(bufferPoolState().idle, 0, "two of three views back: the buffer stays out");
        recycle(views[2]!);
        assert.equal(bufferPoolState().idle, 1);
        recycle(views[2]!);
        assert.equal(bufferPoolState().idle, 1, "a view given back twice counts once, after the buffer came back");
        const again = bufferForWorker(10);
        assert.equal(again.buffer, reply.buffer, "the next buffer for a worker is that one");
        assert.equal(bufferPoolState().idle, 0);
    });

    it("a member's reply returns with its one view; small writes and foreign buffers never enter", () => {
        releaseIdleBuffers();
        const big = copyForWorker(Buffer.alloc(512 * 1024, 7));
        assert.equal(big.buffer.byteLength, POOL_BUFFER_BYTES);
        const reply = transferred(big, 1000);
        adoptReply(reply);
        recycle(reply);
        assert.equal(bufferPoolState().idle, 1);
        const small = copyForWorker(Buffer.alloc(1000, 1));
        assert.equal(small.buffer.byteLength, 1000, "a small write gets a buffer of its size");
        adoptReply(small);
        recycle(small);
        const foreign = Buffer.alloc(POOL_BUFFER_BYTES);
        recycle(foreign);
        assert.equal(bufferPoolState().idle, 1);
        releaseIdleBuffers();
        assert.equal(bufferPoolState().idle, 0);
    });
});
