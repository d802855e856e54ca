/**
 * Test tools for TreeReaders (views): describe one through the TreeReader API only (so a merged
 * view and a real directory are described the same way), and materialise one into a real
 * directory (a `cp -a` of the view) for the oracle.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import { listAttributesSync } from "@napi-rs/xattr";
import { walkTree } from "../../src/engine/diff/walk";
import { DirTree } from "../../src/engine/fs/dirTree";
import { devMajor, devMinor, type FileStat, fileType } from "../../src/engine/fs/fileStat";
import { isOverlayXattr } from "../../src/engine/fs/overlayMarkers";
import { ROOT, type TreeReader } from "../../src/engine/fs/tree";
import * as fsb from "./fsbuild";

export interface DescribeOptions {
    /** Include directory mtimes (default true). */
    readonly dirMtimes?: boolean;
    /** Xattr names to show for a path (default: security.capability only). */
    readonly xattrNames?: (rel: Buffer) => string[];
}

/** Relative path (latin1) -> "type perms uid:gid mtime size/sha/target/rdev xattrs". */
export function describeReader(tree: TreeReader, opts: DescribeOptions = {}): Map<string, string> {
    const out = new Map<string, string>();
    for (const { path: rel, stat } of walkTree(tree, ROOT)) {
        out.set(rel.toString("latin1"), describeEntry(tree, rel, stat, opts));
    }
    return out;
}

function describeEntry(tree: TreeReader, rel: Buffer, st: FileStat, opts: DescribeOptions): string {
    const type = fileType(st.mode);
    const parts = [type, (st.mode & 0o7777).toString(8), `${st.uid}:${st.gid}`];
    if (type !== "dir" || opts.dirMtimes !== false) {
        parts.push(`mtime=${st.mtimeNs}`);
    }
    if (type === "file") {
        parts.push(`size=${st.size}`, `sha=${contentHash(tree, rel, st)}`);
    } else if (type === "symlink") {
        parts.push(`target=${tree.readlink(rel).toString("hex")}`);
    } else if (type === "char" || type === "block") {
        parts.push(`rdev=${devMajor(st.rdev)},${devMinor(st.rdev)}`);
    }
    const names = opts.xattrNames ? opts.xattrNames(rel) : ["security.capability"];
    for (const name of [...new Set(names)].sort()) {
        const v = tree.getxattr(rel, name);
        if (v) {
            parts.push(`${name}=${v.toString("hex")}`);
        }
    }
    return parts.join(" ");
}

function contentHash(tree: TreeReader, rel: Buffer, st: FileStat): string {
    const h = createHash("sha256");
    const f = tree.openFile(rel, st);
    try {
        const buf = Buffer.alloc(1 << 16);
        for (let pos = 0; ; ) {
            const n = f.readSync(buf, 0, buf.length, pos);
            if (n === 0) break;
            h.update(buf.subarray(0, n));
            pos += n;
        }
    } finally {
        f.close();
    }
    return h.digest("hex").slice(0, 16);
}

/** Xattr names of the real entries below `root` (overlay markers left out), for describeReader. */
export function realXattrNames(...roots: string[]): (rel: Buffer) => string[] {
    return (rel) => {
        const names: string[] = [];
        for (const root of roots) {
            const p = Buffer.concat([Buffer.from(root), rel]).toString("utf8");
            try {
                names.push(...listAttributesSync(p).filter((n) => !isOverlayXattr(n)));
            } catch {
                // absent here, or a name that is not UTF-8
            }
        }
        return names;
    };
}

/** Lines that differ between two descriptions (empty when equal). */
export function diffDescriptions(want: Map<string, string>, got: Map<string, string>): string[] {
    const out: string[] = [];
    for (const key of [...new Set([...want.keys(), ...got.keys()])].sort()) {
        if (want.get(key) !== got.get(key)) {
            out.push(`${key}: want ${want.get(key) ?? "(absent)"}, got ${got.get(key) ?? "(absent)"}`);
        }
    }
    return out;
}

/** Describes a real directory the same way (through a DirTree). */
export function describeDir(dir: string, opts: DescribeOptions = {}): Map<string, string> {
    return describeReader(new DirTree(dir), opts);
}

/**
 * Writes the view's entries into `dst` (created): types, content, link targets, devices, hard
 * links (by inode, within the view), owners, modes, security.capability, ns mtimes.
 */
export function materializeView(tree: TreeReader, dst: string): void {
    fs.mkdirSync(dst, { recursive: true });
    const entries: Array<{ p: Buffer; stat: FileStat }> = [];
    const linked = new Map<string, Buffer>();
    for (const { path: rel, stat } of walkTree(tree, ROOT)) {
        const p = Buffer.concat([Buffer.from(dst), rel]);
        const key = `${stat.dev}:${stat.ino}`;
        const first = stat.nlink > 1n && fileType(stat.mode) !== "dir" ? linked.get(key) : undefined;
        if (first) {
            fs.linkSync(first, p);
            continue;
        }
        linked.set(key, p);
        create(tree, rel, stat, p);
        entries.push({ p, stat });
    }
    for (const { p, stat } of entries) {
        fsb.lchown(p, stat.uid, stat.gid);
        if (fileType(stat.mode) !== "symlink") {
            fsb.chmod(p, stat.mode & 0o7777);
        }
        const rel = p.subarray(Buffer.byteLength(dst));
        const cap = tree.getxattr(rel, "security.capability");
        if (cap) {
            fsb.setXattr(p, "security.capability", cap);
        }
    }
    for (const { p, stat } of entries.reverse()) {
        fsb.setMtime(p, decimalNs(stat.mtimeNs));
    }
}

function create(tree: TreeReader, rel: Buffer, stat: FileStat, p: Buffer): void {
    const type = fileType(stat.mode);
    switch (type) {
        case "dir":
            fs.mkdirSync(p);
            return;
        case "file": {
            const f = tree.openFile(rel, stat);
            const fd = fs.openSync(p, "wx");
            try {
                const buf = Buffer.alloc(1 << 16);
                for (let pos = 0; ; ) {
                    const n = f.readSync(buf, 0, buf.length, pos);
                    if (n === 0) break;
                    fs.writeSync(fd, buf, 0, n);
                    pos += n;
                }
            } finally {
                fs.closeSync(fd);
                f.close();
            }
            return;
        }
        case "symlink":
            fs.symlinkSync(tree.readlink(rel), p);
            return;
        case "fifo":
            fsb.mkfifo(p);
            return;
        case "char":
        case "block":
            fsb.mknod(p, type === "char" ? "c" : "b", Number(devMajor(stat.rdev)), Number(devMinor(stat.rdev)));
            return;
        case "socket":
            fsb.mksock(p);
            return;
    }
}

/** ns since the epoch as touch's "S.F" (exact, negative included). */
export function decimalNs(ns: bigint): string {
    const neg = ns < 0n;
    const abs = neg ? -ns : ns;
    return `${neg ? "-" : ""}${abs / 1_000_000_000n}.${(abs % 1_000_000_000n).toString().padStart(9, "0")}`;
}
