/**
 * Layer contents against containerd and stargz-snapshotter themselves: two hand-written layer
 * tars (whiteouts, an opaque directory, hard links, symlinks, a fifo, xattrs, a name that is not
 * UTF-8, files over many eStargz chunks) are compressed by the oracle (gzip, zstd, estargz.Build
 * with 64 KiB chunks, BuildKit's lossless estargz) and applied in order by containerd's
 * `archive.Apply`; the merged view Layerscope reads from the oracle's blobs must be that tree.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import type { CompressionType, Digest } from "../../src/engine";
import { indexBlob } from "../../src/engine/contents/blobLayers";
import { TreeContents } from "../../src/engine/contents/treeContents";
import { MergedTree } from "../../src/engine/fs/mergedTree";
import { readContents, shaOf, walkContents, walkDisk } from "../helpers/contentsOracle";
import { type TarEntrySpec, tarOf } from "../helpers/tarBuilder";

const oracle = process.env.LAYERSCOPE_ORACLE;
const ROOT = process.getuid?.() === 0;
const dir = mkdtempSync(join(tmpdir(), "layerscope-contents-oracle-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[]): Record<string, unknown> {
    const r = spawnSync(oracle!, args, { encoding: "utf8", maxBuffer: 1 << 26 });
    if (r.status !== 0) throw new Error(`oracle ${args.join(" ")}: ${r.stdout}${r.stderr}`);
    return JSON.parse(r.stdout) as Record<string, unknown>;
}

const T = 1700000000;
const big = randomBytes(300_000);
const NON_UTF8 = Buffer.concat([Buffer.from("docs/r"), Buffer.of(0xe9), Buffer.from("sum")]);
const lower: TarEntrySpec[] = [
    { name: "etc/", type: "5", mode: 0o755, mtime: T },
    { name: "etc/hosts", data: Buffer.from("127.0.0.1 localhost\n"), mode: 0o644, mtime: T },
    { name: "etc/gone", data: Buffer.from("gone\n"), mode: 0o644, mtime: T },
    { name: "opt/", type: "5", mode: 0o755, mtime: T },
    { name: "opt/a", data: Buffer.from("a"), mode: 0o644, mtime: T },
    { name: "opt/sub/", type: "5", mode: 0o700, uid: 1000, gid: 1000, mtime: T },
    { name: "opt/sub/b", data: Buffer.from("b"), mode: 0o640, uid: 1000, gid: 1000, mtime: T },
    { name: "bin/", type: "5", mode: 0o755, mtime: T },
    { name: "bin/tool", data: big, mode: 0o755, mtime: T, pax: { "SCHILY.xattr.user.origin": "lower" } },
    { name: "bin/tool-link", type: "1", linkname: "bin/tool", mtime: T },
    { name: "bin/sh", type: "2", linkname: "/bin/tool", mtime: T },
    { name: "docs/", type: "5", mode: 0o755, mtime: T },
    { name: NON_UTF8, data: Buffer.from("non-utf-8 name\n"), mode: 0o644, mtime: T },
];
const upper: TarEntrySpec[] = [
    { name: "etc/", type: "5", mode: 0o755, mtime: T + 60 },
    { name: "etc/.wh.gone", data: Buffer.alloc(0), mode: 0o644, mtime: 0 },
    { name: "etc/hosts", data: Buffer.from("10.0.0.1 db\n"), mode: 0o600, mtime: T + 60 },
    { name: "opt/", type: "5", mode: 0o755, mtime: T + 60 },
    { name: "opt/.wh..wh..opq", data: Buffer.alloc(0), mode: 0o644, mtime: 0 },
    { name: "opt/new", data: randomBytes(200_000), mode: 0o644, mtime: T + 60 },
    { name: "run/", type: "5", mode: 0o755, mtime: T + 60 },
    { name: "run/pipe", type: "6", mode: 0o644, mtime: T + 60 },
    ...(ROOT ? [{ name: "run/null", type: "3", devmajor: 1, devminor: 3, mode: 0o666, mtime: T + 60 }] : []),
];

const MODES: Array<{ mode: string; args: string[]; compression: CompressionType; mediaType: string }> = [
    { mode: "gzip", args: ["gzip"], compression: "gzip", mediaType: "application/vnd.oci.image.layer.v1.tar+gzip" },
    { mode: "zstd", args: ["zstd"], compression: "zstd", mediaType: "application/vnd.oci.image.layer.v1.tar+zstd" },
    { mode: "estargz (Build, 64 KiB chunks)", args: ["--chunk-size", "65536", "estargz"], compression: "estargz", mediaType: "application/vnd.oci.image.layer.v1.tar+gzip" },
    { mode: "estargz-lossless", args: ["estargz-lossless"], compression: "estargz", mediaType: "application/vnd.oci.image.layer.v1.tar+gzip" },
];

describe("layer contents from the oracle's blobs", { skip: !oracle && "set LAYERSCOPE_ORACLE to compare with containerd" }, () => {
    for (const m of MODES) {
        it(`${m.mode}: the merged view of two layers is containerd's archive.Apply of them`, async () => {
            const sub = mkdtempSync(join(dir, "case-"));
            const applied = join(sub, "applied");
            mkdirSync(applied);
            const trees = [];
            for (const [i, entries] of [lower, upper].entries()) {
                const tar = join(sub, `l${i}.tar`);
                writeFileSync(tar, tarOf(entries));
                const blob = join(sub, `l${i}.blob`);
                const out = run(["compress", ...m.args.slice(0, -1), m.args[m.args.length - 1]!, tar, blob]);
                run(["apply", blob, applied]);
                const tree = await indexBlob({ refId: `l${i}`, digest: out.digest as Digest, mediaType: m.mediaType, compression: m.compression, size: statSync(blob).size, path: blob, annotations: m.compression === "estargz" ? { "containerd.io/snapshot/stargz/toc.digest": out.tocDigest as string } : {} });
                // The lower layer has a name that is not UTF-8: its TOC cannot spell it, so its tar is read.
                if (m.compression === "estargz") assert.equal(tree.indexedFrom, i === 0 ? "tar" : "toc");
                trees.push(tree);
            }
            const c = new TreeContents({ refId: "upper", view: "merged", origin: { kind: "snapshot", dirs: [] }, lowerRefId: null, tree: new MergedTree(trees, "merged", false), lower: null });
            const disk = walkDisk(applied);
            // estargz.Build's tar has no end-of-archive blocks before its TOC entry, so Apply
            // extracts stargz.index.json; Layerscope treats the TOC as the blob's index, not as
            // layer content (as BuildKit's unpack and Layerscope's import do).
            disk.delete("/stargz.index.json");
            const seen = await walkContents(c);
            assert.deepEqual([...seen.keys()].sort(), [...disk.keys()].sort());
            for (const [p, d] of disk) {
                const e = seen.get(p)!;
                assert.equal(e.type === "hardlink" ? "file" : e.type, d.type, p);
                assert.equal(e.mode, d.mode, p);
                assert.equal(e.uid, d.uid, p);
                assert.equal(e.gid, d.gid, p);
                if (d.type !== "dir") assert.equal(e.mtimeNs / 1_000_000_000n, d.mtimeNs / 1_000_000_000n, p);
                if (d.type === "file") assert.equal(shaOf(await readContents(c, e.path)), d.sha, `${p}: content`);
                if (d.type === "symlink") assert.deepEqual(Buffer.from(e.linkTarget!), d.target, p);
            }
            const ranged = await readContents(c, "/bin/tool", { start: 65_000, end: 200_123 });
            assert.deepEqual(ranged, big.subarray(65_000, 200_123));
        });
    }
});
