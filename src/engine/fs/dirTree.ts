/**
 * A TreeReader over a directory on disk. Read-only: files are opened O_RDONLY|O_NOFOLLOW, never
 * written, and every path is built from names the tree itself listed, so nothing outside the
 * root is reached through a symlink.
 */
import { closeSync, constants as C, fstatSync, lstatSync, openSync, read, readdirSync, readlinkSync, readSync } from "node:fs";
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

    lstat(rel: Buffer): FileStat | null {
        try {
            const st = lstatSync(this.abs(rel), { bigint: true, throwIfNoEntry: false });
            return st ? toFileStat(st) : null;
        } catch (err) {
            if ((err as NodeJS.ErrnoException).code === "ENOTDIR") {
                return null;
            }
            throw fromSystemError(err, this.describe(rel), "reading file metadata");
        }
    }

    readdir(rel: Buffer): Buffer[] {
        try {
            return readdirSync(this.abs(rel), { encoding: "buffer" }).sort(Buffer.compare);
        } catch (err) {
            throw fromSystemError(err, this.describe(rel), "listing a directory");
        }
    }

    readlink(rel: Buffer): Buffer {
        try {
            return readlinkSync(this.abs(rel), { encoding: "buffer" });
        } catch (err) {
            throw fromSystemError(err, this.describe(rel), "reading a symlink");
        }
    }

    getxattr(rel: Buffer, name: string): Buffer | null {
        return lgetxattr(this.abs(rel), name);
    }

    openFile(rel: Buffer, expect: FileStat): FileReader {
        const where = this.describe(rel);
        let fd: number;
        try {
            // O_NONBLOCK: if the entry was swapped for a FIFO, open must not hang.
            fd = openSync(this.abs(rel), C.O_RDONLY | C.O_NOFOLLOW | C.O_NONBLOCK);
        } catch (err) {
            throw fromSystemError(err, where, "opening a file to read");
        }
        try {
            const st = toFileStat(fstatSync(fd, { bigint: true }));
            if (!isRegular(st) || st.ino !== expect.ino || st.dev !== expect.dev) {
                throw new EngineError(
                    "ChangedWhileReading",
                    `${where}: was replaced while the layer was being written; retry when the tree is not being modified`,
                    { path: where },
                );
            }
        } catch (err) {
            closeSync(fd);
            throw err instanceof EngineError ? err : fromSystemError(err, where, "checking an open file");
        }
        return {
            readSync: (buf, offset, length, position) => {
                try {
                    return readSync(fd, buf, offset, length, position);
                } catch (err) {
                    throw fromSystemError(err, where, "reading a file");
                }
            },
            readAsync: (buf, offset, length, position) =>
                new Promise<number>((resolve, reject) => {
                    read(fd, buf, offset, length, position, (err, n) => {
                        if (err) reject(fromSystemError(err, where, "reading a file"));
                        else resolve(n);
                    });
                }),
            verify: () => {
                let now: FileStat;
                try {
                    now = toFileStat(fstatSync(fd, { bigint: true }));
                } catch (err) {
                    throw fromSystemError(err, where, "checking a file after reading it");
                }
                if (now.size !== expect.size || now.mtimeNs !== expect.mtimeNs || now.mode !== expect.mode || now.uid !== expect.uid || now.gid !== expect.gid) {
                    throw new EngineError(
                        "ChangedWhileReading",
                        `${where}: was modified while the layer was being written (its size, mode, owner or mtime changed); retry when the tree is not being modified`,
                        { path: where },
                    );
                }
            },
            close: () => closeSync(fd),
        };
    }
}
