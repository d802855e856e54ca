/**
 * A deliberately independent tar writer for tests: USTAR, PAX ('x' and 'g'), GNU (long names
 * via 'L'/'K', base-256 numbers) and V7 headers, raw typeflags and odd endings, so the eStargz
 * writer can be fed archives that neither containerd nor Go's tar writer would produce.
 */
const BLOCK = 512;

export type TarFormat = "ustar" | "gnu" | "v7";

export interface TarEntrySpec {
    name: string | Buffer;
    /** Typeflag character ("0", "5", "\0", "x", ...); default "0". */
    type?: string;
    data?: Buffer;
    /** Header size field when it should differ from data.length (e.g. a dir with a size). */
    size?: number;
    mode?: number;
    uid?: number;
    gid?: number;
    uname?: string;
    gname?: string;
    mtime?: number;
    linkname?: string | Buffer;
    devmajor?: number;
    devminor?: number;
    /** PAX records written in an 'x' header before the entry. */
    pax?: Record<string, string | Buffer>;
    format?: TarFormat;
}

export interface TarOptions {
    /** "two" (default): 1024 zero bytes; "one": 512; "none": nothing; "record": pad to 10240. */
    end?: "two" | "one" | "none" | "record";
    trailing?: Buffer;
    /** Global PAX records ('g') before the first entry. */
    global?: Record<string, string>;
}

const bytes = (s: string | Buffer): Buffer => (typeof s === "string" ? Buffer.from(s, "utf8") : s);

function octal(blk: Buffer, off: number, size: number, value: number): void {
    if (value >= 0 && value < 8 ** (size - 1)) {
        blk.write(value.toString(8).padStart(size - 1, "0") + "\0", off, "latin1");
        return;
    }
    // GNU base-256: high bit set, two's complement big-endian.
    let v = BigInt(value);
    for (let i = size - 1; i >= 0; i--) {
        blk[off + i] = Number(v & 0xffn);
        v >>= 8n;
    }
    blk[off] = blk[off]! | 0x80;
}

export function headerBlock(e: TarEntrySpec, nameOverride?: Buffer): Buffer {
    const blk = Buffer.alloc(BLOCK);
    const format = e.format ?? "ustar";
    bytes(nameOverride ?? e.name).copy(blk, 0, 0, 100);
    octal(blk, 100, 8, e.mode ?? 0o644);
    octal(blk, 108, 8, e.uid ?? 0);
    octal(blk, 116, 8, e.gid ?? 0);
    octal(blk, 124, 12, e.size ?? e.data?.length ?? 0);
    octal(blk, 136, 12, e.mtime ?? 1700000000);
    blk.write(e.type ?? "0", 156, "latin1");
    if (e.linkname !== undefined) bytes(e.linkname).copy(blk, 157, 0, 100);
    if (format !== "v7") {
        blk.write(format === "gnu" ? "ustar  \0" : "ustar\u000000", 257, "latin1");
        blk.write(e.uname ?? "", 265, "utf8");
        blk.write(e.gname ?? "", 297, "utf8");
        octal(blk, 329, 8, e.devmajor ?? 0);
        octal(blk, 337, 8, e.devminor ?? 0);
    }
    blk.fill(0x20, 148, 156);
    let sum = 0;
    for (const c of blk) sum += c;
    blk.write(sum.toString(8).padStart(6, "0") + "\0 ", 148, "latin1");
    return blk;
}

function pad(n: number): Buffer {
    return Buffer.alloc((BLOCK - (n % BLOCK)) % BLOCK);
}

export function paxPayload(records: Record<string, string | Buffer>): Buffer {
    const parts = Object.entries(records).map(([k, v]) => {
        const body = Buffer.concat([Buffer.from(` ${k}=`), bytes(v), Buffer.from("\n")]);
        let len = body.length + 1;
        while (String(len).length + body.length !== len) len++;
        return Buffer.concat([Buffer.from(String(len)), body]);
    });
    return Buffer.concat(parts);
}

function metaEntry(type: string, name: string, payload: Buffer, format: TarFormat): Buffer[] {
    const h = headerBlock({ name, type, data: payload, mode: 0, mtime: 0, format });
    return [h, payload, pad(payload.length)];
}

export function tarOf(entries: TarEntrySpec[], opts: TarOptions = {}): Buffer {
    const parts: Buffer[] = [];
    if (opts.global) {
        parts.push(...metaEntry("g", "pax_global_header", paxPayload(opts.global), "ustar"));
    }
    for (const e of entries) {
        const name = bytes(e.name);
        const format = e.format ?? "ustar";
        if (format === "gnu" && name.length > 100) {
            parts.push(...metaEntry("L", "././@LongLink", Buffer.concat([name, Buffer.alloc(1)]), "gnu"));
        }
        if (format === "gnu" && e.linkname !== undefined && bytes(e.linkname).length > 100) {
            parts.push(...metaEntry("K", "././@LongLink", Buffer.concat([bytes(e.linkname), Buffer.alloc(1)]), "gnu"));
        }
        if (e.pax) {
            parts.push(...metaEntry("x", "PaxHeaders.0/x", paxPayload(e.pax), "ustar"));
        }
        parts.push(headerBlock(e));
        const data = e.data ?? Buffer.alloc(0);
        parts.push(data, pad(data.length));
    }
    const end = opts.end ?? "two";
    const body = Buffer.concat(parts);
    if (end === "two") parts.push(Buffer.alloc(2 * BLOCK));
    if (end === "one") parts.push(Buffer.alloc(BLOCK));
    if (end === "record") parts.push(Buffer.alloc(10240 - (body.length % 10240)));
    if (opts.trailing) parts.push(opts.trailing);
    return Buffer.concat(parts);
}
