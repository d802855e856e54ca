/**
 * The sizes section of the details panel: the selected ref's layer chain with each layer's
 * added, modified and deleted entries and bytes, its blob and tar sizes, what a later layer
 * overwrites or deletes ("shadowed"), its largest folders, and dive's efficiency score and
 * wasted bytes with the paths behind them. Sorted by size (largest first); every size says
 * compressed or uncompressed. Text only.
 */
import type { ChangeCountView, ChangeSizesView, LayerSizesView, SizesView } from "../../src/protocol/viewModel";
import type { SizesState } from "../state";
import { formatBytes, h } from "./svg";

export interface SizesCallbacks {
    request(ref: string): void;
}

function count(c: ChangeCountView): string {
    return c.count === 0 ? "—" : `${c.count.toLocaleString("en-US")} · ${formatBytes(c.bytes)}`;
}

/** Bytes the layer writes: what it adds and what it replaces. */
export function layerBytes(l: LayerSizesView): number {
    return l.changes.added.bytes + l.changes.modified.bytes;
}

function changeCells(c: ChangeSizesView): HTMLElement[] {
    return [
        h("td", { class: "num", "data-col": "added", title: `${c.added.count} added, ${c.added.bytes} bytes (uncompressed)` }, count(c.added)),
        h("td", { class: "num", "data-col": "modified", title: `${c.modified.count} modified, ${c.modified.bytes} bytes (uncompressed)` }, count(c.modified)),
        h("td", { class: "num", "data-col": "deleted", title: `${c.deleted.count} deleted, ${c.deleted.bytes} bytes the lower layers had there (uncompressed)` }, count(c.deleted)),
    ];
}

function layersTable(v: SizesView): HTMLElement {
    const table = h("table", { id: "sizes-layers", class: "sizes" });
    const head = h("tr");
    for (const [c, t] of [
        ["Layer", "The layer and its position in the chain (1 = bottom)"],
        ["Blob", "The blob's size in the store (compressed)"],
        ["Tar", "The layer tar's size (uncompressed)"],
        ["Added", "Entries the layer adds, and their bytes (uncompressed)"],
        ["Modified", "Entries the layer replaces, and their bytes (uncompressed)"],
        ["Deleted", "Entries the layer deletes (whiteouts), and the bytes they had (uncompressed)"],
        ["Shadowed", "What this layer adds or modifies that a later layer overwrites or deletes: entries and bytes (uncompressed) that still travel with the image"],
    ]) head.append(h("th", { scope: "col", title: t! }, c!));
    table.append(h("thead", {}, head));
    const body = h("tbody");
    // Largest first; the chain position stays in the first column.
    for (const l of [...v.layers].sort((a, b) => layerBytes(b) - layerBytes(a) || a.index - b.index)) {
        const tr = h("tr", { "data-layer": l.ref });
        tr.append(
            h("td", { class: "layer" }, h("span", { class: "dim" }, `${l.index + 1}. `), h("span", { class: "strong" }, l.ref)),
            h("td", { class: "num", title: l.blobBytes >= 0 ? `${l.blobBytes} bytes, ${l.compression} (compressed)` : "No blob yet: compute the blob chain" }, l.blobBytes >= 0 ? `${formatBytes(l.blobBytes)} ${l.compression}` : "—"),
            h("td", { class: "num", title: l.tarBytes >= 0 ? `${l.tarBytes} bytes (uncompressed)` : "unknown until the layer has a blob" }, formatBytes(l.tarBytes)),
            ...changeCells(l.changes),
            h("td", { class: `num${l.shadowed.bytes > 0 ? " warn" : ""}`, "data-col": "shadowed", title: `${l.shadowed.count} entries, ${l.shadowed.bytes} bytes (uncompressed)` }, count(l.shadowed)),
        );
        body.append(tr);
        if (l.dirs.length > 0) {
            const list = h("ol", { class: "dirs" });
            for (const d of l.dirs) {
                const bytes = d.changes.added.bytes + d.changes.modified.bytes;
                list.append(h("li", { "data-path": d.path }, h("span", { class: "mono" }, d.path), " ", h("span", { class: "dim" }, `${formatBytes(bytes)} added or modified (uncompressed) · ${d.changes.added.count} added · ${d.changes.modified.count} modified · ${d.changes.deleted.count} deleted`)));
            }
            const more = h("details", { class: "dirs-of" }, h("summary", {}, `Largest folders of ${l.ref} (${l.dirs.length} of ${l.dirCount})`), list);
            body.append(h("tr", { class: "sub" }, h("td", { colspan: "7" }, more)));
        }
    }
    table.append(body);
    return table;
}

function inefficiencyTable(v: SizesView): HTMLElement {
    const table = h("table", { id: "sizes-wasted", class: "sizes" });
    const head = h("tr");
    for (const [c, t] of [
        ["Path", "A path two or more layers hold"],
        ["Layers", "The layers that hold it (1 = bottom); a deletion counts"],
        ["Bytes", "Every copy's bytes (uncompressed), as dive sums them"],
    ]) head.append(h("th", { scope: "col", title: t! }, c!));
    table.append(h("thead", {}, head));
    const body = h("tbody");
    for (const w of v.inefficiencies) {
        const names = w.layers.map((i) => `${i + 1}. ${v.layers[i]?.ref ?? "?"}`).join(", ");
        body.append(h("tr", { "data-path": w.path }, h("td", { class: "mono" }, w.path), h("td", {}, names), h("td", { class: "num" }, formatBytes(w.cumulativeBytes))));
    }
    table.append(body);
    return table;
}

export function renderSizes(container: HTMLElement, s: SizesState, selected: string, cb: SizesCallbacks): void {
    if (!selected) {
        container.replaceChildren();
        return;
    }
    const out: Node[] = [h("h3", {}, "Sizes")];
    if (s.ref !== selected || s.status === "idle") {
        const b = h("button", { class: "action", id: "sizes-read", title: "Read every layer of the chain and count what each adds, replaces, deletes and wastes" }, "Read sizes");
        b.addEventListener("click", () => cb.request(selected));
        out.push(h("div", { class: "field contents-actions" }, b, h("span", { class: "hint" }, "reads every layer of the chain")));
    } else if (s.status === "loading") {
        out.push(h("p", { class: "hint", role: "status" }, `Reading the layers of ${s.ref}…`));
    } else if (s.status === "failed") {
        out.push(h("p", { class: "error", role: "status" }, s.error));
    } else if (s.view) {
        const v = s.view;
        const stored = v.compressedBytes >= 0 ? `${formatBytes(v.compressedBytes)} of blobs (compressed), ` : "";
        out.push(
            h(
                "p",
                { class: "sizes-summary", "data-field": "efficiency" },
                h("span", { class: "strong", title: "dive's efficiency score: the smallest copy of each path over all its copies; 100 % when no path is held by two layers" }, `Efficiency ${(v.efficiency * 100).toFixed(1)} %`),
                ` · wasted ${formatBytes(v.wastedBytes)} (uncompressed, every copy of a path two or more layers hold; dive's figure) · shadowed ${formatBytes(v.shadowed.bytes)} in ${v.shadowed.count} entries (uncompressed)`,
            ),
            h("p", { class: "hint" }, `${stored}${formatBytes(v.contentBytes)} of file content in ${v.layers.length} layer${v.layers.length === 1 ? "" : "s"} (uncompressed) · read from the ${v.origin === "blob" ? "blobs" : "snapshot folders"}`),
            h("div", { class: "table-scroll" }, layersTable(v)),
        );
        if (v.inefficiencies.length > 0) {
            out.push(h("h3", {}, `Held by more than one layer (${v.inefficiencies.length} of ${v.inefficiencyCount}, largest first)`), h("div", { class: "table-scroll" }, inefficiencyTable(v)));
        }
    }
    container.replaceChildren(...out);
}
