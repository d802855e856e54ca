/**
 * bbolt's meta pages (pages 0 and 1). Mirrors go.etcd.io/bbolt `db.go` `meta.validate`,
 * `meta.sum64` and `DB.meta()`: a meta is valid when its page has the meta flag, the magic,
 * version 2 and a matching FNV-1a 64 checksum; the current state is the valid meta with the
 * higher txid (the meta of transaction t is written to page t % 2).
 */
import { META_PAGE_FLAG, MAGIC, PAGE_HEADER_SIZE, readU64, VERSION } from "./page";

/** The meta struct: 64 bytes after the page header; the checksum covers the 56 before it. */
export const META_SIZE = 64;
const CHECKSUM_OFFSET = 56;

export interface Meta {
    readonly pageSize: number;
    readonly flags: number;
    /** Root bucket: the root page of the B+tree of top-level buckets, and its sequence. */
    readonly root: number;
    readonly rootSequence: bigint;
    readonly freelist: bigint;
    /** High-water mark: pages >= pgid were never allocated (the file may be larger). */
    readonly pgid: number;
    readonly txid: bigint;
    readonly checksum: bigint;
}

export type MetaResult = { readonly ok: true; readonly meta: Meta } | { readonly ok: false; readonly why: string };

const FNV_OFFSET = 0xcbf29ce484222325n;
const FNV_PRIME = 0x100000001b3n;
const MASK64 = 0xffffffffffffffffn;

/** FNV-1a 64 (Go hash/fnv New64a). */
export function fnv1a64(bytes: Uint8Array): bigint {
    let h = FNV_OFFSET;
    for (const b of bytes) {
        h = ((h ^ BigInt(b)) * FNV_PRIME) & MASK64;
    }
    return h;
}

/** Parses and validates the meta page held in `page` (at least 16 + 64 bytes). */
export function parseMeta(page: Buffer): MetaResult {
    if (page.length < PAGE_HEADER_SIZE + META_SIZE) {
        return { ok: false, why: "truncated" };
    }
    const flags = page.readUInt16LE(8);
    const m = PAGE_HEADER_SIZE;
    const magic = page.readUInt32LE(m);
    if (magic !== MAGIC) {
        return { ok: false, why: page.readUInt32BE(m) === MAGIC ? "big-endian" : "bad magic" };
    }
    if ((flags & META_PAGE_FLAG) === 0) {
        return { ok: false, why: `not a meta page (flags 0x${flags.toString(16)})` };
    }
    const version = page.readUInt32LE(m + 4);
    if (version !== VERSION) {
        return { ok: false, why: `format version ${version}, expected ${VERSION}` };
    }
    const checksum = page.readBigUInt64LE(m + CHECKSUM_OFFSET);
    if (checksum !== 0n && checksum !== fnv1a64(page.subarray(m, m + CHECKSUM_OFFSET))) {
        return { ok: false, why: "checksum mismatch" };
    }
    const root = readU64(page, m + 16);
    const pgid = readU64(page, m + 40);
    if (root === null || pgid === null) {
        return { ok: false, why: "page id out of range" };
    }
    return {
        ok: true,
        meta: {
            pageSize: page.readUInt32LE(m + 8),
            flags: page.readUInt32LE(m + 12),
            root,
            rootSequence: page.readBigUInt64LE(m + 24),
            freelist: page.readBigUInt64LE(m + 32),
            pgid,
            txid: page.readBigUInt64LE(m + 48),
            checksum,
        },
    };
}

/** DB.meta(): the valid meta with the higher txid; null when neither is valid. */
export function pickMeta(a: MetaResult, b: MetaResult): Meta | null {
    if (a.ok && b.ok) return a.meta.txid >= b.meta.txid ? a.meta : b.meta;
    if (a.ok) return a.meta;
    if (b.ok) return b.meta;
    return null;
}
