/**
 * Where a ref's snapshot directory really is. A snapshot path is relative to the workspace and
 * must stay inside it after every symlink is resolved (realpath): a workspace file cannot make
 * the engine read, or later write state next to, a directory elsewhere. It may not be the
 * workspace itself nor lie in its engine state (`.layerscope/`), which the engine writes.
 */
import { realpathSync, statSync } from "node:fs";
import * as path from "node:path";
import { EngineError, fromSystemError } from "../errors";
import { invalidRef } from "./workspaceFile";

export const STATE_DIR = ".layerscope";

export function resolveSnapshotDir(root: string, snapshot: string, file: string, refId: string): string {
    const fail = (message: string): EngineError => invalidRef(file, refId, "snapshot", message);
    if (path.isAbsolute(snapshot)) {
        throw fail(`${JSON.stringify(snapshot)} must be relative to the workspace (${root})`);
    }
    const joined = path.resolve(root, snapshot);
    if (joined !== root && !isInside(root, joined)) {
        throw fail(`${JSON.stringify(snapshot)} is outside the workspace ${root}`);
    }
    let real: string;
    try {
        // realpath(3) in one call; the JS realpathSync lstat()s every component of every ref.
        real = realpathSync.native(joined);
    } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === "ENOENT" || code === "ENOTDIR") {
            throw fail(`${joined} does not exist`);
        }
        const e = fromSystemError(err, joined, "resolving a snapshot directory");
        const data = { ...e.data, ref: refId, field: "snapshot" };
        throw new EngineError(e.code, `${file}: ref "${refId}": snapshot: ${e.message}`, data, { cause: err });
    }
    if (real === root) {
        throw fail(`${JSON.stringify(snapshot)} is the workspace itself; put each snapshot in its own directory`);
    }
    if (!isInside(root, real)) {
        throw fail(`${JSON.stringify(snapshot)} resolves to ${real}, outside the workspace ${root} (through ".." or a symlink)`);
    }
    if (isInside(path.join(root, STATE_DIR), real) || real === path.join(root, STATE_DIR)) {
        throw fail(`${JSON.stringify(snapshot)} is inside the engine's state directory ${STATE_DIR}/`);
    }
    if (!statSync(real).isDirectory()) {
        throw fail(`${real} is not a directory`);
    }
    return real;
}

function isInside(dir: string, p: string): boolean {
    const rel = path.relative(dir, p);
    return rel !== "" && rel !== ".." && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel);
}
