/**
 * The details panel of the selected ref: its identity, its layer chain, diffID / chainID /
 * blobChainID with the hash steps that derive them, and its compression variants side by side.
 * Built with textContent only.
 */
import type { ContentsAction } from "../../src/protocol/messages";
import type { DerivationView, RefDetailsView, VariantView, VerificationView } from "../../src/protocol/viewModel";
import { VERIFICATION_BADGE } from "./graphView";
import { formatBytes, formatMs, h, shortDigest } from "./svg";

export interface DetailsCallbacks {
    select(ref: string): void;
    copy(text: string): void;
    contents(action: ContentsAction, ref: string): void;
}

/**
 * The ref's files: its layer (not for a Merge, which has none of its own), its merged view, and
 * every change its layer makes in VS Code's multi-diff editor.
 */
function contentsActions(d: RefDetailsView, cb: DetailsCallbacks): HTMLElement {
    const ownLayer = d.kind !== "Merge";
    const actions: [ContentsAction, string, string, boolean][] = [
        ["browseLayer", "Layer files", ownLayer ? "Browse what this ref's layer adds, modifies and deletes" : "A Merge has no layer of its own: browse its inputs' layers", ownLayer],
        ["browseMerged", "Merged view", "Browse the ref's whole root filesystem (its layer chain applied in order)", true],
        ["openAllChanges", "All changes", ownLayer ? "Open every file this layer changes in a diff editor, against its lower ref" : "A Merge has no layer of its own", ownLayer],
    ];
    const row = h("div", { class: "field contents-actions", "data-field": "contents" }, h("span", { class: "label" }, "Contents"));
    for (const [action, label, title, enabled] of actions) {
        const b = h("button", { class: "action", "data-action": action, title, "aria-label": title }, label);
        if (enabled) b.addEventListener("click", () => cb.contents(action, d.id));
        else b.setAttribute("disabled", "");
        row.append(b);
    }
    return row;
}

const CHECK_TEXT = {
    match: "✓ recomputed here from the layer chain",
    mismatch: "✗ the steps below do not give the reported value",
    incomplete: "incomplete: a layer of the chain has no blob yet",
} as const;

function field(name: string, label: string, value: string, cb: DetailsCallbacks, mono = true): HTMLElement {
    const v = h("span", { "data-field": name, class: mono ? "value mono" : "value" }, value);
    const row = h("div", { class: "field" }, h("span", { class: "label" }, label), v);
    if (value && value !== "—" && mono) {
        const copy = h("button", { class: "copy", title: `Copy ${label}`, "aria-label": `Copy ${label}` }, "copy");
        copy.addEventListener("click", () => cb.copy(value));
        row.append(copy);
    }
    return row;
}

function derivation(name: string, label: string, d: DerivationView, cb: DetailsCallbacks): HTMLElement {
    const box = h("div", { class: `derived check-${d.check}` });
    box.append(field(name, label, d.value || "—", cb));
    if (d.steps.length === 0) return box;
    const details = h("details", { class: "steps", "data-derivation": name });
    const summary = h("summary", {}, `How ${label} is derived (${d.steps.length} step${d.steps.length === 1 ? "" : "s"}) · `, h("span", { class: "check" }, CHECK_TEXT[d.check]));
    details.append(summary);
    const list = h("ol");
    for (const s of d.steps) {
        const li = h("li", { "data-layer": s.layer });
        li.append(h("div", { class: "formula mono" }, s.formula));
        if (s.hash === "sha256") li.append(h("div", { class: "input mono" }, h("span", { class: "dim" }, "sha256(\""), s.input, h("span", { class: "dim" }, "\")")));
        li.append(h("div", { class: "result mono" }, h("span", { class: "dim" }, "= "), s.result));
        list.append(li);
    }
    details.append(list);
    box.append(details);
    return box;
}

function ratio(v: VariantView): string {
    return v.uncompressedSize > 0 ? `${((v.size / v.uncompressedSize) * 100).toFixed(1)} %` : "—";
}

function variantsTable(variants: readonly VariantView[], cb: DetailsCallbacks): HTMLElement {
    const table = h("table", { id: "variants" });
    const head = h("tr");
    for (const [c, t] of [
        ["Compression", "Compression and media type"],
        ["Digest", "The blob's digest (what a registry stores)"],
        ["Size", "Compressed size, and the uncompressed layer tar's"],
        ["Ratio", "Compressed / uncompressed, and the time the compute or convert took"],
        ["BuildKit", "Whether BuildKit would write these exact bytes"],
    ]) head.append(h("th", { scope: "col", title: t! }, c!));
    table.append(h("thead", {}, head));
    const body = h("tbody");
    for (const v of variants) {
        const tr = h("tr", { "data-digest": v.digest, "data-media-type": v.mediaType, "data-role": v.role });
        const comp = h("td", {}, h("span", { class: "strong" }, v.compression));
        if (v.role === "main") comp.append(" ", h("span", { class: "tag", title: "The ref's own blob; the others are conversions of it" }, "main"));
        comp.append(h("div", { class: "mono small dim", title: v.mediaType }, v.mediaType.replace(/^application\/vnd\./, "")));
        const digest = h("td", { class: "mono", title: v.digest }, shortDigest(v.digest, 12).replace(/^sha256:/, ""));
        const copy = h("button", { class: "copy", title: `Copy ${v.digest}`, "aria-label": "Copy digest" }, "copy");
        copy.addEventListener("click", () => cb.copy(v.digest));
        digest.append(" ", copy);
        const sizes = h(
            "td",
            { class: "num" },
            h("span", { title: `${v.size} bytes` }, formatBytes(v.size)),
            h("div", { class: "small dim", title: v.uncompressedSize >= 0 ? `uncompressed tar: ${v.uncompressedSize} bytes` : "Convert to uncompressed to know the tar's size" }, `of ${formatBytes(v.uncompressedSize)}`),
        );
        const time = h("td", { class: "num" }, ratio(v), h("div", { class: "small dim", title: v.timeMs >= 0 ? "Time the compute or convert that wrote it took" : "Not written in this session" }, formatMs(v.timeMs)));
        const comparable = v.comparable === "buildkit"
            ? h("span", { class: "pill ok", title: "Byte-identical to what BuildKit writes: this digest is the one BuildKit pushes", "data-comparable": "true" }, "comparable")
            : h("span", { class: "pill warn", title: "Written by another compressor (zstd, or zlib's fast gzip): same content, a different digest than BuildKit's", "data-comparable": "false" }, "differs");
        tr.append(comp, digest, sizes, time, h("td", {}, comparable));
        body.append(tr);
    }
    table.append(body);
    return table;
}

/** The latest verification: its verdict in words, the profile used, the writer's traits. */
function verificationBox(v: VerificationView): HTMLElement {
    const box = h("div", { class: "verification-details", "data-verification": v.state });
    const badge = VERIFICATION_BADGE[v.state];
    box.append(h("h3", {}, "Verification ", h("span", { class: `pill state-${v.state}`, "data-field": "verificationState" }, `${badge.glyph} ${badge.words}`)));
    if (v.state === "unverified") {
        box.append(h("p", { class: "hint" }, "Not verified yet. Verify recomputes this ref's stored digests; Verify Image… checks an image file holding these layers; on a containerd root or Docker data-root, Verify can check one of its images."));
        return box;
    }
    box.append(h("p", { class: "verdict", "data-field": "verdict" }, v.verdict));
    const rows: Array<[string, string, string]> = [
        ["verificationCheck", "Check", `${v.check} · ${new Date(v.at).toLocaleString()}`],
        ...(v.whiteoutTime ? [["whiteoutTime", "Whiteout time", v.whiteoutTime] as [string, string, string]] : []),
        ...(v.nameLookup ? [["nameLookup", "User/group names", v.nameLookup] as [string, string, string]] : []),
    ];
    for (const [name, label, value] of rows) box.append(h("div", { class: "field" }, h("span", { class: "label" }, label), h("span", { class: "value", "data-field": name }, value)));
    if (v.writerTraits.length > 0) {
        const list = h("ul", { class: "traits", "data-field": "writerTraits" });
        for (const t of v.writerTraits) list.append(h("li", {}, t));
        box.append(h("div", { class: "field" }, h("span", { class: "label" }, "Tar writer"), list));
    }
    if (v.explanation.length > 0) {
        const d = h("details", { class: "explanation", "data-field": "explanation" }, h("summary", {}, `Why (${v.explanation.length} line${v.explanation.length === 1 ? "" : "s"})`));
        const list = h("ul");
        for (const e of v.explanation) list.append(h("li", {}, e));
        d.append(list);
        box.append(d);
    }
    return box;
}

export function renderDetails(container: HTMLElement, d: RefDetailsView | null, selected: string, cb: DetailsCallbacks): void {
    if (!selected) {
        container.replaceChildren(h("p", { class: "hint" }, "Select a ref in the graph to see its chain IDs and compression variants."));
        return;
    }
    if (!d) {
        container.replaceChildren(h("h2", { class: "ref-title" }, selected), h("p", { class: "hint" }, "Loading…"));
        return;
    }
    const out: Node[] = [];
    out.push(h("h2", { class: "ref-title", title: d.id }, d.id));
    if (d.description) out.push(h("p", { class: "description" }, d.description));
    out.push(field("kind", "Kind", d.kind, cb, false));
    out.push(field("snapshot", "Snapshot", d.snapshot || (d.kind === "Merge" || d.kind === "Diff" ? "— (computed from its parents)" : "—"), cb, d.snapshot !== ""));
    const chain = h("ol", { class: "chain", "data-field": "layers" });
    for (const id of d.layers) {
        const li = h("li");
        const link = h("a", { href: "#", "data-ref": id }, id);
        link.addEventListener("click", (ev) => {
            ev.preventDefault();
            cb.select(id);
        });
        li.append(link);
        chain.append(li);
    }
    out.push(h("div", { class: "field" }, h("span", { class: "label" }, `Layer chain (${d.layers.length})`), chain));
    out.push(contentsActions(d, cb));
    out.push(field("diffID", "diffID", d.diffID || "—", cb));
    out.push(derivation("chainID", "chainID", d.chainID, cb));
    out.push(derivation("blobChainID", "blobChainID", d.blobChainID, cb));
    out.push(verificationBox(d.verification));
    if (d.buildkit.chainID || d.buildkit.blobChainID) {
        const box = h("div", { class: "recorded" }, h("h3", {}, "Recorded by BuildKit's computeChainMetadata"), h("p", { class: "hint" }, d.buildkit.reason));
        box.append(field("buildkitChainID", "chainID", d.buildkit.chainID || "—", cb), field("buildkitBlobChainID", "blobChainID", d.buildkit.blobChainID || "—", cb));
        out.push(box);
    }
    out.push(h("h3", {}, `Compression variants (${d.variants.length})`));
    out.push(variantsTable(d.variants, cb));
    if (d.variants.length === 0) out.push(h("p", { class: "hint" }, "No blob yet: compute the blob chain."));
    container.replaceChildren(...out);
}
