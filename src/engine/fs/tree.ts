/**
 * A read-only view of a directory tree, addressed by paths relative to its root in continuity's
 * form: "/a/b" (bytes, so names that are not UTF-8 survive). The differ reads trees only through
 * this interface; a directory on disk is one implementation, layered views are others.
 *
 * NOTE: the calls are synchronous on purpose. A layer is tens of thousands of tiny metadata
 * calls, and a thread-pool round trip for each (Node's async fs) made the differ 5x slower than
 * Go; long runs stay responsive because the walkers yield to the event loop every few ms
 * (util/yielder.ts), and large file reads are asynchronous (`readAsync`) to overlap with hashing.
 */
import type { FileStat } from "./fileStat";

export interface FileReader {
    /** Reads up to `length` bytes at `position` into `buf` at `offset`; 0 at end of file. */
    readSync(buf: Buffer, offset: number, length: number, position: number): number;
    readAsync(buf: Buffer, offset: number, length: number, position: number): Promise<number>;
    /**
     * After the last read: throws ChangedWhileReading if the open file's size, mode, owner or
     * mtime is no longer what the walk saw (a same-size rewrite while it was read).
     */
    verify?(): void;
    close(): void;
}

export interface TreeReader {
    /** Human-readable location of `rel` for messages (an absolute path for a directory tree). */
    describe(rel: Buffer): string;
    /** lstat; null when the path does not exist (ENOENT or ENOTDIR). */
    lstat(rel: Buffer): FileStat | null;
    /** Names in a directory, sorted byte-wise (Go's sort.Strings). */
    readdir(rel: Buffer): Buffer[];
    readlink(rel: Buffer): Buffer;
    /** An xattr of the entry itself (never through a symlink), or null. */
    getxattr(rel: Buffer, name: string): Buffer | null;
    /**
     * Opens a regular file for reading, checking that it is still the entry `expect` describes
     * (same inode, still a regular file): anything else is "changed while reading".
     */
    openFile(rel: Buffer, expect: FileStat): FileReader;
}

export const ROOT = Buffer.from("/");

/** filepath.Join(parent, name) for continuity-style paths. */
export function joinRel(parent: Buffer, name: Buffer): Buffer {
    if (parent.length === 1) {
        return Buffer.concat([parent, name]);
    }
    return Buffer.concat([parent, ROOT, name]);
}
