/**
 * goflate against Go itself: every level Go's gzip accepts (-2..9), on inputs from empty to
 * 17 MiB (past Go's hash-offset rebase at 16 MiB), fed in several write patterns, must give the
 * oracle's blob (`oracle compress --level L gzip`, containerd's CompressStream over Go 1.19's
 * compress/gzip) byte for byte. Also re-checks GOLDEN_DIGESTS,
 * which the unit test uses without Go.
 *
 *   LAYERSCOPE_ORACLE=/path/to/oracle   required, else the suite is skipped
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import { goGzipSync } from "../../src/engine/compression/goflate/goGzipWriter";
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

const ORACLE = process.env.LAYERSCOPE_ORACLE;
const SKIP = ORACLE ? false : "set LAYERSCOPE_ORACLE=… (bash ../shared/oracle/build.sh) to compare with the oracle";
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "layerscope-goflate-oracle-"));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

interface OracleBlob {
    readonly digest: string;
    readonly size: number;
}

let seq = 0;
/** The oracle's gzip of `data` at `level`: digest and size (`compress --level L gzip`). */
function oracleGzip(data: Buffer, level: number): OracleBlob {
    const input = path.join(tmp, `in-${seq++}`);
    fs.writeFileSync(input, data);
    const r = spawnSync(ORACLE!, ["compress", "--level", String(level), "gzip", input, path.join(tmp, "out")], {
        encoding: "utf8",
    });
    fs.rmSync(input);
    if (r.status !== 0) {
        throw new Error(`oracle compress --level ${level} failed (${r.status}): ${r.stdout}${r.stderr}`);
    }
    const j = JSON.parse(r.stdout) as { digest: string; size: number };
    return { digest: j.digest, size: j.size };
}

/** Sizes where Go's blocks and windows turn over: stored/BestSpeed blocks, the 32 KiB window. */
function boundaryInputs(): Array<[string, Buffer]> {
    const out: Array<[string, Buffer]> = [];
    const words = wordsBytes(4 * 65536 + 1, 3);
    const rnd = randomBytes(4 * 65536 + 1, 17);
    for (const n of [16, 17, 127, 128, 258, 262, 65535, 65536, 65537, 2 * 32768 - 262, 3 * 32768 - 1, 3 * 32768, 3 * 32768 + 1, 4 * 65536 + 1]) {
        out.push([`words ${n}`, words.subarray(0, n)]);
        out.push([`random ${n}`, rnd.subarray(0, n)]);
    }
    // 16384 tokens (a full deflate block) of literals then matches.
    out.push(["random then zeros", Buffer.concat([randomBytes(16_383, 5), Buffer.alloc(40_000)])]);
    return out;
}

function inputs(): Array<[string, Buffer]> {
    return [
        ["empty", Buffer.alloc(0)],
        ["1 byte", Buffer.from([0x2a])],
        ["1024 zeros", Buffer.alloc(1024)],
        ["random 64 KiB", randomBytes(64 * 1024, 1)],
        ["random 1 MiB", randomBytes(1 << 20, 2)],
        ["words 4 MiB", wordsBytes(4 << 20, 9)],
        ["mixed", mixedBytes()],
        ...boundaryInputs(),
        ...goldenTars(),
    ];
}

async function assertLikeGo(name: string, data: Buffer, level: number): Promise<void> {
    const want = oracleGzip(data, level);
    const whole = goGzipSync(data, level);
    assert.equal(`${sha256(whole)} ${whole.length}`, `${want.digest} ${want.size}`, `${name}, level ${level}, one write`);
    const patterns: number[][] = [randomSizes(200, 100_000, data.length + level)];
    if (data.length <= 1 << 20) {
        patterns.push([512, 32 * 1024]);
    }
    if (data.length <= 20_000) {
        patterns.push([1]);
    } else {
        // Single bytes around the 65535-byte windows of levels -2, 0 and 1.
        patterns.push([65_530, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
    }
    for (const p of patterns) {
        const got = await goGzipChunked(data, level, p);
        assert.ok(got.equals(whole), `${name}, level ${level}, writes of ${p.join("/").slice(0, 30)}`);
    }
}

describe("goflate against Go's compress/gzip (oracle)", { skip: SKIP }, () => {
    for (const level of GO_LEVELS) {
        it(`level ${level}`, async () => {
            for (const [name, data] of inputs()) {
                await assertLikeGo(name, data, level);
            }
        });
    }

    it("17 MiB of words (hash offsets rebased at 16 MiB) at levels -1, 1, 2, 4, 9", async () => {
        const data = wordsBytes(17 << 20, 13);
        for (const level of [-1, 1, 2, 4, 9]) {
            const want = oracleGzip(data, level);
            const got = await goGzipChunked(data, level, [1 << 20, 32 * 1024, 512]);
            assert.equal(`${sha256(got)} ${got.length}`, `${want.digest} ${want.size}`, `level ${level}`);
        }
    });

    it("the unit test's GOLDEN_DIGESTS are the oracle's", () => {
        const fresh: Record<string, Record<number, [string, number]>> = {};
        for (const [name, data] of goldenDigestInputs()) {
            fresh[name] = {};
            for (const level of GO_LEVELS) {
                const b = oracleGzip(data, level);
                fresh[name]![level] = [b.digest.slice("sha256:".length), b.size];
            }
        }
        // On a mismatch the message carries the table to paste into test/fixtures/goflateDigests.ts.
        assert.deepEqual(GOLDEN_DIGESTS, fresh, JSON.stringify(fresh, null, 4));
    });
});
