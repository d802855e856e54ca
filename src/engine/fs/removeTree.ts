/**
 * `rm -rf` of a directory tree Layerscope made itself (a snapshot being built from an image, a
 * rolled-back import). A layer may have made directories read-only (0555) or closed (0000),
 * which an unprivileged user cannot empty: on EACCES/EPERM the directories are opened up (u+rwx;
 * directories only, found with lstat, so never through a symlink) and the removal is tried
 * again. Never for a user's own snapshot directories, which the engine only reads.
 */
import { promises as fsp } from "node:fs";
import * as path from "node:path";

export async function removeTree(dir: string): Promise<void> {
    try {
        await fsp.rm(dir, { recursive: true, force: true });
        return;
    } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== "EACCES" && code !== "EPERM") throw err;
    }
    const openUp = async (p: string): Promise<void> => {
        const st = await fsp.lstat(p).catch(() => null);
        if (!st?.isDirectory()) return;
        await fsp.chmod(p, 0o700).catch(() => undefined);
        for (const n of await fsp.readdir(p).catch(() => [] as string[])) await openUp(path.join(p, n));
    };
    await openUp(dir);
    await fsp.rm(dir, { recursive: true, force: true });
}
