/**
 * Seeded random tree pairs for the differential test against the containerd oracle.
 *
 * `randomPair(seed)` builds a LOWER tree, derives UPPER from it by random edits, and (for most
 * seeds) an overlayfs UPPERDIR that, mounted over LOWER, would show UPPER. Everything is plain
 * data (see treeModel.ts) until the test writes it to disk, so a failing seed can be printed,
 * replayed and shrunk.
 *
 * Where BuildKit's overlay differ (spec §2.5) and containerd's two-tree differ (spec §7.1, oracle
 * README §1/§4) legitimately disagree for an UPPERDIR equivalent to UPPER, the overlay seeds
 * avoid the case; see OVERLAY DIVERGENCES below. Every seed picks one of two profiles:
 *
 * - "overlay": no edit outside what both differs agree on; `upperdir` is set.
 * - "two-tree": everything, including the divergent cases; `upperdir` is null.
 *
 * and one of three shapes: LOWER edited into UPPER (most seeds), an empty LOWER (a base layer),
 * or an empty UPPER (everything deleted).
 *
 * What the trees contain: regular files (empty, small, block-boundary sizes, up to ~90 KiB, and
 * now and then one of 1-4 MiB), nested directories, symlinks (relative, absolute, dangling,
 * 99-1000 byte, UTF-8 and non-UTF-8 targets), hard-link groups, FIFOs, char and block devices,
 * sockets; names that are short, sort-sensitive (`a`, `a-b`, `a.b`, `a/…`), UTF-8, not UTF-8,
 * `.wh.`-like, 100-255 bytes, and paths aimed at the USTAR 100/155/256-byte limits (splittable
 * or not); setuid/setgid/sticky and random modes; uids/gids up to 4294967294 (incl. 2097151 and
 * 2097152); mtimes with 0, 1, 5e8, 999999999 and random ns, before 1970 and past 8^11 s; user.*
 * xattrs, and security.capability (mostly on files, also on directories, symlinks, FIFOs and
 * devices).
 * Edits: content (resized; same size with the same mtime, which only the byte compare of 0-ns
 * mtimes finds and non-zero ns hides; same size with new ns; one byte), mtime (ns only, to/from
 * 0 ns, seconds, extreme), chmod, chown, user.* xattrs, capabilities, deletion of files and
 * subtrees, directories deleted and re-created (children back unchanged, changed, or new),
 * additions of every kind (sockets into existing dirs), symlink retargets (same length or not),
 * type swaps between all kinds, hard links (new groups, also of symlinks, FIFOs and devices; a
 * new name for an existing entry, or an existing name re-linked to it as `ln -f` does; a broken
 * link; one name deleted), device numbers, directory mtime/xattr only, root metadata.
 * Upperdirs add: whiteouts, `trusted.overlay.opaque=y` or `user.overlay.opaque=y`, markers with
 * other values ("n", "Y", "yes", ""), markers on new directories and on the root (both ignored),
 * `trusted.overlay.origin`/`impure`, unchanged entries copied up, and stray whiteouts.
 *
 * OVERLAY DIVERGENCES (why the "overlay" profile restricts itself):
 *
 * 1. A name added to an inode whose other names are unchanged (spec §7.1 "Unchanged pairs are
 *    skipped, unless the file is hard-linked", §7.2 item 7, oracle README §4). The double walk
 *    emits ChangeKindUnmodified for every unchanged name with nlink > 1, and the ChangeWriter
 *    writes those names as links to the first added/modified name (held-back names after it,
 *    later ones in place). The overlay differ never emits Unmodified (§2.5 item 6): unchanged
 *    names are not in the upperdir, or are judged `sameDirent` and skipped, so only the new name
 *    is written. Example: lower `a` (nlink 1), upper adds `z` as a link to an unchanged `a`:
 *    two-tree gives `reg z`, `link a -> z`; overlay gives `reg z`. The same holds for any
 *    "mixed" link group, i.e. one where some names are unchanged (by continuity's sameFile) and
 *    others are added or modified. The overlay profile therefore gives every mixed group a
 *    fresh mtime, making all its names modified (`fixMixedLinkGroups`).
 * 2. A character device 0:0. In an upperdir it *is* a whiteout (§2.5 item 2): a 0:0 device
 *    added in UPPER is skipped (no lower entry) or turned into a deletion, while the two-tree
 *    differ writes it as a char device. A lower 0:0 device copied into an opaque directory
 *    would likewise read as a whiteout there. The overlay profile creates no 0:0 char devices
 *    at all (block 0:0 is fine: only char devices are whiteouts).
 * 3. Not generated in either profile, because no upperdir can express them: redirect_dir
 *    (`trusted.overlay.redirect` is a hard error, §2.5 item 1), and `user.overlay.opaque` or
 *    `trusted.overlay.*` xattrs on UPPER's own directories (the overlay differ would read them
 *    as markers, the two-tree differ ignores them).
 *
 * Facts the derivation below relies on (kept equal on both sides, so not divergences): an
 * upperdir directory's own mtime never makes an entry (dirs compare mode/uid/gid/rdev/caps
 * only); copied-up but unchanged entries are skipped by `sameDirent` exactly as the double walk
 * skips them; an opaque directory is diffed with the double walk against LOWER (§2.5 item 5),
 * so deletions in it become explicit whiteouts, as in the two-tree diff; whiteouts with no lower
 * entry are skipped (§2.5 item 2), and the upper view hides whiteouts inside opaque dirs; a link
 * group whose names are all unchanged writes nothing in either differ, even when only some of
 * its names were copied into the upperdir (so their nlink there differs from UPPER's).
 */
import { deriveUpperdir } from "./overlayUpperdir";
import { applyRandomEdits } from "./randomEdits";
import { EntryFactory } from "./randomEntries";
import { Rng } from "./rng";
import { TreeEditor } from "./treeEditor";
import { type Tree, cloneInode, cloneTree, joinPath, parentOf, showPath } from "./treeModel";

export type PairProfile = "overlay" | "two-tree";

export interface RandomPair {
    readonly seed: number;
    readonly profile: PairProfile;
    readonly lower: Tree;
    readonly upper: Tree;
    /** An overlayfs upperdir equivalent to `upper` over `lower`; null for "two-tree" seeds. */
    readonly upperdir: Tree | null;
    /** What the generator did, one line per edit (for failure reports). */
    readonly log: string[];
}

/** Every path's parent exists and is a directory. */
function checkTree(tree: Tree): void {
    for (const p of tree.keys()) {
        if (p !== "" && tree.get(parentOf(p))?.kind !== "dir") {
            throw new Error(`randomTrees: ${showPath(p)} has no parent directory`);
        }
    }
}

function buildLower(f: EntryFactory): Tree {
    const b = new TreeEditor(f, new Map(), new Map());
    const rng = f.rng;
    b.tree.set("", b.inode("dir", ""));
    b.fill("", 4);
    const want = rng.int(15, 70);
    while (b.tree.size < want) {
        b.fill("", 3);
    }
    if (rng.chance(0.5)) {
        b.longChain();
    }
    for (let i = rng.int(0, 3); i > 0; i--) {
        const p = b.pick((n) => n.kind !== "dir" && (n.kind === "file" || rng.chance(0.3)));
        if (p !== undefined) {
            b.addLinkNames(p, rng.int(1, 2));
        }
    }
    if (rng.chance(0.12)) {
        const dir = rng.pick(b.dirs());
        const p = joinPath(dir, b.nameFor(dir, "file"));
        b.tree.set(p, { ...b.inode("file", dir), content: f.bigContent() });
    }
    checkTree(b.tree);
    return b.tree;
}

export function randomPair(seed: number): RandomPair {
    const rng = new Rng(seed);
    const profile: PairProfile = rng.chance(0.6) ? "overlay" : "two-tree";
    const f = new EntryFactory(rng, profile === "two-tree");
    const shape = rng.weighted([
        ["edited", 92],
        ["emptyLower", 5],
        ["emptyUpper", 3],
    ] as const);
    let lower = buildLower(f);
    const e = new TreeEditor(f, lower, cloneTree(lower));
    applyRandomEdits(e, rng.chance(0.04) ? 0 : rng.int(3, 40));
    if (profile === "overlay") {
        e.fixMixedLinkGroups();
    }
    checkTree(e.tree);
    let upper = e.tree;
    let freshDirs: ReadonlySet<string> = e.freshDirs;
    if (shape === "emptyLower") {
        // A base layer: everything added.
        lower = new Map([["", cloneInode(lower.get("")!)]]);
        freshDirs = new Set();
        e.log.push("lower replaced by an empty directory");
    } else if (shape === "emptyUpper") {
        // Everything deleted: one whiteout per top-level entry.
        upper = new Map([["", upper.get("")!]]);
        freshDirs = new Set();
        e.log.push("upper replaced by an empty directory");
    }
    const upperdir =
        profile === "overlay" ? deriveUpperdir({ lower, upper, freshDirs, f, log: e.log }) : null;
    return { seed, profile, lower, upper, upperdir, log: e.log };
}
