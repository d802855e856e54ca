/**
 * Derives the overlayfs upperdir that, mounted over LOWER, shows UPPER: what the kernel would
 * have left in the upperdir after the edits, in the forms BuildKit's overlay differ reads
 * (spec §2.5): whiteouts as char 0:0 devices, opaque directories marked with
 * `trusted.overlay.opaque=y` or `user.overlay.opaque=y`.
 */
import { SHORT_NAMES, type EntryFactory } from "./randomEntries";
import {
    type Inode,
    type Tree,
    ancestorsOf,
    cloneInode,
    identical,
    joinPath,
    linkGroups,
    parentOf,
    sameFile,
    showPath,
    sortedPaths,
} from "./treeModel";

export interface UpperdirInput {
    readonly lower: Tree;
    readonly upper: Tree;
    /** UPPER directories created by an edit: opaque where LOWER has the same path. */
    readonly freshDirs: ReadonlySet<string>;
    readonly f: EntryFactory;
    /** Receives a line per noteworthy choice. */
    readonly log: string[];
}

function whiteout(f: EntryFactory): Inode {
    return {
        kind: "char",
        mode: f.rng.pick([0, 0o600, 0o644]),
        uid: 0,
        gid: 0,
        mtime: f.time(),
        xattrs: new Map(),
        content: Buffer.alloc(0),
        target: Buffer.alloc(0),
        major: 0,
        minor: 0,
    };
}

/**
 * Every added or changed entry (copied up with all its ancestors, which carry UPPER's
 * metadata), a whiteout per deleted entry whose directory is still merged, and opaque
 * directories where a lower directory was replaced or deleted and re-created (holding their
 * whole UPPER subtree). Unchanged entries are sometimes copied up anyway, as a chown to the same
 * owner or a user.* xattr edit would do; never hard-linked ones (copy-up breaks links).
 */
export function deriveUpperdir(input: UpperdirInput): Tree {
    const { lower, upper, f } = input;
    const multi = new Set(linkGroups(upper).keys());
    const out: Tree = new Map();
    const opaque = new Set<string>();
    const copyOf = (p: string): Inode => {
        const u = upper.get(p)!;
        // Hard links stay one inode in the upperdir; other entries get their own copy so overlay
        // xattrs can be added without touching UPPER.
        return multi.has(u) ? u : cloneInode(u);
    };
    const include = (p: string): void => {
        for (const a of ["", ...ancestorsOf(p), p]) {
            if (!out.has(a)) {
                out.set(a, copyOf(a));
            }
        }
    };
    out.set("", copyOf(""));
    for (const p of sortedPaths(upper)) {
        if (p === "") {
            continue;
        }
        const u = upper.get(p)!;
        const l = lower.get(p);
        const inOpaque = ancestorsOf(p).some((a) => opaque.has(a));
        let wanted = inOpaque || l === undefined || !identical(l, u);
        if (
            !inOpaque &&
            l !== undefined &&
            u.kind === "dir" &&
            (l.kind !== "dir" || input.freshDirs.has(p))
        ) {
            opaque.add(p);
            wanted = true;
        }
        if (!wanted && !multi.has(u) && f.rng.chance(0.08)) {
            wanted = true;
        }
        if (wanted) {
            include(p);
        }
    }
    for (const p of sortedPaths(lower)) {
        if (p === "" || upper.has(p)) {
            continue;
        }
        if (ancestorsOf(p).every((a) => upper.get(a)?.kind === "dir" && !opaque.has(a))) {
            include(parentOf(p));
            out.set(p, whiteout(f));
        }
    }
    markUpperdir(input, out, opaque);
    checkUpperdirLinks(input, out);
    return out;
}

/** Opaque markers, markers the differ must ignore, copy-up bookkeeping, stray whiteouts. */
function markUpperdir(input: UpperdirInput, out: Tree, opaque: ReadonlySet<string>): void {
    const { lower, f } = input;
    const rng = f.rng;
    for (const d of opaque) {
        const name = rng.chance(0.8) ? "trusted.overlay.opaque" : "user.overlay.opaque";
        out.get(d)!.xattrs.set(name, Buffer.from("y"));
    }
    if (rng.chance(0.03)) {
        // The walk skips the root before any check, so a root marker means nothing.
        out.get("")!.xattrs.set("trusted.overlay.opaque", Buffer.from("y"));
    }
    const multi = new Set(linkGroups(out).keys());
    for (const p of sortedPaths(out)) {
        const n = out.get(p)!;
        const inOpaque = ancestorsOf(p).some((a) => opaque.has(a));
        if (
            p === "" ||
            multi.has(n) ||
            inOpaque ||
            opaque.has(p) ||
            (n.kind !== "dir" && n.kind !== "file")
        ) {
            continue;
        }
        if (!lower.has(p) && n.kind === "dir" && rng.chance(0.1)) {
            // An opaque marker without a lower directory is ignored (§2.5 item 5).
            n.xattrs.set("trusted.overlay.opaque", Buffer.from("y"));
        } else if (lower.get(p)?.kind === "dir" && n.kind === "dir" && rng.chance(0.05)) {
            // Only the exact value "y" makes a directory opaque.
            const name = rng.pick(["trusted.overlay.opaque", "user.overlay.opaque"]);
            n.xattrs.set(name, Buffer.from(rng.pick(["n", "Y", "yes", ""])));
        } else if (lower.has(p) && rng.chance(0.2)) {
            // Copy-up bookkeeping the differ must ignore.
            n.xattrs.set("trusted.overlay.origin", rng.bytes(rng.int(16, 40)));
            if (n.kind === "dir" && rng.chance(0.5)) {
                n.xattrs.set("trusted.overlay.impure", Buffer.from("y"));
            }
        }
    }
    // Whiteouts that hide nothing: skipped when LOWER has no such entry (§2.5 item 2), hidden by
    // the upper view inside opaque directories.
    if (rng.chance(0.3)) {
        const dirs = [...out.keys()].filter((p) => out.get(p)!.kind === "dir");
        for (let i = rng.int(1, 2); i > 0; i--) {
            const p = joinPath(rng.pick(dirs), rng.pick(SHORT_NAMES));
            if (!input.upper.has(p) && !out.has(p)) {
                out.set(p, whiteout(f));
                input.log.push(`upperdir: stray whiteout ${showPath(p)}`);
            }
        }
    }
}

/** A link group must be all in the upperdir or all out, unless no name of it changed. */
function checkUpperdirLinks(input: UpperdirInput, out: Tree): void {
    const { lower, upper } = input;
    for (const [inode, names] of linkGroups(upper)) {
        const inside = names.filter((p) => out.get(p) === inode);
        const allSame = names.every((p) => lower.has(p) && sameFile(lower.get(p)!, inode));
        if (inside.length > 0 && inside.length < names.length && !allSame) {
            const list = names.map(showPath).join(", ");
            throw new Error(`overlayUpperdir: link group ${list} only partly in the upperdir`);
        }
    }
}
