/**
 * Mirrors BuildKit `util/overlay/overlay_linux.go` `Changes` (v0.10.6): the changes of an
 * overlayfs upperdir over its lower, read straight from the upperdir.
 *
 * - a 0/0 character device is a whiteout: a Delete if the lower has the path, else skipped;
 * - an entry the lower also has is a Modify unless `sameDirent` says it is unchanged;
 * - a directory with `trusted.overlay.opaque=y` or `user.overlay.opaque=y` whose path exists in
 *   the lower is diffed against the lower with the double walk, then not walked further;
 * - a directory with `trusted.overlay.redirect` is refused (redirect_dir is not supported).
 *
 * BuildKit reads file contents through an overlay mount of the upperdir (`upperdirView`, which
 * hides whiteouts); here the upperdir is read directly and whiteouts are hidden where the view
 * would be walked.
 */
import { EngineError } from "../errors";
import { isDir, isWhiteoutDevice } from "../fs/fileStat";
import type { TreeReader } from "../fs/tree";
import type { ChangeFunc, ChangeKind } from "./changes";
import { doubleWalkDiff } from "./doubleWalk";
import { sameFile } from "./sameFile";
import { Yielder } from "../util/yielder";
import { rebase, walkTree } from "./walk";

const OPAQUE_KEYS = ["trusted.overlay.opaque", "user.overlay.opaque"] as const;
const REDIRECT_KEY = "trusted.overlay.redirect";

export async function overlayChanges(
    upperdir: TreeReader,
    lower: TreeReader,
    base: Buffer,
    changeFn: ChangeFunc,
    signal?: AbortSignal,
): Promise<void> {
    const walker = walkTree(upperdir, base);
    const yielder = new Yielder(signal);
    let skip = false;
    for (;;) {
        await yielder.maybeYield();
        const r = walker.next(skip);
        if (r.done) {
            return;
        }
        skip = false;
        const { path, treePath, stat } = r.value;

        if (isDir(stat)) {
            const redirect = upperdir.getxattr(treePath, REDIRECT_KEY);
            if (redirect && redirect.length > 0) {
                const where = upperdir.describe(treePath);
                throw new EngineError(
                    "Unsupported",
                    `${where}: has ${REDIRECT_KEY} (overlayfs redirect_dir), which the overlay differ does not support;` +
                        " diff the full trees instead (without --overlay)",
                    { path: where },
                );
            }
        }

        const lowerStat = lower.lstat(path);
        let kind: ChangeKind;
        let record = true;
        if (isWhiteoutDevice(stat)) {
            if (!lowerStat) {
                continue; // a whiteout for something the lower does not have: nothing to delete
            }
            kind = "delete";
        } else if (lowerStat) {
            kind = "modify";
            if (await sameFile({ tree: lower, path, stat: lowerStat }, { tree: upperdir, path: treePath, stat })) {
                record = false;
            }
        } else {
            kind = "add";
        }
        if (record) {
            await changeFn(kind, path, kind === "delete" ? null : stat);
        }

        if (isDir(stat) && lowerStat && isOpaque(upperdir, treePath)) {
            // Everything below an opaque directory replaces the lower's: diff the two subtrees.
            await doubleWalkDiff(
                lower,
                path,
                upperdir,
                treePath,
                (k, p, s) => changeFn(k, rebase(path, p), s),
                { upperHidesWhiteouts: true, signal },
            );
            skip = true;
        }
    }
}

function isOpaque(tree: TreeReader, rel: Buffer): boolean {
    for (const key of OPAQUE_KEYS) {
        const v = tree.getxattr(rel, key);
        if (v && v.length === 1 && v[0] === 0x79 /* 'y' */) {
            return true;
        }
    }
    return false;
}
