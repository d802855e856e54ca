/**
 * What "Open Changes" compares for a path a layer changed, in plain data: the left side is the
 * merged view of the layer's lower ref (its parent; a Diff's lower), the right side the layer's
 * own copy; an added file has nothing on the left and a deleted one nothing on the right (the
 * `absent` view, read as empty).
 */
import { EngineError, type LayerEntry } from "../../engine";
import type { ContentsService } from "./contentsService";
import { baseName, type LayerLocation } from "./layerUri";

export interface ChangePair {
    readonly left: LayerLocation;
    readonly right: LayerLocation;
    /** The diff editor's title, e.g. "server.js (app ↔ config)". */
    readonly title: string;
    readonly change: "added" | "modified" | "deleted";
}

/**
 * The sides of the diff of `path` in `ref`'s layer. `entry` is the layer-view entry when the
 * caller has it (the tree), else it is looked up. InvalidArgument for a directory or a path the
 * layer holds unchanged; NotFound when the layer does not touch the path.
 */
export async function changePair(service: ContentsService, source: string, ref: string, path: string, entry?: LayerEntry): Promise<ChangePair> {
    const layer = service.location(source, ref, "layer", path);
    const e = entry ?? (await service.stat(layer));
    if (e.type === "absent") throw new EngineError("InvalidArgument", "the absent view has no changes");
    if (e.type === "dir") {
        throw new EngineError("InvalidArgument", `${ref}:${path} is a directory: open the changes of the files in it`, { path, type: "dir" });
    }
    const change = e.type === "whiteout" ? "deleted" : e.change;
    if (change !== "added" && change !== "modified" && change !== "deleted") {
        throw new EngineError("InvalidArgument", `${ref}:${path} is not changed by this layer (it is ${change ?? "a merged-view entry"})`, { path });
    }
    const lower = await service.lowerRef(source, ref);
    const absent = service.location(source, ref, "absent", path);
    const before = lower === null ? absent : service.location(source, lower, "merged", path);
    const left = change === "added" ? absent : before;
    const right = change === "deleted" ? absent : layer;
    const name = baseName(path) || path;
    const title = `${name} (${lower ?? "nothing"} ↔ ${ref}${change === "modified" ? "" : `: ${change}`})`;
    return { left, right, title, change };
}

/**
 * Every file the layer adds, modifies or deletes below `dir`, largest first; a deleted
 * directory counts as the deletion of each file the lower view had in it.
 */
export async function layerChanges(service: ContentsService, source: string, ref: string, dir = "/"): Promise<(ChangePair & { readonly size: number })[]> {
    const lower = await service.lowerRef(source, ref);
    const out: (ChangePair & { readonly size: number })[] = [];
    const deletedTree = async (d: string): Promise<void> => {
        if (lower === null) return;
        for (const e of await service.list(service.location(source, lower, "merged", d))) {
            if (e.type === "absent") continue;
            if (e.type === "dir") await deletedTree(e.path);
            else out.push({ left: service.location(source, lower, "merged", e.path), right: service.location(source, ref, "absent", e.path), title: `${baseName(e.path)} (${lower} ↔ ${ref}: deleted)`, change: "deleted", size: e.size });
        }
    };
    const walk = async (d: string): Promise<void> => {
        for (const e of await service.list(service.location(source, ref, "layer", d))) {
            if (e.type === "absent") continue;
            if (e.type === "dir") {
                if (e.change === "deleted") await deletedTree(e.path);
                else await walk(e.path);
            } else if (e.change === "added" || e.change === "modified" || e.change === "deleted" || e.type === "whiteout") {
                const pair = await changePair(service, source, ref, e.path, e);
                const size = pair.change === "deleted" && lower !== null ? await sizeIn(service, source, lower, e.path) : e.size;
                out.push({ ...pair, size });
            }
        }
    };
    await walk(dir);
    return out.sort((a, b) => b.size - a.size);
}

async function sizeIn(service: ContentsService, source: string, ref: string, path: string): Promise<number> {
    try {
        const e = await service.stat(service.location(source, ref, "merged", path));
        return e.type === "absent" ? 0 : e.size;
    } catch {
        return 0;
    }
}
