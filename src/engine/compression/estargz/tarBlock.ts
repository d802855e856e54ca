/**
 * One 512-byte tar header block, decoded as vbatts/tar-split `archive/tar` `Reader.readHeader`
 * and `block.GetFormat` do (the reader estargz's `AppendTarLossLess` uses): checksum check,
 * V7/USTAR/PAX/GNU/STAR detection, numeric fields in octal or base-256, the USTAR prefix.
 */
import { headerError, parseNumeric, parseOctal, parseString } from "./goParse";

export const BLOCK = 512;

export type BlockFormat = "v7" | "ustar" | "gnu" | "star";

export interface HeaderBlock {
    readonly format: BlockFormat;
    readonly typeflag: number;
    readonly name: Buffer;
    readonly linkname: Buffer;
    readonly size: bigint;
    readonly mode: bigint;
    readonly uid: bigint;
    readonly gid: bigint;
    readonly mtime: bigint;
    readonly uname: Buffer;
    readonly gname: Buffer;
    readonly devmajor: bigint;
    readonly devminor: bigint;
}

export function isZeroBlock(b: Buffer): boolean {
    for (let i = 0; i < b.length; i++) {
        if (b[i] !== 0) return false;
    }
    return true;
}

/** GetFormat: the checksum must match (unsigned or signed sum), then the magic decides. */
function blockFormat(b: Buffer): BlockFormat {
    let value: bigint;
    try {
        value = parseOctal(b.subarray(148, 156), "chksum");
    } catch {
        throw headerError("checksum field", "bad-checksum");
    }
    let unsigned = 0;
    let signed = 0;
    for (let i = 0; i < BLOCK; i++) {
        const c = i >= 148 && i < 156 ? 0x20 : b[i]!;
        unsigned += c;
        signed += c >= 0x80 ? c - 256 : c;
    }
    if (value !== BigInt(unsigned) && value !== BigInt(signed)) {
        throw headerError("checksum mismatch", "bad-checksum");
    }
    const magic = b.toString("latin1", 257, 263);
    if (magic === "ustar\0" && b.toString("latin1", 508, 512) === "tar\0") {
        return "star";
    }
    if (magic === "ustar\0") {
        return "ustar";
    }
    return magic === "ustar " && b.toString("latin1", 263, 265) === " \0" ? "gnu" : "v7";
}

function isASCII(s: Buffer): boolean {
    for (let i = 0; i < s.length; i++) {
        if (s[i]! >= 0x80 || s[i] === 0) return false;
    }
    return true;
}

/** GNU atime/ctime, parsed only to see whether a pre-Go1.8 writer put a prefix there. */
function gnuTimesParse(b: Buffer): boolean {
    for (const off of [345, 357]) {
        const f = b.subarray(off, off + 12);
        if (f[0] !== 0) {
            try {
                parseNumeric(f, "gnu time");
            } catch {
                return false;
            }
        }
    }
    return true;
}

/**
 * Decodes a non-zero header block (the caller handles the end-of-archive zero blocks). The
 * strings are copies: the caller reuses `b`.
 */
export function decodeHeaderBlock(b: Buffer): HeaderBlock {
    const format = blockFormat(b);
    let name: Buffer = Buffer.from(parseString(b.subarray(0, 100)));
    const hdr: Omit<HeaderBlock, "name"> & { uname: Buffer; gname: Buffer; devmajor: bigint; devminor: bigint } = {
        format,
        typeflag: b[156]!,
        linkname: Buffer.from(parseString(b.subarray(157, 257))),
        size: parseNumeric(b.subarray(124, 136), "size"),
        mode: parseNumeric(b.subarray(100, 108), "mode"),
        uid: parseNumeric(b.subarray(108, 116), "uid"),
        gid: parseNumeric(b.subarray(116, 124), "gid"),
        mtime: parseNumeric(b.subarray(136, 148), "mtime"),
        uname: Buffer.alloc(0),
        gname: Buffer.alloc(0),
        devmajor: 0n,
        devminor: 0n,
    };
    if (format === "v7") {
        return { ...hdr, name };
    }
    hdr.uname = Buffer.from(parseString(b.subarray(265, 297)));
    hdr.gname = Buffer.from(parseString(b.subarray(297, 329)));
    hdr.devmajor = parseNumeric(b.subarray(329, 337), "devmajor");
    hdr.devminor = parseNumeric(b.subarray(337, 345), "devminor");
    let prefix: Buffer = Buffer.alloc(0);
    if (format === "ustar") {
        prefix = parseString(b.subarray(345, 500));
    } else if (format === "star") {
        prefix = parseString(b.subarray(345, 476));
        parseNumeric(b.subarray(476, 488), "atime");
        parseNumeric(b.subarray(488, 500), "ctime");
    } else if (!gnuTimesParse(b)) {
        // Go 1.8's buggy GNU writer put a USTAR prefix where atime/ctime belong.
        const s = parseString(b.subarray(345, 500));
        if (isASCII(s)) prefix = s;
    }
    if (prefix.length > 0) {
        name = Buffer.concat([prefix, Buffer.from("/"), name]);
    }
    return { ...hdr, name };
}
