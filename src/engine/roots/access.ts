/**
 * Reading a root we may not be allowed to read. containerd makes its root 0700 (and its
 * snapshotter dirs 0700, metadata.db 0600); Docker's data-root is 0710. A permission error
 * becomes a PermissionDenied that says which path and how to proceed.
 */
import { constants, accessSync, readdirSync } from "node:fs";
import { EngineError, fromSystemError } from "../errors";

export function permissionHelp(what: string, path: string): string {
    const user = process.getuid?.() === 0 ? "root" : "this user";
    return (
        `${path}: permission denied: ${user} cannot read ${what}. ` +
        "Run layerscope as root (e.g. sudo layerscope …), grant read access (e.g. sudo setfacl -R -m u:$USER:rX on the root), " +
        "or copy the root as root (sudo cp -a ROOT COPY; sudo chown -R $USER COPY) and open the copy; the engine never writes into the root"
    );
}

/** fromSystemError, with the root-specific advice for EACCES/EPERM. */
export function rootError(err: unknown, path: string, what: string, action: string): EngineError {
    const code = (err as NodeJS.ErrnoException)?.code;
    if (code === "EACCES" || code === "EPERM") {
        return new EngineError("PermissionDenied", permissionHelp(what, path), { path }, { cause: err });
    }
    return fromSystemError(err, path, action);
}

/** Lists a directory of a root, with the root-specific error. */
export function listDir(dir: string, what: string): string[] {
    try {
        return readdirSync(dir);
    } catch (err) {
        throw rootError(err, dir, what, `listing ${what}`);
    }
}

/** Checks that a file can be opened for reading, with the root-specific error. */
export function checkReadable(file: string, what: string): void {
    try {
        accessSync(file, constants.R_OK);
    } catch (err) {
        throw rootError(err, file, what, `opening ${what}`);
    }
}
