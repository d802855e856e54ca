/**
 * bbolt's on-disk page (format version 2), read-only. Mirrors go.etcd.io/bbolt `page.go`
 * (`page`, `branchPageElement`, `leafPageElement`) and `db.go` (`meta`).
 *
 * Integers are in the writing host's byte order; bbolt casts structs straight onto the bytes.
 * Only little-endian files (x86-64, arm64) are read: a big-endian file's magic reads
 * byte-swapped and is refused as Unsupported.
 */

/** 16-byte page header: id u64, flags u16, count u16, overflow u32. */
export const PAGE_HEADER_SIZE = 16;
export const BRANCH_ELEMENT_SIZE = 16; // pos u32, ksize u32, pgid u64
export const LEAF_ELEMENT_SIZE = 16; // flags u32, pos u32, ksize u32, vsize u32
/** A bucket value: root pgid u64, sequence u64; an inline bucket's page follows it. */
export const BUCKET_HEADER_SIZE = 16;

export const BRANCH_PAGE_FLAG = 0x01;
export const LEAF_PAGE_FLAG = 0x02;
export const META_PAGE_FLAG = 0x04;
export const FREELIST_PAGE_FLAG = 0x10;
/** Leaf element flag: the value is a nested bucket. */
export const BUCKET_LEAF_FLAG = 0x01;

export const MAGIC = 0xed0cdaed;
export const VERSION = 2;

export interface PageHeader {
    readonly id: number;
    readonly flags: number;
    readonly count: number;
    readonly overflow: number;
}

/** A page as read: its header and all (1+overflow)*pageSize bytes, header included. */
export interface Page extends PageHeader {
    readonly buf: Buffer;
}

export function flagName(flags: number): string {
    switch (flags) {
        case BRANCH_PAGE_FLAG:
            return "branch";
        case LEAF_PAGE_FLAG:
            return "leaf";
        case META_PAGE_FLAG:
            return "meta";
        case FREELIST_PAGE_FLAG:
            return "freelist";
        default:
            return `unknown(0x${flags.toString(16)})`;
    }
}

/** Reads a u64 that must fit a JS number (page ids, sizes); null when it does not. */
export function readU64(buf: Buffer, off: number): number | null {
    const v = buf.readBigUInt64LE(off);
    return v > BigInt(Number.MAX_SAFE_INTEGER) ? null : Number(v);
}

export function readPageHeader(buf: Buffer, off = 0): PageHeader | null {
    const id = readU64(buf, off);
    if (id === null) return null;
    return { id, flags: buf.readUInt16LE(off + 8), count: buf.readUInt16LE(off + 10), overflow: buf.readUInt32LE(off + 12) };
}

/** One element of a branch page: the smallest key of the child page, and that page. */
export interface BranchElement {
    readonly key: Buffer;
    readonly pgid: number;
}

/** One element of a leaf page: a key and its value, or a nested bucket's header (+inline page). */
export interface LeafElement {
    readonly flags: number;
    readonly key: Buffer;
    readonly value: Buffer;
}
