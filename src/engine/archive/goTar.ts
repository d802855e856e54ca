/**
 * Mirrors Go 1.19 `archive/tar` `Writer.WriteHeader` (writer.go, common.go `allowedFormats`,
 * strconv.go formatters): the exact header bytes containerd's ChangeWriter produces.
 *
 * Only what a layer differ can reach is supported: typeflags 0-6, USTAR and PAX. GNU would only
 * be chosen for device numbers >= 8^7, which containerd rejects (the header asks for PAX), so we
 * reject them too. All strings are raw bytes, as Go strings are.
 */
import { EngineError } from "../errors";

export const BLOCK_SIZE = 512;

export const TypeReg = 0x30; // '0'
export const TypeLink = 0x31; // '1'
export const TypeSymlink = 0x32; // '2'
export const TypeChar = 0x33; // '3'
export const TypeBlock = 0x34; // '4'
export const TypeDir = 0x35; // '5'
export const TypeFifo = 0x36; // '6'
const TypeXHeader = 0x78; // 'x'

/** `Format` of the Go header: PAX for ordinary entries, unset ("unknown") for whiteouts. */
export type RequestedFormat = "pax" | "unknown";

export interface TarHeader {
    name: Buffer;
    linkname: Buffer;
    typeflag: number;
    /** Permission bits plus 04000/02000/01000 (no file-type bits). */
    mode: number;
    uid: number;
    gid: number;
    size: bigint;
    /** Whole seconds since the Unix epoch (the caller truncates or rounds, as Go would). */
    mtime: bigint;
    devmajor: bigint;
    devminor: bigint;
    /**
     * User and group names (raw bytes); unset or empty for containerd >= 1.6.20, which does no
     * lookups. Set when replaying a writer that did (see nameLookup.ts).
     */
    uname?: Buffer;
    gname?: Buffer;
    /** Extra PAX records (e.g. SCHILY.xattr.security.capability), values as raw bytes. */
    paxRecords?: ReadonlyMap<string, Buffer>;
}

// Field sizes, from Go's format.go.
const nameSize = 100;
const prefixSize = 155;
const maxSpecialFileSize = 1 << 20;

/** Go's zero time.Time (0001-01-01T00:00:00Z) in Unix seconds: `IsZero()` mtimes are written as 0. */
const GO_ZERO_TIME_UNIX = -62135596800n;

const EMPTY = Buffer.alloc(0);

const F_USTAR = 1;
const F_PAX = 2;
const F_GNU = 4;

function isASCII(s: Buffer): boolean {
    // Go ranges over runes; every byte >= 0x80 belongs to a non-ASCII or invalid rune, so the
    // byte-wise test is the same.
    for (let i = 0; i < s.length; i++) {
        const c = s[i]!;
        if (c >= 0x80 || c === 0) {
            return false;
        }
    }
    return true;
}

function toASCII(s: Buffer): Buffer {
    if (isASCII(s)) {
        return s;
    }
    const out = Buffer.allocUnsafe(s.length);
    let n = 0;
    for (let i = 0; i < s.length; i++) {
        const c = s[i]!;
        if (c < 0x80 && c !== 0) {
            out[n++] = c;
        }
    }
    return out.subarray(0, n);
}

function fitsInOctal(n: number, x: bigint): boolean {
    const octBits = BigInt((n - 1) * 3);
    return x >= 0n && (n >= 22 || x < 1n << octBits);
}

/** splitUSTARPath: the prefix/suffix split of a long ASCII name, or null. */
export function splitUSTARPath(name: Buffer): [Buffer, Buffer] | null {
    let length = name.length;
    if (length <= nameSize || !isASCII(name)) {
        return null;
    } else if (length > prefixSize + 1) {
        length = prefixSize + 1;
    } else if (name[length - 1] === 0x2f) {
        length--;
    }
    const i = name.subarray(0, length).lastIndexOf(0x2f);
    const nlen = name.length - i - 1;
    const plen = i;
    if (i <= 0 || nlen > nameSize || nlen === 0 || plen > prefixSize) {
        return null;
    }
    return [name.subarray(0, i), name.subarray(i + 1)];
}

/** formatString: copy, NUL-terminate if there is room, and never leave a trailing '/' cut short. */
function formatString(blk: Buffer, off: number, size: number, s: Buffer): void {
    s.copy(blk, off, 0, Math.min(s.length, size));
    if (s.length < size) {
        blk[off + s.length] = 0;
    }
    if (s.length > size && blk[off + size - 1] === 0x2f) {
        let n = size;
        while (n > 0 && s[n - 1] === 0x2f) {
            n--;
        }
        blk[off + n] = 0;
    }
}

function formatOctal(blk: Buffer, off: number, size: number, x: bigint): void {
    if (!fitsInOctal(size, x)) {
        x = 0n; // Go: "last resort, just write zero"
    }
    let s = x.toString(8);
    const pad = size - s.length - 1;
    if (pad > 0) {
        s = "0".repeat(pad) + s;
    }
    formatString(blk, off, size, Buffer.from(s, "latin1"));
}

function setFormatAndChecksum(blk: Buffer): void {
    // USTAR and PAX share the magic "ustar\0" and version "00".
    blk.write("ustar\u000000", 257, "latin1");
    let sum = 0;
    for (let i = 0; i < BLOCK_SIZE; i++) {
        sum += i >= 148 && i < 156 ? 0x20 : blk[i]!;
    }
    formatOctal(blk, 148, 7, BigInt(sum));
    blk[155] = 0x20;
}

type StrFmt = (blk: Buffer, off: number, size: number, s: Buffer) => void;

/** templateV7Plus: the fields shared by USTAR and the main PAX header. */
function templateV7Plus(h: TarHeader, fmtStr: StrFmt): Buffer {
    const blk = Buffer.alloc(BLOCK_SIZE);
    blk[156] = h.typeflag;
    fmtStr(blk, 0, 100, h.name);
    fmtStr(blk, 157, 100, h.linkname);
    formatOctal(blk, 100, 8, BigInt(h.mode));
    formatOctal(blk, 108, 8, BigInt(h.uid));
    formatOctal(blk, 116, 8, BigInt(h.gid));
    formatOctal(blk, 124, 12, h.size);
    formatOctal(blk, 136, 12, h.mtime === GO_ZERO_TIME_UNIX ? 0n : h.mtime);
    // Empty names (containerd >= 1.6.20 does no lookups): formatString of "" writes a single NUL
    // into an already zero field.
    if (h.uname && h.uname.length > 0) fmtStr(blk, 265, 32, h.uname);
    if (h.gname && h.gname.length > 0) fmtStr(blk, 297, 32, h.gname);
    formatOctal(blk, 329, 8, h.devmajor);
    formatOctal(blk, 337, 8, h.devminor);
    return blk;
}

/** formatPAXRecord: "<len> <key>=<value>\n" where <len> counts the whole record. */
function formatPAXRecord(key: string, value: Buffer): Buffer {
    const k = Buffer.from(key, "latin1");
    const padding = 3; // ' ', '=', '\n'
    let size = k.length + value.length + padding;
    size += String(size).length;
    let lenStr = String(size);
    if (lenStr.length + 1 + k.length + 1 + value.length + 1 !== size) {
        size = lenStr.length + 1 + k.length + 1 + value.length + 1;
        lenStr = String(size);
    }
    return Buffer.concat([Buffer.from(`${lenStr} `, "latin1"), k, Buffer.from("="), value, Buffer.from("\n")]);
}

function byteCompare(a: string, b: string): number {
    return Buffer.compare(Buffer.from(a, "latin1"), Buffer.from(b, "latin1"));
}

interface Allowed {
    formats: number;
    pax: Map<string, Buffer>;
    why: string[];
}

function allowedFormats(h: TarHeader, requested: RequestedFormat): Allowed {
    let formats = F_USTAR | F_PAX | F_GNU;
    const pax = new Map<string, Buffer>();
    const why: string[] = [];
    let preferPAX = false;

    const verifyString = (s: Buffer, size: number, field: string, key: string): void => {
        const tooLong = s.length > size;
        const allowLongGNU = key === "path" || key === "linkpath";
        if (s.includes(0) || (tooLong && !allowLongGNU)) {
            formats &= ~F_GNU;
        }
        if (!isASCII(s) || tooLong) {
            if (key !== "path" || splitUSTARPath(s) === null) {
                why.push(`USTAR cannot encode ${field}`);
                formats &= ~F_USTAR;
            }
            pax.set(key, s);
        }
    };
    const verifyNumeric = (n: bigint, size: number, field: string, key: string | null): void => {
        const binBits = BigInt((size - 1) * 8);
        if (!(size >= 9 || (n >= -(1n << binBits) && n < 1n << binBits))) {
            formats &= ~F_GNU;
        }
        if (!fitsInOctal(size, n)) {
            why.push(`USTAR cannot encode ${field}=${n}`);
            formats &= ~F_USTAR;
            if (key === null) {
                why.push(`PAX cannot encode ${field}=${n}`);
                formats &= ~F_PAX;
            } else {
                pax.set(key, Buffer.from(n.toString(10), "latin1"));
            }
        }
    };

    verifyString(h.name, 100, "Name", "path");
    verifyString(h.linkname, 100, "Linkname", "linkpath");
    verifyString(h.uname ?? EMPTY, 32, "Uname", "uname");
    verifyString(h.gname ?? EMPTY, 32, "Gname", "gname");
    verifyNumeric(BigInt(h.mode), 8, "Mode", null);
    verifyNumeric(BigInt(h.uid), 8, "Uid", "uid");
    verifyNumeric(BigInt(h.gid), 8, "Gid", "gid");
    verifyNumeric(h.size, 12, "Size", "size");
    verifyNumeric(h.devmajor, 8, "Devmajor", null);
    verifyNumeric(h.devminor, 8, "Devminor", null);
    // verifyTime for ModTime: whole seconds, so the record is only needed when octal cannot hold it.
    if (h.mtime !== GO_ZERO_TIME_UNIX && !fitsInOctal(12, h.mtime)) {
        why.push(`USTAR cannot encode ModTime=${h.mtime}`);
        formats &= ~F_USTAR;
        preferPAX = true;
        pax.set("mtime", Buffer.from(h.mtime.toString(10), "latin1"));
    }
    if (h.paxRecords && h.paxRecords.size > 0) {
        for (const [k, v] of h.paxRecords) {
            if (!pax.has(k)) {
                pax.set(k, v);
            }
        }
        formats &= F_PAX;
    }
    if (requested === "pax") {
        let want = F_PAX;
        if (!preferPAX) {
            want |= F_USTAR;
        }
        formats &= want;
    }
    return { formats, pax, why };
}

/**
 * Encodes one entry's header blocks (a PAX extended header and its records first, when needed)
 * exactly as Go's tar.Writer.WriteHeader does. The caller writes the data and its padding.
 */
export function encodeHeader(h: TarHeader, requested: RequestedFormat): Buffer {
    const { formats, pax, why } = allowedFormats(h, requested);
    if (formats & F_USTAR) {
        return encodeUSTAR(h);
    }
    if (formats & F_PAX) {
        return encodePAX(h, pax);
    }
    throw new EngineError(
        "Unsupported",
        `cannot encode a tar header for ${h.name.toString("utf8")}: ${why.join("; ") || "no format fits"}` +
            " (containerd's writer rejects it too)",
        { path: h.name.toString("utf8") },
    );
}

function encodeUSTAR(h: TarHeader): Buffer {
    const split = splitUSTARPath(h.name);
    const hh = split ? { ...h, name: split[1] } : h;
    const blk = templateV7Plus(hh, formatString);
    if (split) {
        formatString(blk, 345, 155, split[0]);
    }
    setFormatAndChecksum(blk);
    return blk;
}

function encodePAX(h: TarHeader, pax: Map<string, Buffer>): Buffer {
    const parts: Buffer[] = [];
    if (pax.size > 0) {
        const keys = [...pax.keys()].sort(byteCompare);
        const data = Buffer.concat(keys.map((k) => formatPAXRecord(k, pax.get(k)!)));
        if (data.length > maxSpecialFileSize) {
            throw new EngineError("Unsupported", `PAX records of ${h.name.toString("utf8")} exceed 1 MiB`, {
                path: h.name.toString("utf8"),
            });
        }
        parts.push(rawFileHeader(paxHeaderName(h.name), data.length), data, zeroPad(data.length));
    }
    const asciiStr: StrFmt = (blk, off, size, s) => formatString(blk, off, size, toASCII(s));
    const blk = templateV7Plus(h, asciiStr);
    setFormatAndChecksum(blk);
    parts.push(blk);
    return Buffer.concat(parts);
}

/** path.Join(dir, "PaxHeaders.0", file) where dir, file = path.Split(name). */
function paxHeaderName(name: Buffer): Buffer {
    const slash = name.lastIndexOf(0x2f);
    const dir = name.subarray(0, slash + 1);
    const file = name.subarray(slash + 1);
    const parts = [dir, Buffer.from("PaxHeaders.0")];
    if (file.length > 0) {
        parts.push(Buffer.from("/"), file);
    }
    return Buffer.concat(parts);
}

/** writeRawFile's header: ASCII name cut to 100 bytes, trailing '/' trimmed, zero numbers. */
function rawFileHeader(name: Buffer, size: number): Buffer {
    let n = toASCII(name);
    if (n.length > nameSize) {
        n = n.subarray(0, nameSize);
    }
    let end = n.length;
    while (end > 0 && n[end - 1] === 0x2f) {
        end--;
    }
    n = n.subarray(0, end);
    const blk = Buffer.alloc(BLOCK_SIZE);
    blk[156] = TypeXHeader;
    formatString(blk, 0, 100, n);
    formatOctal(blk, 100, 8, 0n);
    formatOctal(blk, 108, 8, 0n);
    formatOctal(blk, 116, 8, 0n);
    formatOctal(blk, 124, 12, BigInt(size));
    formatOctal(blk, 136, 12, 0n);
    setFormatAndChecksum(blk);
    return blk;
}

export function zeroPad(size: number | bigint): Buffer {
    const rem = Number(BigInt(size) % BigInt(BLOCK_SIZE));
    return rem === 0 ? Buffer.alloc(0) : Buffer.alloc(BLOCK_SIZE - rem);
}

/** Close(): two zero blocks, no padding to a record size. */
export const END_OF_ARCHIVE = Buffer.alloc(2 * BLOCK_SIZE);
