/**
 * Layer tars written by hand (not by our differ) read as layer contents: OCI whiteouts and
 * opaque directories, entries repeated in one layer, implicit parents, links, and hostile tars
 * that must fail with a specific error code instead of escaping the layer or crashing.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { after, describe, it } from "node:test";
import type { CompressionType, Digest } from "../../src/engine";
import { indexBlob } from "../../src/engine/contents/blobLayers";
import { indexTarStream } from "../../src/engine/contents/indexTar";
import { UncompressedPayloads } from "../../src/engine/contents/payloadSources";
import { Readable } from "node:stream";
import { TreeContents } from "../../src/engine/contents/treeContents";
import { MAX_LAYER_NODES, type TarIndexTree } from "../../src/engine/contents/tarIndexTree";
import { MergedTree } from "../../src/engine/fs/mergedTree";
import { EmptyTree } from "../../src/engine/fs/emptyTree";
import { readContents, walkContents } from "../helpers/contentsOracle";
import { type TarEntrySpec, tarOf } from "../helpers/tarBuilder";

const dir = mkdtempSync(join(tmpdir(), "layerscope-tarindex-"));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

async function index(entries: TarEntrySpec[] | Buffer, compression: CompressionType = "uncompressed"): Promise<TarIndexTree> {
    const tar = Buffer.isBuffer(entries) ? entries : tarOf(entries);
    const blob = compression === "gzip" ? gzipSync(tar) : tar;
    const path = join(dir, `blob${n++}`);
    writeFileSync(path, blob);
    return indexBlob({ refId: `l${n}`, digest: `sha256:${"0".repeat(64)}` as Digest, mediaType: "application/vnd.oci.image.layer.v1.tar", compression, size: blob.length, path });
}

function layerView(tree: TarIndexTree, lower: MergedTree | null): TreeContents {
    return new TreeContents({
        refId: "top", view: "layer", origin: { kind: "snapshot", dirs: [] }, lowerRefId: lower ? "below" : null, tree,
        lower: async () => lower ?? new EmptyTree(),
    });
}

function mergedView(trees: TarIndexTree[]): TreeContents {
    return new TreeContents({ refId: "top", view: "merged", origin: { kind: "snapshot", dirs: [] }, lowerRefId: null, tree: new MergedTree(trees, "merged", false), lower: null });
}

const file = (name: string, data: string, extra: Partial<TarEntrySpec> = {}): TarEntrySpec => ({ name, data: Buffer.from(data), mode: 0o644, ...extra });
const dirEntry = (name: string): TarEntrySpec => ({ name, type: "5", mode: 0o755 });

describe("layer tars written by hand", () => {
    it("opaque directories and whiteouts hide the lower layers only", async () => {
        const lower = await index([dirEntry("a/"), file("a/old", "old"), file("a/keep", "lower keep"), dirEntry("b/"), file("b/x", "x"), file("c", "c")]);
        const upper = await index([
            dirEntry("a/"), file("a/.wh..wh..opq", ""), file("a/keep", "upper keep"),
            file("b/.wh.x", ""), file(".wh.c", ""), file("c2", "c2"),
            file("d/.wh..wh..opq", ""), // an opaque marker in a directory the tar leaves implicit
        ], "gzip");
        const merged = mergedView([lower, upper]);
        const all = await walkContents(merged);
        assert.deepEqual([...all.keys()].sort(), ["/a", "/a/keep", "/b", "/c2", "/d"]);
        assert.equal((await readContents(merged, "/a/keep")).toString(), "upper keep");

        const layer = layerView(upper, new MergedTree([lower], "lower", false));
        const seen = await walkContents(layer);
        const changes = Object.fromEntries([...seen].map(([p, e]) => [p, `${e.change}${e.opaque ? " opaque" : ""} ${e.type}`]));
        assert.deepEqual(changes, {
            "/a": "modified opaque dir",
            "/a/keep": "modified file",
            "/b": "unchanged dir",
            "/b/x": "deleted file",
            "/c": "deleted file",
            "/c2": "added file",
            "/d": "added opaque dir",
        });
        assert.equal((await layer.stat("/b/x")).size, 1, "a deletion reports what it deletes");
    });

    it("a later entry replaces an earlier one; a whiteout never hides its own layer's entry", async () => {
        const t = await index([file("f", "first"), file("f", "second"), file("g", "g"), file(".wh.g", ""), dirEntry("h/"), file("h/in", "in"), dirEntry("h/")]);
        const m = mergedView([t]);
        assert.equal((await readContents(m, "/f")).toString(), "second");
        assert.equal((await readContents(m, "/g")).toString(), "g");
        assert.deepEqual((await m.list("/h")).map((e) => e.name), ["in"]);
    });

    it("hard links read their target; implicit parents are directories; absolute names are from the root", async () => {
        const t = await index([file("/usr/bin/tool", "tool!"), { name: "usr/bin/alias", type: "1", linkname: "/usr/bin/tool" }, { name: "lnk", type: "2", linkname: "../../../etc/passwd" }]);
        const m = mergedView([t]);
        const alias = await m.stat("/usr/bin/alias");
        assert.equal(alias.type, "hardlink");
        assert.equal(alias.linkTarget, "/usr/bin/tool");
        assert.equal(alias.size, 5);
        assert.equal(alias.nlink, 2);
        assert.equal((await readContents(m, "/usr/bin/alias")).toString(), "tool!");
        assert.equal((await m.stat("/usr")).type, "dir");
        const lnk = await m.stat("/lnk");
        assert.equal(lnk.linkTarget, "../../../etc/passwd", "a symlink target is shown, never followed");
        await assert.rejects(readContents(m, "/lnk"), { code: "InvalidArgument" });
    });

    it("a name given again is a new file: a hard link to the old one keeps its content and links (containerd unlinks, then creates)", async () => {
        const t = await index([file("a", "old"), { name: "b", type: "1", linkname: "a" }, file("a", "new")]);
        const m = mergedView([t]);
        assert.equal((await readContents(m, "/a")).toString(), "new");
        assert.equal((await readContents(m, "/b")).toString(), "old", "b still names the old inode");
        assert.equal((await m.stat("/a")).nlink, 1);
        assert.equal((await m.stat("/b")).nlink, 1, "the old inode lost its name 'a'");
        assert.equal((await m.stat("/b")).size, 3);

        // A file replaced by a directory (an implicit parent of a later entry): the link keeps the file.
        const d = await index([file("x", "file x"), { name: "y", type: "1", linkname: "x" }, file("x/inner", "inner")]);
        const md = mergedView([d]);
        assert.equal((await md.stat("/x")).type, "dir");
        assert.equal((await readContents(md, "/x/inner")).toString(), "inner");
        assert.equal((await readContents(md, "/y")).toString(), "file x");
        assert.equal((await md.stat("/y")).nlink, 1);

        // A directory replaced by a directory keeps its children; by a file, loses them.
        const r = await index([dirEntry("p/"), file("p/c", "c"), dirEntry("p/"), dirEntry("q/"), file("q/c", "c"), file("q", "now a file")]);
        const mr = mergedView([r]);
        assert.deepEqual((await mr.list("/p")).map((e) => e.name), ["c"]);
        assert.equal((await mr.stat("/q")).type, "file");
        assert.equal((await readContents(mr, "/q")).toString(), "now a file");
    });

    it("implicit parents count against the node limit: a small tar naming deep paths is refused as ResourceExhausted", async () => {
        const deep = (i: number): TarEntrySpec => ({ name: `k${i}`, data: Buffer.from("x"), pax: { path: `k${i}/${"a/".repeat(200)}f` } });
        const entries = Array.from({ length: 50 }, (_, i) => deep(i)); // 50 entries, 10,100 nodes
        const open = (maxNodes?: number): Promise<TarIndexTree> => {
            const path = join(dir, `blob${n++}`);
            writeFileSync(path, tarOf(entries));
            return indexTarStream(Readable.from([tarOf(entries)]), "blob sha256:hostile", new UncompressedPayloads(path, 0), undefined, maxNodes);
        };
        const fits = await open(20_000);
        assert.equal(fits.entries, 50);
        assert.equal(fits.nodes, 1 + 50 * 202, "the root, each entry and its 201 implicit parents");
        await assert.rejects(open(5_000), (err: { code?: string; message?: string; data?: { limit?: number } }) => {
            assert.equal(err.code, "ResourceExhausted");
            assert.match(err.message ?? "", /blob sha256:hostile: .*5000 nodes.*limit/);
            assert.equal(err.data?.limit, 5_000);
            return true;
        });
        // The default limit holds for the ordinary path too.
        assert.ok(MAX_LAYER_NODES <= 4_000_000);
    });

    it("hostile tars fail with specific codes", async () => {
        await assert.rejects(index([file("../escape", "x")]), { code: "UnsafePath" });
        await assert.rejects(index([file("a/../../escape", "x")]), { code: "UnsafePath" });
        await assert.rejects(index([file("a/.wh..", "")]), { code: "UnsafePath" });
        const good = tarOf([file("a", "0123456789".repeat(100))]);
        await assert.rejects(index(good.subarray(0, 700)), { code: "Corrupt" }, "truncated inside a payload");
        const bad = Buffer.from(good);
        bad[148] ^= 0x01; // header checksum
        await assert.rejects(index(bad), { code: "Corrupt" });
        await assert.rejects(index(Buffer.from("definitely not gzip"), "gzip"), { code: "Corrupt" });
        await assert.rejects(index(gzipSync(good).subarray(0, 40), "gzip"), { code: "Corrupt" });
        await assert.rejects(index([{ name: "sock", type: "S", data: Buffer.alloc(0) }]), (err: { code?: string }) => err.code === "Unsupported" || err.code === "Corrupt");
        const deep = "d/".repeat(3000);
        await assert.rejects(index([{ name: "deep", data: Buffer.from("x"), pax: { path: `${deep}f` } }]), { code: "Unsupported" }, "deeper than PATH_MAX allows");
        const dangling = await index([{ name: "l", type: "1", linkname: "not-here" }]);
        await assert.rejects(readContents(mergedView([dangling]), "/l"), { code: "NotFound" });
    });
});
