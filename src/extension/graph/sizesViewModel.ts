/**
 * The engine's SizeReport (computeLayerSizes) as the webview's SizesView: the same figures
 * `layerscope size --json` prints, with the long lists cut to their largest entries (a layer
 * may touch thousands of folders; the webview gets summaries, not the whole report).
 */
import type { ChangeTallies, SizeReport, Tally } from "../../engine";
import type { ChangeCountView, ChangeSizesView, SizesView } from "../../protocol/viewModel";

/** Folders shown per layer, and paths held by several layers. */
export const MAX_DIRS = 8;
export const MAX_INEFFICIENCIES = 20;

function tally(t: Tally): ChangeCountView {
    return { count: t.count, bytes: t.bytes };
}

function changes(c: ChangeTallies): ChangeSizesView {
    return { added: tally(c.added), modified: tally(c.modified), deleted: tally(c.deleted) };
}

export function toSizesView(r: SizeReport): SizesView {
    return {
        ref: r.refId,
        layers: r.layers.map((l) => ({
            ref: l.refId,
            index: l.index,
            blobBytes: l.blob ? l.blob.compressedBytes : -1,
            compression: l.blob ? l.blob.compression : "",
            tarBytes: l.tarBytes ?? -1,
            changes: changes(l),
            shadowed: tally(l.shadowed),
            dirs: l.directories.slice(0, MAX_DIRS).map((d) => ({ path: d.path, changes: changes(d) })),
            dirCount: l.directories.length,
        })),
        compressedBytes: r.compressedBytes ?? -1,
        contentBytes: r.contentBytes,
        shadowed: tally(r.shadowed),
        efficiency: Math.min(1, Math.max(0, r.dive.efficiency)),
        wastedBytes: r.dive.wastedBytes,
        userBytes: r.dive.userBytes,
        inefficiencies: r.dive.inefficiencies.slice(0, MAX_INEFFICIENCIES).map((i) => ({ path: i.path, layers: [...i.layers], cumulativeBytes: i.cumulativeBytes })),
        inefficiencyCount: r.dive.inefficiencies.length,
        origin: r.layers.length > 0 && r.layers.every((l) => l.blob) ? "blob" : "snapshot",
    };
}
