import { promises as fsp } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/** Runs `fn` with a fresh empty directory (the lower of a base layer), removed afterwards. */
export async function withEmptyDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), "layerscope-empty-"));
    try {
        return await fn(dir);
    } finally {
        await fsp.rm(dir, { recursive: true, force: true });
    }
}
