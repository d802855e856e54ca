/**
 * What the differ needs from lstat(2), with exact 64-bit fields (inode numbers, nanosecond
 * mtimes, dev_t) as bigints.
 */
import type { BigIntStats } from "node:fs";

export const S_IFMT = 0o170000;
export const S_IFSOCK = 0o140000;
export const S_IFLNK = 0o120000;
export const S_IFREG = 0o100000;
export const S_IFBLK = 0o060000;
export const S_IFDIR = 0o040000;
export const S_IFCHR = 0o020000;
export const S_IFIFO = 0o010000;

export interface FileStat {
    /** Full st_mode: type and permission bits. */
    readonly mode: number;
    readonly uid: number;
    readonly gid: number;
    readonly rdev: bigint;
    readonly size: bigint;
    readonly mtimeNs: bigint;
    readonly ino: bigint;
    readonly dev: bigint;
    readonly nlink: bigint;
}

export function toFileStat(s: BigIntStats): FileStat {
    return {
        mode: Number(s.mode),
        uid: Number(s.uid),
        gid: Number(s.gid),
        rdev: s.rdev,
        size: s.size,
        mtimeNs: s.mtimeNs,
        ino: s.ino,
        dev: s.dev,
        nlink: s.nlink,
    };
}

export type FileType = "file" | "dir" | "symlink" | "char" | "block" | "fifo" | "socket";

export function fileType(mode: number): FileType {
    switch (mode & S_IFMT) {
        case S_IFREG:
            return "file";
        case S_IFDIR:
            return "dir";
        case S_IFLNK:
            return "symlink";
        case S_IFCHR:
            return "char";
        case S_IFBLK:
            return "block";
        case S_IFIFO:
            return "fifo";
        case S_IFSOCK:
            return "socket";
        default:
            // Unknown types are treated as regular by nobody; callers reject them explicitly.
            return "socket";
    }
}

export const isDir = (s: FileStat): boolean => (s.mode & S_IFMT) === S_IFDIR;
export const isRegular = (s: FileStat): boolean => (s.mode & S_IFMT) === S_IFREG;
export const isSymlink = (s: FileStat): boolean => (s.mode & S_IFMT) === S_IFLNK;

/** glibc's gnu_dev_major / gnu_dev_minor, as golang.org/x/sys/unix Major/Minor. */
export function devMajor(dev: bigint): bigint {
    return ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn & 0xffffffffn);
}

export function devMinor(dev: bigint): bigint {
    return (dev & 0xffn) | ((dev >> 12n) & ~0xffn & 0xffffffffn);
}

/** An overlayfs whiteout: a character device with device number 0/0. */
export function isWhiteoutDevice(s: FileStat): boolean {
    return (s.mode & S_IFMT) === S_IFCHR && devMajor(s.rdev) === 0n && devMinor(s.rdev) === 0n;
}
