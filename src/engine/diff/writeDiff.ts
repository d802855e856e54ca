/**
 * Mirrors containerd `archive.WriteDiff` (two trees, continuity's double walk) and BuildKit's
 * `overlay.WriteUpperdir` (an overlayfs upperdir over its lower): one streaming pass that writes
 * the layer tar to `output` while hashing it into the diffID.
 */
import { ChangeWriter } from "../archive/changeWriter";
import type { NameLookup } from "../archive/nameLookup";
import { writableSink } from "../archive/sinks";
import { type ByteSink, type FdSink, TarStream } from "../archive/tarStream";
import { WHITEOUT_EPOCH, type WhiteoutTime } from "../archive/whiteoutTime";
import type { Digest } from "../digest/hashSink";
import { DigestJob } from "../util/digestWorker";
import { EngineError, fromSystemError } from "../errors";
import { DirTree } from "../fs/dirTree";
import { isDir } from "../fs/fileStat";
import { clearXattrCache } from "../fs/xattr";
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
    /**
     * uname/gname per uid/gid, replaying a writer that looked names up (containerd < 1.6.20,
     * BuildKit releases vendoring it); without it no names are written, as containerd >= 1.6.20 does.
     */
    readonly names?: NameLookup;
    /**
     * Receives the tar bytes (optional: without it only the diffID and size are computed). An
     * FdSink (e.g. an AtomicFileSink) is written on the digest worker thread.
     */
    readonly output?: NodeJS.WritableStream | ByteSink | FdSink;
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

function isByteSink(o: NodeJS.WritableStream | ByteSink | FdSink): o is ByteSink {
    return typeof (o as NodeJS.WritableStream).end !== "function";
}

export async function writeDiff(opts: WriteDiffOptions): Promise<DiffResult> {
    clearXattrCache();
    const lower = openTree(opts.lower, "lower");
    const upper = openTree(opts.upper, opts.overlay ? "upperdir" : "upper");
    const sinks: ByteSink[] = [];
    let fd: number | undefined;
    if (opts.output) {
        if (isFdSink(opts.output)) {
            fd = opts.output.fd; // written by the digest worker, off the main thread
        } else {
            sinks.push(isByteSink(opts.output) ? opts.output : writableSink(opts.output, "the layer tar"));
        }
    }
    const job = DigestJob.start(fd, (opts.output && isFdSink(opts.output) && opts.output.path) || "the layer tar");
    try {
        const out = new TarStream(job.ring, job, sinks);
        const cw = new ChangeWriter(out, upper, opts.whiteoutTime ?? WHITEOUT_EPOCH, opts.names);
        if (opts.overlay) {
            await overlayChanges(upper, lower, ROOT, cw.handleChange, opts.signal);
        } else {
            await doubleWalkDiff(lower, ROOT, upper, ROOT, cw.handleChange, { signal: opts.signal });
        }
        await cw.close();
        const hex = await job.finish();
        return { diffID: `sha256:${hex}`, size: out.size };
    } finally {
        job.release();
    }
}

function isFdSink(o: object): o is FdSink {
    return typeof (o as FdSink).fd === "number";
}
