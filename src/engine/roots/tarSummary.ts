/**
 * A streaming summary of a layer tar: one record per entry (type, mode, ids, size, link, mtime,
 * user/group names, content sha256) and the header format, so a layer written by one tar writer
 * can be compared, entry by entry, with the same layer recomputed by containerd's writer.
 * Handles ustar, GNU (`ustar  \0`, `L`/`K` long names) and PAX (`x`) headers, base-256 numbers.
 * Memory: the records, plus at most one PAX/long-name payload (bounded).
 */
import { createHash, type Hash } from "node:crypto";
import { EngineError } from "../errors";

export type TarFormat = "gnu" | "ustar" | "v7";

export interface TarEntrySummary {
    readonly name: string;
    readonly type: string;
    readonly mode: number;
    readonly uid: number;
    readonly gid: number;
    readonly size: number;
    readonly linkname: string;
    readonly mtime: number;
    readonly uname: string;
    readonly gname: string;
    readonly sha256: string | null;
}

const BLOCK = 512;
const MAX_META = 1024 * 1024;
const RAW_HEADERS = 256;

/** ustar header fields (POSIX.1-1988 layout), for naming the first field two writers disagree on. */
export const HEADER_FIELDS: ReadonlyArray<readonly [string, number, number]> = [
    ["name", 0, 100], ["mode", 100, 8], ["uid", 108, 8], ["gid", 116, 8], ["size", 124, 12], ["mtime", 136, 12],
    ["typeflag", 156, 1], ["linkname", 157, 100], ["magic", 257, 6], ["version", 263, 2], ["uname", 265, 32],
    ["gname", 297, 32], ["devmajor", 329, 8], ["devminor", 337, 8], ["prefix", 345, 155],
];
const TYPES: Record<string, string> = { "0": "file", "\0": "file", "7": "file", "1": "link", "2": "symlink", "3": "char", "4": "block", "5": "dir", "6": "fifo" };

/** A ByteSink: feed it the tar's bytes in order, then call `finish`. */
export class TarSummary {
    readonly entries: TarEntrySummary[] = [];
    readonly formats = new Set<TarFormat>();
    /** Names of PAX extended headers (writers name them differently). */
    readonly paxNames: string[] = [];
    /** PAX record keys seen (e.g. atime/ctime: GNU tar writes them, Go never does). */
    readonly paxKeys = new Set<string>();
    /** The raw header block of the first entries, by entry name, to name the first differing field. */
    readonly rawHeaders = new Map<string, Buffer>();
    readonly hash = createHash("sha256");
    private pending = Buffer.alloc(0);
    private remaining = 0;
    private padding = 0;
    private current: { header: Omit<TarEntrySummary, "sha256">; hash: Hash | null; meta: Buffer[] | null; kind: string } | null = null;
    private pax: Record<string, string> = {};
    private longName: string | null = null;
    private longLink: string | null = null;
    private ended = false;
    /** Bytes seen, and where the end-of-archive marker began (-1: not yet). */
    total = 0;
    private unconsumed = 0;
    endAt = -1;

    constructor(private readonly what: string) {}

    write(chunk: Buffer): void {
        this.hash.update(chunk);
        this.total += chunk.length;
        let buf = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
        this.pending = Buffer.alloc(0);
        while (buf.length > 0 && !this.ended) {
            if (this.remaining > 0) {
                const n = Math.min(this.remaining, buf.length);
                this.data(buf.subarray(0, n));
                this.remaining -= n;
                buf = buf.subarray(n);
                if (this.remaining === 0) this.endEntry();
                continue;
            }
            if (this.padding > 0) {
                const n = Math.min(this.padding, buf.length);
                this.padding -= n;
                buf = buf.subarray(n);
                continue;
            }
            if (buf.length < BLOCK) {
                this.pending = Buffer.from(buf);
                return;
            }
            this.unconsumed = buf.length;
            this.header(buf.subarray(0, BLOCK));
            buf = buf.subarray(BLOCK);
        }
    }

    /** Bytes after the last entry: two zero blocks from Go's writer, a 10240-byte record's rest from GNU tar. */
    trailer(): number {
        return this.endAt < 0 ? 0 : this.total - this.endAt;
    }

    /** The tar's sha256 (its diffID) once every byte went through. */
    digest(): string {
        return `sha256:${this.hash.digest("hex")}`;
    }

    private fail(why: string): EngineError {
        return new EngineError("Corrupt", `${this.what}: not a readable tar: ${why}`, { path: this.what });
    }

    private header(h: Buffer): void {
        if (h.every((b) => b === 0)) {
            this.ended = true;
            this.endAt = this.total - this.unconsumed;
            return;
        }
        const magic = h.toString("latin1", 257, 265);
        const format: TarFormat = magic === "ustar  \0" ? "gnu" : magic.startsWith("ustar\0") ? "ustar" : "v7";
        const flag = String.fromCharCode(h[156]!);
        const size = num(h, 124, 12);
        if (size === null) throw this.fail("bad size field");
        let name = str(h, 0, 100);
        if (format === "ustar") {
            const prefix = str(h, 345, 155);
            if (prefix) name = `${prefix}/${name}`;
        }
        if (flag === "x" || flag === "g" || flag === "L" || flag === "K") {
            if (size > MAX_META) throw this.fail(`a ${flag} header of ${size} bytes`);
            if ((flag === "x" || flag === "g") && this.paxNames.length < 16) this.paxNames.push(name);
        } else {
            this.formats.add(format);
        }
        const p = this.pax;
        const header = {
            name: normalize(this.longName ?? p.path ?? name),
            type: TYPES[flag] ?? `type ${JSON.stringify(flag)}`,
            mode: num(h, 100, 8) ?? 0,
            uid: p.uid !== undefined ? Number(p.uid) : (num(h, 108, 8) ?? 0),
            gid: p.gid !== undefined ? Number(p.gid) : (num(h, 116, 8) ?? 0),
            size: p.size !== undefined ? Number(p.size) : size,
            linkname: this.longLink ?? p.linkpath ?? str(h, 157, 100),
            mtime: p.mtime !== undefined ? Math.floor(Number(p.mtime)) : (num(h, 136, 12) ?? 0),
            uname: p.uname ?? str(h, 265, 32),
            gname: p.gname ?? str(h, 297, 32),
        };
        const isMeta = flag === "x" || flag === "g" || flag === "L" || flag === "K";
        const dataSize = isMeta ? size : header.size;
        if (!isMeta && this.rawHeaders.size < RAW_HEADERS) this.rawHeaders.set(header.name, Buffer.from(h));
        this.current = { header, hash: !isMeta && header.type === "file" ? createHash("sha256") : null, meta: isMeta ? [] : null, kind: flag };
        this.remaining = header.type === "file" || isMeta ? dataSize : 0;
        this.padding = 0;
        if (this.remaining === 0) this.endEntry();
    }

    private data(chunk: Buffer): void {
        const c = this.current!;
        if (c.meta) c.meta.push(Buffer.from(chunk));
        else c.hash?.update(chunk);
    }

    private endEntry(): void {
        const c = this.current!;
        const size = c.meta ? c.meta.reduce((n, b) => n + b.length, 0) : c.header.type === "file" ? c.header.size : 0;
        this.padding = (BLOCK - (size % BLOCK)) % BLOCK;
        this.current = null;
        if (c.meta) {
            const payload = Buffer.concat(c.meta);
            if (c.kind === "x") {
                this.pax = parsePax(payload);
                for (const k of Object.keys(this.pax)) this.paxKeys.add(k);
            }
            else if (c.kind === "L") this.longName = cstr(payload);
            else if (c.kind === "K") this.longLink = cstr(payload);
            return;
        }
        this.entries.push({ ...c.header, sha256: c.hash ? c.hash.digest("hex") : null });
        this.pax = {};
        this.longName = null;
        this.longLink = null;
    }
}

function str(h: Buffer, off: number, len: number): string {
    return cstr(h.subarray(off, off + len));
}

function cstr(b: Buffer): string {
    const z = b.indexOf(0);
    return b.toString("utf8", 0, z < 0 ? b.length : z);
}

/** Octal, or base-256 when the high bit of the first byte is set (GNU/Go for big values). */
function num(h: Buffer, off: number, len: number): number | null {
    const f = h.subarray(off, off + len);
    if (f[0]! & 0x80) {
        let v = 0n;
        for (let i = 0; i < f.length; i++) v = (v << 8n) | BigInt(i === 0 ? f[i]! & 0x7f : f[i]!);
        return Number(v);
    }
    const s = f.toString("latin1").replace(/\0.*$/s, "").trim();
    if (s === "") return 0;
    return /^[0-7]+$/.test(s) ? parseInt(s, 8) : null;
}

function parsePax(b: Buffer): Record<string, string> {
    const out: Record<string, string> = {};
    let i = 0;
    while (i < b.length) {
        const sp = b.indexOf(0x20, i);
        if (sp < 0) break;
        const len = Number(b.toString("latin1", i, sp));
        if (!Number.isInteger(len) || len <= 0 || i + len > b.length) break;
        const rec = b.toString("utf8", sp + 1, i + len - 1);
        const eq = rec.indexOf("=");
        if (eq > 0) out[rec.slice(0, eq)] = rec.slice(eq + 1);
        i += len;
    }
    return out;
}

function normalize(name: string): string {
    let n = name.replace(/^(\.\/)+/, "").replace(/^\/+/, "").replace(/\/+$/, "");
    if (n === ".") n = "";
    return n;
}
