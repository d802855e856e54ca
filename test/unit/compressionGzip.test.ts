/**
 * The gzip and uncompressed encoders and the gzip decoder: Go's container format (header with
 * OS 255 and Go's XFL, CRC-32/ISIZE trailer), Go-exact stored blocks at level 0 (spec §9
 * vector 3), round trips through Debian's `gzip -d` and our own decoder, in-order writes.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { crc32 as zlibCrc32, gzipSync } from "node:zlib";
import { crc32js } from "../../src/engine/compression/crc32";
import { isEngineError } from "../../src/engine/errors";
import { createEncoder, type CompressionConfig } from "../../src/engine/compression/index";
import { decode, encode, hasTool, randomBytes, runTool, sha256, textBytes } from "../helpers/compressionKit";
import { gzipMembers } from "../helpers/gzipMembers";

const EMPTY_TAR = Buffer.alloc(1024);
const INPUTS: Array<[string, Buffer]> = [
    ["0 bytes", Buffer.alloc(0)],
    ["the empty tar", EMPTY_TAR],
    ["1 MiB random", randomBytes(1 << 20, 3)],
    ["9 MiB text", textBytes(9 << 20)],
    ["9 MiB random", randomBytes(9 << 20, 5)],
];
const NO_GZIP = hasTool("gzip") ? false : "Debian's gzip is not installed (apt-get install gzip)";

describe("gzip encoder: Go's container format", () => {
    it("writes Go's 10-byte header: no name, MTIME 0, XFL 2/4/0 for levels 9/1/other, OS 255", async () => {
        for (const [level, xfl] of [[undefined, 0], [-1, 0], [0, 0], [1, 4], [6, 0], [9, 2], [-2, 0]] as const) {
            const { blob } = await encode({ type: "gzip", level }, EMPTY_TAR);
            assert.equal(blob.subarray(0, 10).toString("hex"), `1f8b0800000000000${xfl}ff`, `level ${level}`);
            const members = gzipMembers(blob);
            assert.equal(members.length, 1);
            assert.ok(members[0]!.data.equals(EMPTY_TAR));
        }
    });

    it("reproduces Go's level-0 blob of the empty tar byte for byte (vector 3)", async () => {
        const { blob } = await encode({ type: "gzip", level: 0 }, EMPTY_TAR);
        assert.equal(blob.length, 1052);
        assert.equal(sha256(blob), "sha256:1dd7676172fa2c57596a0b9db08d27561e217d6fc2d29c07b99af86c478ee12e");
    });

    it("writes Go's stored blocks at level 0: 65535-byte blocks, the rest, an empty final block", async () => {
        const input = randomBytes(65535 * 2 + 10, 9);
        const { blob } = await encode({ type: "gzip", level: 0 }, input, { chunk: 7000 });
        const body = blob.subarray(10, blob.length - 8);
        const blocks: Array<[number, number]> = [];
        for (let p = 0; p < body.length; ) {
            const len = body.readUInt16LE(p + 1);
            assert.equal(body.readUInt16LE(p + 3), ~len & 0xffff);
            blocks.push([body[p]!, len]);
            p += 5 + len;
        }
        assert.deepEqual(blocks, [[0, 65535], [0, 65535], [0, 10], [1, 0]]);
    });

    it("computes CRC-32 in JS like zlib (the fallback for Node < 20.15 in VS Code)", () => {
        const data = randomBytes(100003, 12);
        for (const n of [0, 1, 3, 4, 5, 100003]) {
            assert.equal(crc32js(data.subarray(0, n)), zlibCrc32(data.subarray(0, n)), String(n));
        }
        assert.equal(crc32js(data.subarray(7), crc32js(data.subarray(0, 7))), zlibCrc32(data));
    });

    it("is not Node's gzip (OS=3) even where zlib's deflate bytes are used", async () => {
        const { blob } = await encode({ type: "gzip" }, EMPTY_TAR);
        assert.equal(gzipSync(EMPTY_TAR)[9], 3);
        assert.equal(blob[9], 0xff);
    });
});

describe("gzip round trips", () => {
    for (const level of [undefined, 0, 1, 9, -2]) {
        for (const [label, input] of INPUTS) {
            it(`level ${level ?? "default"}, ${label}: Debian gzip -d and our decoder give the input back`, { skip: NO_GZIP }, async () => {
                const { blob, result } = await encode({ type: "gzip", level }, input, { computeUncompressedDigest: true });
                assert.equal(result.uncompressedSize, input.length);
                assert.equal(result.uncompressedDigest, sha256(input));
                assert.deepEqual(result.annotations, {});
                assert.ok(runTool("gzip", ["-dc"], blob).equals(input));
                assert.ok((await decode(streamOf(blob), "gzip")).equals(input));
            });
        }
    }

    it("decodes multi-member gzip (what eStargz is) from a file", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "layerscope-gz-"));
        try {
            const a = textBytes(100000);
            const b = randomBytes(70000, 2);
            const file = path.join(dir, "multi.gz");
            fs.writeFileSync(file, Buffer.concat([gzipSync(a), (await encode({ type: "gzip", level: 0 }, b)).blob]));
            assert.ok((await decode(file, "gzip")).equals(Buffer.concat([a, b])));
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("reports undecodable and truncated gzip as Corrupt, a missing file as NotFound", async () => {
        const good = (await encode({ type: "gzip" }, textBytes(50000))).blob;
        await assert.rejects(decode(streamOf(Buffer.from("not gzip at all")), "gzip"), (e) => isEngineError(e, "Corrupt"));
        await assert.rejects(decode(streamOf(good.subarray(0, good.length - 20)), "gzip"), (e) => isEngineError(e, "Corrupt"));
        await assert.rejects(decode("/nonexistent/layerscope.gz", "gzip"), (e) => isEngineError(e, "NotFound"));
    });
});

describe("encoder write discipline", () => {
    const configs: CompressionConfig[] = [{ type: "uncompressed" }, { type: "gzip" }, { type: "gzip", level: 0 }];
    for (const config of configs) {
        it(`${config.type} level ${config.level ?? "default"}: overlapping writes give the sequential bytes`, async () => {
            const input = textBytes(3 << 20);
            const a = await encode(config, input, { chunk: 100000 });
            const b = await encode(config, input, { chunk: 100000, overlapping: true });
            assert.ok(a.blob.equals(b.blob));
        });
    }

    it("rejects writes and a second finish once finished, for every type", async () => {
        for (const type of ["uncompressed", "gzip", "zstd", "estargz"] as const) {
            const enc = createEncoder({ type }, { write: () => undefined });
            await enc.write(Buffer.alloc(1024));
            await enc.finish();
            await assert.rejects(enc.write(Buffer.alloc(1)), (e) => isEngineError(e, "FailedPrecondition"), type);
            await assert.rejects(enc.finish(), (e) => isEngineError(e, "FailedPrecondition"), type);
        }
    });

    it("uncompressed is a passthrough and can hash its input", async () => {
        const input = randomBytes(300000, 4);
        const { blob, result } = await encode({ type: "uncompressed" }, input, { computeUncompressedDigest: true });
        assert.ok(blob.equals(input));
        assert.equal(result.uncompressedDigest, sha256(input));
    });

    it("surfaces the output sink's error and rejects writes after abort", async () => {
        const failing = createEncoder({ type: "gzip" }, {
            write: async () => {
                throw Object.assign(new Error("disk full"), { code: "ENOSPC" });
            },
        });
        await assert.rejects(async () => {
            await failing.write(randomBytes(200000, 1));
            await failing.finish();
        });
        const enc = createEncoder({ type: "gzip" }, { write: () => undefined });
        await enc.write(textBytes(1000));
        enc.abort();
        await assert.rejects(enc.write(textBytes(10)), (e) => isEngineError(e, "Canceled"));
        await assert.rejects(enc.finish(), (e) => isEngineError(e, "Canceled"));
    });
});

/** A one-chunk stream of `b`. */
function streamOf(b: Buffer): AsyncIterable<Buffer> {
    return (async function* () {
        yield b;
    })();
}
