/**
 * `rm -rf` of a directory tree Layerscope made itself (a snapshot being built from an image, a
 * rolled-back import). A layer may have made directories read-only (0555) or closed (0000),
 * which an unprivileged user cannot empty: on EACCES/EPERM the directories are opened up (u+rwx;
 * directories only, found with lstat, so never through a symlink; names as bytes, so names that
 * are not UTF-8 are reached too) and the removal is tried again. Never for a user's own snapshot
 * directories, which the engine only reads.
 */
import { promises as fsp } from "node:fs";

const SLASH = Buffer.from("/");

export async function removeTree(dir: string): Promise<void> {
    try {
        await fsp.rm(dir, { recursive: true, force: true });
        return;
    } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== "EACCES" && code !== "EPERM") throw err;
    }
    const openUp = async (p: Buffer): Promise<void> => {
        const st = await fsp.lstat(p).catch(() => null);
        if (!st?.isDirectory()) return;
        await fsp.chmod(p, 0o700).catch(() => undefined);
        const names = await fsp.readdir(p, { encoding: "buffer" }).catch(() => [] as Buffer[]);
        for (const n of names) await openUp(Buffer.concat([p, SLASH, n]));
    };
    await openUp(Buffer.from(dir));
    await fsp.rm(dir, { recursive: true, force: true });
}
