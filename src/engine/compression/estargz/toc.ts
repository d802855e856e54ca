/**
 * The eStargz TOC: stargz-snapshotter estargz v0.12.0 `types.go` `JTOC`/`TOCEntry` as
 * `json.MarshalIndent(toc, "", "\t")` prints them (gzip.go `WriteTOCAndFooter`): Go's struct
 * field order and `omitempty` rules, `NumLink` left out (`json:"-"`, BuildKit >= v0.11), xattr
 * keys sorted bytewise with base64 values, no trailing newline, `"entries": null` when empty.
 *
 * Entries are serialised as soon as they are complete, so the TOC is held as JSON text (most of
 * it deflated), never as objects.
 */
import { createHash } from "node:crypto";
import { deflateRawSync, inflateRawSync } from "node:zlib";
import type { Digest } from "../../digest/hashSink";
import { goJsonString } from "./goJson";

export type TocEntryType = "dir" | "reg" | "symlink" | "hardlink" | "char" | "block" | "fifo" | "chunk";

export interface TocEntry {
    name: Buffer;
    type: TocEntryType;
    size?: number;
    /** RFC 3339, or "" (omitted) for the zero time and the Unix epoch. */
    modtime?: string;
    linkName?: Buffer;
    mode?: bigint;
    uid?: bigint;
    gid?: bigint;
    userName?: Buffer;
    groupName?: Buffer;
    offset?: number;
    devMajor?: bigint;
    devMinor?: bigint;
    /** Keys are raw bytes held as latin1 strings. */
    xattrs?: ReadonlyMap<string, Buffer>;
    digest?: string;
    chunkOffset?: number;
    chunkSize?: number;
    chunkDigest?: string;
}

const FIELD_INDENT = "\t\t\t";

function str(b: Buffer | undefined): string | undefined {
    return b !== undefined && b.length > 0 ? goJsonString(b) : undefined;
}

function num(n: number | bigint | undefined): string | undefined {
    return n !== undefined && n !== 0 && n !== 0n ? String(n) : undefined;
}

function ascii(s: string | undefined): string | undefined {
    return s ? goJsonString(Buffer.from(s, "utf8")) : undefined;
}

function xattrsObject(x: ReadonlyMap<string, Buffer> | undefined): string | undefined {
    if (x === undefined || x.size === 0) {
        return undefined;
    }
    const keys = [...x.keys()].sort(); // UTF-16 order of latin1 strings = byte order, as Go sorts
    const inner = keys.map((k) => {
        const key = goJsonString(Buffer.from(k, "latin1"));
        return `${FIELD_INDENT}\t${key}: "${x.get(k)!.toString("base64")}"`;
    });
    return `{\n${inner.join(",\n")}\n${FIELD_INDENT}}`;
}

/** One element of `entries`, indented as MarshalIndent puts it (two tabs, fields three). */
export function marshalTocEntry(e: TocEntry): string {
    const fields: Array<[string, string | undefined]> = [
        ["name", goJsonString(e.name)],
        ["type", goJsonString(Buffer.from(e.type))],
        ["size", num(e.size)],
        ["modtime", ascii(e.modtime)],
        ["linkName", str(e.linkName)],
        ["mode", num(e.mode)],
        ["uid", num(e.uid)],
        ["gid", num(e.gid)],
        ["userName", str(e.userName)],
        ["groupName", str(e.groupName)],
        ["offset", num(e.offset)],
        ["devMajor", num(e.devMajor)],
        ["devMinor", num(e.devMinor)],
        ["xattrs", xattrsObject(e.xattrs)],
        ["digest", ascii(e.digest)],
        ["chunkOffset", num(e.chunkOffset)],
        ["chunkSize", num(e.chunkSize)],
        ["chunkDigest", ascii(e.chunkDigest)],
    ];
    const lines = fields.filter(([, v]) => v !== undefined).map(([k, v]) => `${FIELD_INDENT}"${k}": ${v}`);
    return `\t\t{\n${lines.join(",\n")}\n\t\t}`;
}

/** The TOC JSON, with its length and digest; its bytes come a page at a time, each time asked. */
export interface TocJson {
    pieces(): Generator<Buffer>;
    readonly length: number;
    readonly digest: Digest;
}

const HEAD_ENTRIES = Buffer.from('{\n\t"version": 1,\n\t"entries": [\n');
const TAIL_ENTRIES = Buffer.from("\n\t]\n}");
const EMPTY_TOC = Buffer.from('{\n\t"version": 1,\n\t"entries": null\n}');

/**
 * Collects the serialised entries into a 1 MiB page; each full page is hashed and kept
 * deflated (zlib level 1, ~10:1 on TOC JSON), so a layer of many files costs a tenth of its TOC
 * in memory until the end, where the pages are inflated one at a time into the TOC member. (The
 * TOC member cannot be compressed as it grows: its tar header, which comes first, holds the
 * JSON's length.)
 */
export class TocBuilder {
    private static readonly PAGE = 1024 * 1024;
    private readonly sealed: Buffer[] = [];
    private page: Buffer | undefined;
    private used = 0;
    private count = 0;
    private length = 0;
    private readonly hash = createHash("sha256");
    private readonly lastUser = new Map<string, string>();
    private readonly lastGroup = new Map<string, string>();

    add(e: TocEntry): void {
        if (this.count++ === 0) {
            this.hash.update(HEAD_ENTRIES);
            this.length += HEAD_ENTRIES.length;
            this.append(marshalTocEntry(e));
        } else {
            this.append(`,\n${marshalTocEntry(e)}`);
        }
    }

    /** nameIfChanged: the name unless it is empty or already the last one seen for this id. */
    userName(uid: bigint, name: Buffer): Buffer | undefined {
        return nameIfChanged(this.lastUser, uid, name);
    }

    groupName(gid: bigint, name: Buffer): Buffer | undefined {
        return nameIfChanged(this.lastGroup, gid, name);
    }

    /** Ends the TOC; call once, and add nothing afterwards. */
    finish(): TocJson {
        const rest = this.page?.subarray(0, this.used) ?? Buffer.alloc(0);
        const tail = this.count === 0 ? EMPTY_TOC : TAIL_ENTRIES;
        this.hash.update(rest).update(tail);
        const sealed = this.sealed;
        const any = this.count > 0;
        return {
            length: this.length + rest.length + tail.length,
            digest: `sha256:${this.hash.digest("hex")}`,
            *pieces() {
                if (any) yield HEAD_ENTRIES;
                for (const z of sealed) yield inflateRawSync(z);
                if (rest.length > 0) yield rest;
                yield tail;
            },
        };
    }

    private append(text: string): void {
        let bytes = Buffer.byteLength(text, "utf8");
        let src: Buffer | undefined;
        if (bytes > TocBuilder.PAGE - this.used) {
            // Spread over pages (an entry longer than a page is rare: huge names or xattrs).
            src = Buffer.from(text, "utf8");
        }
        let off = 0;
        while (bytes > 0) {
            this.page ??= Buffer.allocUnsafeSlow(TocBuilder.PAGE);
            if (this.used === TocBuilder.PAGE) {
                this.seal(this.page);
            }
            const room = TocBuilder.PAGE - this.used;
            const n = src === undefined
                ? this.page.write(text, this.used, "utf8")
                : src.copy(this.page, this.used, off, off + Math.min(bytes, room));
            this.used += n;
            off += n;
            bytes -= n;
        }
    }

    /** A full page: hashed, counted and kept deflated; the page is then filled again. */
    private seal(page: Buffer): void {
        this.hash.update(page);
        this.length += page.length;
        this.sealed.push(deflateRawSync(page, { level: 1 }));
        this.used = 0;
    }
}

function nameIfChanged(last: Map<string, string>, id: bigint, name: Buffer): Buffer | undefined {
    if (name.length === 0) {
        return undefined;
    }
    const key = id.toString();
    const s = name.toString("latin1");
    if (last.get(key) === s) {
        return undefined;
    }
    last.set(key, s);
    return name;
}
