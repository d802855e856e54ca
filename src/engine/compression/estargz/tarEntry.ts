/**
 * The header of one tar entry after its PAX records and GNU long names are applied: vbatts/
 * tar-split `archive/tar` `Reader.next` (`mergePAX`, GNU long name/link, the TypeRegA rule,
 * `handleRegularFile`). All strings are raw bytes, as Go strings are.
 */
import { EngineError } from "../../errors";
import { headerError, parseDecimalInt64, parsePAXTime, unixTime, type UnixTime } from "./goParse";
import type { HeaderBlock } from "./tarBlock";

export interface ScannedEntry {
    readonly typeflag: number;
    readonly name: Buffer;
    readonly linkname: Buffer;
    readonly mode: bigint;
    readonly uid: bigint;
    readonly gid: bigint;
    readonly uname: Buffer;
    readonly gname: Buffer;
    /** Header.Size (the logical size; only regular files carry a payload). */
    readonly size: number;
    /** Payload bytes that follow the header in the archive. */
    readonly dataSize: number;
    readonly mtime: UnixTime;
    readonly devmajor: bigint;
    readonly devminor: bigint;
    /** Header.PAXRecords: every record of the entry's 'x' header, empty values included. */
    readonly pax: ReadonlyMap<string, Buffer>;
}

const TYPE_REGA = 0x00;
const TYPE_REG = 0x30;
const TYPE_DIR = 0x35;
/** isHeaderOnlyType: link, symlink, char, block, dir, fifo carry no payload whatever Size says. */
const HEADER_ONLY: ReadonlySet<number> = new Set([0x31, 0x32, 0x33, 0x34, 0x35, 0x36]);

function int64Record(key: string, v: Buffer): bigint {
    const n = parseDecimalInt64(v.toString("latin1"));
    if (n === undefined) {
        throw headerError(`PAX ${key} ${JSON.stringify(v.toString("latin1"))}`, "bad-pax");
    }
    return n;
}

function toSafeSize(n: bigint): number {
    if (n > BigInt(Number.MAX_SAFE_INTEGER)) {
        throw new EngineError("Unsupported", `a tar entry of ${n} bytes is too large`, { reason: "bad-header-number" });
    }
    return Number(n);
}

export function mergeEntry(
    hdr: HeaderBlock,
    pax: ReadonlyMap<string, Buffer> | undefined,
    longName: Buffer | undefined,
    longLink: Buffer | undefined,
): ScannedEntry {
    let { name, linkname, uname, gname, uid, gid, size } = hdr;
    let mtime = unixTime(hdr.mtime, 0n);
    for (const [key, v] of pax ?? []) {
        if (key.startsWith("GNU.sparse.")) {
            throw new EngineError("Unsupported", "GNU sparse files are not supported in eStargz input", { key, reason: "sparse" });
        }
        if (v.length === 0) {
            continue; // keep the USTAR value
        }
        switch (key) {
            case "path": name = v; break;
            case "linkpath": linkname = v; break;
            case "uname": uname = v; break;
            case "gname": gname = v; break;
            case "uid": uid = int64Record(key, v); break;
            case "gid": gid = int64Record(key, v); break;
            case "size": size = int64Record(key, v); break;
            case "mtime": mtime = parsePAXTime(v.toString("latin1"), key); break;
            case "atime":
            case "ctime":
                parsePAXTime(v.toString("latin1"), key); // validated, not kept
                break;
        }
    }
    if (longName !== undefined && longName.length > 0) {
        name = longName;
    }
    if (longLink !== undefined && longLink.length > 0) {
        linkname = longLink;
    }
    let typeflag = hdr.typeflag;
    if (typeflag === TYPE_REGA) {
        // Legacy archives use a trailing slash for directories.
        typeflag = name.length > 0 && name[name.length - 1] === 0x2f ? TYPE_DIR : TYPE_REG;
    }
    if (size < 0n) {
        throw headerError("negative size", "bad-header-number");
    }
    const logical = toSafeSize(size);
    return {
        typeflag, name, linkname, mode: hdr.mode, uid, gid, uname, gname,
        size: logical,
        dataSize: HEADER_ONLY.has(typeflag) ? 0 : logical,
        mtime, devmajor: hdr.devmajor, devminor: hdr.devminor,
        pax: pax ?? new Map(),
    };
}
