/**
 * Finds snapshot workspaces (directories holding layerscope.json) under the open folders: the
 * folder itself and a few levels down. Bounded in depth and in directories read, never follows
 * a symlink, skips node_modules, .git and state directories, and does not descend into a
 * workspace it found (its snapshots are whole root filesystems).
 */
import { promises as fsp } from "node:fs";
import * as path from "node:path";

export const WORKSPACE_FILE = "layerscope.json";
const SKIP = new Set(["node_modules", ".git", ".layerscope"]);

export interface DiscoveryLimits {
    /** Levels below each folder that are searched (0 = the folder only). */
    readonly maxDepth: number;
    /** Directories read per folder at most; the search stops quietly past it. */
    readonly maxDirs: number;
}

export const DEFAULT_LIMITS: DiscoveryLimits = { maxDepth: 3, maxDirs: 2000 };

/** Absolute workspace directories, each folder's in breadth-first order, no duplicates. */
export async function findWorkspaces(folders: readonly string[], limits: DiscoveryLimits = DEFAULT_LIMITS): Promise<string[]> {
    const found: string[] = [];
    for (const folder of folders) {
        for (const dir of await searchFolder(path.resolve(folder), limits)) {
            if (!found.includes(dir)) found.push(dir);
        }
    }
    return found;
}

async function searchFolder(folder: string, limits: DiscoveryLimits): Promise<string[]> {
    const found: string[] = [];
    let level = [folder];
    let read = 0;
    for (let depth = 0; depth <= limits.maxDepth && level.length > 0; depth++) {
        const next: string[] = [];
        for (const dir of level) {
            if (read++ >= limits.maxDirs) return found;
            let entries;
            try {
                entries = await fsp.readdir(dir, { withFileTypes: true });
            } catch {
                continue; // unreadable directories are not sources; the folder itself is reported by the model
            }
            if (entries.some((e) => e.name === WORKSPACE_FILE && (e.isFile() || e.isSymbolicLink()))) {
                found.push(dir);
                continue;
            }
            for (const e of entries) {
                if (e.isDirectory() && !SKIP.has(e.name)) next.push(path.join(dir, e.name));
            }
        }
        level = next.sort();
    }
    return found;
}

/** Short, unambiguous labels: the folder name, with its parent's name when two share it. */
export function sourceLabels(roots: readonly string[]): Map<string, string> {
    const labels = new Map<string, string>();
    for (const root of roots) {
        const base = path.basename(root) || root;
        const clash = roots.some((r) => r !== root && path.basename(r) === base);
        labels.set(root, clash ? `${path.basename(path.dirname(root))}/${base}` : base);
    }
    return labels;
}
