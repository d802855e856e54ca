/**
 * The parallel paths give the serial bytes: the Go-exact gzip on its worker thread equals
 * goGzipSync on this thread; the fast gzip (pigz-style blocks on the thread pool) is ONE gzip
 * member that decodes to the input and does not depend on write sizes or core count; zstd frames
 * compressed side by side give the same blob whatever the number in flight.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { gunzipSync } from "node:zlib";
import { goGzipSync } from "../../src/engine/compression/goflate/goGzipWriter";
import { GoGzipEncoder } from "../../src/engine/compression/goflate/goGzipEncoder";
import { BLOCK, ParallelGzipEncoder } from "../../src/engine/compression/parallelGzipEncoder";
import { ZstdEncoder } from "../../src/engine/compression/zstdEncoder";
import type { BlobEncoder } from "../../src/engine/compression/types";
import { hasTool, randomBytes, runTool, textBytes } from "../helpers/compressionKit";
import { gzipMembers } from "../helpers/gzipMembers";

type Sink = { write: (b: Buffer) => Promise<void> };

/** Runs `input` through an encoder in `chunk`-byte writes issued without waiting (as TarStream). */
async function run(make: (out: Sink) => BlobEncoder, input: Buffer, chunk: number): Promise<Buffer> {
    const out: Buffer[] = [];
    const enc = make({ write: async (b) => void out.push(Buffer.from(b)) });
    const pending: Promise<void>[] = [];
    for (let off = 0; off < input.length; off += chunk) {
        const copy = Buffer.from(input.subarray(off, off + chunk));
        pending.push(enc.write(copy).then(() => void copy.fill(0x5a)));
    }
    await Promise.all(pending);
    await enc.finish();
    return Buffer.concat(out);
}

const MIXED = Buffer.concat([textBytes(3 * BLOCK + 12345), randomBytes(BLOCK + 777, 3), textBytes(BLOCK)]);

describe("Go-exact gzip on a worker thread", () => {
    for (const level of [-2, -1, 1, 4, 9]) {
        it(`level ${level}: the worker's blob is goGzipSync's, byte for byte`, async () => {
            const input = MIXED.subarray(0, 3 << 20);
            const got = await run((out) => new GoGzipEncoder(out, level, false), input, 300_001);
            assert.ok(got.equals(goGzipSync(input, level)));
        });
    }

    it("an empty input is Go's 32-byte empty-layer shape (header, final block, trailer)", async () => {
        const got = await run((out) => new GoGzipEncoder(out, -1, false), Buffer.alloc(0), 1);
        assert.ok(got.equals(goGzipSync(Buffer.alloc(0), -1)));
    });
});

describe("fast gzip: parallel deflate joined into one member", () => {
    it("is one gzip member that gunzip decodes to the input", async () => {
        const blob = await run((out) => new ParallelGzipEncoder(out, 6, false), MIXED, 65536);
        assert.equal(gzipMembers(blob).length, 1);
        assert.ok(gunzipSync(blob).equals(MIXED));
        assert.equal(blob.subarray(0, 10).toString("hex"), "1f8b08000000000000ff");
    });

    it("does not depend on write sizes or on how many blocks are in flight", async () => {
        const a = await run((out) => new ParallelGzipEncoder(out, 6, false, 1), MIXED, 1 << 20);
        const b = await run((out) => new ParallelGzipEncoder(out, 6, false, 4), MIXED, 7777);
        assert.ok(a.equals(b));
    });

    it("handles 0 bytes, one byte, exactly one block and a block plus one", async () => {
        for (const n of [0, 1, BLOCK, BLOCK + 1]) {
            const input = textBytes(n);
            const blob = await run((out) => new ParallelGzipEncoder(out, 1, false), input, 100_000);
            assert.ok(gunzipSync(blob).equals(input), `${n} bytes`);
        }
    });

    it("Debian's gzip -t accepts it", { skip: !hasTool("gzip") && "gzip not installed" }, async () => {
        const blob = await run((out) => new ParallelGzipEncoder(out, 9, false), MIXED, 1 << 20);
        assert.ok(runTool("gzip", ["-dc"], blob).equals(MIXED));
    });
});

describe("zstd: frames compressed side by side", () => {
    it("gives the same blob with 1 or 4 frames in flight, and zstd -d decodes it", async () => {
        const input = Buffer.concat([MIXED, MIXED]);
        const a = await run((out) => new ZstdEncoder(out, 3, false, 1), input, 1 << 20);
        const b = await run((out) => new ZstdEncoder(out, 3, false, 4), input, 99_999);
        assert.ok(a.equals(b));
        if (hasTool("zstd")) {
            assert.ok(runTool("zstd", ["-dc"], a).equals(input));
        }
    });
});
