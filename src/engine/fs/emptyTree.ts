/**
 * An empty root filesystem, in memory: what containerd's `mount.WithTempMount` gives a differ for
 * an empty mount list (`mount/temp.go`), i.e. the lower of a base layer or the upper of a Diff
 * to scratch. Only the root exists; it is never written into a layer, so its metadata (a 0755
 * directory owned by 0:0 at the epoch) does not reach any diffID.
 */
import { EngineError } from "../errors";
import { type FileStat, S_IFDIR } from "./fileStat";
import type { FileReader, TreeReader } from "./tree";

const ROOT_STAT: FileStat = Object.freeze({
    mode: S_IFDIR | 0o755,
    uid: 0,
    gid: 0,
    rdev: 0n,
    size: 0n,
    mtimeNs: 0n,
    ino: 0n,
    dev: 0n,
    nlink: 2n,
});

function isRoot(rel: Buffer): boolean {
    return rel.length === 1 && rel[0] === 0x2f;
}

export class EmptyTree implements TreeReader {
    constructor(private readonly label = "(empty tree)") {}

    describe(rel: Buffer): string {
        return `${this.label}${isRoot(rel) ? "" : rel.toString("utf8")}`;
    }

    lstat(rel: Buffer): FileStat | null {
        return isRoot(rel) ? ROOT_STAT : null;
    }

    readdir(rel: Buffer): Buffer[] {
        if (isRoot(rel)) {
            return [];
        }
        throw this.missing(rel);
    }

    readlink(rel: Buffer): Buffer {
        throw this.missing(rel);
    }

    getxattr(): Buffer | null {
        return null;
    }

    openFile(rel: Buffer): FileReader {
        throw this.missing(rel);
    }

    private missing(rel: Buffer): EngineError {
        return new EngineError("NotFound", `${this.describe(rel)}: does not exist`, { path: this.describe(rel) });
    }
}
