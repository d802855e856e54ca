/**
 * The eStargz writer without the oracle: spec §9 vector 3 (the empty tar), the blob structure
 * of spec §6.2-6.3 (a member per data chunk, TOC member, footer), TOC field rules, Go's JSON
 * escaping and modtime formatting, the input checks, and Unpack giving the tar back.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Readable } from "node:stream";
import { after, describe, it } from "node:test";
import { isEngineError } from "../../src/engine/errors";
import { goJsonString } from "../../src/engine/compression/estargz/goJson";
import { createEncoder } from "../../src/engine/compression/createEncoder";
import { bufferPoolState } from "../../src/engine/compression/goflate/bufferPool";
import { goGzipSync } from "../../src/engine/compression/goflate/goGzipWriter";
import { goflatePoolState } from "../../src/engine/compression/goflate/workerPool";
import { formatModtime } from "../../src/engine/compression/estargz/modtime";
import { marshalTocEntry, TocBuilder, type TocEntry } from "../../src/engine/compression/estargz/toc";
import { encode, decode, randomBytes, sha256, textBytes } from "../helpers/compressionKit";
import { estargzToc, gzipMembers } from "../helpers/gzipMembers";
import { tarOf } from "../helpers/tarBuilder";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "layerscope-esgz-"));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

interface TocJson {
    version: number;
    entries: Array<Record<string, unknown>> | null;
}

describe("eStargz of the empty tar (spec §9 vector 3)", () => {
    it("has the TOC JSON, TOC digest, D' and uncompressed size of the vector", async () => {
        const { blob, result } = await encode({ type: "estargz" }, Buffer.alloc(1024));
        const { json, tocOffset } = estargzToc(blob);
        assert.equal(json.toString(), '{\n\t"version": 1,\n\t"entries": null\n}');
        assert.deepEqual(result.annotations, {
            "containerd.io/snapshot/stargz/toc.digest": "sha256:34389139a1c1b35477be831e2253885fa98a9fc3906b16880a391631786dd194",
            "io.containers.estargz.uncompressed-size": "3072",
            "containerd.io/uncompressed": "sha256:63780bb77499d981523cbe6ee5cb26d5bbefce35531f0a8f4837fa14fcae9cda",
        });
        assert.equal(result.tocDigest, sha256(json));
        assert.equal(result.uncompressedDigest, result.annotations["containerd.io/uncompressed"]);
        assert.equal(result.uncompressedSize, 3072);
        const members = gzipMembers(blob);
        assert.equal(members.length, 3, "tar member, TOC member, footer");
        assert.equal(members[1]!.offset, tocOffset);
        assert.equal(blob.subarray(blob.length - 51).toString("hex"), Buffer.concat([
            Buffer.from("1f8b08040000000000ff1a0053471600", "hex"),
            Buffer.from(tocOffset.toString(16).padStart(16, "0") + "STARGZ"),
            Buffer.from("010000ffff0000000000000000", "hex"),
        ]).toString("hex"));
    });

    it("at level 0 is the oracle's blob byte for byte (estargz-lossless --level 0)", async () => {
        // Go's NoCompression is reproduced exactly, so nothing differs at level 0.
        const { blob } = await encode({ type: "estargz", level: 0 }, Buffer.alloc(1024));
        assert.equal(sha256(blob), "sha256:abe7c859cd44d02006d4813672efad2035ee486cdea6413a76734bcd895a3926");
    });
});

describe("eStargz structure (spec §6.2)", () => {
    const big = randomBytes((8 << 20) + 1, 21);
    const exact = randomBytes(4 << 20, 22);
    const input = tarOf([
        { name: "d/", type: "5", mode: 0o755, uid: 1000, gid: 50, uname: "alice", gname: "staff" },
        { name: "d/big", data: big, uid: 1000, gid: 50, uname: "alice", gname: "staff" },
        { name: "d/exact", data: exact, uid: 1000, gid: 50, uname: "bob", gname: "staff" },
        { name: "d/empty", data: Buffer.alloc(0), mtime: 0 },
        { name: "d/l", type: "2", linkname: "big" },
        { name: "d/c", type: "3", devmajor: 4, devminor: 64 },
        { name: "d/x", data: Buffer.from("hi"), pax: { "SCHILY.xattr.user.a": "v", "SCHILY.xattr.user.e": "", mtime: "1577836800.5" } },
    ]);

    it("starts a member exactly at each data chunk and records offsets, chunk sizes and digests", async () => {
        const { blob, result } = await encode({ type: "estargz" }, input, { chunk: 300000, overlapping: true });
        const members = gzipMembers(blob);
        const toc = JSON.parse(estargzToc(blob).json.toString()) as TocJson;
        const entries = toc.entries!;
        const byOffset = new Map(members.map((m) => [m.offset, m]));
        const chunks = entries.filter((e) => e.offset !== undefined);
        assert.deepEqual(chunks.map((e) => [e.name, e.type, e.chunkOffset, e.chunkSize]), [
            ["d/big", "reg", undefined, 4 << 20],
            ["d/big", "chunk", 4 << 20, 4 << 20],
            ["d/big", "chunk", 8 << 20, undefined],
            ["d/exact", "reg", undefined, 4 << 20],
            ["d/x", "reg", undefined, undefined],
        ]);
        for (const e of chunks) {
            const m = byOffset.get(e.offset as number);
            assert.ok(m, `a member starts at ${String(e.offset)}`);
            const size = (e.chunkSize as number | undefined) ?? (e.name === "d/x" ? 2 : 1);
            assert.equal(sha256(m.data.subarray(0, size)), e.chunkDigest);
        }
        // Data members + the first (headers) member + the TOC member + the footer.
        assert.equal(members.length, chunks.length + 3);
        const decompressed = Buffer.concat(members.map((m) => m.data));
        assert.ok(decompressed.subarray(0, input.length).equals(input));
        assert.equal(result.uncompressedDigest, sha256(decompressed));
        assert.equal(result.annotations["io.containers.estargz.uncompressed-size"], String(decompressed.length));
        assert.equal(sha256(big), entries.find((e) => e.name === "d/big" && e.type === "reg")!.digest);
    });

    it("writes the TOC fields by Go's omitempty rules", async () => {
        const { blob } = await encode({ type: "estargz" }, input);
        const entries = (JSON.parse(estargzToc(blob).json.toString()) as TocJson).entries!;
        const byName = (n: string): Record<string, unknown> => entries.find((e) => e.name === n && e.type !== "chunk")!;
        assert.deepEqual(Object.keys(byName("d/")), ["name", "type", "modtime", "mode", "uid", "gid", "userName", "groupName"]);
        assert.equal(byName("d/").modtime, "2023-11-14T22:13:20Z");
        assert.equal(byName("d/big").userName, undefined, "same uid, same name: not repeated");
        assert.equal(byName("d/exact").userName, "bob");
        assert.equal(byName("d/exact").groupName, undefined);
        assert.deepEqual(byName("d/empty"), { name: "d/empty", type: "reg", mode: 420, digest: sha256(Buffer.alloc(0)) });
        assert.equal(byName("d/l").linkName, "big");
        assert.deepEqual([byName("d/c").devMajor, byName("d/c").devMinor], [4, 64]);
        assert.deepEqual(byName("d/x").xattrs, { "user.a": "dg==", "user.e": "" });
        assert.equal(byName("d/x").modtime, "2020-01-01T00:00:01Z", "PAX .5 s rounds up");
        assert.equal(entries.some((e) => "NumLink" in e), false, "NumLink is json:\"-\" (estargz v0.12)");
    });

    it("unpacks to the original tar (estargz.Unpack) and gunzips to T + TOC tar", async () => {
        const { blob, result } = await encode({ type: "estargz" }, input);
        const file = path.join(tmp, "s.esgz");
        fs.writeFileSync(file, blob);
        assert.ok((await decode(file, "estargz")).equals(input));
        const all = await decode(file, "gzip");
        assert.equal(sha256(all), result.uncompressedDigest);
        await assert.rejects(decode(path.join(tmp, "missing"), "estargz"), (e) => isEngineError(e, "NotFound"));
        const stream = (async function* () {
            yield blob;
        })();
        await assert.rejects(decode(stream, "estargz"), (e) => isEngineError(e, "InvalidArgument"));
        const notEsgz = path.join(tmp, "plain.gz");
        fs.writeFileSync(notEsgz, (await encode({ type: "gzip" }, input)).blob);
        await assert.rejects(decode(notEsgz, "estargz"), (e) => isEngineError(e, "Corrupt"));
    });
});

describe("eStargz input checks", () => {
    const cases: Array<[string, Buffer, string]> = [
        ["an existing TOC", tarOf([{ name: "./a/../stargz.index.json", data: Buffer.from("{}") }]), "InvalidArgument"],
        ["a contiguous file ('7')", tarOf([{ name: "c", type: "7" }]), "Unsupported"],
        ["a global PAX header ('g')", tarOf([{ name: "a" }], { global: { comment: "x" } }), "Unsupported"],
        ["a GNU sparse file", tarOf([{ name: "s", pax: { "GNU.sparse.major": "1", "GNU.sparse.minor": "0" } }]), "Unsupported"],
        ["a truncated file", tarOf([{ name: "f", data: textBytes(100) }]).subarray(0, 513), "Corrupt"],
        ["truncated padding", tarOf([{ name: "f", data: textBytes(100) }]).subarray(0, 700), "Corrupt"],
        ["a zero block then a header", Buffer.concat([Buffer.alloc(512), tarOf([{ name: "f" }])]), "Corrupt"],
        ["a bad checksum", (() => { const t = tarOf([{ name: "f" }]); t[0] = 0x67; return t; })(), "Corrupt"],
        ["gzip input", Buffer.concat([Buffer.from([0x1f, 0x8b, 0x08]), Buffer.alloc(1021)]), "Unsupported"],
    ];
    for (const [what, tar, code] of cases) {
        it(`rejects ${what} with ${code}`, async () => {
            await assert.rejects(encode({ type: "estargz" }, tar), (e) => isEngineError(e, code as never));
        });
    }

    it("fails a tar cut inside a large file at its end, giving every goflate worker back", async () => {
        // Members past 64 KiB run on pooled workers; the cut is only seen when the input ends.
        const tar = tarOf([
            { name: "a", data: randomBytes(3 << 20, 7) },
            { name: "b", data: textBytes(5 << 20) },
        ]);
        await assert.rejects(encode({ type: "estargz" }, tar.subarray(0, tar.length - (2 << 20) - 1024), { chunk: 256 * 1024 }), (e) =>
            isEngineError(e, "Corrupt"),
        );
        // Let the aborted jobs settle (worker terminations, replies in flight).
        await new Promise((r) => setTimeout(r, 200));
        // A worker whose member was aborted is ended (live drops); none may stay held.
        const pool = goflatePoolState();
        assert.deepEqual(pool, { live: pool.live, idle: pool.live, waiting: 0 }, "no worker held by the failed blob");
    });

    it("passes odd endings through unchanged (no end blocks, one zero block, trailing bytes)", async () => {
        const entry = { name: "f", data: textBytes(1000) };
        for (const end of ["none", "one", "record"] as const) {
            const tar = tarOf([entry], { end, trailing: end === "record" ? Buffer.from("TRAILING") : undefined });
            const { blob } = await encode({ type: "estargz" }, tar);
            const members = gzipMembers(blob);
            const toc = estargzToc(blob);
            const body = Buffer.concat(members.filter((m) => m.offset < toc.tocOffset).map((m) => m.data));
            assert.ok(body.equals(tar), end);
        }
    });
});

describe("the TOC held as deflated 1 MiB pages (toc.ts)", () => {
    it("gives back exactly the JSON of its entries, with its length and digest, across pages", () => {
        for (const count of [0, 1, 9000]) {
            const toc = new TocBuilder();
            const entries: TocEntry[] = Array.from({ length: count }, (_, i) => ({
                name: Buffer.from(`dir-${i % 13}/${"n".repeat(i % 97)}-${i}`),
                type: "reg",
                size: i * 7,
                mode: 0o644n,
                // Every 1000th entry is longer than a page, so it spans a page boundary.
                xattrs: i % 1000 === 999 ? new Map([["user.big", randomBytes(900 << 10, i)]]) : undefined,
                digest: `sha256:${"ab".repeat(32)}`,
            }));
            for (const e of entries) {
                toc.add(e);
            }
            const json = toc.finish();
            const pieces = [...json.pieces()];
            const got = Buffer.concat(pieces);
            const want = Buffer.from(count === 0
                ? '{\n\t"version": 1,\n\t"entries": null\n}'
                : `{\n\t"version": 1,\n\t"entries": [\n${entries.map(marshalTocEntry).join(",\n")}\n\t]\n}`);
            assert.ok(got.equals(want), `${count} entries: the JSON`);
            assert.equal(json.length, want.length);
            assert.equal(json.digest, sha256(want));
            // The writes into the TOC member are those of before the pages were deflated:
            // the head, each full 1 MiB page, the rest, the tail (Go's deflate output can
            // depend on where writes end).
            const page = 1 << 20;
            if (count === 0) {
                assert.deepEqual(pieces.map((p) => p.length), [want.length]);
            } else {
                const [head, tail] = [Buffer.byteLength('{\n\t"version": 1,\n\t"entries": [\n'), Buffer.byteLength("\n\t]\n}")];
                const body = want.length - head - tail;
                const full = Math.floor((body - 1) / page); // a full last page is the rest
                assert.deepEqual(pieces.map((p) => p.length), [head, ...Array(full).fill(page), body - full * page, tail]);
                assert.deepEqual([...json.pieces()].map((p) => p.length), pieces.map((p) => p.length), "pieces can be read again");
            }
            if (count === 9000) {
                assert.ok(want.length > 10 << 20, "the case spans many pages");
            }
        }
    });
});

describe("Go encodings used by the TOC", () => {
    it("escapes strings like encoding/json with HTML escaping", () => {
        const cases: Array<[Buffer, string]> = [
            [Buffer.from("a/b.txt"), '"a/b.txt"'],
            [Buffer.from('<&>"\\'), '"\\u003c\\u0026\\u003e\\"\\\\"'],
            [Buffer.from("\t\n\r\u0001\u001f\u007f"), '"\\t\\n\\r\\u0001\\u001f\u007f"'],
            [Buffer.from("é日本\u{1F600}"), '"é日本\u{1F600}"'],
            [Buffer.from("\u2028\u2029"), '"\\u2028\\u2029"'],
            [Buffer.from([0x61, 0xff, 0xfe]), '"a\\ufffd\\ufffd"'],
            [Buffer.from([0xe2, 0x82]), '"\\ufffd\\ufffd"'],
            [Buffer.from([0xed, 0xa0, 0x80]), '"\\ufffd\\ufffd\\ufffd"'],
            [Buffer.from([0xc0, 0xaf]), '"\\ufffd\\ufffd"'],
            [Buffer.from([0xf4, 0x90, 0x80, 0x80]), '"\\ufffd\\ufffd\\ufffd\\ufffd"'],
            [Buffer.from("\ufffd"), '"\ufffd"'],
        ];
        for (const [input, want] of cases) {
            assert.equal(goJsonString(input), want, input.toString("hex"));
        }
    });

    it("formats modtimes as estargz does: rounded RFC 3339, empty for 0 and the zero time", () => {
        const t = (sec: bigint, nsec = 0): string => formatModtime({ sec, nsec });
        assert.equal(t(0n), "");
        assert.equal(t(0n, 700_000_000), "", "Unix() is still 0");
        assert.equal(t(-62135596800n), "", "Go's zero time");
        assert.equal(t(-62135596800n, 1), "0001-01-01T00:00:00Z");
        assert.equal(t(1577836800n, 500_000_000), "2020-01-01T00:00:01Z");
        assert.equal(t(1577836800n, 499_999_999), "2020-01-01T00:00:00Z");
        assert.equal(t(-1n, 500_000_000), "1970-01-01T00:00:00Z");
        assert.equal(t(-100n), "1969-12-31T23:58:20Z");
        assert.equal(t(253402300799n, 600_000_000), "10000-01-01T00:00:00Z");
        assert.equal(t(-62135596801n), "0000-12-31T23:59:59Z");
        assert.equal(t(-62198755200n), "-0001-01-01T00:00:00Z");
    });
});

describe("eStargz members and batches on workers: input and reply buffers go round (bufferPool.ts)", () => {
    const input = tarOf([
        { name: "text", data: textBytes((9 << 20) + 5) },
        { name: "random", data: randomBytes((6 << 20) + 7, 31) },
        // Small members, batched: ~4 MiB of them, so batch buffers come back and go out again.
        ...Array.from({ length: 160 }, (_, i) => ({ name: `small/${i}`, data: i % 7 === 3 ? randomBytes(900 + i * 311, i) : textBytes(1000 + ((i * 3001) % 60000)) })),
        { name: "more", data: Buffer.concat([textBytes(3 << 20), randomBytes(2 << 20, 32)]) },
    ]);

    it("reuses buffers, and the blob is the one written without them, also for a sink that reads each chunk late", async () => {
        const before = bufferPoolState();
        // 1 MiB writes (as compressFile reads) go through pooled buffers; the sink reads each
        // chunk only just before its write settles, so a buffer reused too early would show.
        const out: Buffer[] = [];
        const enc = createEncoder({ type: "estargz" }, {
            write: (b) => new Promise<void>((resolve) => setTimeout(() => {
                out.push(Buffer.from(b));
                resolve();
            }, 3)),
        });
        for (let off = 0; off < input.length; off += 1 << 20) {
            const copy = Buffer.from(input.subarray(off, off + (1 << 20)));
            await enc.write(copy);
            copy.fill(0xa5);
        }
        await enc.finish();
        const pooled = Buffer.concat(out);
        const after = bufferPoolState();
        assert.ok(after.pooled - before.pooled >= 15, `pooled copies: ${after.pooled - before.pooled}`);
        assert.ok(after.reused > before.reused, "a reply's buffer came back and went out again");
        assert.equal(after.idle, 0, "the idle buffers are dropped when the blob is done");
        // Go-exact whatever the buffers did: every member but the footer is Go's gzip of its content.
        const members = gzipMembers(pooled.subarray(0, pooled.length - 51));
        assert.ok(members.length > 150);
        for (const m of members) {
            assert.ok(pooled.subarray(m.offset, m.offset + m.length).equals(goGzipSync(m.data, -1)), `the member at ${m.offset}`);
        }
        // Writes of 100 kB (members' own buffers; batches still pooled) give the same blob.
        const plain = await encode({ type: "estargz" }, input, { chunk: 100_000 });
        assert.equal(sha256(pooled), sha256(plain.blob));
        assert.ok((await decode(Readable.from([pooled]), "gzip")).subarray(0, input.length).equals(input));
    });
});
