/**
 * OutputQueue hands out 64 KiB chunks; a consumer that has copied one may give it back
 * (`recycleChunk`) and the next chunk reuses it. Only chunks a queue handed out are taken back,
 * each once: a chunk given back twice must not end up in two queues at the same time.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { OutputQueue, recycleChunk } from "../../src/engine/compression/goflate/outputQueue";

const CHUNK = 64 * 1024;

/** Fills one whole chunk and starts the next, returning the full one. */
function fillOne(q: OutputQueue, byte: number): Buffer {
    q.writeBytes(new Uint8Array(CHUNK).fill(byte), 0, CHUNK);
    q.writeByte(byte); // rotates: the full chunk is handed over
    const [full] = q.takeReady();
    assert.equal(full!.length, CHUNK);
    return full!;
}

describe("OutputQueue chunk recycling", () => {
    it("reuses a chunk given back, and only once", () => {
        const a = new OutputQueue();
        const first = fillOne(a, 1);
        recycleChunk(first);
        recycleChunk(first); // a second give-back is ignored
        const b = new OutputQueue(); // takes the spare chunk
        const c = new OutputQueue(); // must get a buffer of its own
        assert.equal(b.buf.buffer, first.buffer);
        assert.notEqual(c.buf.buffer, first.buffer);
    });

    it("never takes back a chunk it did not hand out", () => {
        const foreign = Buffer.allocUnsafe(CHUNK);
        recycleChunk(foreign);
        const q = new OutputQueue();
        assert.notEqual(q.buf.buffer, foreign.buffer);
    });

    it("keeps the bytes of a chunk that was not given back", () => {
        const q = new OutputQueue();
        const kept = fillOne(q, 7);
        const next = fillOne(q, 9);
        recycleChunk(next);
        fillOne(q, 11); // writes into the recycled chunk
        assert.ok(kept.every((b) => b === 7));
    });
});
