/**
 * Positioned reads of a blob file, behind a small interface so the reads an operation makes can
 * be counted (tests measure that an eStargz lookup touches only the chunks it needs).
 */
import { open } from "node:fs/promises";
import { EngineError, fromSystemError } from "../errors";

export interface BlobFile {
    readonly size: number;
    /** Reads up to `length` bytes at `position` into `buf` at `offset`; 0 at end of file. */
    read(buf: Buffer, offset: number, length: number, position: number): Promise<number>;
    close(): Promise<void>;
}

export type BlobOpener = (path: string) => Promise<BlobFile>;

export const openBlobFile: BlobOpener = async (path) => {
    let fh;
    try {
        fh = await open(path, "r");
        const { size } = await fh.stat();
        const handle = fh;
        return {
            size,
            read: async (buf, offset, length, position) => {
                try {
                    return (await handle.read(buf, offset, length, position)).bytesRead;
                } catch (err) {
                    throw fromSystemError(err, path, "reading a blob");
                }
            },
            close: () => handle.close(),
        };
    } catch (err) {
        await fh?.close();
        throw fromSystemError(err, path, "opening a blob");
    }
};

/** Exactly `length` bytes at `position`, or Corrupt naming what was expected there. */
export async function readExactly(file: BlobFile, path: string, position: number, length: number, what: string): Promise<Buffer> {
    const buf = Buffer.alloc(length);
    let done = 0;
    while (done < length) {
        const n = await file.read(buf, done, length - done, position + done);
        if (n === 0) {
            throw new EngineError("Corrupt", `${path}: ends at byte ${position + done}, inside ${what} (bytes ${position}-${position + length})`, { path });
        }
        done += n;
    }
    return buf;
}

/** Opens bytes [offset, offset + size) of a file as a BlobFile of its own (an archive member). */
export function rangeOpener(open: BlobOpener, offset: number, size: number): BlobOpener {
    if (offset === 0) {
        return async (path) => {
            const f = await open(path);
            return f.size === size ? f : { ...f, size: Math.min(size, f.size), read: f.read.bind(f), close: f.close.bind(f) };
        };
    }
    return async (path) => {
        const f = await open(path);
        return {
            size,
            read: (buf, off, length, position) => {
                const n = Math.max(0, Math.min(length, size - position));
                return n === 0 ? Promise.resolve(0) : f.read(buf, off, n, offset + position);
            },
            close: () => f.close(),
        };
    };
}
