/**
 * Blob digests equal BuildKit's: the engine's default gzip and eStargz (the Go-exact deflate)
 * against the oracle's `compress` (Go's compress/gzip, stargz-snapshotter's lossless writer),
 * on the golden layer tars at several levels. The empty-layer vector runs without Go.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { readFileSync } from "node:fs";
import { after, describe, it } from "node:test";
import { compressFile } from "../../src/engine";

const oracle = process.env.LAYERSCOPE_ORACLE;
const work = mkdtempSync(join(tmpdir(), "layerscope-compress-"));
after(() => rmSync(work, { recursive: true, force: true }));
const goldenDir = join(__dirname, "..", "..", "..", "test", "fixtures", "golden");

describe("compress: digests equal BuildKit's", () => {
    it("gzip of the empty layer is sha256:4f4fb700… (32 bytes), eStargz of it spec vector 3", async () => {
        const tar = join(work, "empty.tar");
        writeFileSync(tar, Buffer.alloc(1024));
        const gz = await compressFile(tar, { type: "gzip" });
        assert.equal(gz.digest, "sha256:4f4fb700ef54461cfa02571ae0db9a0dc1e0cdb5577484a6d75e68dc38e8acc1");
        assert.equal(gz.size, 32);
        assert.equal(gz.buildkitComparable, true);
        const esgz = await compressFile(tar, { type: "estargz" });
        assert.equal(esgz.digest, "sha256:6616d0fdd6dd05b2515b5c83800740fd633a514238fe7caa3f7eeda7f89ad988");
        assert.equal(esgz.diffID, "sha256:63780bb77499d981523cbe6ee5cb26d5bbefce35531f0a8f4837fa14fcae9cda");
        assert.equal(esgz.annotations["io.containers.estargz.uncompressed-size"], "3072");
        const fast = await compressFile(tar, { type: "gzip", gzipImpl: "fast" });
        assert.equal(fast.buildkitComparable, false);
        assert.equal(fast.diffID, gz.diffID);
    });

    const cases = readdirSync(goldenDir).filter((f) => f.endsWith(".tar.gz") && !f.includes(".wt0.")).slice(0, 12);
    for (const name of cases) {
        it(`${name}: gzip and eStargz at levels -1, 0, 1, 6, 9 equal the oracle's`, { skip: !oracle && "set LAYERSCOPE_ORACLE to compare with Go" }, async () => {
            const tar = join(work, name.replace(/\.gz$/, ""));
            writeFileSync(tar, gunzipSync(readFileSync(join(goldenDir, name))));
            for (const level of [-1, 0, 1, 6, 9]) {
                for (const [type, mode] of [["gzip", "gzip"], ["estargz", "estargz-lossless"]] as const) {
                    const out = JSON.parse(execFileSync(oracle!, ["compress", "--level", String(level), mode, tar, join(work, "oracle.blob")], { encoding: "utf8" })) as { digest: string; diffID: string };
                    const ours = await compressFile(tar, { type, level });
                    assert.equal(ours.digest, out.digest, `${type} level ${level}`);
                    assert.equal(ours.diffID, out.diffID, `${type} level ${level} diffID`);
                }
            }
        });
    }
});
