/**
 * Builds and edits a model tree with random entries: the primitives behind the LOWER generator
 * and the edits that turn LOWER into UPPER (randomEdits.ts).
 */
import type { EntryFactory } from "./randomEntries";
import type { Rng } from "./rng";
import {
    type EntryKind,
    type Inode,
    type Tree,
    baseOf,
    childrenOf,
    cloneInode,
    descendantsOf,
    joinPath,
    linkGroups,
    parentOf,
    removeSubtree,
    sameFile,
    showPath,
} from "./treeModel";

export class TreeEditor {
    /** What the edits did, one line each. */
    readonly log: string[] = [];
    /** Directories created by an edit; where LOWER has the same path, they are opaque. */
    readonly freshDirs = new Set<string>();

    /** `lower` is read only (empty while LOWER itself is being built); `tree` is edited. */
    constructor(
        readonly f: EntryFactory,
        readonly lower: Tree,
        readonly tree: Tree,
    ) {}

    get rng(): Rng {
        return this.f.rng;
    }

    note(what: string, p: string, detail = ""): void {
        this.log.push(`${what} ${showPath(p)}${detail === "" ? "" : ` (${detail})`}`);
    }

    randomKind(depthLeft: number): EntryKind {
        return this.rng.weighted([
            ["file", 45],
            ["dir", depthLeft > 0 ? 16 : 0],
            ["symlink", 13],
            ["fifo", 3],
            ["char", 3],
            ["block", 2],
            ["socket", 2],
        ] as const);
    }

    inode(kind: EntryKind, dir: string): Inode {
        return this.f.inode(kind, this.tree, dir);
    }

    nameFor(dir: string, kind: EntryKind): string {
        return this.f.nameFor(this.tree, dir, kind);
    }

    put(p: string, inode: Inode): void {
        this.tree.set(p, inode);
        if (inode.kind === "dir") {
            this.freshDirs.add(p);
        }
    }

    remove(p: string): void {
        removeSubtree(this.tree, p);
        for (const d of [...this.freshDirs]) {
            if (d === p || d.startsWith(`${p}/`)) {
                this.freshDirs.delete(d);
            }
        }
    }

    /** A new entry in `dir`; a directory is filled `depthLeft - 1` levels deep. */
    addEntry(dir: string, kind: EntryKind, depthLeft: number): string {
        const p = joinPath(dir, this.nameFor(dir, kind));
        this.put(p, this.inode(kind, dir));
        if (kind === "dir") {
            this.fill(p, depthLeft - 1);
        }
        return p;
    }

    fill(dir: string, depthLeft: number): void {
        const n = this.rng.int(0, depthLeft >= 3 ? 7 : 4);
        for (let i = 0; i < n; i++) {
            this.addEntry(dir, this.randomKind(depthLeft), depthLeft);
        }
    }

    /** Nested directories with long names: paths past 100/155/256 bytes, splittable or not. */
    longChain(): void {
        let dir = "";
        for (let depth = this.rng.int(2, 5); depth > 0; depth--) {
            const name = this.f.longName(this.rng.pick([20, 40, 50, 60, 99, 100, 120]));
            if (this.tree.has(joinPath(dir, name))) {
                break;
            }
            dir = joinPath(dir, name);
            this.put(dir, this.inode("dir", parentOf(dir)));
        }
        for (let i = this.rng.int(1, 3); i > 0; i--) {
            this.addEntry(dir, this.rng.pick(["file", "file", "symlink", "dir"] as const), 1);
        }
    }

    /** A random non-root path whose entry passes `filter`. */
    pick(filter: (inode: Inode, p: string) => boolean): string | undefined {
        const paths = [...this.tree.keys()].filter((p) => p !== "" && filter(this.tree.get(p)!, p));
        return paths.length > 0 ? this.rng.pick(paths) : undefined;
    }

    dirs(): string[] {
        return [...this.tree.keys()].filter((p) => this.tree.get(p)!.kind === "dir");
    }

    /** Adds `extra` more names for the non-directory at `p`, in random existing directories. */
    addLinkNames(p: string, extra: number): string[] {
        const inode = this.tree.get(p)!;
        const names: string[] = [];
        for (let i = 0; i < extra; i++) {
            const dir = this.rng.pick(this.dirs());
            const q = joinPath(dir, this.nameFor(dir, "file"));
            this.tree.set(q, inode);
            names.push(q);
        }
        return names;
    }

    /** Replaces the entry at a random path by a new one of another kind. */
    typeSwap(): void {
        const p = this.pick(() => true);
        if (p === undefined) {
            return;
        }
        const old = this.tree.get(p)!.kind;
        const kinds = (
            ["file", "dir", "symlink", "fifo", "char", "block", "socket"] as const
        ).filter((k) => k !== old);
        const kind = this.rng.weighted(
            kinds.map((k) => [k, k === "file" || k === "dir" || k === "symlink" ? 5 : 1] as const),
        );
        this.remove(p);
        this.put(p, this.inode(kind, parentOf(p)));
        if (kind === "dir") {
            this.fill(p, 2);
        }
        this.note("type swap", p, `${old} -> ${kind}`);
    }

    /** `rm -rf d; mkdir d`, then some old children come back unchanged, some changed, some new. */
    recreateDir(): void {
        const d = this.pick((n, p) => n.kind === "dir" && this.lower.get(p)?.kind === "dir");
        if (d === undefined) {
            return;
        }
        this.remove(d);
        const old = this.lower.get(d)!;
        this.put(d, this.rng.chance(0.5) ? cloneInode(old) : this.inode("dir", parentOf(d)));
        const copies = new Map<Inode, Inode>();
        const copy = (p: string): void => {
            const src = this.lower.get(p)!;
            let c = copies.get(src);
            if (!c) {
                c = cloneInode(src);
                copies.set(src, c);
            }
            this.tree.set(p, c);
        };
        const kept: string[] = [];
        for (const child of childrenOf(this.lower, d)) {
            const r = this.rng.float();
            if (r < 0.4) {
                copy(child);
                for (const below of descendantsOf(this.lower, child)) {
                    copy(below);
                }
                kept.push(`=${showPath(baseOf(child))}`);
            } else if (r < 0.6) {
                copy(child);
                this.tree.get(child)!.mtime = this.f.time();
                if (this.lower.get(child)!.kind === "dir") {
                    this.fill(child, 1);
                }
                kept.push(`~${showPath(baseOf(child))}`);
            }
        }
        for (let i = this.rng.int(0, 3); i > 0; i--) {
            kept.push(`+${showPath(baseOf(this.addEntry(d, this.randomKind(1), 1)))}`);
        }
        this.note("recreate dir", d, kept.join(" "));
    }

    /**
     * Overlay profile only: a link group whose names are partly unchanged and partly new or
     * modified is where the two differs disagree (randomTrees.ts, divergence 1); a fresh mtime
     * on the inode makes every name modified.
     */
    fixMixedLinkGroups(): void {
        for (const [inode, names] of linkGroups(this.tree)) {
            const unchanged = names.filter(
                (p) => this.lower.has(p) && sameFile(this.lower.get(p)!, inode),
            );
            if (unchanged.length > 0 && unchanged.length < names.length) {
                inode.mtime = this.f.freshTime();
                this.note(
                    "overlay profile: fresh mtime for mixed link group",
                    names[0]!,
                    names.map(showPath).join(", "),
                );
            }
        }
    }
}
