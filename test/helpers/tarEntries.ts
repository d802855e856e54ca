/**
 * A small, independent tar reader for test diagnostics: splits a layer tar into entries (a PAX
 * `x` header counts as part of the entry it describes) and finds the first entry where two
 * tars differ, naming the header field that holds the first differing byte.
 */
import { createHash } from "node:crypto";

const BLOCK = 512;

export interface TarEntry {
    readonly index: number;
    /** Offset of the entry's first header block (its PAX header, if any). */
    readonly offset: number;
    readonly headerKind: string;
    /** Byte string (latin1): the PAX path when present, else prefix + "/" + name. */
    readonly name: string;
    readonly typeflag: string;
    readonly mode: string;
    readonly uid: string;
    readonly gid: string;
    readonly size: number;
    readonly mtime: string;
    readonly linkname: string;
    readonly devmajor: string;
    readonly devminor: string;
    readonly pax: ReadonlyArray<readonly [string, string]>;
    readonly dataSha256: string;
    /** Every byte of the entry: header block(s), PAX payload, data and padding. */
    readonly raw: Buffer;
    /** Offsets within `raw` of each 512-byte header block. */
    readonly headerBlocks: readonly number[];
}

export interface ParsedTar {
    readonly entries: TarEntry[];
    /** Bytes after the last entry (normally 1024 zero bytes). */
    readonly trailer: Buffer;
}

const FIELDS: ReadonlyArray<readonly [string, number, number]> = [
    ["name", 0, 100],
    ["mode", 100, 8],
    ["uid", 108, 8],
    ["gid", 116, 8],
    ["size", 124, 12],
    ["mtime", 136, 12],
    ["chksum", 148, 8],
    ["typeflag", 156, 1],
    ["linkname", 157, 100],
    ["magic", 257, 6],
    ["version", 263, 2],
    ["uname", 265, 32],
    ["gname", 297, 32],
    ["devmajor", 329, 8],
    ["devminor", 337, 8],
    ["prefix", 345, 155],
    ["pad", 500, 12],
];

function field(h: Buffer, name: string): Buffer {
    const f = FIELDS.find(([n]) => n === name)!;
    return h.subarray(f[1], f[1] + f[2]);
}

function cstr(b: Buffer): string {
    const nul = b.indexOf(0);
    return (nul < 0 ? b : b.subarray(0, nul)).toString("latin1");
}

function num(b: Buffer): string {
    if (b[0]! & 0x80) {
        return `base256:${b.toString("hex")}`;
    }
    const s = cstr(b).trim();
    return s === "" ? "" : String(parseInt(s, 8));
}

function headerKind(h: Buffer): string {
    const magic = field(h, "magic").toString("latin1");
    const version = field(h, "version").toString("latin1");
    if (magic === "ustar\0" && version === "00") {
        return "ustar";
    }
    if (magic === "ustar " && version === " \0") {
        return "gnu";
    }
    return "v7";
}

function parsePax(payload: Buffer): Array<[string, string]> {
    const out: Array<[string, string]> = [];
    let off = 0;
    while (off < payload.length) {
        const sp = payload.indexOf(0x20, off);
        if (sp < 0) {
            break;
        }
        const len = parseInt(payload.subarray(off, sp).toString("latin1"), 10);
        if (!(len > 0)) {
            break;
        }
        const rec = payload.subarray(sp + 1, off + len - 1).toString("latin1");
        const eq = rec.indexOf("=");
        out.push([rec.slice(0, eq), rec.slice(eq + 1)]);
        off += len;
    }
    return out;
}

const padded = (n: number): number => Math.ceil(n / BLOCK) * BLOCK;

export function parseTar(tar: Buffer): ParsedTar {
    const entries: TarEntry[] = [];
    let off = 0;
    while (off + BLOCK <= tar.length) {
        const start = off;
        let h = tar.subarray(off, off + BLOCK);
        if (h.every((b) => b === 0)) {
            break;
        }
        const headerBlocks: number[] = [];
        let pax: Array<[string, string]> = [];
        let kind = headerKind(h);
        let longName: string | undefined;
        let longLink: string | undefined;
        while ("xgLK".includes(String.fromCharCode(h[156]!))) {
            const flag = String.fromCharCode(h[156]!);
            const size = Number(num(field(h, "size")));
            headerBlocks.push(off - start);
            const payload = tar.subarray(off + BLOCK, off + BLOCK + size);
            if (flag === "x" || flag === "g") {
                pax = pax.concat(parsePax(payload));
                const next = off + BLOCK + padded(size);
                kind = `pax+${headerKind(tar.subarray(next, next + BLOCK))}`;
            } else if (flag === "L") {
                longName = cstr(payload);
            } else {
                longLink = cstr(payload);
            }
            off += BLOCK + padded(size);
            h = tar.subarray(off, off + BLOCK);
        }
        headerBlocks.push(off - start);
        const paxGet = (k: string): string | undefined => pax.find(([key]) => key === k)?.[1];
        const prefix = cstr(field(h, "prefix"));
        const baseName = cstr(field(h, "name"));
        const name =
            paxGet("path") ??
            longName ??
            (prefix !== "" && kind === "ustar" ? `${prefix}/${baseName}` : baseName);
        const typeflag = String.fromCharCode(h[156]!);
        const size = Number(paxGet("size") ?? num(field(h, "size")));
        const dataSize = typeflag === "0" || typeflag === "\0" || typeflag === "7" ? size : 0;
        const data = tar.subarray(off + BLOCK, off + BLOCK + dataSize);
        off += BLOCK + padded(dataSize);
        entries.push({
            index: entries.length,
            offset: start,
            headerKind: kind,
            name,
            typeflag,
            mode: num(field(h, "mode")),
            uid: paxGet("uid") ?? num(field(h, "uid")),
            gid: paxGet("gid") ?? num(field(h, "gid")),
            size,
            mtime: paxGet("mtime") ?? num(field(h, "mtime")),
            linkname: paxGet("linkpath") ?? longLink ?? cstr(field(h, "linkname")),
            devmajor: num(field(h, "devmajor")),
            devminor: num(field(h, "devminor")),
            pax,
            dataSha256: createHash("sha256").update(data).digest("hex"),
            raw: tar.subarray(start, off),
            headerBlocks,
        });
    }
    return { entries, trailer: tar.subarray(off) };
}

function show(s: string): string {
    return JSON.stringify(Buffer.from(s, "latin1").toString("utf8"));
}

export function describeEntry(e: TarEntry): string {
    const records = e.pax.map(([k, v]) => `${k}=${show(v)}`).join(", ");
    const pax = e.pax.length === 0 ? "" : ` pax{${records}}`;
    const link = e.linkname === "" ? "" : ` -> ${show(e.linkname)}`;
    const dev = e.typeflag === "3" || e.typeflag === "4" ? ` dev=${e.devmajor}:${e.devminor}` : "";
    const data = e.size > 0 ? ` sha256=${e.dataSha256.slice(0, 16)}` : "";
    const head = `#${e.index} @${e.offset} ${e.headerKind} '${e.typeflag}' ${show(e.name)}${link}`;
    const meta = `mode=${e.mode} uid=${e.uid} gid=${e.gid} size=${e.size} mtime=${e.mtime}`;
    return `${head} ${meta}${dev}${data}${pax}`;
}

/** Where in an entry's bytes `at` falls: a header field, the PAX payload, or the data. */
function locate(e: TarEntry, at: number): string {
    for (let i = e.headerBlocks.length - 1; i >= 0; i--) {
        const b = e.headerBlocks[i]!;
        if (at >= b && at < b + BLOCK) {
            const rel = at - b;
            const f = FIELDS.find(([, o, n]) => rel >= o && rel < o + n)!;
            const which = i < e.headerBlocks.length - 1 ? "PAX header" : "header";
            return `${which} field ${f[0]} (byte ${rel})`;
        }
        if (at >= b + BLOCK) {
            return i < e.headerBlocks.length - 1
                ? `PAX payload (byte ${at - b - BLOCK})`
                : `data (byte ${at - b - BLOCK})`;
        }
    }
    return `byte ${at}`;
}

/** A readable account of the first entry where `want` and `got` differ, or undefined. */
export function firstDifference(
    want: Buffer,
    got: Buffer,
    wantLabel = "oracle",
    gotLabel = "ours",
): string | undefined {
    if (want.equals(got)) {
        return undefined;
    }
    const a = parseTar(want);
    const b = parseTar(got);
    const n = Math.max(a.entries.length, b.entries.length);
    for (let i = 0; i < n; i++) {
        const x = a.entries[i];
        const y = b.entries[i];
        if (x && y && x.raw.equals(y.raw)) {
            continue;
        }
        const counts = `${wantLabel} ${a.entries.length} entries, ${gotLabel} ${b.entries.length}`;
        const lines = [`first differing entry #${i} (${counts})`];
        lines.push(`  ${wantLabel}: ${x ? describeEntry(x) : "(no entry)"}`);
        lines.push(`  ${gotLabel}: ${y ? describeEntry(y) : "(no entry)"}`);
        if (x && y) {
            let at = 0;
            while (at < x.raw.length && at < y.raw.length && x.raw[at] === y.raw[at]) {
                at++;
            }
            const where = `${wantLabel} ${locate(x, at)}, ${gotLabel} ${locate(y, at)}`;
            lines.push(`  first differing byte: ${where}`);
        }
        return lines.join("\n");
    }
    const sizes = `${wantLabel} ${a.trailer.length} bytes, ${gotLabel} ${b.trailer.length} bytes`;
    return `entries equal; trailers differ (${sizes})`;
}

/** Every entry, one line each (for failure reports). */
export function listEntries(tar: Buffer): string[] {
    return parseTar(tar).entries.map(describeEntry);
}
