import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import { encodeHeader, splitUSTARPath, type TarHeader, TypeDir, TypeReg } from "../../src/engine/archive/goTar";

function hdr(over: Partial<TarHeader>): TarHeader {
    return {
        name: Buffer.from("f"),
        linkname: Buffer.alloc(0),
        typeflag: TypeReg,
        mode: 0o644,
        uid: 0,
        gid: 0,
        size: 0n,
        mtime: 1577836800n,
        devmajor: 0n,
        devminor: 0n,
        ...over,
    };
}

function field(blk: Buffer, off: number, len: number): string {
    return blk.subarray(off, off + len).toString("latin1");
}

describe("Go archive/tar header encoding", () => {
    it("writes the USTAR block of spec vector 5 (a/ 0755, mtime 1577836800) with empty names", () => {
        const blk = encodeHeader(hdr({ name: Buffer.from("a/"), typeflag: TypeDir, mode: 0o755 }), "pax");
        assert.equal(blk.length, 512);
        assert.equal(field(blk, 0, 3), "a/\0");
        assert.equal(field(blk, 100, 8), "0000755\0");
        assert.equal(field(blk, 124, 12), "00000000000\0");
        assert.equal(field(blk, 136, 12), "13602760400\0");
        assert.equal(field(blk, 257, 8), "ustar\u000000");
        assert.equal(field(blk, 265, 64), "\0".repeat(64), "uname and gname are empty");
        assert.equal(field(blk, 329, 16), "0000000\u00000000000\0", "devmajor and devminor always written");
        // checksum: with root/root names the spec's is 011272; without them 'r','o','o','t' x2 go away.
        const rootSum = 2 * [..."root"].reduce((s, c) => s + c.charCodeAt(0), 0);
        assert.equal(parseInt(field(blk, 148, 6), 8), 0o11272 - rootSum);
        assert.equal(field(blk, 154, 2), "\0 ");
    });

    it("writes spec vector 5 exactly with root/root names (a writer that looked them up): checksum 011272", () => {
        const blk = encodeHeader(hdr({ name: Buffer.from("a/"), typeflag: TypeDir, mode: 0o755, uname: Buffer.from("root"), gname: Buffer.from("root") }), "pax");
        assert.equal(blk.length, 512, "short ASCII names fit USTAR");
        assert.equal(field(blk, 265, 32), `root${"\0".repeat(28)}`);
        assert.equal(field(blk, 297, 32), `root${"\0".repeat(28)}`);
        assert.equal(field(blk, 148, 8), "011272\0 ");
    });

    it("puts a user name longer than 32 bytes (or not ASCII) in a PAX uname record, as Go does", () => {
        const long = "u".repeat(33);
        const blocks = encodeHeader(hdr({ uname: Buffer.from(long), gname: Buffer.from("grüppe") }), "pax");
        assert.equal(blocks.length, 3 * 512, "PAX header, its records, the entry");
        // Checked against Go 1.19's tar.Writer with the same header (FormatPAX): same 1536 bytes.
        const records = blocks.subarray(512, 1024).toString("utf8").replace(/\0+$/, "");
        assert.equal(records, `17 gname=grüppe\n43 uname=${long}\n`);
        const main = blocks.subarray(1024);
        assert.equal(field(main, 265, 32), long.slice(0, 32), "the USTAR field keeps the ASCII prefix");
        assert.equal(field(main, 297, 32), `grppe${"\0".repeat(27)}`, "non-ASCII bytes dropped (toASCII)");
    });

    it("splits long ASCII names into prefix and name, keeping a directory's trailing slash", () => {
        const name = `names/dir-${"E".repeat(94)}/`;
        const [prefix, rest] = splitUSTARPath(Buffer.from(name))!;
        assert.equal(prefix.toString(), "names");
        assert.equal(rest.toString(), `dir-${"E".repeat(94)}/`);
        assert.equal(splitUSTARPath(Buffer.from("x".repeat(101))), null, "no slash: no split");
        assert.equal(splitUSTARPath(Buffer.from(`é/${"x".repeat(100)}`)), null, "non-ASCII: no split");
    });

    it("uses PAX for non-ASCII names, big ids and capabilities, records sorted by key", () => {
        const blocks = encodeHeader(
            hdr({
                name: Buffer.from("café"),
                uid: 3000000,
                gid: 3000001,
                paxRecords: new Map([["SCHILY.xattr.security.capability", Buffer.from([1, 0, 0, 2])]]),
            }),
            "pax",
        );
        assert.equal(blocks.length, 3 * 512);
        assert.equal(field(blocks, 0, 19), "PaxHeaders.0/caf\0\0\0");
        assert.equal(blocks[156], 0x78);
        assert.equal(field(blocks, 329, 16), "\0".repeat(16), "the x header leaves devmajor/devminor NUL");
        const payload = blocks.subarray(512, 1024).toString("latin1").replace(/\0+$/, "");
        assert.equal(payload, "41 SCHILY.xattr.security.capability=\x01\0\0\x02\n15 gid=3000001\n14 path=café\n15 uid=3000000\n".replace("café", "caf\xc3\xa9"));
        const main = blocks.subarray(1024);
        assert.equal(field(main, 0, 4), "caf\0", "non-ASCII bytes dropped from the main header");
        assert.equal(field(main, 108, 8), "0000000\0", "uid that does not fit is written as 0");
    });

    it("rounds nothing itself, writes negative and huge mtimes as PAX records", () => {
        const neg = encodeHeader(hdr({ mtime: -1n }), "pax");
        assert.match(neg.subarray(512, 1024).toString("latin1"), /^12 mtime=-1\n/);
        const huge = encodeHeader(hdr({ mtime: 8589934592n }), "unknown");
        assert.match(huge.subarray(512, 1024).toString("latin1"), /^20 mtime=8589934592\n/);
    });

    it("refuses device numbers only GNU could hold, as containerd does", () => {
        assert.throws(() => encodeHeader(hdr({ typeflag: 0x33, devmajor: 1n << 21n }), "pax"), { code: "Unsupported" });
    });

    it("encodes the empty layer as 1024 zero bytes (diffID 5f70bf18…)", () => {
        const h = createHash("sha256").update(Buffer.alloc(1024)).digest("hex");
        assert.equal(h, "5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef");
    });
});
