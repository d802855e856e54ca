/**
 * A LayerContents over TreeReaders: the layer view is an upperdir-like tree (a snapshot layer's
 * ChangeSetTree, or a blob's TarIndexTree) whose entries are classified against the lower view;
 * the merged view is a full tree (a snapshot directory, or a MergedTree of layers). Both kinds of
 * source look the same to callers.
 */
import { Readable } from "node:stream";
import { EngineError } from "../errors";
import { devMajor, devMinor, type FileStat, fileType, isDir, isRegular } from "../fs/fileStat";
import { WHITEOUT_STAT } from "../fs/overlayMarkers";
import { joinRel, type TreeReader } from "../fs/tree";
import { cleanLayerPath, encodeLayerPath } from "./layerPath";
import { TYPE_LINK, tarNodeOf } from "./tarIndexTree";
import type { ContentsOrigin, LayerChange, LayerContents, LayerEntry, LayerEntryType, LayerView, ReadRange } from "./types";

const READ_CHUNK = 1024 * 1024;

/** The only xattr containerd's tar writer records; a snapshot's other xattrs are not in its layer. */
const LAYER_XATTRS = ["security.capability"];

export interface TreeContentsParts {
    readonly refId: string;
    readonly view: LayerView;
    readonly origin: ContentsOrigin;
    readonly lowerRefId: string | null;
    readonly tree: TreeReader;
    /** Layer view only: the merged view below the layer, to tell added from modified. */
    readonly lower: (() => Promise<TreeReader>) | null;
    readonly onClose?: () => void;
}

/**
 * lstat of a caller's path with every directory above it checked to be a directory of the tree
 * itself. Paths from callers (a `layerscope:` URI, `ls PATH`) are not names the tree listed: a
 * snapshot directory is read through the kernel, which would follow a symlink in the middle of
 * the path out of the snapshot (`lnk -> /`, then `lnk/etc/passwd`). Such a path does not exist in
 * the view, as it would not in the layer's tar.
 */
export function lstatWithin(tree: TreeReader, rel: Buffer): FileStat | null {
    for (let i = rel.indexOf(0x2f, 1); i > 0; i = rel.indexOf(0x2f, i + 1)) {
        const st = tree.lstat(rel.subarray(0, i));
        if (!st || !isDir(st)) return null;
    }
    return tree.lstat(rel);
}

export class TreeContents implements LayerContents {
    readonly refId: string;
    readonly view: LayerView;
    readonly origin: ContentsOrigin;
    readonly lowerRefId: string | null;
    private lowerTree: Promise<TreeReader> | null = null;
    private closed = false;

    constructor(private readonly parts: TreeContentsParts) {
        this.refId = parts.refId;
        this.view = parts.view;
        this.origin = parts.origin;
        this.lowerRefId = parts.lowerRefId;
    }

    async stat(path: string | Buffer): Promise<LayerEntry> {
        const rel = cleanLayerPath(path);
        const st = this.lstat(rel);
        if (!st) throw this.notFound(rel);
        return this.entry(rel, st);
    }

    async list(dirPath: string | Buffer): Promise<LayerEntry[]> {
        const rel = cleanLayerPath(dirPath);
        const st = this.lstat(rel);
        if (!st) throw this.notFound(rel);
        if (!isDir(st)) {
            throw new EngineError("InvalidArgument", `${this.where(rel)}: not a directory`, { path: encodeLayerPath(rel) });
        }
        const out: LayerEntry[] = [];
        for (const name of this.parts.tree.readdir(rel)) {
            const child = joinRel(rel, name);
            const cst = this.lstat(child, true);
            if (cst) out.push(await this.entry(child, cst));
        }
        return out;
    }

    read(path: string | Buffer, range: ReadRange = {}): Readable {
        return Readable.from(this.chunks(path, range), { objectMode: false });
    }

    async close(): Promise<void> {
        if (this.closed) return;
        this.closed = true;
        this.parts.onClose?.();
    }

    private async *chunks(path: string | Buffer, range: ReadRange): AsyncGenerator<Buffer> {
        const rel = cleanLayerPath(path);
        const st = this.lstat(rel);
        if (!st) throw this.notFound(rel);
        if (st === WHITEOUT_STAT) {
            throw new EngineError("NotFound", `${this.where(rel)}: deleted by this layer; read it from the lower view (${this.lowerRefId ?? "nothing"})`, { path: encodeLayerPath(rel) });
        }
        if (!isRegular(st)) {
            throw new EngineError("InvalidArgument", `${this.where(rel)}: not a regular file (a ${fileType(st.mode)}); only files have content`, { path: encodeLayerPath(rel) });
        }
        const link = tarNodeOf(st)?.node;
        if (link?.typeflag === TYPE_LINK && !link.linkTo) {
            throw new EngineError("NotFound", `${this.where(rel)}: a hard link to ${encodeLayerPath(link.linkname!)}, which its layer does not hold`, { path: encodeLayerPath(rel) });
        }
        const size = Number(st.size);
        const start = Math.max(0, Math.min(range.start ?? 0, size));
        const end = Math.max(start, Math.min(range.end ?? size, size));
        if (start === end) return;
        const reader = this.parts.tree.openFile(rel, st);
        try {
            for (let pos = start; pos < end; ) {
                range.signal?.throwIfAborted();
                const buf = Buffer.allocUnsafe(Math.min(READ_CHUNK, end - pos));
                const n = await reader.readAsync(buf, 0, buf.length, pos);
                if (n === 0) {
                    throw new EngineError("ChangedWhileReading", `${this.where(rel)}: ended at byte ${pos} of ${size}; the file changed while it was read`, { path: encodeLayerPath(rel) });
                }
                pos += n;
                yield n === buf.length ? buf : buf.subarray(0, n);
            }
        } finally {
            reader.close();
        }
    }

    /** `parentChecked`: `rel` is a name just listed in a directory this view already checked. */
    private lstat(rel: Buffer, parentChecked = false): FileStat | null {
        if (this.closed) throw new EngineError("FailedPrecondition", `contents of ${this.refId} were closed`);
        return parentChecked ? this.parts.tree.lstat(rel) : lstatWithin(this.parts.tree, rel);
    }

    private async entry(rel: Buffer, st: FileStat): Promise<LayerEntry> {
        const tree = this.parts.tree;
        const deleted = st === WHITEOUT_STAT;
        let shown = st;
        let change: LayerChange | null = null;
        if (this.view === "layer") {
            const lower = await this.lower();
            const lst = lower ? lstatWithin(lower, rel) : null;
            if (deleted) {
                change = "deleted";
                if (lst) shown = lst;
            } else if (!lst) {
                change = "added";
            } else if (isDir(st) && isDir(lst)) {
                const same = st.mode === lst.mode && st.uid === lst.uid && st.gid === lst.gid && st.mtimeNs === lst.mtimeNs;
                const node = tarNodeOf(st)?.node;
                // An opaque directory changes what shows below it, whatever its own metadata.
                change = node?.opaque ? "modified" : same || node?.kind === "implicit" ? "unchanged" : "modified";
            } else {
                change = "modified";
            }
        }
        const tarNode = tarNodeOf(shown);
        let type: LayerEntryType = fileType(shown.mode);
        if (deleted && shown === st) type = "whiteout";
        let linkTarget: string | null = null;
        let xattrs: string[];
        const source = deleted ? await this.lower() : tree;
        if (tarNode) {
            if (tarNode.node.typeflag === TYPE_LINK) {
                type = "hardlink";
                linkTarget = encodeLayerPath(absolute(tarNode.node.linkname!));
            } else if (type === "symlink") {
                linkTarget = encodeLayerPath(tarNode.node.linkname!);
            }
            xattrs = tarNode.node.xattrs ? [...tarNode.node.xattrs.keys()].sort() : [];
        } else {
            if (type === "symlink" && source) linkTarget = encodeLayerPath(source.readlink(rel));
            xattrs = type === "whiteout" || !source ? [] : LAYER_XATTRS.filter((x) => source.getxattr(rel, x) !== null);
        }
        const opaque = this.view === "layer" && !deleted && isDir(st) && tarNode?.node.opaque === true;
        const name = rel.length === 1 ? Buffer.alloc(0) : rel.subarray(rel.lastIndexOf(0x2f) + 1);
        const isDevice = type === "char" || type === "block";
        return {
            name: encodeLayerPath(name),
            path: encodeLayerPath(rel),
            rawPath: rel,
            type,
            change,
            opaque,
            mode: type === "whiteout" ? 0 : shown.mode & 0o7777,
            uid: shown.uid,
            gid: shown.gid,
            size: type === "file" || type === "hardlink" || type === "symlink" ? Number(shown.size) : 0,
            mtimeNs: shown.mtimeNs,
            mtimeMs: Number(shown.mtimeNs / 1_000_000n),
            linkTarget,
            device: isDevice ? { major: Number(devMajor(shown.rdev)), minor: Number(devMinor(shown.rdev)) } : null,
            xattrs,
            nlink: Number(shown.nlink),
        };
    }

    private lower(): Promise<TreeReader | null> {
        if (!this.parts.lower) return Promise.resolve(null);
        this.lowerTree ??= this.parts.lower();
        this.lowerTree.catch(() => (this.lowerTree = null));
        return this.lowerTree;
    }

    private where(rel: Buffer): string {
        return `${this.refId} (${this.view} view):${encodeLayerPath(rel)}`;
    }

    private notFound(rel: Buffer): EngineError {
        return new EngineError("NotFound", `${this.where(rel)}: no such entry`, { path: encodeLayerPath(rel) });
    }
}

/** A tar link name as a layer path ("/a/b"). */
function absolute(linkname: Buffer): Buffer {
    try {
        return cleanLayerPath(linkname);
    } catch {
        return linkname;
    }
}
