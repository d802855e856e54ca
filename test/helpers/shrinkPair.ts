/**
 * Shrinks a failing tree pair to a small one that still fails, by dropping whole subtrees.
 *
 * A path is dropped from LOWER, UPPER and the upperdir together, which keeps "upperdir over
 * LOWER shows UPPER" true: the overlay view loses exactly that subtree too. For failures of the
 * two-tree differ alone (`twoTreeOnly`), any pair is valid input, so a path is also tried in
 * LOWER only and in UPPER only (turning a modification into an add or a delete).
 */
import { type Tree, compareWalkOrder, removeSubtree } from "./treeModel";

export interface PairTrees {
    readonly lower: Tree;
    readonly upper: Tree;
    readonly upperdir: Tree | null;
}

export interface ShrinkOptions {
    readonly twoTreeOnly: boolean;
    /** Stop after this many calls of `fails` (default 300). */
    readonly budget?: number;
}

function without(
    t: PairTrees,
    paths: readonly string[],
    which: "all" | "lower" | "upper",
): PairTrees {
    const drop = (tree: Tree | null, yes: boolean): Tree | null => {
        if (!tree || !yes) {
            return tree;
        }
        const copy: Tree = new Map(tree);
        for (const p of paths) {
            removeSubtree(copy, p);
        }
        return copy;
    };
    return {
        lower: drop(t.lower, which !== "upper")!,
        upper: drop(t.upper, which !== "lower")!,
        upperdir: drop(t.upperdir, which === "all"),
    };
}

function allPaths(t: PairTrees): string[] {
    const set = new Set<string>([
        ...t.lower.keys(),
        ...t.upper.keys(),
        ...(t.upperdir?.keys() ?? []),
    ]);
    set.delete("");
    return [...set].sort(compareWalkOrder);
}

const depth = (p: string): number => p.split("/").length;

/** The smallest failing pair found; the input itself when nothing could be dropped or it passes. */
export async function shrinkPair(
    start: PairTrees,
    fails: (t: PairTrees) => Promise<boolean>,
    opts: ShrinkOptions,
): Promise<PairTrees> {
    let best = start;
    let budget = opts.budget ?? 300;
    if (!(await fails(start))) {
        // Not reproducible from the model alone (flaky, or outside the trees): nothing to shrink.
        return start;
    }
    const attempt = async (candidate: PairTrees): Promise<boolean> => {
        if (budget <= 0) {
            return false;
        }
        budget--;
        if (await fails(candidate)) {
            best = candidate;
            return true;
        }
        return false;
    };
    // Halves, quarters, … of the shallowest paths first (ddmin-style), then single paths.
    for (let changed = true; changed && budget > 0; ) {
        changed = false;
        const paths = allPaths(best).sort((a, b) => depth(a) - depth(b) || compareWalkOrder(a, b));
        for (
            let chunk = Math.max(1, Math.floor(paths.length / 2));
            chunk >= 1 && !changed;
            chunk = Math.floor(chunk / 2)
        ) {
            for (let i = 0; i < paths.length && budget > 0; i += chunk) {
                const slice = paths.slice(i, i + chunk).filter((p) => allPaths(best).includes(p));
                if (slice.length > 0 && (await attempt(without(best, slice, "all")))) {
                    changed = true;
                }
            }
            if (chunk === 1) {
                break;
            }
        }
        if (opts.twoTreeOnly) {
            for (const p of allPaths(best)) {
                for (const which of ["lower", "upper"] as const) {
                    const tree = which === "lower" ? best.lower : best.upper;
                    if (tree.has(p) && (await attempt(without(best, [p], which)))) {
                        changed = true;
                    }
                }
            }
        }
    }
    return best;
}
