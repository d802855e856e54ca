/**
 * eStargz layers read through their table of contents: listing reads only the footer and the
 * TOC; reading one small file from a large layer inflates only that file's chunk (bytes counted
 * through a wrapped file handle); multi-chunk files and ranges across chunk boundaries; the same
 * entries as a full read of the tar; corrupt chunks, TOCs and footers fail as Corrupt.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { gunzipSync, gzipSync } from "node:zlib";
import { compressFile, estargzFooterBytes, openDecoded } from "../../src/engine/compression";
import type { BlobFile, BlobOpener } from "../../src/engine/contents/blobFile";
import { openBlobFile } from "../../src/engine/contents/blobFile";
import { indexEStargz, MAX_CHUNK_BYTES } from "../../src/engine/contents/estargzIndex";
import { indexTarStream } from "../../src/engine/contents/indexTar";
import { StreamPayloads } from "../../src/engine/contents/payloadSources";
import type { TarIndexTree } from "../../src/engine/contents/tarIndexTree";
import { TreeContents } from "../../src/engine/contents/treeContents";
import { MergedTree } from "../../src/engine/fs/mergedTree";
import { readContents, walkContents } from "../helpers/contentsOracle";
import { type TarEntrySpec, tarOf } from "../helpers/tarBuilder";

const dir = mkdtempSync(join(tmpdir(), "layerscope-estargz-contents-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const FILES = 48;
const FILE_SIZE = 512 * 1024;
const MULTI = 9 * 1024 * 1024 + 123; // three 4 MiB chunks, the last one short
const small = Buffer.from("hello, layer\n");
const multi = randomBytes(MULTI);
let blobPath = "";
let blobSize = 0;
let files: Buffer[] = [];

before(async () => {
    files = Array.from({ length: FILES }, () => randomBytes(FILE_SIZE));
    const entries: TarEntrySpec[] = [{ name: "data/", type: "5", mode: 0o755, mtime: 1700000000 }];
    files.forEach((data, i) => {
        entries.push({ name: `data/f${String(i).padStart(3, "0")}.bin`, data, mode: 0o644, mtime: 1700000000 });
        if (i === FILES / 2) entries.push({ name: "data/small.txt", data: small, mode: 0o600, uid: 7, gid: 8, mtime: 1700000001, pax: { "SCHILY.xattr.user.note": "x" } });
    });
    entries.push({ name: "data/multi.bin", data: multi, mode: 0o644, mtime: 1700000000 });
    entries.push({ name: "data/link", type: "2", linkname: "small.txt", mtime: 1700000000 });
    entries.push({ name: "data/hard", type: "1", linkname: "data/small.txt", mtime: 1700000000 });
    const tarPath = join(dir, "layer.tar");
    writeFileSync(tarPath, tarOf(entries));
    blobPath = join(dir, "layer.estargz");
    const fd = openSync(blobPath, "w");
    await compressFile(tarPath, { type: "estargz", gzipImpl: "fast" }, { write: async (b) => void writeSync(fd, b) });
    closeSync(fd);
    blobSize = readFileSync(blobPath).length;
});

/** An opener whose handles count every byte read. */
function countingOpener(): { open: BlobOpener; bytes: () => number; reset: () => void } {
    let bytes = 0;
    return {
        open: async (p: string): Promise<BlobFile> => {
            const f = await openBlobFile(p);
            return { size: f.size, close: () => f.close(), read: async (b, o, l, pos) => { const n = await f.read(b, o, l, pos); bytes += n; return n; } };
        },
        bytes: () => bytes,
        reset: () => void (bytes = 0),
    };
}

const merged = (tree: TarIndexTree): TreeContents =>
    new TreeContents({ refId: "l", view: "merged", origin: { kind: "snapshot", dirs: [] }, lowerRefId: null, tree: new MergedTree([tree], "m", false), lower: null });

describe("eStargz through its TOC", () => {
    it("reading one small file touches only its chunk (bytes read counted)", async () => {
        const counter = countingOpener();
        const tree = await indexEStargz(blobPath, { label: "layer", openFile: counter.open });
        assert.equal(tree.indexedFrom, "toc");
        const indexBytes = counter.bytes();
        counter.reset();
        const c = merged(tree);
        assert.deepEqual(await readContents(c, "/data/small.txt"), small);
        const readBytes = counter.bytes();
        // The blob is ~25 MiB of incompressible data; the TOC is a few KiB.
        assert.ok(blobSize > 25 * 1024 * 1024, `blob ${blobSize}`);
        assert.ok(indexBytes < 64 * 1024, `listing read ${indexBytes} bytes`);
        assert.ok(readBytes > 0 && readBytes <= 64 * 1024, `reading 13 bytes read ${readBytes} bytes`);
        // A range inside the second chunk of a 9 MiB file reads about that one chunk.
        counter.reset();
        const got = await readContents(c, "/data/multi.bin", { start: 5_000_000, end: 5_000_100 });
        assert.deepEqual(got, multi.subarray(5_000_000, 5_000_100));
        assert.ok(counter.bytes() < 4 * 1024 * 1024 + 128 * 1024, `one chunk: ${counter.bytes()} bytes`);
    });

    it("lists the same entries as reading the whole tar, with the same content", async () => {
        const toc = merged(await indexEStargz(blobPath, { label: "toc" }));
        const full = merged(await indexTarStream(openDecoded(blobPath, "estargz"), "tar", new StreamPayloads(blobPath, "estargz")));
        const a = await walkContents(toc);
        const b = await walkContents(full);
        assert.deepEqual([...a.keys()], [...b.keys()]);
        for (const [p, e] of a) {
            const f = b.get(p)!;
            assert.deepEqual({ ...e, rawPath: null }, { ...f, rawPath: null }, p);
        }
        assert.deepEqual(a.get("/data/small.txt")!.xattrs, ["user.note"]);
        assert.equal(a.get("/data/hard")!.type, "hardlink");
        assert.deepEqual(await readContents(toc, "/data/hard"), small);
        assert.deepEqual(await readContents(toc, "/data/multi.bin"), multi);
        assert.deepEqual(await readContents(toc, "/data/multi.bin", { start: 4 * 1024 * 1024 - 5, end: 8 * 1024 * 1024 + 5 }), multi.subarray(4 * 1024 * 1024 - 5, 8 * 1024 * 1024 + 5));
        assert.deepEqual(await readContents(toc, "/data/f047.bin"), files[47]);
    });

    it("a corrupt chunk, TOC or footer is Corrupt", async () => {
        const blob = readFileSync(blobPath);
        const tree = await indexEStargz(blobPath, { label: "ok" });
        const bad = join(dir, "bad.estargz");
        // Flip a byte in the middle of the blob: inside some file's compressed chunk.
        const flipped = Buffer.from(blob);
        flipped[Math.floor(blob.length / 3)] ^= 0xff;
        writeFileSync(bad, flipped);
        const t2 = await indexEStargz(bad, { label: "flipped" });
        let failures = 0;
        for (let i = 0; i < FILES; i++) {
            const p = `/data/f${String(i).padStart(3, "0")}.bin`;
            try {
                assert.deepEqual(await readContents(merged(t2), p), files[i]);
            } catch (err) {
                assert.equal((err as { code?: string }).code, "Corrupt", `${p}: ${(err as Error).message}`);
                failures++;
            }
        }
        assert.equal(failures, 1, "exactly the damaged file fails");
        void tree;
        writeFileSync(bad, blob.subarray(0, blob.length - 10));
        await assert.rejects(indexEStargz(bad, { label: "cut" }), { code: "Corrupt" });
        await assert.rejects(indexEStargz(blobPath, { label: "digest", tocDigest: `sha256:${"0".repeat(64)}` }), { code: "Corrupt" });
        const noToc = Buffer.from(blob);
        noToc.fill(0x41, blob.length - 51 - 200, blob.length - 51); // garble the end of the TOC member
        writeFileSync(bad, noToc);
        await assert.rejects(indexEStargz(bad, { label: "garbled" }), { code: "Corrupt" });
    });

    it("a hostile TOC fails with a specific code, at open or at the read it would mislead", async () => {
        const blob = readFileSync(blobPath);
        const tocOffset = Number(BigInt(`0x${blob.subarray(blob.length - 51 + 16, blob.length - 51 + 32).toString("latin1")}`));
        const tocTar = gunzipSync(blob.subarray(tocOffset, blob.length - 51));
        const json = JSON.parse(tocTar.subarray(512, 512 + Number.parseInt(tocTar.subarray(124, 135).toString("latin1"), 8)).toString("utf8"));
        /** The blob with its TOC replaced by `edit(toc)` (the same offset, a fresh TOC member and footer). */
        const withToc = (edit: (toc: any) => unknown): string => {
            const edited = edit(structuredClone(json));
            const raw = Buffer.isBuffer(edited) ? edited : Buffer.from(JSON.stringify(edited));
            const header = Buffer.alloc(512);
            header.write("stargz.index.json", 0, "latin1");
            header.write("0000644\0", 100, "latin1");
            header.write(`${raw.length.toString(8).padStart(11, "0")}\0`, 124, "latin1");
            header.write("0", 156, "latin1");
            header.write("ustar\x0000", 257, "latin1");
            header.fill(0x20, 148, 156);
            let sum = 0;
            for (const b of header) sum += b;
            header.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "latin1");
            const tar = Buffer.concat([header, raw, Buffer.alloc((512 - (raw.length % 512)) % 512), Buffer.alloc(1024)]);
            const p = join(dir, `toc-${Math.random().toString(36).slice(2)}.estargz`);
            writeFileSync(p, Buffer.concat([blob.subarray(0, tocOffset), gzipSync(tar), estargzFooterBytes(tocOffset)]));
            return p;
        };
        const entryOf = (toc: any): any => toc.entries.find((e: any) => e.name === "data/small.txt");
        // Untouched, the rebuilt TOC reads fine (the edits below are the only difference).
        const same = await indexEStargz(withToc((t) => t), { label: "same" });
        assert.deepEqual(await readContents(merged(same), "/data/small.txt"), small);
        const open = (edit: (toc: any) => unknown): Promise<TarIndexTree> => indexEStargz(withToc(edit), { label: "hostile" });
        await assert.rejects(open((t) => (entryOf(t).offset = tocOffset + 10, t)), { code: "Corrupt" }, "offset past the TOC");
        await assert.rejects(open((t) => (entryOf(t).offset = -5, t)), { code: "Corrupt" }, "negative offset");
        await assert.rejects(open((t) => (entryOf(t).type = "socket", t)), { code: "Corrupt" }, "unknown type");
        await assert.rejects(open((t) => (entryOf(t).name = "../../etc/passwd", t)), { code: "UnsafePath" });
        const grown = await open((t) => (entryOf(t).size = 1e6, t));
        await assert.rejects(readContents(merged(grown), "/data/small.txt"), { code: "Corrupt" }, "a size its chunk cannot fill");
        await assert.rejects(open((t) => (entryOf(t).chunkSize = 5, t)), { code: "Corrupt" }, "chunks that do not cover the size");
        await assert.rejects(open(() => Buffer.from("not json")), { code: "Corrupt" });
        await assert.rejects(open(() => "a JSON string"), { code: "Corrupt" });
        await assert.rejects(open(() => ({ entries: 5 })), { code: "Corrupt" });
        const lying = await open((t) => (entryOf(t).chunkDigest = `sha256:${"0".repeat(64)}`, t));
        await assert.rejects(readContents(merged(lying), "/data/small.txt"), { code: "Corrupt" }, "chunk digest checked");
        const moved = await open((t) => (entryOf(t).offset = t.entries.find((e: any) => e.name === "data/f000.bin").offset, t));
        await assert.rejects(readContents(merged(moved), "/data/small.txt"), { code: "Corrupt" }, "an offset pointing at another file's chunk");

        // Limits against memory exhaustion, each a specific ResourceExhausted at open.
        const exhausted = (limit: number) => (err: { code?: string; data?: { limit?: number } }) => err.code === "ResourceExhausted" && err.data?.limit === limit;
        await assert.rejects(open((t) => {
            const e = entryOf(t);
            e.size = 8 * 2 ** 30; // one 8 GiB chunk: a read would inflate it whole into memory
            delete e.chunkSize;
            return t;
        }), exhausted(MAX_CHUNK_BYTES), "a chunk larger than a read may hold");
        const sameToc = withToc((t) => t);
        await assert.rejects(indexEStargz(sameToc, { label: "big TOC", maxTocBytes: 1000 }), exhausted(1000), "TOC bytes");
        await assert.rejects(indexEStargz(sameToc, { label: "many entries", maxEntries: 10 }), exhausted(10), "TOC entries");
        await assert.rejects(indexEStargz(sameToc, { label: "many nodes", maxNodes: 10 }), exhausted(10), "index nodes");
        assert.ok(MAX_CHUNK_BYTES >= 4 * 1024 * 1024, "stargz-snapshotter's default 4 MiB chunks fit");
    });
});
