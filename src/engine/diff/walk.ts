/**
 * Mirrors Go `filepath.Walk` as continuity and BuildKit use it: lstat, depth first, parents
 * before children, names of a directory sorted byte-wise. The root itself is not yielded.
 * `next(true)` after a directory skips its children (`filepath.SkipDir`).
 */
import { EngineError } from "../errors";
import { type FileStat, isDir, isWhiteoutDevice } from "../fs/fileStat";
import { joinRel, ROOT, type TreeReader } from "../fs/tree";

export interface WalkEntry {
    /** Path relative to the walk's base, continuity style ("/a/b"). */
    readonly path: Buffer;
    /** Path in the tree (base joined with `path`). */
    readonly treePath: Buffer;
    readonly stat: FileStat;
}

export interface WalkOptions {
    /** Hide overlayfs whiteout devices, as an overlay mount of the upperdir shows it. */
    readonly hideWhiteouts?: boolean;
}

interface Frame {
    readonly rel: Buffer;
    readonly names: Buffer[];
    index: number;
}

export function rebase(base: Buffer, rel: Buffer): Buffer {
    return base.length === 1 ? rel : rel.length === 1 ? base : Buffer.concat([base, rel]);
}

export function* walkTree(tree: TreeReader, base: Buffer, options: WalkOptions = {}): Generator<WalkEntry, void, boolean | undefined> {
    const rootStat = tree.lstat(base);
    if (!rootStat) {
        throw new EngineError("NotFound", `${tree.describe(base)}: does not exist`, { path: tree.describe(base) });
    }
    if (!isDir(rootStat)) {
        return;
    }
    const stack: Frame[] = [{ rel: ROOT, names: tree.readdir(base), index: 0 }];
    while (stack.length > 0) {
        const frame = stack[stack.length - 1]!;
        if (frame.index >= frame.names.length) {
            stack.pop();
            continue;
        }
        const name = frame.names[frame.index++]!;
        const rel = joinRel(frame.rel, name);
        const treePath = rebase(base, rel);
        const stat = tree.lstat(treePath);
        if (!stat) {
            throw new EngineError(
                "ChangedWhileReading",
                `${tree.describe(treePath)}: disappeared while the tree was being walked; retry when it is not being modified`,
                { path: tree.describe(treePath) },
            );
        }
        if (options.hideWhiteouts && isWhiteoutDevice(stat)) {
            continue;
        }
        const skip = yield { path: rel, treePath, stat };
        if (isDir(stat) && !skip) {
            stack.push({ rel, names: tree.readdir(treePath), index: 0 });
        }
    }
}
