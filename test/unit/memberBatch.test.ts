/**
 * eStargz's small members batched onto the goflate workers (memberBatch.ts) give the bytes
 * GoGzipMemberWriter gives on this thread for the same writes, each to its own sink; more
 * members than the workers can take at once still all arrive (the pool bound makes jobs wait,
 * never drops them); an aborted batcher rejects what it still holds.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { gunzipSync } from "node:zlib";
import { GoGzipMemberWriter } from "../../src/engine/compression/goflate/goGzipMember";
import { GoMemberBatcher } from "../../src/engine/compression/goflate/memberBatch";
import { randomBytes, textBytes } from "../helpers/compressionKit";

/** A member as a list of writes: text and random bytes, cut at uneven sizes. */
function member(k: number): Buffer[] {
    const data = Buffer.concat([textBytes(700 + ((k * 7919) % 40_000)), randomBytes(k % 3 === 0 ? 5_000 : 0, k)]);
    const writes: Buffer[] = [];
    for (let off = 0, step = 1 + (k % 5) * 997; off < data.length; off += step) {
        writes.push(data.subarray(off, off + step));
    }
    return k % 17 === 0 ? [] : writes; // some empty members, as eStargz writes
}

async function onThisThread(writes: Buffer[], level: number): Promise<Buffer> {
    const out: Buffer[] = [];
    const m = await GoGzipMemberWriter.open({ write: async (b) => void out.push(Buffer.from(b)) }, level);
    for (const w of writes) await m.write(w);
    await m.close();
    return Buffer.concat(out);
}

describe("small members batched on goflate workers", () => {
    for (const level of [-1, 1, 9]) {
        it(`level ${level}: every member's bytes equal GoGzipMemberWriter's for the same writes`, async () => {
            const batcher = new GoMemberBatcher();
            const members = Array.from({ length: 150 }, (_, k) => member(k));
            const outs = members.map(() => [] as Buffer[]);
            const done = members.map((writes, k) =>
                batcher.add(level, writes, writes.reduce((a, w) => a + w.length, 0), {
                    write: (b) => void outs[k]!.push(Buffer.from(b)),
                }),
            );
            batcher.flush();
            await Promise.all(done);
            for (let k = 0; k < members.length; k++) {
                const got = Buffer.concat(outs[k]!);
                assert.deepEqual(got, await onThisThread(members[k]!, level), `member ${k}`);
                assert.deepEqual(gunzipSync(got), Buffer.concat(members[k]!), `member ${k} decodes`);
            }
        });
    }

    it("an aborted batcher rejects the members it still holds, and later ones", async () => {
        const batcher = new GoMemberBatcher();
        const held = batcher.add(-1, [Buffer.from("never sent")], 10, { write: () => undefined });
        batcher.abort(new Error("stop"));
        await assert.rejects(held, /stop/);
        await assert.rejects(batcher.add(-1, [], 0, { write: () => undefined }), /stop/);
    });
});
