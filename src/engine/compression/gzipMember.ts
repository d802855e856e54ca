/**
 * One gzip member (RFC 1952) in the container format of Go 1.19 `compress/gzip` `Writer`: the
 * 10-byte header `1f 8b 08 00 | MTIME 0 | XFL | OS ff` (gzip.go:145-167), a raw deflate stream,
 * then CRC-32 and ISIZE little-endian. Node's own gzip header says OS=3, so the header and
 * trailer are written here around the raw deflate. At levels other than 0 the deflate bytes are
 * zlib's, not Go's (spec §7.5), so compressed digests differ from BuildKit's while the structure
 * does not; level 0 (NoCompression) reproduces Go's stored blocks exactly.
 */
import type { ByteSink } from "../archive/tarStream";
import * as zlib from "node:zlib";
import { EngineError } from "../errors";
import { crc32 } from "./crc32";
import { GzipNoCompression, gzipXfl, zlibOptionsForGoLevel } from "./levels";

const GZIP_ID1 = 0x1f;
const GZIP_ID2 = 0x8b;
const GZIP_CM_DEFLATE = 8;
/** Go's `gzip.Writer` leaves `OS` at 255 ("unknown"); zlib writes 3 (Unix). */
const GO_GZIP_OS = 0xff;

export function goGzipHeader(goLevel: number): Buffer {
    // FLG 0 (no name, comment or extra), MTIME 0 (Go writes it only when ModTime is after 1970).
    return Buffer.from([GZIP_ID1, GZIP_ID2, GZIP_CM_DEFLATE, 0, 0, 0, 0, 0, gzipXfl(goLevel), GO_GZIP_OS]);
}

function gzipTrailer(crc: number, size: number): Buffer {
    const t = Buffer.alloc(8);
    t.writeUInt32LE(crc >>> 0, 0);
    t.writeUInt32LE(size % 2 ** 32, 4); // ISIZE is the input size modulo 2^32
    return t;
}

/** The raw deflate stream inside a member. */
interface Deflater {
    write(chunk: Buffer): Promise<void>;
    close(): Promise<void>;
    abort(): void;
}

export class GzipMemberWriter {
    private crc = 0;
    private size = 0;
    private readonly deflater: Deflater;

    /** Writes the header to `out` and starts a member; `out` must not be written meanwhile. */
    static async open(out: ByteSink, goLevel: number): Promise<GzipMemberWriter> {
        await out.write(goGzipHeader(goLevel));
        return new GzipMemberWriter(out, goLevel);
    }

    private constructor(private readonly out: ByteSink, goLevel: number) {
        this.deflater = goLevel === GzipNoCompression
            ? new GoStoredDeflater(out)
            : new SmallFirstDeflater(out, goLevel);
    }

    /** Compresses `chunk`; resolves once the chunk is no longer needed. */
    async write(chunk: Buffer): Promise<void> {
        if (chunk.length === 0) {
            return;
        }
        this.crc = crc32(chunk, this.crc);
        this.size += chunk.length;
        await this.deflater.write(chunk);
    }

    /** Ends the deflate stream, waits for its last byte to reach `out`, writes the trailer. */
    async close(): Promise<void> {
        await this.deflater.close();
        await this.out.write(gzipTrailer(this.crc, this.size));
    }

    abort(): void {
        this.deflater.abort();
    }
}

/**
 * eStargz writes one member per file, so most members are small, and its TOC arrives as many
 * small pieces. Every write to a zlib stream is a thread-pool round trip (~70 µs), so small
 * writes are batched to BATCH bytes, and a member that ends before reaching BATCH is deflated in
 * one synchronous call (~20 µs) without ever starting a stream. zlib sees the same bytes with the
 * same parameters either way, and the output depends only on the input.
 */
const BATCH = 64 * 1024;

class SmallFirstDeflater implements Deflater {
    private kept: Buffer[] = [];
    private keptBytes = 0;
    private stream: ZlibDeflater | undefined;

    constructor(private readonly out: ByteSink, private readonly goLevel: number) {}

    async write(chunk: Buffer): Promise<void> {
        if (chunk.length < BATCH) {
            this.kept.push(Buffer.from(chunk)); // the caller reuses `chunk` once we resolve
            this.keptBytes += chunk.length;
            if (this.keptBytes >= BATCH) {
                await this.flushKept();
            }
            return;
        }
        await this.flushKept();
        await this.streamed().write(chunk);
    }

    async close(): Promise<void> {
        if (this.stream === undefined) {
            let deflated: Buffer;
            try {
                deflated = zlib.deflateRawSync(this.takeKept(), zlibOptionsForGoLevel(this.goLevel));
            } catch (err) {
                throw wrapZlib(err as Error);
            }
            await this.out.write(deflated);
            return;
        }
        await this.flushKept();
        await this.stream.close();
    }

    abort(): void {
        this.stream?.abort();
    }

    private streamed(): ZlibDeflater {
        this.stream ??= new ZlibDeflater(this.out, this.goLevel);
        return this.stream;
    }

    private async flushKept(): Promise<void> {
        if (this.keptBytes > 0) {
            await this.streamed().write(this.takeKept());
        }
    }

    private takeKept(): Buffer {
        const all = Buffer.concat(this.kept, this.keptBytes);
        this.kept = [];
        this.keptBytes = 0;
        return all;
    }
}

/** zlib's raw deflate as a stream; its output goes to `out` in order, with backpressure. */
class ZlibDeflater implements Deflater {
    private readonly deflate: zlib.DeflateRaw;
    private readonly pump: Promise<void>;
    private readonly pumpFailed: Promise<never>;

    constructor(out: ByteSink, goLevel: number) {
        const deflate = zlib.createDeflateRaw(zlibOptionsForGoLevel(goLevel));
        this.deflate = deflate;
        // While `out` is slow the deflate stream's readable side fills up and its write
        // callbacks wait.
        this.pump = (async () => {
            for await (const chunk of deflate) {
                await out.write(chunk as Buffer);
            }
        })();
        this.pumpFailed = this.pump.then(() => new Promise<never>(() => undefined));
        this.pumpFailed.catch(() => undefined);
    }

    async write(chunk: Buffer): Promise<void> {
        const written = new Promise<void>((resolve, reject) => {
            this.deflate.write(chunk, (err) => (err ? reject(wrapZlib(err)) : resolve()));
        });
        written.catch(() => undefined);
        await Promise.race([written, this.pumpFailed]);
    }

    async close(): Promise<void> {
        this.deflate.end();
        await this.pump;
    }

    abort(): void {
        this.deflate.destroy();
    }
}

/**
 * Go 1.19 `compress/flate` at NoCompression (deflate.go `fillStore`/`store`/`close`): stored
 * blocks of exactly maxStoreBlockSize (65535) bytes as the window fills, the remainder as one
 * more non-final stored block at Close, then an empty final stored block `01 00 00 ff ff`.
 * Byte-identical to Go, so level-0 blobs (and the eStargz footer) match BuildKit's exactly.
 */
class GoStoredDeflater implements Deflater {
    private static readonly MAX_STORE_BLOCK = 65535;
    private readonly block = Buffer.allocUnsafe(5 + GoStoredDeflater.MAX_STORE_BLOCK);
    private used = 0;

    constructor(private readonly out: ByteSink) {}

    async write(chunk: Buffer): Promise<void> {
        let off = 0;
        while (off < chunk.length) {
            const n = Math.min(chunk.length - off, GoStoredDeflater.MAX_STORE_BLOCK - this.used);
            chunk.copy(this.block, 5 + this.used, off, off + n);
            this.used += n;
            off += n;
            if (this.used === GoStoredDeflater.MAX_STORE_BLOCK) {
                await this.flushBlock();
            }
        }
    }

    async close(): Promise<void> {
        if (this.used > 0) {
            await this.flushBlock();
        }
        await this.out.write(Buffer.from([0x01, 0x00, 0x00, 0xff, 0xff]));
    }

    abort(): void {}

    /** BFINAL 0, BTYPE 00 (stored), padded to a byte, then LEN and NLEN little-endian. */
    private async flushBlock(): Promise<void> {
        const n = this.used;
        this.block[0] = 0;
        this.block.writeUInt16LE(n, 1);
        this.block.writeUInt16LE(~n & 0xffff, 3);
        this.used = 0;
        // NOTE: the block buffer is reused only after `out` has settled this write.
        await this.out.write(this.block.subarray(0, 5 + n));
    }
}

function wrapZlib(err: Error): EngineError {
    if (err instanceof EngineError) {
        return err;
    }
    return new EngineError("Internal", `deflate failed: ${err.message}`, {}, { cause: err });
}
