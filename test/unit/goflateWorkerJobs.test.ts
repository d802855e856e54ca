/**
 * One goflate worker through a run of jobs as the pool hands them out: streaming members
 * (start, data…, close) and batches, one after the other, with failed jobs between them. The
 * worker copies its output chunks into a collector per job kind and reuses the chunks
 * (goflateWorker.ts, outputQueue.ts): no byte of one job may show up in another's reply, and
 * every reply must be the bytes GoGzipWriter makes on this thread for the same writes.
 */
import assert from "node:assert/strict";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import { Worker } from "node:worker_threads";
import { gunzipSync } from "node:zlib";
import type { WorkerReply, WorkerRequest } from "../../src/engine/compression/goflate/goflateWorker";
import { GoGzipWriter } from "../../src/engine/compression/goflate/goGzipWriter";
import { randomBytes, textBytes } from "../helpers/compressionKit";

// Compiled next to this file's sources by build:tests (out/src/…/goflateWorker.js).
const WORKER = path.join(__dirname, "../../src/engine/compression/goflate/goflateWorker.js");

class Driver {
    private readonly worker = new Worker(WORKER);
    private readonly replies: WorkerReply[] = [];
    private wake: (() => void) | undefined;

    constructor() {
        this.worker.on("message", (r: WorkerReply) => {
            this.replies.push(r);
            this.wake?.();
        });
    }

    /** Sends a request (its buffers transferred) and, unless it is a start, waits for its reply. */
    async send(m: WorkerRequest): Promise<WorkerReply | undefined> {
        const transfer = m.t === "data" ? [m.buf.buffer as ArrayBuffer] : m.t === "batch" ? [m.data.buffer as ArrayBuffer] : [];
        this.worker.postMessage(m, transfer);
        return m.t === "start" ? undefined : this.next();
    }

    async next(): Promise<WorkerReply> {
        while (this.replies.length === 0) {
            await new Promise<void>((resolve) => (this.wake = resolve));
        }
        return this.replies.shift()!;
    }

    close(): Promise<number> {
        return this.worker.terminate();
    }
}

/** GoGzipWriter on this thread, with the same writes. */
async function here(level: number, writes: Buffer[]): Promise<Buffer> {
    const out: Buffer[] = [];
    const gz = new GoGzipWriter(level, (c) => void out.push(Buffer.from(c)));
    await gz.start();
    for (const w of writes) await gz.write(w);
    await gz.close();
    return Buffer.concat(out);
}

/** A copy in a buffer of its own, as the pool transfers it. */
function own(b: Buffer): Uint8Array {
    return new Uint8Array(b);
}

/** A streaming member's whole reply: its data replies and its close reply, back to back. */
async function member(d: Driver, id: number, level: number, writes: Buffer[]): Promise<Buffer> {
    const parts: Buffer[] = [];
    await d.send({ t: "start", level });
    for (const w of writes) {
        const r = await d.send({ t: "data", id, buf: own(w) });
        assert.equal(r!.t, "done", JSON.stringify(r));
        parts.push(Buffer.from((r as { out: Uint8Array }).out));
    }
    const r = await d.send({ t: "close", id });
    assert.equal(r!.t, "done", JSON.stringify(r));
    parts.push(Buffer.from((r as { out: Uint8Array }).out));
    return Buffer.concat(parts);
}

async function batch(d: Driver, id: number, level: number, members: Buffer[][]): Promise<Buffer[]> {
    const all = members.flat();
    const r = await d.send({
        t: "batch",
        id,
        level,
        data: own(Buffer.concat(all)),
        writes: Uint32Array.from(all.map((w) => w.length)),
        members: Uint32Array.from(members.map((m) => m.length)),
    });
    assert.equal(r!.t, "batch", JSON.stringify(r));
    const { out, sizes } = r as { out: Uint8Array; sizes: Uint32Array };
    const got: Buffer[] = [];
    let off = 0;
    for (const n of sizes) {
        got.push(Buffer.from(out.subarray(off, off + n)));
        off += n;
    }
    assert.equal(off, out.length);
    return got;
}

describe("one goflate worker, many jobs", () => {
    const d = new Driver();
    after(() => d.close());

    it("gives each job its own bytes, before and after failed jobs", async () => {
        const big = [textBytes(300_000), randomBytes(200_000, 5), textBytes(1 << 20)]; // several 64 KiB chunks per write
        const smalls = Array.from({ length: 40 }, (_, k) => (k % 9 === 0 ? [] : [textBytes(100 + k * 37), randomBytes(k * 11, k)]));

        assert.deepEqual(await member(d, 1, 6, big), await here(6, big), "a member");
        const b1 = await batch(d, 2, 6, smalls);
        for (let k = 0; k < smalls.length; k++) {
            assert.deepEqual(b1[k], await here(6, smalls[k]!), `batch member ${k}`);
        }

        // A member whose level Go rejects: the start fails, and so does its data.
        await d.send({ t: "start", level: 42 });
        const failed = await d.next();
        assert.equal(failed.t, "error");
        const orphan = await d.send({ t: "data", id: 3, buf: own(textBytes(5000)) });
        assert.equal(orphan!.t, "error");

        // A whole member, then a data message after its close, which fails.
        await member(d, 4, 6, [textBytes(200_000)]);
        const late = await d.send({ t: "data", id: 5, buf: own(textBytes(5000)) });
        assert.equal(late!.t, "error", "data after the member's close");

        // A batch of a level Go rejects fails as a whole.
        const badBatch = await d.send({ t: "batch", id: 6, level: 42, data: own(textBytes(10)), writes: Uint32Array.of(10), members: Uint32Array.of(1) });
        assert.equal(badBatch!.t, "error");

        // Everything after: exactly this job's bytes.
        const again = [randomBytes(70_000, 9), textBytes(500_000)];
        const got = await member(d, 7, 1, again);
        assert.deepEqual(got, await here(1, again), "a member after the failures");
        assert.deepEqual(gunzipSync(got), Buffer.concat(again));
        const b2 = await batch(d, 8, 9, smalls.slice(0, 10));
        for (let k = 0; k < 10; k++) {
            assert.deepEqual(b2[k], await here(9, smalls[k]!), `second batch member ${k}`);
        }
    });
});
