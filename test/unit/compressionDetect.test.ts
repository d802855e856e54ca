/**
 * Detection from a blob's bytes (BuildKit `detectCompressionType`, spec §5.4) and `isEStargz`
 * (spec §4.1), including the 51-byte footer of vector 4 and the legacy 47-byte one.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import { gzipSync } from "node:zlib";
import { detectCompression, estargzFooterBytes, isEStargz } from "../../src/engine/compression/index";
import { openFooter, parseFooter, parseLegacyFooter } from "../../src/engine/compression/estargz/footer";
import { encode, textBytes } from "../helpers/compressionKit";
import { tarOf } from "../helpers/tarBuilder";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "layerscope-detect-"));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
let n = 0;

function file(bytes: Buffer): string {
    const p = path.join(tmp, `blob-${n++}`);
    fs.writeFileSync(p, bytes);
    return p;
}

/** The legacy stargz footer: gzip header with a bare 22-byte Extra, an empty stored block. */
function legacyFooter(tocOffset: number): Buffer {
    const sub = Buffer.from(tocOffset.toString(16).padStart(16, "0") + "STARGZ", "latin1");
    return Buffer.concat([Buffer.from("1f8b08040000000000ff1600", "hex"), sub, Buffer.from("010000ffff0000000000000000", "hex")]);
}

describe("eStargz footer", () => {
    it("is vector 4 for TOC offset 0x1234", () => {
        const want = "1f8b08040000000000ff1a00534716003030303030303030303030303132333453544152475a010000ffff0000000000000000";
        assert.equal(estargzFooterBytes(0x1234).toString("hex"), want);
        assert.equal(parseFooter(estargzFooterBytes(0x1234)), 0x1234);
    });

    it("parses the legacy footer in the last 47 bytes and rejects damaged ones", () => {
        assert.equal(legacyFooter(77).length, 47);
        assert.equal(parseLegacyFooter(legacyFooter(77)), 77);
        assert.deepEqual(openFooter(Buffer.concat([Buffer.alloc(4), legacyFooter(77)])), { tocOffset: 77, footerSize: 47 });
        const bad = estargzFooterBytes(5);
        bad[12] = 0x58; // SI1 'X'
        assert.equal(parseFooter(bad), undefined);
        const notHex = estargzFooterBytes(5);
        notHex[20] = 0x7a; // 'z'
        assert.equal(parseFooter(notHex), undefined);
        assert.equal(openFooter(Buffer.alloc(51)), undefined);
    });
});

describe("detectCompression", () => {
    it("finds gzip, zstd (also behind a skippable frame) and uncompressed by magic", async () => {
        assert.equal(await detectCompression(file(gzipSync(textBytes(100)))), "gzip");
        assert.equal(await detectCompression(file((await encode({ type: "zstd" }, textBytes(100))).blob)), "zstd");
        assert.equal(await detectCompression(file(Buffer.from("5a2a4d1800000000", "hex"))), "zstd");
        assert.equal(await detectCompression(file(tarOf([{ name: "a", data: Buffer.from("x") }]))), "uncompressed");
        assert.equal(await detectCompression(file(Buffer.alloc(0))), "uncompressed");
        assert.equal(await detectCompression(file(Buffer.from([0x1f, 0x8b]))), "uncompressed");
    });

    it("checks the eStargz footer first, whatever the blob starts with", async () => {
        const esgz = (await encode({ type: "estargz" }, tarOf([{ name: "a", data: textBytes(3000) }]))).blob;
        assert.equal(await detectCompression(file(esgz)), "estargz");
        assert.equal(await detectCompression(file(Buffer.concat([Buffer.from("plain"), estargzFooterBytes(0)]))), "estargz");
        assert.equal(await detectCompression(file(Buffer.concat([Buffer.alloc(10), legacyFooter(0)]))), "estargz");
        // A footer needs 51 bytes of blob: a bare legacy footer is too short for OpenFooter.
        assert.equal(await detectCompression(file(legacyFooter(0))), "gzip");
    });
});

describe("isEStargz", () => {
    it("is true for our eStargz blobs, also of an empty tar", async () => {
        for (const input of [Buffer.alloc(1024), Buffer.alloc(0), tarOf([{ name: "f", data: textBytes(9000) }])]) {
            assert.equal(await isEStargz(file((await encode({ type: "estargz" }, input)).blob)), true);
        }
    });

    it("is false without a footer, with a TOC of another name or with more entries, and for no file", async () => {
        assert.equal(await isEStargz(file(gzipSync(textBytes(100)))), false);
        const wrongName = gzipSync(tarOf([{ name: "index.json", data: Buffer.from("{}") }]));
        assert.equal(await isEStargz(file(Buffer.concat([wrongName, estargzFooterBytes(0)]))), false);
        const twoEntries = gzipSync(tarOf([{ name: "stargz.index.json", data: Buffer.from("{}") }, { name: "x" }]));
        assert.equal(await isEStargz(file(Buffer.concat([twoEntries, estargzFooterBytes(0)]))), false);
        const ok = gzipSync(tarOf([{ name: "stargz.index.json", data: Buffer.from("{}") }]));
        assert.equal(await isEStargz(file(Buffer.concat([ok, estargzFooterBytes(0)]))), true);
        assert.equal(await isEStargz(file(Buffer.concat([Buffer.from("junk"), estargzFooterBytes(0)]))), false);
        assert.equal(await isEStargz(path.join(tmp, "missing")), false);
    });
});
