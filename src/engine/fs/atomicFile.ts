/**
 * A file written under a temporary name beside its destination and renamed into place only when
 * complete, so a reader never sees a partial file and a failure leaves nothing behind.
 */
import { randomBytes } from "node:crypto";
import { promises as fsp } from "node:fs";
import * as path from "node:path";
import { fileHandleSink } from "../archive/sinks";
import type { ByteSink, FdSink } from "../archive/tarStream";
import { EngineError, fromSystemError } from "../errors";

export interface AtomicFileSink extends ByteSink, FdSink {
    /** fsyncs, renames into place. */
    commit(): Promise<void>;
    /** Removes the temporary file (safe to call after a failed or successful commit). */
    abort(): Promise<void>;
}

export async function atomicFileSink(dest: string): Promise<AtomicFileSink> {
    const abs = path.resolve(dest);
    const tmp = path.join(path.dirname(abs), `.${path.basename(abs)}.${randomBytes(6).toString("hex")}.tmp`);
    let fh: fsp.FileHandle;
    try {
        fh = await fsp.open(tmp, "wx", 0o644);
    } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") {
            throw new EngineError("NotFound", `${abs}: the folder for this output file does not exist`, { path: abs }, { cause: err });
        }
        throw fromSystemError(err, abs, "creating the output file");
    }
    const sink = fileHandleSink(fh, abs);
    let open = true;
    let committed = false;
    return {
        fd: fh.fd,
        write: sink.write,
        commit: async () => {
            try {
                await fh.sync();
                await fh.close();
                open = false;
                await fsp.rename(tmp, abs);
                committed = true;
            } catch (err) {
                throw fromSystemError(err, abs, "finishing the output file");
            }
        },
        abort: async () => {
            if (open) {
                open = false;
                await fh.close().catch(() => undefined);
            }
            if (!committed) {
                await fsp.rm(tmp, { force: true });
            }
        },
    };
}

/**
 * Replaces `dest` with `data` atomically: temporary file beside it, fsync, rename, fsync of the
 * directory. A reader sees the old or the new content, never a mix, whatever kills the process.
 */
export async function writeFileAtomic(dest: string, data: string | Buffer): Promise<void> {
    const abs = path.resolve(dest);
    const dir = path.dirname(abs);
    const tmp = path.join(dir, `.${path.basename(abs)}.${randomBytes(6).toString("hex")}.tmp`);
    try {
        await fsp.mkdir(dir, { recursive: true });
        const fh = await fsp.open(tmp, "wx", 0o644);
        try {
            await fh.writeFile(data);
            await fh.sync();
        } finally {
            await fh.close();
        }
        await fsp.rename(tmp, abs);
        const dh = await fsp.open(dir, "r");
        try {
            await dh.sync();
        } finally {
            await dh.close();
        }
    } catch (err) {
        await fsp.rm(tmp, { force: true });
        throw fromSystemError(err, abs, "writing a state file");
    }
}
