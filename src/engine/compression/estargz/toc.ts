/**
 * The eStargz TOC: stargz-snapshotter estargz v0.12.0 `types.go` `JTOC`/`TOCEntry` as
 * `json.MarshalIndent(toc, "", "\t")` prints them (gzip.go `WriteTOCAndFooter`): Go's struct
 * field order and `omitempty` rules, `NumLink` left out (`json:"-"`, BuildKit >= v0.11), xattr
 * keys sorted bytewise with base64 values, no trailing newline, `"entries": null` when empty.
 *
 * Entries are serialised as soon as they are complete, so the TOC is held as compact JSON text,
 * never as objects.
 */
import { createHash } from "node:crypto";
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

/** The TOC JSON as pieces, with its length and digest. */
export interface TocJson {
    readonly pieces: readonly Buffer[];
    readonly length: number;
    readonly digest: Digest;
}

/**
 * Collects the serialised entries into 1 MiB pages of their own, so the TOC costs its JSON size
 * in memory (small Buffers would pin the shared allocation pool's slabs, and with them every
 * short-lived copy made next to them).
 */
export class TocBuilder {
    private static readonly PAGE = 1024 * 1024;
    private readonly pages: Buffer[] = [];
    private page: Buffer | undefined;
    private used = 0;
    private count = 0;
    private readonly lastUser = new Map<string, string>();
    private readonly lastGroup = new Map<string, string>();

    add(e: TocEntry): void {
        this.append((this.count++ === 0 ? "" : ",\n") + marshalTocEntry(e));
    }

    /** nameIfChanged: the name unless it is empty or already the last one seen for this id. */
    userName(uid: bigint, name: Buffer): Buffer | undefined {
        return nameIfChanged(this.lastUser, uid, name);
    }

    groupName(gid: bigint, name: Buffer): Buffer | undefined {
        return nameIfChanged(this.lastGroup, gid, name);
    }

    finish(): TocJson {
        const head = this.count === 0
            ? '{\n\t"version": 1,\n\t"entries": null\n}'
            : '{\n\t"version": 1,\n\t"entries": [\n';
        const pieces = [Buffer.from(head), ...this.pages];
        if (this.page !== undefined && this.used > 0) {
            pieces.push(this.page.subarray(0, this.used));
        }
        if (this.count > 0) {
            pieces.push(Buffer.from("\n\t]\n}"));
        }
        const hash = createHash("sha256");
        let length = 0;
        for (const p of pieces) {
            hash.update(p);
            length += p.length;
        }
        return { pieces, length, digest: `sha256:${hash.digest("hex")}` };
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
            if (this.page === undefined || this.used === TocBuilder.PAGE) {
                if (this.page !== undefined) this.pages.push(this.page);
                this.page = Buffer.allocUnsafeSlow(TocBuilder.PAGE);
                this.used = 0;
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
