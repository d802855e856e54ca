/**
 * Builds one layer two ways from one list of edits: a native snapshot (the parent's full rootfs
 * copied, then edited) and the equivalent overlayfs upperdir (only what the edits touched, with
 * parent directories copied up with their metadata, whiteouts for deletions, an opaque marker for
 * a directory replaced by a fresh one). Every entry of both ends with mtime T0, so an entry the
 * edits did not touch is identical in both and in the parent.
 *
 * Edits that no upperdir can express the same way for both differs (a hard link group only partly
 * changed, 0:0 char devices; see randomTrees.ts "OVERLAY DIVERGENCES") must not be used.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import * as fsb from "./fsbuild";

export type LayerOp =
    | { op: "file"; path: string; content: string | Buffer; mode?: number; uid?: number; gid?: number; cap?: boolean }
    | { op: "dir"; path: string; mode?: number; uid?: number; gid?: number }
    | { op: "opaque"; path: string; mode?: number }
    | { op: "symlink"; path: string; target: string }
    | { op: "fifo"; path: string }
    | { op: "hardlink"; path: string; target: string }
    | { op: "delete"; path: string }
    | { op: "chmod"; path: string; mode: number }
    | { op: "chown"; path: string; uid: number; gid: number };

export interface BuiltLayer {
    readonly full: string;
    readonly upperdir: string;
}

export function buildLayer(parentFull: string | null, ops: readonly LayerOp[], full: string, upperdir: string): BuiltLayer {
    fs.mkdirSync(full, { recursive: true });
    if (parentFull) {
        fsb.copyTree(parentFull, full);
    }
    fs.mkdirSync(upperdir, { recursive: true });
    fsb.chmod(full, 0o755);
    fsb.chmod(upperdir, 0o755);
    const existedBefore = (p: string): boolean => parentFull !== null && exists(path.join(parentFull, p));
    for (const op of ops) {
        const f = path.join(full, op.path);
        const u = path.join(upperdir, op.path);
        switch (op.op) {
            case "file":
            case "symlink":
            case "fifo":
                replace(f);
                fsb.mkdir(path.dirname(f));
                createLeaf(op, f);
                copyUpParents(full, upperdir, op.path);
                replace(u);
                createLeaf(op, u);
                break;
            case "hardlink":
                replace(f);
                fsb.hardlink(path.join(full, op.target), f);
                copyUpParents(full, upperdir, op.path);
                replace(u);
                fsb.hardlink(path.join(upperdir, op.target), u);
                break;
            case "dir":
                if (exists(f) && !fs.lstatSync(f).isDirectory()) replace(f);
                fsb.mkdir(f, { mode: op.mode, uid: op.uid, gid: op.gid });
                copyUpParents(full, upperdir, op.path);
                copyUpDir(f, u);
                break;
            case "opaque":
                replace(f);
                fsb.mkdir(f, { mode: op.mode });
                copyUpParents(full, upperdir, op.path);
                replace(u);
                fsb.mkdir(u, { mode: op.mode, xattrs: { "trusted.overlay.opaque": "y" } });
                break;
            case "delete":
                replace(f);
                copyUpParents(full, upperdir, op.path);
                replace(u);
                if (existedBefore(op.path)) fsb.whiteoutDevice(u);
                break;
            case "chmod":
            case "chown":
                if (op.op === "chmod") fsb.chmod(f, op.mode);
                else fsb.lchown(f, op.uid, op.gid);
                copyUpParents(full, upperdir, op.path);
                if (fs.lstatSync(f).isDirectory()) copyUpDir(f, u);
                else if (!exists(u)) copyEntry(f, u);
                else if (op.op === "chmod") fsb.chmod(u, op.mode);
                else fsb.lchown(u, op.uid, op.gid);
                break;
        }
    }
    fsb.normalizeMtimes(full, fsb.T0);
    fsb.normalizeMtimes(upperdir, fsb.T0);
    return { full, upperdir };
}

function createLeaf(op: LayerOp, p: string): void {
    if (op.op === "file") {
        fsb.writeFile(p, op.content, { mode: op.mode, uid: op.uid, gid: op.gid });
        if (op.cap) fsb.setXattr(p, "security.capability", fsb.CAP_NET_BIND_SERVICE);
    } else if (op.op === "symlink") {
        fsb.symlink(op.target, p);
    } else if (op.op === "fifo") {
        fsb.mkfifo(p);
    }
}

/** Copies the ancestors of `rel` up into the upperdir as directories with the full tree's metadata. */
function copyUpParents(full: string, upperdir: string, rel: string): void {
    const parts = rel.split("/").filter(Boolean);
    for (let i = 1; i < parts.length; i++) {
        const sub = parts.slice(0, i).join("/");
        copyUpDir(path.join(full, sub), path.join(upperdir, sub));
    }
}

function copyUpDir(f: string, u: string): void {
    const st = fs.lstatSync(f);
    if (exists(u) && !fs.lstatSync(u).isDirectory()) {
        fs.rmSync(u); // a whiteout made earlier in this layer: the new directory must hide the lower
        fsb.mkdir(u, { xattrs: { "trusted.overlay.opaque": "y" } });
    }
    fsb.mkdir(u);
    fsb.lchown(u, st.uid, st.gid);
    fsb.chmod(u, st.mode & 0o7777);
}

/** `cp -a` of one non-directory (owner, mode, xattrs, mtime kept). */
function copyEntry(f: string, u: string): void {
    execFileSync("cp", ["-a", "--", f, u]);
}

function replace(p: string): void {
    if (exists(p)) fs.rmSync(p, { recursive: true });
}

function exists(p: string): boolean {
    return fs.existsSync(p) || isDanglingLink(p);
}

function isDanglingLink(p: string): boolean {
    try {
        return fs.lstatSync(p).isSymbolicLink();
    } catch {
        return false;
    }
}
