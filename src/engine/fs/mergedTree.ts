/**
 * A read-only union of upperdir-like trees with overlayfs lookup rules (Linux
 * `fs/overlayfs/namei.c` `ovl_lookup`, `readdir.c`), the way an overlay mount of
 * `lowerdir=top:…:bottom` shows them, and the way OCI layers applied in order show them:
 *
 * - the topmost layer that has a path provides it; a non-directory there hides every lower
 *   layer's entry at that path (and anything below it);
 * - a whiteout (char device 0/0) hides the path in all lower layers and is itself never visible;
 * - directories merge: the topmost one provides lstat and xattrs (layers applied in order, not
 *   overlayfs: an xattr it lacks comes from the directory below, as an apply leaves it), the
 *   children are the union of all
 *   merging layers minus whiteouts, sorted byte-wise; merging stops at a lower non-directory, a
 *   whiteout, or below a directory marked opaque (`trusted|user.overlay.opaque=y`; ignored on
 *   the root);
 * - overlay marker xattrs (`trusted.overlay.*`, `user.overlay.*`) are never visible.
 *
 * File content, link targets and xattrs are read from the layer that provides the entry, with
 * that layer's inode check on open. Memory: a bounded cache of directory resolutions, nothing
 * proportional to the tree.
 */
import { EngineError } from "../errors";
import { type FileStat, isDir, isWhiteoutDevice } from "./fileStat";
import { isOpaqueDir, isOverlayXattr, WHITEOUT_STAT } from "./overlayMarkers";
import { type FileReader, joinRel, ROOT, type TreeReader } from "./tree";

interface Resolution {
    /** Index of the layer that provides the entry (0 = bottom) and its lstat there. */
    readonly layer: number;
    readonly stat: FileStat;
    /** For a directory: the layers whose directory merges here, topmost first; else empty. */
    readonly dirs: readonly number[];
}

/** Directory resolutions kept; a depth-first walk revisits the parents of the current path. */
const CACHE_ENTRIES = 4096;

export class MergedTree implements TreeReader {
    private readonly cache = new Map<string, Resolution>();
    private rootResolution: Resolution | null = null;

    /** `layers` bottom first, as a layer chain is ordered (the last one is on top). */
    constructor(
        readonly layers: readonly TreeReader[],
        private readonly label = "merged view",
        /**
         * Whether a real 0/0 character device in a layer is a whiteout (overlayfs upperdirs) or
         * a device file like any other (native snapshots, whose deletions only ever appear as
         * the synthetic WHITEOUT_STAT of a ChangeSetTree).
         */
        private readonly deviceWhiteouts = true,
    ) {
        if (layers.length === 0) {
            throw new EngineError("InvalidArgument", `${label}: a merged view needs at least one layer`);
        }
    }

    describe(rel: Buffer): string {
        try {
            const res = this.resolve(rel);
            if (res) {
                return this.layers[res.layer]!.describe(rel);
            }
        } catch {
            // fall through: describing must never fail
        }
        return `${this.label}:${rel.toString("utf8")}`;
    }

    lstat(rel: Buffer): FileStat | null {
        return this.resolve(rel)?.stat ?? null;
    }

    readdir(rel: Buffer): Buffer[] {
        const res = this.resolve(rel);
        if (!res || res.dirs.length === 0) {
            const where = this.describe(rel);
            throw new EngineError("NotFound", `${where}: not a directory in the merged view`, { path: where });
        }
        // A name is visible when its topmost occurrence among the merging layers is no whiteout.
        const visible = new Map<string, boolean>();
        for (const i of res.dirs) {
            const layer = this.layers[i]!;
            for (const name of layer.readdir(rel)) {
                const key = name.toString("latin1");
                if (!visible.has(key)) {
                    const st = layer.lstat(joinRel(rel, name));
                    visible.set(key, st !== null && !this.isWhiteout(st));
                }
            }
        }
        const names: Buffer[] = [];
        for (const [key, show] of visible) {
            if (show) {
                names.push(Buffer.from(key, "latin1"));
            }
        }
        return names.sort(Buffer.compare);
    }

    readlink(rel: Buffer): Buffer {
        return this.layers[this.provider(rel).layer]!.readlink(rel);
    }

    getxattr(rel: Buffer, name: string): Buffer | null {
        if (isOverlayXattr(name)) {
            return null;
        }
        const res = this.resolve(rel);
        if (!res) {
            return null;
        }
        const own = this.layers[res.layer]!.getxattr(rel, name);
        if (own !== null || this.deviceWhiteouts) {
            return own;
        }
        // Layers applied in order (native snapshots, layer blobs): a directory that is already
        // there keeps the xattrs the layer above does not set, as containerd's Apply (and
        // BuildKit's diffapply) only ever set them. An overlay mount shows the top one's alone.
        for (const i of res.dirs) {
            if (i === res.layer) continue;
            const below = this.layers[i]!.getxattr(rel, name);
            if (below !== null) {
                return below;
            }
        }
        return null;
    }

    openFile(rel: Buffer, expect: FileStat): FileReader {
        return this.layers[this.provider(rel).layer]!.openFile(rel, expect);
    }

    private isWhiteout(st: FileStat): boolean {
        return st === WHITEOUT_STAT || (this.deviceWhiteouts && isWhiteoutDevice(st));
    }

    private provider(rel: Buffer): Resolution {
        const res = this.resolve(rel);
        if (!res) {
            const where = this.describe(rel);
            throw new EngineError(
                "ChangedWhileReading",
                `${where}: disappeared from the merged view while it was read; retry when the snapshots are not being modified`,
                { path: where },
            );
        }
        return res;
    }

    private resolve(rel: Buffer): Resolution | null {
        if (rel.length === 1) {
            return this.root();
        }
        const key = rel.toString("latin1");
        const cached = this.cache.get(key);
        if (cached) {
            return cached;
        }
        const slash = rel.lastIndexOf(0x2f);
        const parent = this.resolve(slash === 0 ? ROOT : rel.subarray(0, slash));
        if (!parent || parent.dirs.length === 0) {
            return null; // ENOENT or ENOTDIR: both are "does not exist" for lstat
        }
        let top: { layer: number; stat: FileStat } | null = null;
        const dirs: number[] = [];
        for (const i of parent.dirs) {
            const st = this.layers[i]!.lstat(rel);
            if (!st) {
                continue;
            }
            if (this.isWhiteout(st) || (top && !isDir(st))) {
                break; // hides this path in every lower layer
            }
            // A lower directory merges unless the one above is opaque (asked only now: xattr
            // reads are the expensive part, and a marker with nothing below changes nothing).
            if (top && isOpaqueDir(this.layers[dirs[dirs.length - 1]!]!, rel)) {
                break;
            }
            top ??= { layer: i, stat: st };
            if (!isDir(st)) {
                break;
            }
            dirs.push(i);
        }
        if (!top) {
            return null;
        }
        const res: Resolution = { ...top, dirs };
        if (dirs.length > 0) {
            if (this.cache.size >= CACHE_ENTRIES) {
                this.cache.delete(this.cache.keys().next().value!);
            }
            this.cache.set(key, res);
        }
        return res;
    }

    private root(): Resolution {
        if (!this.rootResolution) {
            const dirs: number[] = [];
            for (let i = this.layers.length - 1; i >= 0; i--) {
                const st = this.layers[i]!.lstat(ROOT);
                if (st && isDir(st)) {
                    dirs.push(i);
                }
            }
            if (dirs.length === 0) {
                throw new EngineError("NotFound", `${this.label}: no layer has a root directory`);
            }
            const layer = dirs[0]!;
            this.rootResolution = { layer, stat: this.layers[layer]!.lstat(ROOT)!, dirs };
        }
        return this.rootResolution;
    }
}
