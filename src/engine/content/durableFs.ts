/**
 * Mirrors containerd `content/local/store.go` `writeToCompletion` (temp file, write, rename),
 * made durable: the temporary is fsynced before the rename and the directory after it, so a
 * crash or power loss leaves either the old file or the complete new one, never a torn one.
 */
import { promises as fsp } from "node:fs";
import * as path from "node:path";
import { EngineError, fromSystemError } from "../errors";

/** fsync a directory so a rename or unlink inside it survives power loss. */
export async function fsyncDir(dir: string): Promise<void> {
    let fh: fsp.FileHandle | undefined;
    try {
        fh = await fsp.open(dir, "r");
        await fh.sync();
    } catch (err) {
        // Some filesystems refuse fsync on a directory; the rename itself is still atomic.
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== "EINVAL" && code !== "ENOTSUP" && code !== "EISDIR") {
            throw fromSystemError(err, dir, "syncing the directory");
        }
    } finally {
        await fh?.close().catch(() => undefined);
    }
}

/**
 * Writes `data` to `tmp`, fsyncs it and renames it to `dest`. `tmp` must be on the same
 * filesystem (a name from StoreLayout.tmpPath).
 */
export async function writeFileDurable(
    tmp: string,
    dest: string,
    data: string | Buffer,
    mode = 0o644,
): Promise<void> {
    let fh: fsp.FileHandle | undefined;
    try {
        fh = await fsp.open(tmp, "wx", mode);
        await fh.writeFile(data);
        await fh.sync();
        await fh.close();
        fh = undefined;
        await fsp.rename(tmp, dest);
    } catch (err) {
        await fh?.close().catch(() => undefined);
        await fsp.rm(tmp, { force: true }).catch(() => undefined);
        throw fromSystemError(err, dest, "writing the file");
    }
    await fsyncDir(path.dirname(dest));
}

export async function writeJsonDurable(tmp: string, dest: string, value: unknown): Promise<void> {
    await writeFileDurable(tmp, dest, `${JSON.stringify(value, null, 4)}\n`);
}

/** Reads a JSON file; `undefined` when it does not exist. */
export async function readJson(file: string): Promise<unknown> {
    let text: string;
    try {
        text = await fsp.readFile(file, "utf8");
    } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === "ENOENT" || code === "ENOTDIR") {
            return undefined;
        }
        throw fromSystemError(err, file, "reading store metadata");
    }
    try {
        return JSON.parse(text) as unknown;
    } catch (err) {
        throw new EngineError(
            "Corrupt",
            `${file}: store metadata is not valid JSON; remove the file or the state directory`,
            { path: file },
            { cause: err },
        );
    }
}

/** Unlinks a file and syncs its directory; a missing file is fine. Returns whether it existed. */
export async function removeDurable(file: string): Promise<boolean> {
    try {
        await fsp.unlink(file);
    } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") {
            return false;
        }
        throw fromSystemError(err, file, "removing the file");
    }
    await fsyncDir(path.dirname(file));
    return true;
}

/**
 * Removes a directory tree by first renaming it to `trash` (atomic: its old name is gone at
 * once), then deleting the renamed tree. A missing directory is fine.
 */
export async function removeTree(dir: string, trash: string): Promise<boolean> {
    try {
        await fsp.rename(dir, trash);
    } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") {
            return false;
        }
        throw fromSystemError(err, dir, "removing the directory");
    }
    await fsp.rm(trash, { recursive: true, force: true });
    return true;
}
