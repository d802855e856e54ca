/** Mirrors continuity `fs.ChangeKind` and `fs.ChangeFunc`. */
import type { FileStat } from "../fs/fileStat";

export type ChangeKind = "add" | "modify" | "delete" | "unmodified";

/**
 * One change, in continuity's path form ("/a/b"). `stat` is the upper entry's lstat, or null for
 * deletes.
 */
export type ChangeFunc = (kind: ChangeKind, path: Buffer, stat: FileStat | null) => Promise<void>;
