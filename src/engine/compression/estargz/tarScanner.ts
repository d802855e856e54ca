/**
 * An incremental tar reader with the semantics of vbatts/tar-split `archive/tar` `Reader.Next`
 * in RawAccounting mode, as stargz-snapshotter estargz v0.12.0 `appendTar(r, lossless=true)`
 * drives it: every input byte is passed on unchanged, in order, either as `raw` (headers, PAX and
 * GNU long-name payloads, padding, end-of-archive blocks, trailing bytes) or as `data` (a regular
 * file's payload). Entries are reported after their header blocks, before their data.
 *
 * Memory is bounded: one header block, plus one PAX/long-name payload (up to META_LIMIT).
 */
import { EngineError } from "../../errors";
import { headerError, parsePAXRecords, parseString } from "./goParse";
import { mergeEntry, type ScannedEntry } from "./tarEntry";
import { BLOCK, decodeHeaderBlock, type HeaderBlock, isZeroBlock } from "./tarBlock";

/**
 * PAX and GNU long-name payloads are held whole to be parsed. Go's stdlib reader caps them at
 * 1 MiB; tar-split has no cap. 16 MiB keeps memory bounded and admits any sane archive.
 */
export const META_LIMIT = 16 * 1024 * 1024;

export interface TarScanHandler {
    /** Non-payload bytes. The chunk is only valid until the returned promise settles. */
    raw(bytes: Buffer): Promise<void>;
    /** A complete entry; `dataSize` payload bytes follow through `data`. */
    entry(e: ScannedEntry): Promise<void> | void;
    data(bytes: Buffer): Promise<void>;
}

type State = "header" | "zero" | "meta" | "data" | "pad" | "trailer";

const TYPE_XHEADER = 0x78; // 'x'
const TYPE_XGLOBAL = 0x67; // 'g'
const TYPE_GNU_LONGNAME = 0x4c; // 'L'
const TYPE_GNU_LONGLINK = 0x4b; // 'K'

export class TarScanner {
    private state: State = "header";
    private readonly block = Buffer.alloc(BLOCK);
    private blockUsed = 0;
    private remaining = 0;
    /** Padding after the current entry's payload. */
    private padding = 0;
    private meta: { hdr: HeaderBlock; buf: Buffer; used: number } | undefined;
    private pax: Map<string, Buffer> | undefined;
    private longName: Buffer | undefined;
    private longLink: Buffer | undefined;
    private first = true;

    constructor(private readonly handler: TarScanHandler) {}

    async push(chunk: Buffer): Promise<void> {
        let off = 0;
        let rawStart = 0;
        while (off < chunk.length) {
            if (this.state !== "data") {
                off = await this.step(chunk, off);
                continue;
            }
            if (off > rawStart) {
                await this.handler.raw(chunk.subarray(rawStart, off));
            }
            const n = Math.min(this.remaining, chunk.length - off);
            await this.handler.data(chunk.subarray(off, off + n));
            off += n;
            rawStart = off;
            this.remaining -= n;
            if (this.remaining === 0) {
                this.state = "pad";
                this.remaining = this.padding;
                this.afterPad();
            }
        }
        if (off > rawStart) {
            await this.handler.raw(chunk.subarray(rawStart, off));
        }
    }

    /** True once the end-of-archive blocks were read (the rest is trailing bytes). */
    get atEnd(): boolean {
        return this.state === "trailer";
    }

    /** The input ended: fine at an entry boundary, after one or two zero blocks, or after them. */
    end(): void {
        const clean = (this.state === "header" || this.state === "zero") && this.blockUsed === 0;
        if (!clean && this.state !== "trailer") {
            throw new EngineError("Corrupt", `error reading from source tar: unexpected EOF (in ${this.state})`);
        }
    }

    private afterPad(): void {
        if (this.remaining === 0) {
            this.state = "header";
        }
    }

    /** Consumes non-payload bytes from chunk[off..]; returns the new offset. */
    private async step(chunk: Buffer, off: number): Promise<number> {
        switch (this.state) {
            case "header":
            case "zero": {
                const n = Math.min(BLOCK - this.blockUsed, chunk.length - off);
                chunk.copy(this.block, this.blockUsed, off, off + n);
                this.blockUsed += n;
                if (this.blockUsed === BLOCK) {
                    this.blockUsed = 0;
                    await this.onBlock();
                }
                return off + n;
            }
            case "meta": {
                const m = this.meta!;
                const n = Math.min(m.buf.length - m.used, chunk.length - off);
                chunk.copy(m.buf, m.used, off, off + n);
                m.used += n;
                if (m.used === m.buf.length) {
                    await this.onMeta(m.hdr, m.buf);
                }
                return off + n;
            }
            case "pad": {
                const n = Math.min(this.remaining, chunk.length - off);
                this.remaining -= n;
                this.afterPad();
                return off + n;
            }
            case "trailer":
                return chunk.length;
            case "data":
                throw new EngineError("Internal", "tar scanner stepped into payload bytes");
        }
    }

    private async onBlock(): Promise<void> {
        const b = this.block;
        if (this.state === "zero") {
            if (!isZeroBlock(b)) {
                throw headerError("a zero block followed by a non-zero block");
            }
            this.state = "trailer"; // two zero blocks: end of archive; the rest passes through
            return;
        }
        if (this.first && b[0] === 0x1f && b[1] === 0x8b && b[2] === 0x08) {
            // estargz would gunzip such input first; our callers always decompress beforehand.
            throw new EngineError("Unsupported", "the tar stream handed to the eStargz writer is gzip-compressed");
        }
        this.first = false;
        if (isZeroBlock(b)) {
            this.state = "zero";
            return;
        }
        const hdr = decodeHeaderBlock(b);
        if (hdr.size < 0n) {
            throw headerError("negative size", "bad-header-number");
        }
        switch (hdr.typeflag) {
            case TYPE_XHEADER:
            case TYPE_XGLOBAL:
            case TYPE_GNU_LONGNAME:
            case TYPE_GNU_LONGLINK:
                await this.startMeta(hdr);
                return;
            default:
                await this.onEntry(mergeEntry(hdr, this.pax, this.longName, this.longLink));
        }
    }

    private async startMeta(hdr: HeaderBlock): Promise<void> {
        if (hdr.size > BigInt(META_LIMIT)) {
            throw new EngineError("Unsupported", `tar extended header of ${hdr.size} bytes exceeds ${META_LIMIT}`, { reason: "too-large" });
        }
        const size = Number(hdr.size);
        this.meta = { hdr, buf: Buffer.alloc(size), used: 0 };
        this.state = "meta";
        if (size === 0) {
            await this.onMeta(hdr, this.meta.buf);
        }
    }

    /** A PAX or GNU payload is complete; its padding follows. */
    private async onMeta(hdr: HeaderBlock, payload: Buffer): Promise<void> {
        this.meta = undefined;
        this.state = "pad";
        this.remaining = padTo(payload.length);
        this.afterPad();
        switch (hdr.typeflag) {
            case TYPE_GNU_LONGNAME:
                this.longName = Buffer.from(parseString(payload));
                return;
            case TYPE_GNU_LONGLINK:
                this.longLink = Buffer.from(parseString(payload));
                return;
            case TYPE_XHEADER:
                this.pax = parsePAXRecords(payload); // replaces an earlier 'x' of the same entry
                return;
            default: {
                // tar-split returns a 'g' header as an entry of its own, named by its records
                // (estargz then rejects it). Its payload is consumed: no data follows.
                const e = mergeEntry(hdr, parsePAXRecords(payload), undefined, undefined);
                this.resetPending();
                await this.handler.entry({ ...e, dataSize: 0 });
            }
        }
    }

    private resetPending(): void {
        this.pax = undefined;
        this.longName = undefined;
        this.longLink = undefined;
    }

    private async onEntry(e: ScannedEntry): Promise<void> {
        this.resetPending();
        await this.handler.entry(e);
        this.padding = padTo(e.dataSize);
        if (e.dataSize > 0) {
            this.state = "data";
            this.remaining = e.dataSize;
        } else {
            this.state = "pad";
            this.remaining = 0;
            this.afterPad();
        }
    }
}

function padTo(n: number): number {
    return (BLOCK - (n % BLOCK)) % BLOCK;
}
