/**
 * overlayfs markers as BuildKit's overlay differ reads them (`util/overlay/overlay_linux.go`
 * `checkOpaque`) and as an overlay mount hides them: opaque directories, whiteout stats, and the
 * `trusted.overlay.*` / `user.overlay.*` xattrs that are never part of a merged view.
 */
import { type FileStat, S_IFCHR } from "./fileStat";
import type { TreeReader } from "./tree";

export const OPAQUE_XATTRS = ["trusted.overlay.opaque", "user.overlay.opaque"] as const;

/** True for the xattrs overlayfs keeps for itself (opaque, redirect, origin, impure, …). */
export function isOverlayXattr(name: string): boolean {
    return name.startsWith("trusted.overlay.") || name.startsWith("user.overlay.");
}

/** A directory marked opaque: either opaque xattr holding exactly "y" (not "Y", "yes" or ""). */
export function isOpaqueDir(tree: TreeReader, rel: Buffer): boolean {
    for (const key of OPAQUE_XATTRS) {
        const v = tree.getxattr(rel, key);
        if (v && v.length === 1 && v[0] === 0x79 /* 'y' */) {
            return true;
        }
    }
    return false;
}

/**
 * The stat of a synthetic whiteout: a character device 0/0 with no permission bits, owned by
 * 0:0, as overlayfs creates them (`c---------`). It has no inode: nothing may be read through it.
 */
export const WHITEOUT_STAT: FileStat = Object.freeze({
    mode: S_IFCHR,
    uid: 0,
    gid: 0,
    rdev: 0n,
    size: 0n,
    mtimeNs: 0n,
    ino: 0n,
    dev: 0n,
    nlink: 1n,
});
