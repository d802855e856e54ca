/**
 * Mirrors containerd `archive.WriteDiff` (two trees, continuity's double walk) and BuildKit's
 * `overlay.WriteUpperdir` (an overlayfs upperdir over its lower): one streaming pass that writes
 * the layer tar to `output` while hashing it into the diffID.
 */
import { ChangeWriter } from "../archive/changeWriter";
import { writableSink } from "../archive/sinks";
import { type ByteSink, TarStream } from "../archive/tarStream";
import { WHITEOUT_EPOCH, type WhiteoutTime } from "../archive/whiteoutTime";
import { type Digest, HashSink } from "../digest/hashSink";
import { EngineError, fromSystemError } from "../errors";
import { DirTree } from "../fs/dirTree";
import { isDir } from "../fs/fileStat";
import { ROOT, type TreeReader } from "../fs/tree";
import { doubleWalkDiff } from "./doubleWalk";
import { overlayChanges } from "./overlayChanges";

export interface WriteDiffOptions {
    /** The lower root filesystem (may be an empty directory). */
    readonly lower: string | TreeReader;
    /** The upper root filesystem, or with `overlay` an overlayfs upperdir over `lower`. */
    readonly upper: string | TreeReader;
    readonly overlay?: boolean;
    /** Whiteout mtime; the containerd 2.x default is the Unix epoch. */
    readonly whiteoutTime?: WhiteoutTime;
    /** Receives the tar bytes (optional: without it only the diffID and size are computed). */
    readonly output?: NodeJS.WritableStream | ByteSink;
    readonly signal?: AbortSignal;
}

export interface DiffResult {
    readonly diffID: Digest;
    readonly size: number;
}

function openTree(t: string | TreeReader, role: string): TreeReader {
    if (typeof t !== "string") {
        return t;
    }
    const tree = new DirTree(t);
    let st;
    try {
        st = tree.lstat(ROOT);
    } catch (err) {
        throw fromSystemError(err, tree.rootPath, `opening the ${role} directory`);
    }
    if (!st) {
        throw new EngineError("NotFound", `${tree.describe(ROOT)}: ${role} directory does not exist`, { path: tree.describe(ROOT) });
    }
    if (!isDir(st)) {
        throw new EngineError("InvalidArgument", `${tree.describe(ROOT)}: ${role} is not a directory`, { path: tree.describe(ROOT) });
    }
    return tree;
}

function isByteSink(o: NodeJS.WritableStream | ByteSink): o is ByteSink {
    return typeof (o as NodeJS.WritableStream).end !== "function";
}

export async function writeDiff(opts: WriteDiffOptions): Promise<DiffResult> {
    const lower = openTree(opts.lower, "lower");
    const upper = openTree(opts.upper, opts.overlay ? "upperdir" : "upper");
    const hash = new HashSink();
    const sinks: ByteSink[] = [hash];
    if (opts.output) {
        sinks.push(isByteSink(opts.output) ? opts.output : writableSink(opts.output, "the layer tar"));
    }
    const out = new TarStream(sinks);
    const cw = new ChangeWriter(out, upper, opts.whiteoutTime ?? WHITEOUT_EPOCH);
    if (opts.overlay) {
        await overlayChanges(upper, lower, ROOT, cw.handleChange, opts.signal);
    } else {
        await doubleWalkDiff(lower, ROOT, upper, ROOT, cw.handleChange, { signal: opts.signal });
    }
    await cw.close();
    return { diffID: hash.digest(), size: hash.size };
}
