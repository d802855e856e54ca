/**
 * Tree snapshots for comparing directory trees in tests: one canonical line per path with type,
 * mode, owner, ns mtime, size and content hash or link target or rdev, and xattrs. Also computes
 * what an overlayfs mount of an upperdir over a lower tree shows, to check overlay fixtures.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import { getAttributeSync, listAttributesSync } from "@napi-rs/xattr";

/** Relative path (bytes as latin1, so non-UTF-8 names survive) -> canonical description. */
export type TreeSnapshot = Map<string, string>;

export interface SnapshotOptions {
    /** Xattrs for which this returns true are left out of the description. */
    ignoreXattr?: (name: string) => boolean;
}

/** Snapshots every entry below `root` (the root itself excluded). */
export function snapshotTree(root: string, opts: SnapshotOptions = {}): TreeSnapshot {
    const out: TreeSnapshot = new Map();
    walk(Buffer.from(root), Buffer.alloc(0), (abs, rel, st) => {
        out.set(rel.toString("latin1"), describeEntry(abs, st, opts));
    });
    return out;
}

/** True for the xattrs overlayfs uses as markers (never part of the merged view). */
export function isOverlayXattr(name: string): boolean {
    return name.startsWith("trusted.overlay.") || name.startsWith("user.overlay.");
}

/**
 * What an overlay mount of `upperdir` over `lower` shows: whiteouts (char 0:0) hide the lower
 * path, opaque directories (`trusted.overlay.opaque` or `user.overlay.opaque` = "y") and
 * non-directories hide the lower subtree, everything else in upperdir replaces the lower entry.
 */
export function overlayMergedSnapshot(lower: string, upperdir: string): TreeSnapshot {
    const opts: SnapshotOptions = { ignoreXattr: isOverlayXattr };
    const merged = snapshotTree(lower, opts);
    walk(Buffer.from(upperdir), Buffer.alloc(0), (abs, rel, st) => {
        const key = rel.toString("latin1");
        if (st.isCharacterDevice() && st.rdev === 0n) {
            deleteSubtree(merged, key, true);
            return;
        }
        const lowerDesc = merged.get(key);
        const lowerIsDir = lowerDesc?.startsWith("dir ") ?? false;
        if (!st.isDirectory() || isOpaque(abs) || !lowerIsDir) {
            deleteSubtree(merged, key, false);
        }
        merged.set(key, describeEntry(abs, st, opts));
    });
    return merged;
}

/** Human-readable differences between two snapshots (empty when equal). */
export function diffSnapshots(expected: TreeSnapshot, actual: TreeSnapshot): string[] {
    const out: string[] = [];
    const keys = [...new Set([...expected.keys(), ...actual.keys()])].sort();
    for (const key of keys) {
        const e = expected.get(key);
        const a = actual.get(key);
        if (e !== a) {
            const name = Buffer.from(key, "latin1").toString("utf8");
            out.push(`${name}: expected ${e ?? "(absent)"}, got ${a ?? "(absent)"}`);
        }
    }
    return out;
}

type Visit = (abs: Buffer, rel: Buffer, st: fs.BigIntStats) => void;

/** Pre-order walk, children sorted byte-wise, calling `visit` for every entry below `abs`. */
function walk(abs: Buffer, rel: Buffer, visit: Visit): void {
    const names = fs.readdirSync(abs, { encoding: "buffer" }).sort(Buffer.compare);
    for (const name of names) {
        const childAbs = Buffer.concat([abs, Buffer.from("/"), name]);
        const childRel = rel.length === 0 ? name : Buffer.concat([rel, Buffer.from("/"), name]);
        const st = fs.lstatSync(childAbs, { bigint: true });
        visit(childAbs, childRel, st);
        if (st.isDirectory()) {
            walk(childAbs, childRel, visit);
        }
    }
}

function describeEntry(abs: Buffer, st: fs.BigIntStats, opts: SnapshotOptions): string {
    const perm = (st.mode & 0o7777n).toString(8).padStart(4, "0");
    const common = `${perm} ${st.uid}:${st.gid} mtime=${st.mtimeNs}`;
    const x = xattrText(abs, opts);
    if (st.isDirectory()) {
        return `dir ${common}${x}`;
    }
    if (st.isFile()) {
        const sha = createHash("sha256").update(fs.readFileSync(abs)).digest("hex").slice(0, 16);
        return `file ${common} size=${st.size} sha=${sha}${x}`;
    }
    if (st.isSymbolicLink()) {
        const target = fs.readlinkSync(abs, { encoding: "buffer" }).toString("hex");
        return `symlink ${common} target=${target}${x}`;
    }
    if (st.isCharacterDevice() || st.isBlockDevice()) {
        return `${st.isCharacterDevice() ? "char" : "block"} ${common} rdev=${st.rdev}${x}`;
    }
    return `${st.isFIFO() ? "fifo" : st.isSocket() ? "socket" : "other"} ${common}${x}`;
}

function xattrText(abs: Buffer, opts: SnapshotOptions): string {
    const p = utf8(abs);
    if (p === undefined) {
        return " xattrs=?"; // @napi-rs/xattr takes string paths only
    }
    const names = listAttributesSync(p).filter((n) => !(opts.ignoreXattr?.(n) ?? false)).sort();
    if (names.length === 0) {
        return "";
    }
    const parts = names.map((n) => {
        const value = getAttributeSync(p, n) ?? Buffer.alloc(0);
        return `${n}=${value.toString("hex")}`;
    });
    return ` xattrs=${parts.join(",")}`;
}

function isOpaque(abs: Buffer): boolean {
    const p = utf8(abs);
    if (p === undefined) {
        return false;
    }
    return ["trusted.overlay.opaque", "user.overlay.opaque"].some(
        (n) => getAttributeSync(p, n)?.toString("latin1") === "y",
    );
}

function deleteSubtree(snap: TreeSnapshot, key: string, includeSelf: boolean): void {
    for (const k of [...snap.keys()]) {
        if ((includeSelf && k === key) || k.startsWith(`${key}/`)) {
            snap.delete(k);
        }
    }
}

function utf8(p: Buffer): string | undefined {
    const s = p.toString("utf8");
    return Buffer.from(s, "utf8").equals(p) ? s : undefined;
}
