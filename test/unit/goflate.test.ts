/**
 * goflate: Go 1.19 compress/flate + compress/gzip in TypeScript, checked without Go. The
 * digests are real Go output: spec §9 vector 3 for the empty layer, and GOLDEN_DIGESTS
 * (test/fixtures/goflateDigests.ts), made with the oracle for every level.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { gunzipSync } from "node:zlib";
import { GoGzipEncoder } from "../../src/engine/compression/goflate/goGzipEncoder";
import { GoGzipMemberWriter } from "../../src/engine/compression/goflate/goGzipMember";
import { goGzipSync } from "../../src/engine/compression/goflate/goGzipWriter";
import { HuffmanEncoder } from "../../src/engine/compression/goflate/huffmanCode";
import { isEngineError } from "../../src/engine/errors";
import { GOLDEN_DIGESTS } from "../fixtures/goflateDigests";
import { randomBytes, sha256 } from "../helpers/compressionKit";
import {
    GO_LEVELS,
    goGzipChunked,
    goldenDigestInputs,
    goldenTars,
    mixedBytes,
    randomSizes,
    wordsBytes,
} from "../helpers/goflateInputs";

const EMPTY_TAR = Buffer.alloc(1024);

async function viaEncoder(data: Buffer, level: number, chunk: number): Promise<Buffer> {
    const out: Buffer[] = [];
    const enc = new GoGzipEncoder({ write: async (b) => void out.push(b) }, level, false);
    const pending: Promise<void>[] = [];
    for (let off = 0; off < data.length; off += chunk) {
        // Overlapping writes, as TarStream issues them.
        pending.push(enc.write(Buffer.from(data.subarray(off, off + chunk))));
    }
    await Promise.all(pending);
    await enc.finish();
    return Buffer.concat(out);
}

describe("goflate: spec §9 vector 3 (the empty layer, 1024 zero bytes)", () => {
    it("level -1 (BuildKit's default) gives the 32-byte blob sha256:4f4fb700…", () => {
        const blob = goGzipSync(EMPTY_TAR, -1);
        assert.equal(blob.toString("hex"), "1f8b08000000000000ff621805a360148c5800080000ffff2eafb5ef00040000");
        assert.equal(sha256(blob), "sha256:4f4fb700ef54461cfa02571ae0db9a0dc1e0cdb5577484a6d75e68dc38e8acc1");
    });

    it("levels 1, 9 and 0 give Go's digests and sizes", () => {
        const want: Array<[number, string, number]> = [
            [1, "89732bc7504122601f40269fc9ddfb70982e633ea9caf641ae45736f2846b004", 39],
            [9, "6063dee532dd8ff4b6ae61a1d115b108415499b7d5fe2bc4b003a717985e0a60", 32],
            [0, "1dd7676172fa2c57596a0b9db08d27561e217d6fc2d29c07b99af86c478ee12e", 1052],
        ];
        for (const [level, digest, size] of want) {
            const blob = goGzipSync(EMPTY_TAR, level);
            assert.equal(blob.length, size, `level ${level}`);
            assert.equal(sha256(blob), `sha256:${digest}`, `level ${level}`);
        }
    });

    it("the empty input is Go's 29-byte member at every level (an empty final stored block)", () => {
        for (const level of GO_LEVELS) {
            const blob = goGzipSync(Buffer.alloc(0), level);
            const xfl = level === 9 ? "02" : level === 1 ? "04" : "00";
            assert.equal(blob.toString("hex"), `1f8b080000000000${xfl}ff010000ffff0000000000000000`, `level ${level}`);
        }
    });
});

describe("goflate: Go's bytes at every level (digests made with the oracle)", () => {
    for (const [name, data] of goldenDigestInputs()) {
        it(name, () => {
            const want = GOLDEN_DIGESTS[name]!;
            for (const level of GO_LEVELS) {
                const blob = goGzipSync(data, level);
                assert.equal(`${sha256(blob)} ${blob.length}`, `sha256:${want[level]![0]} ${want[level]![1]}`, `level ${level}`);
            }
        });
    }
});

describe("goflate: the bytes do not depend on how the input is split into writes", () => {
    const inputs: Array<[string, Buffer]> = [
        ["1 byte", Buffer.from("x")],
        ["mixed", mixedBytes()],
        ["random 70000", randomBytes(70_000, 21)],
        ["words 20000", wordsBytes(20_000, 4)],
        ["golden tar", goldenTars()[0]![1]],
    ];
    for (const [name, data] of inputs) {
        it(name, async () => {
            for (const level of GO_LEVELS) {
                const whole = goGzipSync(data, level);
                const patterns: number[][] = [[1 << 30], [512], [32 * 1024], randomSizes(64, 70_000, level + 100)];
                if (data.length <= 20_000) {
                    patterns.push([1]);
                }
                // Single bytes around the 65535-byte windows of levels -2, 0 and 1.
                patterns.push([65_530, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
                for (const p of patterns) {
                    const got = await goGzipChunked(data, level, p);
                    assert.ok(got.equals(whole), `level ${level}, writes of ${p.length === 1 ? p[0] : "random sizes"}`);
                }
                assert.ok(gunzipSync(whole).equals(data), `level ${level} round trip`);
            }
        });
    }
});

describe("goflate: encoder and member plumbing", () => {
    it("GoGzipEncoder writes the same blob as goGzipSync with overlapping writes", async () => {
        const data = wordsBytes(200_000, 5);
        for (const level of [-1, 1, 9]) {
            assert.ok((await viaEncoder(data, level, 7000)).equals(goGzipSync(data, level)), `level ${level}`);
        }
        assert.ok((await viaEncoder(Buffer.alloc(0), -1, 1)).equals(goGzipSync(Buffer.alloc(0), -1)));
    });

    it("GoGzipMemberWriter writes the header at open and one member per open/close", async () => {
        const out: Buffer[] = [];
        const sink = { write: (b: Buffer): void => void out.push(b) };
        const m = await GoGzipMemberWriter.open(sink, 6);
        assert.equal(Buffer.concat(out).toString("hex"), "1f8b08000000000000ff");
        await m.write(EMPTY_TAR);
        await m.close();
        assert.ok(Buffer.concat(out).equals(goGzipSync(EMPTY_TAR, 6)));
    });

    it("rejects a level outside -2..9 with InvalidArgument", async () => {
        await assert.rejects(GoGzipMemberWriter.open({ write: () => undefined }, 10), (e) => isEngineError(e, "InvalidArgument"));
        await assert.rejects(GoGzipMemberWriter.open({ write: () => undefined }, -3), (e) => isEngineError(e, "InvalidArgument"));
    });

    it("limits Huffman codes to 15 bits on a Fibonacci-skewed histogram", () => {
        const freq = new Int32Array(286);
        let [a, b] = [1, 1];
        for (let i = 0; i < 30; i++) {
            freq[i] = a;
            [a, b] = [b, a + b];
        }
        const h = new HuffmanEncoder(286);
        h.generate(freq, 15);
        const lens = Array.from(h.len.subarray(0, 30));
        assert.equal(Math.max(...lens), 15);
        // Kraft: a complete prefix code.
        assert.equal(lens.reduce((s, l) => s + 2 ** -l, 0), 1);
    });
});
