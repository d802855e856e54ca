/**
 * One layer's change set as an upperdir-like tree, so layers from any differ can be stacked in a
 * MergedTree: what containerd's applier would leave of the layer's tar in an overlay upperdir.
 *
 * - added and modified entries are served from the source tree (the upper) with its metadata,
 *   content and inode check; their ancestors appear as directories, also from the source;
 * - deletions appear as synthetic whiteouts (char device 0/0, `WHITEOUT_STAT`) through which
 *   nothing can be read;
 * - nothing else exists; overlay marker xattrs of the source are hidden (deletions are
 *   explicit, so no directory is opaque).
 *
 * The changes come from continuity's double walk (`fromTrees`, the walking differ) or BuildKit's
 * overlay differ over an upperdir (`fromUpperdir`), mirroring what `writeDiff` would put in the
 * layer's tar. Memory is one small node per changed path (plus its ancestors), never the tree.
 */
import type { ChangeKind } from "../diff/changes";
import { doubleWalkDiff } from "../diff/doubleWalk";
import { overlayChanges } from "../diff/overlayChanges";
import { EngineError } from "../errors";
import { type FileStat, isDir } from "./fileStat";
import { isOverlayXattr, WHITEOUT_STAT } from "./overlayMarkers";
import { type FileReader, ROOT, type TreeReader } from "./tree";

type NodeKind = "changed" | "ancestor" | "whiteout";

interface Node {
    kind: NodeKind;
    /** Children by name (bytes as latin1); null until the first child is recorded. */
    children: Map<string, Node> | null;
}

export class ChangeSetTree implements TreeReader {
    private readonly root: Node = { kind: "ancestor", children: null };
    private changes = 0;

    private constructor(private readonly source: TreeReader) {}

    /** The changes from `lower` to `upper`, two full trees (containerd's walking differ). */
    static async fromTrees(lower: TreeReader, upper: TreeReader, signal?: AbortSignal): Promise<ChangeSetTree> {
        const tree = new ChangeSetTree(upper);
        await doubleWalkDiff(lower, ROOT, upper, ROOT, async (kind, p) => tree.record(kind, p), { signal });
        return tree;
    }

    /** The changes an overlayfs `upperdir` makes to `lower` (BuildKit's overlay differ). */
    static async fromUpperdir(upperdir: TreeReader, lower: TreeReader, signal?: AbortSignal): Promise<ChangeSetTree> {
        const tree = new ChangeSetTree(upperdir);
        await overlayChanges(upperdir, lower, ROOT, async (kind, p) => tree.record(kind, p), signal);
        return tree;
    }

    /** How many paths changed (adds, modifications and deletions). */
    get size(): number {
        return this.changes;
    }

    describe(rel: Buffer): string {
        return this.source.describe(rel);
    }

    lstat(rel: Buffer): FileStat | null {
        const node = this.find(rel);
        if (!node) {
            return null;
        }
        if (node.kind === "whiteout") {
            return WHITEOUT_STAT;
        }
        const st = this.source.lstat(rel);
        if (!st || (node.kind === "ancestor" && !isDir(st))) {
            const where = this.source.describe(rel);
            throw new EngineError(
                "ChangedWhileReading",
                `${where}: changed after the layer's changes were listed; retry when the snapshots are not being modified`,
                { path: where },
            );
        }
        return st;
    }

    readdir(rel: Buffer): Buffer[] {
        const node = this.find(rel);
        if (!node || node.kind === "whiteout") {
            throw this.missing(rel);
        }
        // latin1 strings compare by code unit, i.e. byte-wise, like Go's sort.Strings.
        return node.children ? [...node.children.keys()].sort().map((k) => Buffer.from(k, "latin1")) : [];
    }

    readlink(rel: Buffer): Buffer {
        this.served(rel);
        return this.source.readlink(rel);
    }

    getxattr(rel: Buffer, name: string): Buffer | null {
        const node = this.find(rel);
        if (!node || node.kind === "whiteout" || isOverlayXattr(name)) {
            return null;
        }
        return this.source.getxattr(rel, name);
    }

    openFile(rel: Buffer, expect: FileStat): FileReader {
        this.served(rel);
        return this.source.openFile(rel, expect);
    }

    private record(kind: ChangeKind, p: Buffer): void {
        if (kind === "unmodified") {
            return; // a hard-link name the lower already has: not part of the layer's content
        }
        let node = this.root;
        let start = 1;
        for (let slash = p.indexOf(0x2f, start); slash >= 0; slash = p.indexOf(0x2f, start)) {
            node = this.child(node, p.subarray(start, slash).toString("latin1"), p);
            start = slash + 1;
        }
        const name = p.subarray(start).toString("latin1");
        const existing = node.children?.get(name);
        const leafKind: NodeKind = kind === "delete" ? "whiteout" : "changed";
        if (existing) {
            existing.kind = leafKind;
            if (leafKind === "whiteout") {
                existing.children = null;
            }
        } else {
            (node.children ??= new Map()).set(name, { kind: leafKind, children: null });
            this.changes++;
        }
    }

    /** The child `name` of `node`, created as an ancestor directory when missing. */
    private child(node: Node, name: string, p: Buffer): Node {
        const existing = node.children?.get(name);
        if (existing) {
            if (existing.kind === "whiteout") {
                throw new EngineError("Internal", `change below a deleted path: ${this.source.describe(p)}`);
            }
            return existing;
        }
        const created: Node = { kind: "ancestor", children: null };
        (node.children ??= new Map()).set(name, created);
        return created;
    }

    private find(rel: Buffer): Node | null {
        let node: Node = this.root;
        let start = 1;
        while (start < rel.length) {
            let end = rel.indexOf(0x2f, start);
            if (end < 0) {
                end = rel.length;
            }
            const next = node.children?.get(rel.subarray(start, end).toString("latin1"));
            if (!next) {
                return null;
            }
            node = next;
            start = end + 1;
        }
        return node;
    }

    private served(rel: Buffer): void {
        const node = this.find(rel);
        if (!node || node.kind === "whiteout") {
            throw this.missing(rel);
        }
    }

    private missing(rel: Buffer): EngineError {
        const where = this.source.describe(rel);
        return new EngineError("NotFound", `${where}: not part of this layer's changes`, { path: where });
    }
}
