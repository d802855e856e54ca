/**
 * A read-only view of a directory tree, addressed by paths relative to its root in continuity's
 * form: "/a/b" (bytes, so names that are not UTF-8 survive). The differ reads trees only through
 * this interface; a directory on disk is one implementation, layered views (issue: merged
 * snapshots) are others.
 */
import type { FileStat } from "./fileStat";

export interface FileReader {
    /** Reads up to `length` bytes at `position` into `buf`; 0 at end of file. */
    read(buf: Buffer, length: number, position: number): Promise<number>;
    close(): Promise<void>;
}

export interface TreeReader {
    /** Human-readable location of `rel` for messages (an absolute path for a directory tree). */
    describe(rel: Buffer): string;
    /** lstat; null when the path does not exist (ENOENT or ENOTDIR). */
    lstat(rel: Buffer): Promise<FileStat | null>;
    /** Names in a directory, sorted byte-wise (Go's sort.Strings). */
    readdir(rel: Buffer): Promise<Buffer[]>;
    readlink(rel: Buffer): Promise<Buffer>;
    /** An xattr of the entry itself (never through a symlink), or null. */
    getxattr(rel: Buffer, name: string): Buffer | null;
    /**
     * Opens a regular file for reading, checking that it is still the entry `expect` describes
     * (same inode, still a regular file): anything else is "changed while reading".
     */
    openFile(rel: Buffer, expect: FileStat): Promise<FileReader>;
}

export const ROOT = Buffer.from("/");

/** filepath.Join(parent, name) for continuity-style paths. */
export function joinRel(parent: Buffer, name: Buffer): Buffer {
    if (parent.length === 1) {
        return Buffer.concat([parent, name]);
    }
    return Buffer.concat([parent, ROOT, name]);
}

export function relToString(rel: Buffer): string {
    return rel.toString("utf8");
}
