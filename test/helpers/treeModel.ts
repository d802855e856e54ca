/**
 * An in-memory model of a filesystem tree, used by the random differential tests: a tree is
 * generated and edited as plain data, compared with continuity's rules, and only then written
 * to disk (with `fsbuild`) as the differ's input.
 *
 * Paths are "byte strings": JavaScript strings holding one character per byte (latin1), so a
 * name may be any byte sequence (non-UTF-8 included) and `<` on two paths compares their bytes.
 * A path has no leading or trailing `/`; the root directory is the empty string.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as fsb from "./fsbuild";

export type EntryKind = "file" | "dir" | "symlink" | "fifo" | "char" | "block" | "socket";

/** A POSIX timestamp: `sec` may be negative; `nsec` is in [0, 1e9). */
export interface Timespec {
    sec: number;
    nsec: number;
}

/**
 * One inode. Several paths of a tree may share one Inode object: they are hard links, and an
 * edit through one name is seen by all of them, as on disk.
 */
export interface Inode {
    kind: EntryKind;
    /** Permission bits incl. 0o4000/0o2000/0o1000; always 0o777 for symlinks. */
    mode: number;
    uid: number;
    gid: number;
    mtime: Timespec;
    xattrs: Map<string, Buffer>;
    /** Regular files only. */
    content: Buffer;
    /** Symlinks only: the raw target bytes. */
    target: Buffer;
    /** Char and block devices only. */
    major: number;
    minor: number;
}

/** Byte path -> inode. Always holds the root "" (a directory). */
export type Tree = Map<string, Inode>;

export const CAPABILITY_XATTR = "security.capability";

/** The bytes of a UTF-8 string as a byte string (`"é"` -> `"\xc3\xa9"`). */
export function utf8(s: string): string {
    return Buffer.from(s, "utf8").toString("latin1");
}

export function toBuffer(bytePath: string): Buffer {
    return Buffer.from(bytePath, "latin1");
}

/** A readable rendering of a byte string: UTF-8 where valid, `\xNN` escapes elsewhere. */
export function showPath(bytePath: string): string {
    const b = toBuffer(bytePath);
    const s = b.toString("utf8");
    if (Buffer.from(s, "utf8").equals(b) && !/[\x00-\x1f\x7f]/.test(s)) {
        return s;
    }
    let out = "";
    for (const byte of b) {
        out +=
            byte >= 0x20 && byte < 0x7f && byte !== 0x5c
                ? String.fromCharCode(byte)
                : `\\x${byte.toString(16).padStart(2, "0")}`;
    }
    return out;
}

export function parentOf(p: string): string {
    const i = p.lastIndexOf("/");
    return i < 0 ? "" : p.slice(0, i);
}

export function baseOf(p: string): string {
    return p.slice(p.lastIndexOf("/") + 1);
}

export function joinPath(dir: string, name: string): string {
    return dir === "" ? name : `${dir}/${name}`;
}

/** Proper ancestors of `p`, outermost first, excluding the root. */
export function ancestorsOf(p: string): string[] {
    const out: string[] = [];
    for (let i = p.indexOf("/"); i >= 0; i = p.indexOf("/", i + 1)) {
        out.push(p.slice(0, i));
    }
    return out;
}

/**
 * continuity's `directoryCompare`: bytes compared with `/` counted as 0, so a directory's
 * children come right after it and before its siblings (`a`, `a/x`, `a-b`).
 */
export function compareWalkOrder(a: string, b: string): number {
    const n = Math.min(a.length, b.length);
    for (let i = 0; i < n; i++) {
        const x = a.charCodeAt(i) === 0x2f ? 0 : a.charCodeAt(i);
        const y = b.charCodeAt(i) === 0x2f ? 0 : b.charCodeAt(i);
        if (x !== y) {
            return x - y;
        }
    }
    return a.length - b.length;
}

export function sortedPaths(tree: Tree): string[] {
    return [...tree.keys()].sort(compareWalkOrder);
}

/** Paths strictly below directory `dir` (every path when `dir` is the root). */
export function descendantsOf(tree: Tree, dir: string): string[] {
    const prefix = dir === "" ? "" : `${dir}/`;
    return [...tree.keys()].filter((p) => p !== "" && p.startsWith(prefix) && p !== dir);
}

export function childrenOf(tree: Tree, dir: string): string[] {
    return descendantsOf(tree, dir).filter((p) => parentOf(p) === dir);
}

export function removeSubtree(tree: Tree, p: string): void {
    for (const d of descendantsOf(tree, p)) {
        tree.delete(d);
    }
    tree.delete(p);
}

export function cloneInode(i: Inode): Inode {
    return { ...i, mtime: { ...i.mtime }, xattrs: new Map(i.xattrs) };
}

/** A deep copy that keeps hard links (shared inodes) shared within the copy. */
export function cloneTree(tree: Tree): Tree {
    const copies = new Map<Inode, Inode>();
    const out: Tree = new Map();
    for (const [p, inode] of tree) {
        let c = copies.get(inode);
        if (!c) {
            c = cloneInode(inode);
            copies.set(inode, c);
        }
        out.set(p, c);
    }
    return out;
}

/** The names of every inode that has more than one name in `tree`, in walk order. */
export function linkGroups(tree: Tree): Map<Inode, string[]> {
    const names = new Map<Inode, string[]>();
    for (const p of sortedPaths(tree)) {
        const inode = tree.get(p)!;
        if (inode.kind === "dir") {
            continue;
        }
        const list = names.get(inode);
        if (list) {
            list.push(p);
        } else {
            names.set(inode, [p]);
        }
    }
    for (const [inode, list] of names) {
        if (list.length < 2) {
            names.delete(inode);
        }
    }
    return names;
}

/** st_size as lstat reports it for the kinds we model (directories are not compared). */
export function sizeOf(i: Inode): number {
    switch (i.kind) {
        case "file":
            return i.content.length;
        case "symlink":
            return i.target.length;
        default:
            return 0;
    }
}

function sameBytes(a: Buffer | undefined, b: Buffer | undefined): boolean {
    if (a === undefined || b === undefined) {
        return a === b;
    }
    return a.equals(b);
}

function rdevOf(i: Inode): string {
    return i.kind === "char" || i.kind === "block" ? `${i.major}:${i.minor}` : "0:0";
}

/**
 * continuity `fs.sameFile` (and BuildKit's `sameDirent`) on two inodes at the same path:
 * st_mode, uid, gid, rdev and security.capability; for non-directories also size and mtime
 * seconds, then content/target only when both nanosecond parts are 0.
 */
export function sameFile(lower: Inode, upper: Inode): boolean {
    if (lower === upper) {
        return true;
    }
    if (
        lower.kind !== upper.kind ||
        lower.mode !== upper.mode ||
        lower.uid !== upper.uid ||
        lower.gid !== upper.gid
    ) {
        return false;
    }
    if (rdevOf(lower) !== rdevOf(upper)) {
        return false;
    }
    if (!sameBytes(lower.xattrs.get(CAPABILITY_XATTR), upper.xattrs.get(CAPABILITY_XATTR))) {
        return false;
    }
    if (lower.kind === "dir") {
        return true;
    }
    if (sizeOf(lower) !== sizeOf(upper) || lower.mtime.sec !== upper.mtime.sec) {
        return false;
    }
    if (lower.mtime.nsec === 0 && upper.mtime.nsec === 0) {
        if (lower.kind === "symlink") {
            return lower.target.equals(upper.target);
        }
        return sizeOf(lower) === 0 || lower.content.equals(upper.content);
    }
    return lower.mtime.nsec === upper.mtime.nsec;
}

/** True when nothing at all differs (what overlayfs would not need to copy up). */
export function identical(a: Inode, b: Inode): boolean {
    if (a.kind !== b.kind || a.mode !== b.mode || a.uid !== b.uid || a.gid !== b.gid) {
        return false;
    }
    if (a.mtime.sec !== b.mtime.sec || a.mtime.nsec !== b.mtime.nsec || rdevOf(a) !== rdevOf(b)) {
        return false;
    }
    if (
        !a.content.equals(b.content) ||
        !a.target.equals(b.target) ||
        a.xattrs.size !== b.xattrs.size
    ) {
        return false;
    }
    for (const [k, v] of a.xattrs) {
        if (!sameBytes(v, b.xattrs.get(k))) {
            return false;
        }
    }
    return true;
}

/**
 * Timespec notation, `sec.nsec` with nsec as 9 digits: {-2, 500000000} is "-2.500000000", which
 * is 1.5 s before the epoch (not -2.5 s). Only for display; see `decimalTime`.
 */
export function formatTime(t: Timespec): string {
    return t.nsec === 0 ? String(t.sec) : `${t.sec}.${String(t.nsec).padStart(9, "0")}`;
}

/** The time as signed decimal seconds, as `touch -d @…` reads it: {-2, 5e8} is "-1.5". */
export function decimalTime(t: Timespec): string {
    const ns = BigInt(t.sec) * 1_000_000_000n + BigInt(t.nsec);
    const abs = ns < 0n ? -ns : ns;
    const frac = abs % 1_000_000_000n;
    const text =
        frac === 0n
            ? String(abs / 1_000_000_000n)
            : `${abs / 1_000_000_000n}.${String(frac).padStart(9, "0")}`;
    return ns < 0n ? `-${text}` : text;
}

/** One line per path, in walk order: enough to rebuild the tree by hand when minimising. */
export function describeTree(tree: Tree): string[] {
    const first = new Map<Inode, string>();
    const lines: string[] = [];
    for (const p of sortedPaths(tree)) {
        const i = tree.get(p)!;
        const name = p === "" ? "." : showPath(p);
        const link = first.get(i);
        if (link !== undefined) {
            lines.push(`link  ${name} => ${showPath(link)}`);
            continue;
        }
        first.set(i, p);
        const mode = i.mode.toString(8).padStart(4, "0");
        let what = `${i.kind.padEnd(6)}${mode} ${i.uid}:${i.gid} @${formatTime(i.mtime)}`;
        if (i.kind === "file") {
            const sha = createHash("sha256").update(i.content).digest("hex").slice(0, 12);
            what += ` size=${i.content.length} sha=${sha}`;
        } else if (i.kind === "symlink") {
            what += ` -> ${showPath(i.target.toString("latin1"))}`;
        } else if (i.kind === "char" || i.kind === "block") {
            what += ` dev=${i.major}:${i.minor}`;
        }
        for (const [k, v] of [...i.xattrs].sort(([a], [b]) => (a < b ? -1 : 1))) {
            what += ` ${k}=0x${v.toString("hex")}`;
        }
        lines.push(`${what} ${name}`);
    }
    return lines;
}

function fsPath(root: string, rel: string): Buffer {
    return rel === "" ? Buffer.from(root) : Buffer.concat([Buffer.from(`${root}/`), toBuffer(rel)]);
}

function createEntry(p: Buffer, i: Inode): void {
    switch (i.kind) {
        case "dir":
            fs.mkdirSync(p);
            return;
        case "file":
            fs.writeFileSync(p, i.content, { flag: "wx" });
            return;
        case "symlink":
            fs.symlinkSync(i.target, p);
            return;
        case "fifo":
            fsb.mkfifo(p);
            return;
        case "char":
            fsb.mknod(p, "c", i.major, i.minor);
            return;
        case "block":
            fsb.mknod(p, "b", i.major, i.minor);
            return;
        case "socket":
            fsb.mksock(p);
            return;
    }
}

/**
 * Writes `tree` below `root` (created; must not exist or be empty). Entries are created in
 * walk order, hard links with link(2); then each inode gets owner, mode, xattrs (in that order:
 * chown clears setuid/setgid and capabilities); mtimes come last, children before their
 * directory, because creating a child changes its directory's mtime.
 */
export function materializeTree(tree: Tree, root: string): void {
    fs.mkdirSync(root, { recursive: true });
    const paths = sortedPaths(tree);
    const firstName = new Map<Inode, Buffer>();
    for (const rel of paths) {
        const inode = tree.get(rel)!;
        const p = fsPath(root, rel);
        const first = firstName.get(inode);
        if (first) {
            fsb.hardlink(first, p);
            continue;
        }
        firstName.set(inode, p);
        if (rel !== "") {
            createEntry(p, inode);
        }
    }
    for (const [inode, p] of firstName) {
        fsb.lchown(p, inode.uid, inode.gid);
        if (inode.kind !== "symlink") {
            fsb.chmod(p, inode.mode);
        }
        for (const [name, value] of inode.xattrs) {
            fsb.setXattr(p, name, value);
        }
    }
    const timed = new Set<Inode>();
    for (const rel of paths.reverse()) {
        const inode = tree.get(rel)!;
        if (!timed.has(inode)) {
            timed.add(inode);
            fsb.setMtime(fsPath(root, rel), decimalTime(inode.mtime));
        }
    }
}
