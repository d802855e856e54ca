/**
 * Random access to the payloads of a layer tar inside a blob file, by compression:
 *
 * - uncompressed: a positioned read of the blob file;
 * - gzip / zstd: the decompressed stream from the start of the blob (neither format can seek),
 *   kept open between reads so a sequential read of one file decompresses the blob once, up to
 *   the end of that file; a read before the cursor starts again;
 * - eStargz: see estargzSource.ts (only the gzip members holding the wanted chunks are read).
 *
 * Files are opened read-only per read session and closed with the reader.
 */
import { open as openFile } from "node:fs/promises";
import type { Readable } from "node:stream";
import { type CompressionType, openDecoded } from "../compression";
import { EngineError, fromSystemError } from "../errors";
import type { FileReader } from "../fs/tree";
import type { PayloadRef, PayloadSource } from "./tarIndexTree";

/** Reads straight from the blob file (an uncompressed tar). */
export class UncompressedPayloads implements PayloadSource {
    /** `base`: where the blob starts in the file (an image archive member), default 0. */
    constructor(
        private readonly path: string,
        private readonly base = 0,
    ) {}

    open(payload: PayloadRef, where: string): FileReader {
        const path = this.path;
        let fh: Promise<import("node:fs/promises").FileHandle> | null = null;
        const handle = (): Promise<import("node:fs/promises").FileHandle> =>
            (fh ??= openFile(path, "r").catch((err) => {
                throw fromSystemError(err, path, `opening the blob to read ${where}`);
            }));
        return {
            readSync: () => syncUnsupported(where),
            readAsync: async (buf, offset, length, position) => {
                const n = Math.max(0, Math.min(length, payload.size - position));
                if (n === 0) return 0;
                const { bytesRead } = await (await handle()).read(buf, offset, n, this.base + payload.offset + position);
                if (bytesRead < n) {
                    throw new EngineError("Corrupt", `${path}: the blob ends inside ${where}`, { path });
                }
                return bytesRead;
            },
            close: () => {
                void fh?.then((h) => h.close()).catch(() => undefined);
            },
        };
    }
}

/** Reads a gzip or zstd blob's decompressed stream, sequentially, from a cursor. */
export class StreamPayloads implements PayloadSource {
    private readonly decoded: () => Readable;

    /** `decoded`: opens the blob's decompressed tar (default: the whole file as `compression`). */
    constructor(
        private readonly path: string,
        compression: Exclude<CompressionType, "uncompressed">,
        decoded?: () => Readable,
    ) {
        this.decoded = decoded ?? (() => openDecoded(path, compression));
    }

    open(payload: PayloadRef, where: string): FileReader {
        const cursor = new DecodedCursor(this.decoded);
        return {
            readSync: () => syncUnsupported(where),
            readAsync: async (buf, offset, length, position) => {
                const n = Math.max(0, Math.min(length, payload.size - position));
                if (n === 0) return 0;
                const got = await cursor.read(buf, offset, n, payload.offset + position);
                if (got < n) {
                    throw new EngineError("Corrupt", `${this.path}: the decompressed layer ends inside ${where}`, { path: this.path });
                }
                return got;
            },
            close: () => cursor.close(),
        };
    }
}

/** A position in a decompressed stream; reads move it forward, a read behind it reopens. */
class DecodedCursor {
    private stream: Readable | null = null;
    private iter: AsyncIterator<Buffer> | null = null;
    private pos = 0;
    private pending: Buffer | null = null;

    constructor(private readonly decoded: () => Readable) {}

    async read(buf: Buffer, offset: number, length: number, position: number): Promise<number> {
        if (!this.iter || position < this.pos) this.reopen();
        let done = 0;
        while (done < length) {
            const chunk = this.pending ?? (await this.next());
            this.pending = null;
            if (!chunk) break;
            const chunkEnd = this.pos + chunk.length;
            if (chunkEnd <= position + done) {
                this.pos = chunkEnd; // before the wanted range: skip
                continue;
            }
            const from = position + done - this.pos;
            const n = Math.min(chunk.length - from, length - done);
            chunk.copy(buf, offset + done, from, from + n);
            done += n;
            if (from + n < chunk.length) {
                this.pending = chunk.subarray(from + n);
                this.pos += from + n;
            } else {
                this.pos = chunkEnd;
            }
        }
        return done;
    }

    close(): void {
        this.stream?.destroy();
        this.stream = null;
        this.iter = null;
    }

    private reopen(): void {
        this.close();
        this.stream = this.decoded();
        this.iter = this.stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
        this.pos = 0;
        this.pending = null;
    }

    private async next(): Promise<Buffer | null> {
        const r = await this.iter!.next();
        return r.done ? null : (r.value as Buffer);
    }
}

function syncUnsupported(where: string): never {
    throw new EngineError("Unsupported", `${where}: a blob's files are read asynchronously only`);
}
