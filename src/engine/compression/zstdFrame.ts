/**
 * Zstandard frame and block headers (RFC 8878 §3.1.1), enough to walk a stream frame by frame
 * without decoding it, and to give the native binding's frames a content size and checksum.
 */
import { EngineError } from "../errors";

export const ZSTD_MAGIC = 0xfd2fb528;
/** Skippable frames: magic 0x184D2A50..0x184D2A5F (RFC 8878 §3.1.2). */
export const SKIPPABLE_MASK = 0xfffffff0;
export const SKIPPABLE_MAGIC = 0x184d2a50;
/** Block_Maximum_Size is min(Window_Size, 128 KiB). */
export const MAX_BLOCK_SIZE = 128 * 1024;
export const BLOCK_HEADER_SIZE = 3;

export interface FrameHeader {
    readonly headerSize: number;
    readonly singleSegment: boolean;
    readonly hasChecksum: boolean;
    readonly dictionaryId: number;
    /** Frame_Content_Size when present. */
    readonly contentSize: number | undefined;
    readonly windowSize: number;
}

export function isSkippableMagic(magic: number): boolean {
    return ((magic & SKIPPABLE_MASK) >>> 0) === SKIPPABLE_MAGIC;
}

const DICT_ID_BYTES = [0, 1, 2, 4];

/** Bytes of the frame header given its first 5 bytes (magic + descriptor). */
export function frameHeaderSize(fhd: number): number {
    const fcsFlag = fhd >> 6;
    const single = (fhd & 0x20) !== 0;
    const fcsBytes = fcsFlag === 0 ? (single ? 1 : 0) : 1 << fcsFlag;
    return 5 + (single ? 0 : 1) + DICT_ID_BYTES[fhd & 3]! + fcsBytes;
}

function readLE(b: Buffer, off: number, n: number): number {
    let v = 0;
    for (let i = n - 1; i >= 0; i--) v = v * 256 + b[off + i]!;
    return v;
}

/** Parses a complete zstd frame header at `b[0..]` (magic included). */
export function parseFrameHeader(b: Buffer): FrameHeader {
    const fhd = b[4]!;
    if ((fhd & 0x08) !== 0) {
        throw new EngineError("Corrupt", "zstd frame header has its reserved bit set");
    }
    const single = (fhd & 0x20) !== 0;
    let off = 5;
    let windowSize = 0;
    if (!single) {
        const wd = b[off++]!;
        const windowLog = 10 + (wd >> 3);
        const base = 2 ** windowLog;
        windowSize = base + (base / 8) * (wd & 7);
    }
    const dictBytes = DICT_ID_BYTES[fhd & 3]!;
    const dictionaryId = readLE(b, off, dictBytes);
    off += dictBytes;
    const fcsFlag = fhd >> 6;
    const fcsBytes = fcsFlag === 0 ? (single ? 1 : 0) : 1 << fcsFlag;
    let contentSize: number | undefined;
    if (fcsBytes > 0) {
        contentSize = readLE(b, off, fcsBytes) + (fcsBytes === 2 ? 256 : 0);
        off += fcsBytes;
    }
    if (single) {
        windowSize = contentSize!;
    }
    const hasChecksum = (fhd & 0x04) !== 0;
    return { headerSize: off, singleSegment: single, hasChecksum, dictionaryId, contentSize, windowSize };
}

export type BlockType = "raw" | "rle" | "compressed";

export interface BlockHeader {
    readonly last: boolean;
    readonly type: BlockType;
    /** Bytes following the 3-byte header. */
    readonly contentBytes: number;
    /** Upper bound of the bytes it regenerates. */
    readonly maxOutput: number;
}

export function parseBlockHeader(b: Buffer, off: number, windowSize: number): BlockHeader {
    const v = b[off]! | (b[off + 1]! << 8) | (b[off + 2]! << 16);
    const size = v >>> 3;
    const last = (v & 1) !== 0;
    const blockMax = Math.min(windowSize, MAX_BLOCK_SIZE);
    switch ((v >> 1) & 3) {
        case 0:
            return { last, type: "raw", contentBytes: size, maxOutput: size };
        case 1:
            return { last, type: "rle", contentBytes: 1, maxOutput: size };
        case 2:
            if (size > blockMax) {
                throw new EngineError("Corrupt", `zstd block of ${size} bytes exceeds the ${blockMax}-byte maximum`);
            }
            return { last, type: "compressed", contentBytes: size, maxOutput: blockMax };
        default:
            throw new EngineError("Corrupt", "zstd block has the reserved block type");
    }
}

/**
 * Rewrites the header of a frame made by the native binding (no content size, no checksum, no
 * dictionary) so that it declares `contentSize` and a checksum. Returns the new header and the
 * offset in `frame` where the blocks start. Sizes below 256 use a single-segment header (as
 * libzstd does: a 1-byte size, Window_Size = content size); larger ones keep the window
 * descriptor and use libzstd's field width for the size.
 */
export function withSizeAndChecksum(frame: Buffer, contentSize: number): { header: Buffer; bodyOffset: number } {
    const h = parseFrameHeader(frame);
    if (h.dictionaryId !== 0 || h.hasChecksum) {
        throw new EngineError("Internal", "unexpected zstd frame header from the native encoder");
    }
    if (h.contentSize !== undefined) {
        if (h.contentSize !== contentSize) {
            throw new EngineError("Internal", "the native zstd frame declares a different content size");
        }
        const header = Buffer.from(frame.subarray(0, h.headerSize));
        header[4] = header[4]! | 0x04; // add Content_Checksum
        return { header, bodyOffset: h.headerSize };
    }
    const magic = frame.subarray(0, 4);
    if (contentSize < 256) {
        const header = Buffer.alloc(6);
        magic.copy(header, 0);
        header[4] = 0x20 | 0x04; // Single_Segment, Content_Checksum, FCS flag 0 = 1 byte
        header[5] = contentSize;
        return { header, bodyOffset: h.headerSize };
    }
    const code = contentSize < 65536 + 256 ? 1 : contentSize <= 0xffffffff ? 2 : 3;
    const fcsBytes = 1 << code;
    const header = Buffer.alloc(6 + fcsBytes);
    magic.copy(header, 0);
    header[4] = (code << 6) | 0x04;
    header[5] = frame[5]!; // Window_Descriptor
    let v = code === 1 ? contentSize - 256 : contentSize;
    for (let i = 0; i < fcsBytes; i++) {
        header[6 + i] = v % 256;
        v = Math.floor(v / 256);
    }
    return { header, bodyOffset: h.headerSize };
}
