/**
 * The eStargz footer. Mirrors stargz-snapshotter estargz v0.12.0 `gzip.go` `gzipFooterBytes`,
 * `GzipDecompressor.ParseFooter`, `LegacyGzipDecompressor.ParseFooter` and `estargz.go`
 * `OpenFooter`, with the header parsing of Go 1.19 `compress/gzip` `Reader.readHeader`.
 *
 * The footer is an empty gzip member at NoCompression whose Extra field holds the TOC offset
 * (spec §6.3, vector 4):
 *   1f 8b 08 04 00000000 00 ff | XLEN 1a 00 | 'S' 'G' 16 00 | "%016x" "STARGZ" | 01 00 00 ff ff | 0*8
 * The legacy stargz footer (47 bytes) has the 22-byte subfield without the SG header.
 */
import { crc32 } from "../crc32";

export const FOOTER_SIZE = 51;
export const LEGACY_FOOTER_SIZE = 47;

/** gzipFooterBytes(tocOff) for 0 <= tocOff < 2^53. */
export function footerBytes(tocOffset: number): Buffer {
    const subfield = tocOffset.toString(16).padStart(16, "0") + "STARGZ";
    return Buffer.concat([
        Buffer.from([0x1f, 0x8b, 0x08, 0x04, 0, 0, 0, 0, 0, 0xff]), // FLG = FEXTRA, XFL 0, OS 255
        Buffer.from([26, 0, 0x53, 0x47, subfield.length, 0]), // XLEN, SI1 'S', SI2 'G', LEN (LE)
        Buffer.from(subfield, "latin1"),
        Buffer.from([0x01, 0x00, 0x00, 0xff, 0xff]), // final stored block of length 0
        Buffer.alloc(8), // CRC-32 and ISIZE of nothing
    ]);
}

interface GzipHeader {
    readonly extra: Buffer | undefined;
}

/** readHeader over a byte slice; undefined wherever Go returns an error. */
function parseGzipHeader(b: Buffer): GzipHeader | undefined {
    if (b.length < 10 || b[0] !== 0x1f || b[1] !== 0x8b || b[2] !== 0x08) {
        return undefined;
    }
    const flg = b[3]!;
    let off = 10;
    let extra: Buffer | undefined;
    if (flg & 0x04) {
        if (off + 2 > b.length) return undefined;
        const xlen = b.readUInt16LE(off);
        off += 2;
        if (off + xlen > b.length) return undefined;
        extra = b.subarray(off, off + xlen);
        off += xlen;
    }
    for (const flag of [0x08, 0x10]) {
        // FNAME, FCOMMENT: NUL-terminated, at most 512 bytes (Go's readString buffer).
        if (flg & flag) {
            const nul = b.subarray(off, off + 512).indexOf(0);
            if (nul < 0) return undefined;
            off += nul + 1;
        }
    }
    if (flg & 0x02) {
        if (off + 2 > b.length || b.readUInt16LE(off) !== (crc32(b.subarray(0, off)) & 0xffff)) {
            return undefined;
        }
    }
    return { extra };
}

/** strconv.ParseInt(s, 16, 64) of the 16 offset characters. */
function parseHexOffset(s: string): number | undefined {
    if (!/^[+-]?[0-9a-fA-F]+$/.test(s)) {
        return undefined;
    }
    const neg = s.startsWith("-");
    const v = BigInt(`0x${s.replace(/^[+-]/, "")}`);
    if (v > (neg ? 1n << 63n : (1n << 63n) - 1n)) {
        return undefined;
    }
    return Number(neg ? -v : v);
}

/** GzipDecompressor.ParseFooter: the TOC offset from a 51-byte eStargz footer. */
export function parseFooter(p: Buffer): number | undefined {
    const extra = p.length === FOOTER_SIZE ? parseGzipHeader(p)?.extra : undefined;
    if (extra === undefined || extra.length < 20 || extra[0] !== 0x53 || extra[1] !== 0x47) {
        return undefined;
    }
    const sub = extra.subarray(4);
    if (extra.readUInt16LE(2) !== 22 || sub.toString("latin1", 16) !== "STARGZ") {
        return undefined;
    }
    return parseHexOffset(sub.toString("latin1", 0, 16));
}

/** LegacyGzipDecompressor.ParseFooter: the 47-byte stargz footer. */
export function parseLegacyFooter(p: Buffer): number | undefined {
    const extra = p.length === LEGACY_FOOTER_SIZE ? parseGzipHeader(p)?.extra : undefined;
    if (extra === undefined || extra.length !== 22 || extra.toString("latin1", 16) !== "STARGZ") {
        return undefined;
    }
    return parseHexOffset(extra.toString("latin1", 0, 16));
}

/**
 * OpenFooter on the last 51 bytes of a blob: the eStargz footer, else the legacy one in the last
 * 47. Blobs shorter than 51 bytes never qualify (Go's ReadAt at a negative offset fails).
 */
export function openFooter(tail: Buffer): { tocOffset: number; footerSize: number } | undefined {
    if (tail.length !== FOOTER_SIZE) {
        return undefined;
    }
    const toc = parseFooter(tail);
    if (toc !== undefined) {
        return { tocOffset: toc, footerSize: FOOTER_SIZE };
    }
    const legacy = parseLegacyFooter(tail.subarray(FOOTER_SIZE - LEGACY_FOOTER_SIZE));
    return legacy === undefined ? undefined : { tocOffset: legacy, footerSize: LEGACY_FOOTER_SIZE };
}
