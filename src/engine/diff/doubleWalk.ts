/**
 * Mirrors continuity `fs/diff.go` `doubleWalkDiff` (Linux always takes this path:
 * `detectDirDiff` returns nil): walk LOWER and UPPER in step and report what differs.
 */
import { type FileStat, isDir } from "../fs/fileStat";
import type { TreeReader } from "../fs/tree";
import type { ChangeFunc, ChangeKind } from "./changes";
import { sameFile } from "./sameFile";
import { Yielder } from "../util/yielder";
import { walkTree, type WalkEntry } from "./walk";

/** directoryCompare: byte order with '/' counted as NUL, then shorter first. */
export function directoryCompare(a: Buffer, b: Buffer): number {
    const l = Math.min(a.length, b.length);
    for (let i = 0; i < l; i++) {
        let c1 = a[i]!;
        let c2 = b[i]!;
        if (c1 === 0x2f) c1 = 0;
        if (c2 === 0x2f) c2 = 0;
        if (c1 !== c2) {
            return c1 < c2 ? -1 : 1;
        }
    }
    return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

function hasPrefix(p: Buffer, prefix: Buffer): boolean {
    return p.length >= prefix.length && p.compare(prefix, 0, prefix.length, 0, prefix.length) === 0;
}

function isLinked(s: FileStat): boolean {
    return !isDir(s) && s.nlink > 1n;
}

export interface DoubleWalkOptions {
    /** Walk the upper tree as an overlay mount of an upperdir shows it (no whiteout devices). */
    readonly upperHidesWhiteouts?: boolean;
    readonly signal?: AbortSignal;
}

/**
 * Reports the changes from `lower` at `lowerBase` to `upper` at `upperBase`, with paths relative
 * to the bases.
 */
export async function doubleWalkDiff(
    lower: TreeReader,
    lowerBase: Buffer,
    upper: TreeReader,
    upperBase: Buffer,
    changeFn: ChangeFunc,
    options: DoubleWalkOptions = {},
): Promise<void> {
    const w1 = walkTree(lower, lowerBase);
    const w2 = walkTree(upper, upperBase, { hideWhiteouts: options.upperHidesWhiteouts });
    const yielder = new Yielder(options.signal);
    let f1: WalkEntry | null = null;
    let f2: WalkEntry | null = null;
    let done1 = false;
    let done2 = false;
    let rmdir: Buffer | null = null;
    try {
        for (;;) {
            await yielder.maybeYield();
            if (!f1 && !done1) {
                const r = w1.next();
                if (r.done) done1 = true;
                else f1 = r.value;
            }
            if (!f2 && !done2) {
                const r = w2.next();
                if (r.done) done2 = true;
                else f2 = r.value;
            }
            if (!f1 && !f2) {
                return;
            }
            let kind: ChangeKind;
            let path: Buffer;
            let stat: FileStat | null = null;
            const cmp = !f1 ? 1 : !f2 ? -1 : directoryCompare(f1.path, f2.path);
            if (cmp > 0) {
                kind = "add";
                path = f2!.path;
                rmdir = null;
                stat = f2!.stat;
                f2 = null;
            } else if (cmp < 0) {
                kind = "delete";
                path = f1!.path;
                // Already removed as part of a removed directory?
                if (rmdir && hasPrefix(f1!.path, rmdir)) {
                    f1 = null;
                    continue;
                } else if (isDir(f1!.stat)) {
                    rmdir = Buffer.concat([f1!.path, Buffer.from("/")]);
                } else {
                    rmdir = null;
                }
                f1 = null;
            } else {
                kind = "modify";
                path = f2!.path;
                const same = await sameFile(
                    { tree: lower, path: f1!.treePath, stat: f1!.stat },
                    { tree: upper, path: f2!.treePath, stat: f2!.stat },
                );
                if (isDir(f1!.stat) && !isDir(f2!.stat)) {
                    rmdir = Buffer.concat([f1!.path, Buffer.from("/")]);
                } else {
                    rmdir = null;
                }
                stat = f2!.stat;
                f1 = null;
                f2 = null;
                if (same) {
                    if (!isLinked(stat)) {
                        continue;
                    }
                    kind = "unmodified";
                }
            }
            await changeFn(kind, path, stat);
        }
    } finally {
        w1.return(undefined);
        w2.return(undefined);
    }
}
