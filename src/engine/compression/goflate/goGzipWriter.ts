/**
 * Mirrors Go 1.19 `src/compress/gzip/gzip.go` `Writer` with the fields BuildKit leaves unset: a
 * 10-byte header `1f 8b 08 00 | MTIME 0 | XFL | OS ff` (XFL 2 at level 9, 4 at level 1, else
 * 0), Go's deflate stream (deflate.ts), then CRC-32 and ISIZE little-endian.
 *
 * Writes are Go `Write` calls: the deflater sees the same sequence of writes, so the bytes are
 * Go's for that sequence (and, but for one rare corner noted in deflate.ts, for any other).
 * Output is handed to `out` in 64 KiB chunks, never reused unless the consumer gives one back
 * (`recycleChunk`, once copied); a returned promise is awaited before more is compressed, so
 * memory stays bounded whatever the write sizes.
 */
import { crc32 } from "../crc32";
import { BestCompression, BestSpeed, GoDeflater } from "./deflate";

export type ChunkOut = (chunk: Buffer) => void | Promise<void>;

/** Go's `gzip.Writer` header for a level (OS 255 = unknown; Go never sets MTIME by default). */
export function goGzipHeader(level: number): Buffer {
    const xfl = level === BestCompression ? 2 : level === BestSpeed ? 4 : 0;
    return Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, xfl, 0xff]);
}

/** A bounded pool: eStargz opens a member per file, and a level-6 deflater holds ~850 KiB. */
const POOL_LIMIT = 4;
const pool = new Map<number, GoDeflater[]>();

function takeDeflater(level: number): GoDeflater {
    const free = pool.get(level);
    const d = free?.pop();
    if (d !== undefined) {
        d.reset();
        return d;
    }
    return new GoDeflater(level);
}

function giveBack(d: GoDeflater): void {
    let free = pool.get(d.level);
    if (free === undefined) {
        free = [];
        pool.set(d.level, free);
    }
    if (free.length < POOL_LIMIT) {
        free.push(d);
    }
}

export class GoGzipWriter {
    private deflater: GoDeflater | undefined;
    private wroteHeader = false;
    private crc = 0;
    private size = 0;
    private done = false;

    /** Throws RangeError for a level outside -2..9 (as `gzip.NewWriterLevel` errors). */
    constructor(private readonly level: number, private readonly out: ChunkOut) {
        this.deflater = takeDeflater(level);
    }

    /** Compresses `chunk`; it is no longer referenced once the promise settles. */
    async write(chunk: Uint8Array): Promise<void> {
        const d = this.live();
        await this.header();
        this.crc = crc32(chunk, this.crc);
        this.size += chunk.length;
        for (let off = 0; off < chunk.length; ) {
            off += d.writeSome(chunk, off);
            if (d.out.readyChunks > 0) {
                await this.emit(d.out.takeReady());
            }
        }
    }

    /** Ends the deflate stream and writes the trailer; the writer is unusable afterwards. */
    async close(): Promise<void> {
        const d = this.live();
        await this.header();
        d.close();
        const tail = d.out.takeAll();
        this.release();
        await this.emit(tail);
        const t = Buffer.allocUnsafe(8);
        t.writeUInt32LE(this.crc >>> 0, 0);
        t.writeUInt32LE(this.size % 2 ** 32, 4); // ISIZE is the size modulo 2^32
        await this.out(t);
    }

    /** Drops the deflater without output (after a failure). Idempotent. */
    abort(): void {
        this.done = true;
        this.deflater = undefined;
    }

    private live(): GoDeflater {
        if (this.done || this.deflater === undefined) {
            throw new Error("goflate: gzip writer is closed");
        }
        return this.deflater;
    }

    /** Writes the header now rather than with the first write (a gzip member's start). */
    async start(): Promise<void> {
        this.live();
        await this.header();
    }

    private async header(): Promise<void> {
        if (!this.wroteHeader) {
            this.wroteHeader = true;
            await this.out(goGzipHeader(this.level));
        }
    }

    private release(): void {
        const d = this.deflater;
        this.deflater = undefined;
        this.done = true;
        if (d !== undefined) {
            giveBack(d);
        }
    }

    private async emit(chunks: Buffer[]): Promise<void> {
        for (const c of chunks) {
            await this.out(c);
        }
    }
}

/** Go's gzip of `data` in one `Write`, synchronously (tests and small members). */
export function goGzipSync(data: Uint8Array, level: number): Buffer {
    const d = new GoDeflater(level);
    d.write(data);
    d.close();
    const t = Buffer.allocUnsafe(8);
    t.writeUInt32LE(crc32(data, 0) >>> 0, 0);
    t.writeUInt32LE(data.length % 2 ** 32, 4);
    return Buffer.concat([goGzipHeader(level), ...d.out.takeAll(), t]);
}
