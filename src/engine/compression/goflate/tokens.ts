/**
 * Mirrors Go 1.19 `src/compress/flate/token.go` and the code tables of `huffman_bit_writer.go`:
 * the LZ77 token encoding and the RFC 1951 §3.2.5 length and distance codes.
 *
 * A token is a uint32: bits 30-31 are the type (0 literal, 1 match), bits 22-29 hold
 * `length - 3` and bits 0-21 hold `offset - 1` (or the literal byte).
 */

export const LENGTH_SHIFT = 22;
export const OFFSET_MASK = (1 << LENGTH_SHIFT) - 1;
export const MATCH_TYPE = 1 << 30;

/** The end-of-block symbol, written as a literal token. */
export const END_BLOCK_MARKER = 256;
export const LENGTH_CODES_START = 257;
/** Literal/length alphabet size (RFC 1951: 286 codes are used of 288). */
export const MAX_NUM_LIT = 286;
export const OFFSET_CODE_COUNT = 30;
export const CODEGEN_CODE_COUNT = 19;

export const BASE_MATCH_LENGTH = 3;
export const MIN_MATCH_LENGTH = 4;
export const MAX_MATCH_LENGTH = 258;
export const BASE_MATCH_OFFSET = 1;
export const MAX_MATCH_OFFSET = 1 << 15;
export const MAX_STORE_BLOCK_SIZE = 65535;

/** Extra bits of each length code (code - 257) and the length (minus 3) it starts at. */
export const LENGTH_EXTRA_BITS = Uint8Array.from([
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
]);
export const LENGTH_BASE = Uint16Array.from([
    0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 14, 16, 20, 24, 28, 32, 40, 48, 56,
    64, 80, 96, 112, 128, 160, 192, 224, 255,
]);

/** Extra bits of each distance code and the distance (minus 1) it starts at. */
export const OFFSET_EXTRA_BITS = Uint8Array.from([
    0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13,
]);
export const OFFSET_BASE = Uint32Array.from([
    0x0000, 0x0001, 0x0002, 0x0003, 0x0004, 0x0006, 0x0008, 0x000c, 0x0010, 0x0018,
    0x0020, 0x0030, 0x0040, 0x0060, 0x0080, 0x00c0, 0x0100, 0x0180, 0x0200, 0x0300,
    0x0400, 0x0600, 0x0800, 0x0c00, 0x1000, 0x1800, 0x2000, 0x3000, 0x4000, 0x6000,
]);

/** `lengthCodes`: length - 3 (0..255) -> length code - 257. Length 258 has its own code 28. */
export const LENGTH_CODES: Uint8Array = (() => {
    const t = new Uint8Array(256);
    for (let code = 0; code < 28; code++) {
        for (let k = 0; k < 1 << LENGTH_EXTRA_BITS[code]!; k++) {
            t[LENGTH_BASE[code]! + k] = code;
        }
    }
    t[255] = 28;
    return t;
})();

/** `offsetCodes`: offset - 1 (0..255) -> distance code; larger offsets use it scaled. */
const OFFSET_CODES: Uint8Array = (() => {
    const t = new Uint8Array(256);
    for (let code = 0; code < 16; code++) {
        for (let k = 0; k < 1 << OFFSET_EXTRA_BITS[code]!; k++) {
            t[OFFSET_BASE[code]! + k] = code;
        }
    }
    return t;
})();

export function literalToken(lit: number): number {
    return lit;
}

export function matchToken(xlength: number, xoffset: number): number {
    return MATCH_TYPE + (xlength << LENGTH_SHIFT) + xoffset;
}

/** `offsetCode`: codes 16-29 cover 256-32767 in steps of 128 (>>7, +14 codes per doubling). */
export function offsetCode(off: number): number {
    if (off < 256) {
        return OFFSET_CODES[off]!;
    }
    if (off >> 7 < 256) {
        return OFFSET_CODES[off >> 7]! + 14;
    }
    return OFFSET_CODES[off >> 14]! + 28;
}
