/**
 * The zstd encoder (independent 4 MiB frames with content size and XXH64 checksum) and the
 * bounded-memory decoder (native for bounded frames, fzstd block by block for large ones),
 * checked against Debian's `zstd` and hand-built frames (RFC 8878).
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import { isEngineError } from "../../src/engine/errors";
import { Xxh64, xxh64 } from "../../src/engine/compression/xxh64";
import { FRAME_INPUT } from "../../src/engine/compression/zstdEncoder";
import { parseFrameHeader } from "../../src/engine/compression/zstdFrame";
import { toZstdEncoderLevel, ZSTD_NATIVE_LEVEL } from "../../src/engine/compression/levels";
import { zstdCompress } from "../../src/engine/compression/zstdNative";
import { decode, encode, hasTool, randomBytes, runTool, sha256, textBytes } from "../helpers/compressionKit";

const NO_ZSTD = hasTool("zstd") ? false : "Debian's zstd is not installed (apt-get install zstd)";
const INPUTS: Array<[string, Buffer]> = [
    ["0 bytes", Buffer.alloc(0)],
    ["the empty tar", Buffer.alloc(1024)],
    ["1 MiB random", randomBytes(1 << 20, 3)],
    ["9 MiB text", textBytes(9 << 20)],
    ["9 MiB random", randomBytes(9 << 20, 5)],
];
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "layerscope-zstd-"));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function streamOf(...parts: Buffer[]): AsyncIterable<Buffer> {
    return (async function* () {
        yield* parts;
    })();
}

/** The frames of a zstd stream, walked by their headers and block headers. */
function frames(blob: Buffer): Array<{ contentSize: number | undefined; hasChecksum: boolean; length: number }> {
    const out = [];
    for (let p = 0; p < blob.length; ) {
        const h = parseFrameHeader(blob.subarray(p, p + 18));
        let q = p + h.headerSize;
        for (let last = false; !last; ) {
            const v = blob[q]! | (blob[q + 1]! << 8) | (blob[q + 2]! << 16);
            last = (v & 1) === 1;
            q += 3 + (((v >> 1) & 3) === 1 ? 1 : v >>> 3);
        }
        q += h.hasChecksum ? 4 : 0;
        out.push({ contentSize: h.contentSize, hasChecksum: h.hasChecksum, length: q - p });
        p = q;
    }
    return out;
}

interface RawFrameOptions { windowLog?: number; checksum?: "good" | "bad" | "none"; dictionary?: boolean }

/** A frame of raw blocks (no compression), so any window and content can be built by hand. */
function rawFrame(content: Buffer, o: RawFrameOptions = {}): Buffer {
    const checksum = o.checksum ?? "good";
    const fhd = (3 << 6) | (checksum === "none" ? 0 : 4) | (o.dictionary ? 1 : 0);
    const head = [0x28, 0xb5, 0x2f, 0xfd, fhd, ((o.windowLog ?? 23) - 10) << 3];
    if (o.dictionary) head.push(7);
    const fcs = Buffer.alloc(8);
    fcs.writeBigUInt64LE(BigInt(content.length));
    const parts: Buffer[] = [Buffer.from(head), fcs];
    const max = 128 * 1024;
    for (let off = 0; off < content.length || off === 0; off += max) {
        const n = Math.min(max, content.length - off);
        const last = off + max >= content.length ? 1 : 0;
        const v = last | (n << 3);
        parts.push(Buffer.from([v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff]), content.subarray(off, off + n));
        if (content.length === 0) break;
    }
    if (checksum !== "none") {
        const sum = Buffer.alloc(4);
        sum.writeUInt32LE((xxh64(content)[1] ^ (checksum === "bad" ? 1 : 0)) >>> 0);
        parts.push(sum);
    }
    return Buffer.concat(parts);
}

describe("zstd encoder", () => {
    for (const level of [undefined, 0, 9]) {
        for (const [label, input] of INPUTS) {
            it(`level ${level ?? "default"}, ${label}: zstd -t/-d and our decoder agree`, { skip: NO_ZSTD }, async () => {
                const { blob, result } = await encode({ type: "zstd", level }, input, { computeUncompressedDigest: true });
                assert.equal(result.uncompressedDigest, sha256(input));
                runTool("zstd", ["-t", "-q"], blob);
                assert.ok(runTool("zstd", ["-dc"], blob).equals(input));
                assert.ok((await decode(streamOf(blob), "zstd")).equals(input));
            });
        }
    }

    it("compresses at the libzstd level standing in for BuildKit's speed (the binding's default is not used)", async () => {
        // Real source text (TypeScript's compiler, pinned by the lockfile): levels rank as they do on layers.
        const input = fs.readFileSync(require.resolve("typescript/lib/typescript.js")).subarray(0, 3 << 20);
        assert.equal(input.length, 3 << 20);
        const sizes: number[] = [];
        // BuildKit levels 1, default, 7 and 9: SpeedFastest, SpeedDefault, SpeedBetterCompression, SpeedBestCompression.
        for (const level of [1, undefined, 7, 9]) {
            const native = ZSTD_NATIVE_LEVEL[toZstdEncoderLevel(level)];
            const { blob } = await encode({ type: "zstd", level }, input);
            const [frame] = frames(blob);
            assert.equal(frame!.length, blob.length, "one frame");
            // The frame's blocks are libzstd's at that level: the same bytes as a direct call, past
            // the header (ours adds the content size) and before the checksum (ours adds it).
            const direct = await zstdCompress(input, native);
            const h = parseFrameHeader(direct.subarray(0, 18));
            const hb = parseFrameHeader(blob.subarray(0, 18));
            assert.ok(blob.subarray(hb.headerSize, blob.length - 4).equals(direct.subarray(h.headerSize)), `level ${level ?? "default"} → libzstd ${native}`);
            sizes.push(blob.length);
        }
        // Each speed really is a different level: fastest is the largest, best the smallest.
        assert.ok(sizes[0]! > sizes[1]! && sizes[1]! > sizes[2]! && sizes[2]! > sizes[3]!, `sizes ${sizes.join(", ")}`);
    });

    it("cuts the tar into independent 4 MiB frames, each with its content size and checksum", async () => {
        const input = textBytes(2 * FRAME_INPUT + 12345);
        const { blob } = await encode({ type: "zstd" }, input, { chunk: 777777, overlapping: true });
        const f = frames(blob);
        assert.deepEqual(f.map((x) => x.contentSize), [FRAME_INPUT, FRAME_INPUT, 12345]);
        assert.ok(f.every((x) => x.hasChecksum));
        assert.deepEqual(frames((await encode({ type: "zstd" }, Buffer.alloc(0))).blob).map((x) => x.contentSize), [0]);
        assert.deepEqual(frames((await encode({ type: "zstd" }, Buffer.alloc(100, 1))).blob).map((x) => x.contentSize), [100]);
    });
});

describe("zstd decoder", () => {
    it("reads Debian zstd frames with and without a content size", { skip: NO_ZSTD }, async () => {
        const input = textBytes(3 << 20);
        const file = path.join(tmp, "in.bin");
        fs.writeFileSync(file, input);
        const sized = runTool("zstd", ["-q", "-c", file]);
        const streamed = runTool("zstd", ["-q", "-c"], input); // from a pipe: no content size
        assert.equal(frames(streamed)[0]!.contentSize, undefined);
        for (const blob of [sized, streamed, Buffer.concat([sized, streamed])]) {
            const want = blob === sized || blob === streamed ? input : Buffer.concat([input, input]);
            assert.ok((await decode(streamOf(blob), "zstd")).equals(want));
        }
    });

    it("streams a frame too large to buffer (one klauspost-style frame) through fzstd", { skip: NO_ZSTD }, async () => {
        const input = textBytes(40 << 20);
        const file = path.join(tmp, "big.zst");
        fs.writeFileSync(file, runTool("zstd", ["-q", "-c", "-3"], input));
        assert.equal(frames(fs.readFileSync(file)).length, 1);
        assert.equal(sha256(await decode(file, "zstd")), sha256(input));
    });

    it("checks content checksums on both paths and refuses what it cannot decode safely", async () => {
        const big = randomBytes(33 << 20, 8); // more than NATIVE_LIMIT: the streaming path
        const small = randomBytes(100000, 8);
        assert.ok((await decode(streamOf(rawFrame(big)), "zstd")).equals(big));
        assert.ok((await decode(streamOf(rawFrame(small)), "zstd")).equals(small));
        for (const input of [big, small]) {
            await assert.rejects(decode(streamOf(rawFrame(input, { checksum: "bad" })), "zstd"), (e) => isEngineError(e, "Corrupt"));
        }
        // fzstd 0.1.1 decodes 128 MiB windows wrongly: refused, not trusted.
        await assert.rejects(decode(streamOf(rawFrame(big, { windowLog: 27 })), "zstd"), (e) => isEngineError(e, "Unsupported"));
        await assert.rejects(decode(streamOf(rawFrame(small, { dictionary: true })), "zstd"), (e) => isEngineError(e, "Unsupported"));
    });

    it("skips skippable frames and rejects empty, foreign and truncated input", async () => {
        const a = textBytes(5000);
        const skippable = Buffer.concat([Buffer.from([0x5a, 0x2a, 0x4d, 0x18, 3, 0, 0, 0]), Buffer.from("abc")]);
        const blob = Buffer.concat([skippable, rawFrame(a, { checksum: "none" }), skippable, rawFrame(a)]);
        assert.ok((await decode(streamOf(blob.subarray(0, 5), blob.subarray(5)), "zstd")).equals(Buffer.concat([a, a])));
        for (const bad of [Buffer.alloc(0), Buffer.from("definitely not zstd"), rawFrame(a).subarray(0, 100)]) {
            await assert.rejects(decode(streamOf(bad), "zstd"), (e) => isEngineError(e, "Corrupt"));
        }
    });
});

describe("xxh64", () => {
    const hex = ([h, l]: [number, number]): string => h.toString(16).padStart(8, "0") + l.toString(16).padStart(8, "0");

    it("matches the reference vectors", () => {
        assert.equal(hex(xxh64(Buffer.alloc(0))), "ef46db3751d8e999");
        assert.equal(hex(xxh64(Buffer.from("a"))), "d24ec4f1a98c6e5b");
        assert.equal(hex(xxh64(Buffer.from("abc"))), "44bc2cf5ad770999");
    });

    it("gives the same digest streamed, one-shot, with and without WebAssembly", () => {
        const data = randomBytes(200003, 11);
        for (const n of [0, 31, 32, 33, 4095, 4096, 100000, 200003]) {
            const d = data.subarray(0, n);
            const h = new Xxh64();
            for (let off = 0; off < n; off += 7777) h.update(d.subarray(off, off + 7777));
            assert.equal(hex(h.digest()), hex(xxh64(d, false)), String(n));
            assert.equal(hex(xxh64(d)), hex(xxh64(d, false)), String(n));
        }
    });
});
