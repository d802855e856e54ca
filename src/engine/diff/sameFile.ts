/**
 * Mirrors continuity `fs/path.go` `sameFile` (and BuildKit's port `sameDirent` in
 * `util/overlay/overlay_linux.go`): when two entries at the same path count as unchanged.
 */
import { type FileStat, isDir, isSymlink } from "../fs/fileStat";
import type { TreeReader } from "../fs/tree";
import { floorDiv, NS_PER_SECOND } from "../util/bigint";
import { Yielder } from "../util/yielder";

export interface Entry {
    readonly tree: TreeReader;
    readonly path: Buffer;
    readonly stat: FileStat;
}

const COMPARE_CHUNK = 1 << 20;

function splitTime(ns: bigint): [bigint, bigint] {
    const sec = floorDiv(ns, NS_PER_SECOND);
    return [sec, ns - sec * NS_PER_SECOND];
}

function capabilities(e: Entry): Buffer {
    return e.tree.getxattr(e.path, "security.capability") ?? Buffer.alloc(0);
}

export async function sameFile(a: Entry, b: Entry): Promise<boolean> {
    // os.SameFile: same device and inode.
    if (a.stat.dev === b.stat.dev && a.stat.ino === b.stat.ino) {
        return true;
    }
    // compareSysStat: full st_mode, uid, gid, rdev.
    if (a.stat.mode !== b.stat.mode || a.stat.uid !== b.stat.uid || a.stat.gid !== b.stat.gid || a.stat.rdev !== b.stat.rdev) {
        return false;
    }
    if (!capabilities(a).equals(capabilities(b))) {
        return false;
    }
    if (isDir(a.stat)) {
        return true; // a directory's mtime, size and children are not compared
    }
    if (a.stat.size !== b.stat.size) {
        return false;
    }
    const [s1, n1] = splitTime(a.stat.mtimeNs);
    const [s2, n2] = splitTime(b.stat.mtimeNs);
    if (s1 !== s2) {
        return false;
    }
    if (n1 === 0n && n2 === 0n) {
        // Both may have been truncated by a tar round trip: compare what the entries hold.
        if (isSymlink(a.stat)) {
            return a.tree.readlink(a.path).equals(b.tree.readlink(b.path));
        }
        if (a.stat.size === 0n) {
            return true;
        }
        return compareFileContent(a, b);
    }
    return n1 === n2;
}

/** Reads both files chunk by chunk, giving the event loop a turn between chunks of a big one. */
async function compareFileContent(a: Entry, b: Entry): Promise<boolean> {
    const fa = a.tree.openFile(a.path, a.stat);
    try {
        const fb = b.tree.openFile(b.path, b.stat);
        try {
            // Buffers of this call's own: differs of a chain run side by side and yield here.
            const chunk = Number(a.stat.size) + 1 < COMPARE_CHUNK ? Number(a.stat.size) + 1 : COMPARE_CHUNK;
            const ba = Buffer.allocUnsafe(chunk);
            const bb = Buffer.allocUnsafe(chunk);
            const yielder = new Yielder();
            for (let pos = 0; ; ) {
                await yielder.maybeYield();
                const na = fa.readSync(ba, 0, chunk, pos);
                const nb = fb.readSync(bb, 0, chunk, pos);
                if (na !== nb || ba.compare(bb, 0, nb, 0, na) !== 0) {
                    return false;
                }
                if (na === 0) {
                    return true;
                }
                pos += na;
            }
        } finally {
            fb.close();
        }
    } finally {
        fa.close();
    }
}
