/**
 * Checks the random tree generator itself (no disk, no oracle): seeds are reproducible, and
 * every derived upperdir, merged over LOWER with overlayfs' rules, shows exactly UPPER.
 */
import { strict as assert } from "node:assert";
import { test } from "node:test";
import { randomPair } from "../helpers/randomTrees";
import {
    type Inode,
    type Tree,
    childrenOf,
    cloneInode,
    describeTree,
    identical,
    showPath,
    sortedPaths,
} from "../helpers/treeModel";

const SEEDS = Array.from({ length: 300 }, (_, i) => i + 1);

function isWhiteout(i: Inode): boolean {
    return i.kind === "char" && i.major === 0 && i.minor === 0;
}

function isOpaque(i: Inode): boolean {
    return ["trusted.overlay.opaque", "user.overlay.opaque"].some((k) => i.xattrs.get(k)?.equals(Buffer.from("y")));
}

/**
 * What an overlay mount of `upperdir` over `lower` shows: whiteouts hide, an opaque directory
 * hides its lower children, a lower directory is merged only under a directory. The marker on
 * the root is ignored, as BuildKit's walk ignores it.
 */
function mergeOverlay(lower: Tree, upperdir: Tree): Tree {
    const out: Tree = new Map([["", upperdir.get("")!]]);
    const visit = (dir: string, inUpper: boolean, lowerMerged: boolean): void => {
        const names = new Set<string>();
        if (inUpper) {
            childrenOf(upperdir, dir).forEach((p) => names.add(p));
        }
        if (lowerMerged) {
            childrenOf(lower, dir).forEach((p) => names.add(p));
        }
        for (const p of names) {
            const u = inUpper ? upperdir.get(p) : undefined;
            const l = lowerMerged ? lower.get(p) : undefined;
            if (u) {
                if (!isWhiteout(u)) {
                    out.set(p, u);
                    if (u.kind === "dir") {
                        visit(p, true, l?.kind === "dir" && !isOpaque(u));
                    }
                }
            } else if (l) {
                out.set(p, l);
                if (l.kind === "dir") {
                    visit(p, false, true);
                }
            }
        }
    };
    visit("", true, true);
    return out;
}

function withoutOverlayXattrs(i: Inode): Inode {
    const c = cloneInode(i);
    for (const k of [...c.xattrs.keys()]) {
        if (k.startsWith("trusted.overlay.") || k.startsWith("user.overlay.")) {
            c.xattrs.delete(k);
        }
    }
    return c;
}

test("randomPair is reproducible", () => {
    for (const seed of SEEDS.slice(0, 50)) {
        const a = randomPair(seed);
        const b = randomPair(seed);
        assert.deepEqual(describeTree(a.upper), describeTree(b.upper), `seed ${seed}`);
        assert.deepEqual(describeTree(a.lower), describeTree(b.lower), `seed ${seed}`);
        assert.deepEqual(a.upperdir && describeTree(a.upperdir), b.upperdir && describeTree(b.upperdir));
    }
});

test("derived upperdir over lower shows upper", () => {
    let overlaySeeds = 0;
    for (const seed of SEEDS) {
        const pair = randomPair(seed);
        if (!pair.upperdir) {
            continue;
        }
        overlaySeeds++;
        const merged = mergeOverlay(pair.lower, pair.upperdir);
        assert.deepEqual(sortedPaths(merged).map(showPath), sortedPaths(pair.upper).map(showPath), `seed ${seed}`);
        for (const [p, inode] of pair.upper) {
            const seen = withoutOverlayXattrs(merged.get(p)!);
            assert.ok(identical(seen, inode), `seed ${seed}: ${showPath(p)} differs in the merged view`);
        }
    }
    assert.ok(overlaySeeds > 100, `only ${overlaySeeds} overlay seeds`);
});
