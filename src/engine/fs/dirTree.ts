/**
 * A TreeReader over a directory on disk. Read-only: files are opened O_RDONLY|O_NOFOLLOW, never
 * written, and every path is built from names the tree itself listed, so nothing outside the
 * root is reached through a symlink.
 */
import { constants as C, promises as fsp } from "node:fs";
import * as path from "node:path";
import { EngineError, fromSystemError } from "../errors";
import { type FileStat, isRegular, toFileStat } from "./fileStat";
import type { FileReader, TreeReader } from "./tree";
import { lgetxattr } from "./xattr";

export class DirTree implements TreeReader {
    private readonly root: Buffer;

    constructor(readonly rootPath: string) {
        this.root = Buffer.from(path.resolve(rootPath));
    }

    abs(rel: Buffer): Buffer {
        return rel.length === 1 ? this.root : Buffer.concat([this.root, rel]);
    }

    describe(rel: Buffer): string {
        return this.abs(rel).toString("utf8");
    }

    async lstat(rel: Buffer): Promise<FileStat | null> {
        try {
            return toFileStat(await fsp.lstat(this.abs(rel), { bigint: true }));
        } catch (err) {
            const code = (err as NodeJS.ErrnoException).code;
            if (code === "ENOENT" || code === "ENOTDIR") {
                return null;
            }
            throw fromSystemError(err, this.describe(rel), "reading file metadata");
        }
    }

    async readdir(rel: Buffer): Promise<Buffer[]> {
        try {
            const names = await fsp.readdir(this.abs(rel), { encoding: "buffer" });
            return names.sort(Buffer.compare);
        } catch (err) {
            throw fromSystemError(err, this.describe(rel), "listing a directory");
        }
    }

    async readlink(rel: Buffer): Promise<Buffer> {
        try {
            return await fsp.readlink(this.abs(rel), { encoding: "buffer" });
        } catch (err) {
            throw fromSystemError(err, this.describe(rel), "reading a symlink");
        }
    }

    getxattr(rel: Buffer, name: string): Buffer | null {
        return lgetxattr(this.abs(rel), name);
    }

    async openFile(rel: Buffer, expect: FileStat): Promise<FileReader> {
        const where = this.describe(rel);
        let fh: fsp.FileHandle;
        try {
            // O_NONBLOCK: if the entry was swapped for a FIFO, open must not hang.
            fh = await fsp.open(this.abs(rel), C.O_RDONLY | C.O_NOFOLLOW | C.O_NONBLOCK);
        } catch (err) {
            throw fromSystemError(err, where, "opening a file to read");
        }
        try {
            const st = toFileStat(await fh.stat({ bigint: true }));
            if (!isRegular(st) || st.ino !== expect.ino || st.dev !== expect.dev) {
                throw new EngineError(
                    "ChangedWhileReading",
                    `${where}: was replaced while the layer was being written; retry when the tree is not being modified`,
                    { path: where },
                );
            }
        } catch (err) {
            await fh.close();
            throw err instanceof EngineError ? err : fromSystemError(err, where, "checking an open file");
        }
        return {
            read: async (buf, length, position) => {
                try {
                    return (await fh.read(buf, 0, length, position)).bytesRead;
                } catch (err) {
                    throw fromSystemError(err, where, "reading a file");
                }
            },
            close: () => fh.close(),
        };
    }
}
