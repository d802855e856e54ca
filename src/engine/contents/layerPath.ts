/**
 * Layer paths as strings that survive any byte sequence. Names in a layer are bytes (Go strings),
 * often but not always UTF-8; URIs and JSON need strings. `encodeLayerPath` keeps every valid
 * UTF-8 sequence as itself and writes each byte that is not part of one, and every '%', as %XX
 * (upper-case hex), so `decodeLayerPath(encodeLayerPath(b))` equals `b` for every buffer.
 */
import { EngineError } from "../errors";

const PERCENT = 0x25;

/** The length of the valid UTF-8 sequence starting at b[i], or 0 when none starts there. */
function utf8SequenceLength(b: Buffer, i: number): number {
    const c = b[i]!;
    if (c < 0x80) return 1;
    let n: number;
    let min: number;
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2; min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3; min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4; min = 0x10000;
    } else {
        return 0;
    }
    if (i + n > b.length) return 0;
    let cp = c & (0xff >> (n + 1));
    for (let k = 1; k < n; k++) {
        const cc = b[i + k]!;
        if ((cc & 0xc0) !== 0x80) return 0;
        cp = (cp << 6) | (cc & 0x3f);
    }
    // Overlong forms, UTF-16 surrogates and code points past U+10FFFF are not valid UTF-8.
    if (cp < min || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) return 0;
    return n;
}

function hex(byte: number): string {
    return `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
}

/** Bytes to a string: valid UTF-8 as is, other bytes and '%' as %XX. */
export function encodeLayerPath(bytes: Buffer): string {
    let out = "";
    let run = 0; // start of the pending run of plain UTF-8
    let i = 0;
    while (i < bytes.length) {
        const n = bytes[i] === PERCENT ? 0 : utf8SequenceLength(bytes, i);
        if (n > 0) {
            i += n;
            continue;
        }
        out += bytes.toString("utf8", run, i) + hex(bytes[i]!);
        i++;
        run = i;
    }
    return out + bytes.toString("utf8", run, i);
}

/** The inverse of encodeLayerPath; a '%' not followed by two hex digits is InvalidArgument. */
export function decodeLayerPath(s: string): Buffer {
    if (!s.includes("%")) return Buffer.from(s, "utf8");
    const parts: Buffer[] = [];
    let run = 0;
    for (let i = s.indexOf("%"); i >= 0; i = s.indexOf("%", run)) {
        const h = s.slice(i + 1, i + 3);
        if (!/^[0-9A-Fa-f]{2}$/.test(h)) {
            throw new EngineError("InvalidArgument", `layer path ${JSON.stringify(s)}: '%' must be followed by two hex digits (write '%25' for '%')`, { path: s });
        }
        parts.push(Buffer.from(s.slice(run, i), "utf8"), Buffer.of(parseInt(h, 16)));
        run = i + 3;
    }
    parts.push(Buffer.from(s.slice(run), "utf8"));
    return Buffer.concat(parts);
}

/**
 * A path given by a caller ("/a/b", "a/b/", "/" or bytes) in continuity's form "/a/b". Empty,
 * "." and ".." components and NUL bytes are refused (UnsafePath): a path is a lookup in one
 * layer's tree, never something to resolve against a directory on disk.
 */
export function cleanLayerPath(p: string | Buffer): Buffer {
    const b = typeof p === "string" ? decodeLayerPath(p) : p;
    const parts: Buffer[] = [];
    let start = 0;
    for (let i = 0; i <= b.length; i++) {
        if (i < b.length && b[i] !== 0x2f) {
            if (b[i] === 0) throw unsafePath(b, "contains a NUL byte");
            continue;
        }
        const part = b.subarray(start, i);
        start = i + 1;
        if (part.length === 0) continue; // leading, trailing or doubled '/'
        if (part.length <= 2 && part.every((c) => c === 0x2e)) throw unsafePath(b, "has a '.' or '..' component");
        parts.push(part);
    }
    const out: Buffer[] = [];
    for (const part of parts) out.push(Buffer.from("/"), part);
    return out.length === 0 ? Buffer.from("/") : Buffer.concat(out);
}

function unsafePath(b: Buffer, why: string): EngineError {
    const shown = encodeLayerPath(b);
    return new EngineError("UnsafePath", `layer path ${JSON.stringify(shown)} ${why}; give a path from the layer's root like /etc/hosts`, { path: shown });
}
