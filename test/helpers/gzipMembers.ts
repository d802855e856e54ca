/**
 * Test-side reading of gzip blobs member by member (RFC 1952), independent of the engine's
 * decoders: where each member starts, what it decompresses to, and the eStargz TOC and footer.
 */
import { crc32, inflateRawSync } from "node:zlib";

export interface GzipMember {
    /** Compressed offset of the member's header. */
    readonly offset: number;
    /** The whole member: header, deflate stream and trailer. */
    readonly length: number;
    readonly header: Buffer;
    readonly data: Buffer;
}

function headerLength(b: Buffer, p: number): number {
    if (b[p] !== 0x1f || b[p + 1] !== 0x8b || b[p + 2] !== 0x08) {
        throw new Error(`no gzip member at offset ${p}`);
    }
    const flg = b[p + 3]!;
    let q = p + 10;
    if (flg & 0x04) q += 2 + b.readUInt16LE(q);
    if (flg & 0x08) q = b.indexOf(0, q) + 1;
    if (flg & 0x10) q = b.indexOf(0, q) + 1;
    if (flg & 0x02) q += 2;
    return q - p;
}

export function gzipMembers(blob: Buffer): GzipMember[] {
    const members: GzipMember[] = [];
    let p = 0;
    while (p < blob.length) {
        const h = headerLength(blob, p);
        const r = inflateRawSync(blob.subarray(p + h), { info: true }) as unknown as {
            buffer: Buffer;
            engine: { bytesWritten: number };
        };
        const end = p + h + r.engine.bytesWritten;
        const crc = blob.readUInt32LE(end);
        const isize = blob.readUInt32LE(end + 4);
        if (crc !== crc32(r.buffer) || isize !== r.buffer.length % 2 ** 32) {
            throw new Error(`bad trailer for the member at ${p}`);
        }
        members.push({ offset: p, length: end + 8 - p, header: blob.subarray(p, p + h), data: r.buffer });
        p = end + 8;
    }
    return members;
}

/** The TOC offset from the 51-byte footer, and the TOC JSON inside the member there. */
export function estargzToc(blob: Buffer): { tocOffset: number; json: Buffer } {
    const footer = blob.subarray(blob.length - 51);
    const tocOffset = Number.parseInt(footer.toString("latin1", 16, 32), 16);
    const members = gzipMembers(blob.subarray(tocOffset, blob.length - 51));
    const tar = members[0]!.data;
    const size = Number.parseInt(tar.toString("latin1", 124, 135), 8);
    return { tocOffset, json: tar.subarray(512, 512 + size) };
}
