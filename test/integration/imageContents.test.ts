/**
 * Images read in place, without importing: an OCI layout, the same as an OCI archive (blobs as
 * byte ranges of one tar) and a `docker save` archive. Layers in four compressions (told from
 * their bytes), whiteouts, an opaque directory, hard links, a name that is not UTF-8; layers
 * named by index, diffID, digest or prefix; sizes; specific errors.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { after, before, describe, it } from "node:test";
import { openImageSource, type ImageSource } from "../../src/engine";
import { encode } from "../helpers/compressionKit";
import { readContents, walkContents } from "../helpers/contentsOracle";
import { sha256, writeLayout } from "../helpers/ociLayout";
import { type TarEntrySpec, tarOf } from "../helpers/tarBuilder";

const dir = mkdtempSync(join(tmpdir(), "layerscope-image-contents-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const T = 1700000000;
const f = (name: string | Buffer, data: string): TarEntrySpec => ({ name, data: Buffer.from(data), mode: 0o644, mtime: T });
const d = (name: string): TarEntrySpec => ({ name, type: "5", mode: 0o755, mtime: T });
const WEIRD = Buffer.concat([Buffer.from("etc/r"), Buffer.of(0xe9), Buffer.from("sum")]);
const tars = [
    tarOf([d("etc/"), f("etc/a", "A0"), f("etc/b", "B0"), d("opt/"), f("opt/x", "X"), f(WEIRD, "latin1 name")]),
    tarOf([d("etc/"), f("etc/.wh.b", ""), f("etc/a", "A1 longer"), d("new/"), f("new/n", "N")]),
    tarOf([d("opt/"), f("opt/.wh..wh..opq", ""), f("opt/y", "Y")]),
    tarOf([d("data/"), f("data/f", "F".repeat(1000)), { name: "data/h", type: "1", linkname: "data/f", mode: 0o644, mtime: T }]),
];
const TOP = ["/data", "/data/f", "/data/h", "/etc", "/etc/a", `/etc/r${"\u00e9"}sum`, "/new", "/new/n", "/opt", "/opt/y"];
let layout = "";
let archive = "";
let dockerArchive = "";

before(async () => {
    const blobs = [
        tars[0]!,
        gzipSync(tars[1]!),
        (await encode({ type: "zstd" }, tars[2]!)).blob,
        (await encode({ type: "estargz", gzipImpl: "fast" }, tars[3]!)).blob,
    ];
    const types = ["", "+gzip", "+zstd", "+gzip"].map((t) => `application/vnd.oci.image.layer.v1.tar${t}`);
    layout = join(dir, "layout");
    writeLayout(layout, blobs.map((blob, i) => ({ blob, mediaType: types[i]!, diffID: sha256(tars[i]!) })));
    archive = join(dir, "image.tar");
    execFileSync("tar", ["-C", layout, "-cf", archive, "."]);
    // docker save: manifest.json naming a config and one uncompressed layer.tar per layer.
    const save = join(dir, "save");
    mkdirSync(save);
    const config = { architecture: process.arch === "x64" ? "amd64" : process.arch, os: "linux", rootfs: { type: "layers", diff_ids: tars.map(sha256) } };
    writeFileSync(join(save, "config.json"), JSON.stringify(config));
    tars.forEach((t, i) => {
        mkdirSync(join(save, `l${i}`));
        writeFileSync(join(save, `l${i}`, "layer.tar"), t);
    });
    writeFileSync(join(save, "manifest.json"), JSON.stringify([{ Config: "config.json", RepoTags: ["t:latest"], Layers: tars.map((_, i) => `l${i}/layer.tar`) }]));
    dockerArchive = join(dir, "save.tar");
    execFileSync("tar", ["-C", save, "-cf", dockerArchive, "."]);
});

const latin1 = (keys: Iterable<string>): string[] => [...keys].map((k) => Buffer.from(k, "latin1").toString("utf8").replace(/\ufffd/g, "\u00e9")).sort();

async function checkImage(src: ImageSource, compressions: string[]): Promise<void> {
    assert.deepEqual(src.info.layers.map((l) => l.compression), compressions);
    assert.deepEqual(src.info.layers.map((l) => l.diffID), tars.map(sha256));
    const top = await src.contents(undefined, "merged");
    const seen = await walkContents(top);
    assert.deepEqual(latin1(seen.keys()), TOP);
    assert.equal((await readContents(top, "/etc/a")).toString(), "A1 longer");
    assert.equal((await readContents(top, "/data/h")).toString(), "F".repeat(1000));
    assert.equal((await readContents(top, "/etc/r%E9sum")).toString(), "latin1 name");
    const l1 = await src.contents("1", "layer");
    assert.equal(l1.lowerRefId, "0");
    assert.equal((await l1.stat("/etc/b")).change, "deleted");
    assert.equal((await l1.stat("/etc/a")).change, "modified");
    assert.equal((await l1.stat("/new/n")).change, "added");
    const l2 = await src.contents("2", "layer");
    assert.equal((await l2.stat("/opt")).opaque, true);
    const before = await src.contents("1", "merged");
    assert.deepEqual((await before.list("/opt")).map((e) => e.name), ["x"]);
    const sizes = await src.sizes();
    assert.deepEqual(sizes.layers.map((l) => l.added.bytes + l.modified.bytes), [2 + 2 + 1 + 11, 9 + 1, 1, 1000]);
    assert.deepEqual(sizes.layers.map((l) => l.shadowed.bytes), [2 + 2 + 1, 0, 0, 0]);
    assert.deepEqual(sizes.layers.map((l) => l.blob!.compressedBytes), src.info.layers.map((l) => l.size));
}

describe("image contents, read in place", () => {
    it("an OCI layout: every compression told from the bytes", async () => {
        const src = await openImageSource(layout);
        try {
            await checkImage(src, ["uncompressed", "gzip", "zstd", "estargz"]);
            assert.equal(src.info.kind, "oci-layout");
        } finally {
            await src.close();
        }
    });

    it("the same layout as an OCI archive: blobs read as byte ranges of the tar", async () => {
        const src = await openImageSource(archive);
        try {
            await checkImage(src, ["uncompressed", "gzip", "zstd", "estargz"]);
            assert.equal(src.info.kind, "oci-archive");
            const c = await src.contents("3", "layer");
            assert.ok(c.origin.kind === "blob" && c.origin.blobs[0]!.offset! > 0 && c.origin.blobs[0]!.indexedFrom === "toc");
        } finally {
            await src.close();
        }
    });

    it("a docker save archive", async () => {
        const src = await openImageSource(dockerArchive);
        try {
            await checkImage(src, ["uncompressed", "uncompressed", "uncompressed", "uncompressed"]);
            assert.equal(src.info.kind, "docker-archive");
        } finally {
            await src.close();
        }
    });

    it("names layers by index, diffID, digest or prefix; refuses the rest", async () => {
        const src = await openImageSource(layout);
        try {
            const l = src.info.layers[2]!;
            assert.equal(src.layerIndex("2"), 2);
            assert.equal(src.layerIndex(l.diffID), 2);
            assert.equal(src.layerIndex(l.digest), 2);
            assert.equal(src.layerIndex(l.digest.slice(7, 19)), 2);
            assert.equal(src.layerIndex(undefined), 3);
            assert.throws(() => src.layerIndex("4"), { code: "NotFound" });
            assert.throws(() => src.layerIndex("zz"), { code: "InvalidArgument" });
            assert.throws(() => src.layerIndex("sha256:0000000000000000"), { code: "NotFound" });
        } finally {
            await src.close();
        }
    });

    it("a hostile layer fails with a specific code", async () => {
        const bad = join(dir, "bad");
        const evil = tarOf([f("../../etc/passwd", "x")]);
        writeLayout(bad, [{ blob: evil, mediaType: "application/vnd.oci.image.layer.v1.tar", diffID: sha256(evil) }]);
        const src = await openImageSource(bad);
        try {
            await assert.rejects(src.contents("0", "merged"), { code: "UnsafePath" });
        } finally {
            await src.close();
        }
        await assert.rejects(openImageSource(join(dir, "nope")), { code: "NotFound" });
    });
});
