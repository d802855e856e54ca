/**
 * The ref-graph webview: wires the pure state (state.ts) and layout (graphLayout.ts) to the DOM.
 * Every message from the host is checked by the protocol's guard before it reaches the reducer.
 */
import { isHostToWebview, isPersistedState } from "../src/protocol/guards";
import { COMPRESSIONS, REF_KINDS, type CompressionView, type RefNodeView } from "../src/protocol/viewModel";
import { button, componentsReady, registerComponents, setDisabled } from "./components";
import { layoutGraph } from "./graphLayout";
import { renderDetails } from "./render/details";
import { renderSizes } from "./render/sizes";
import { GraphView, progressText } from "./render/graphView";
import { h } from "./render/svg";
import { initialState, isBusy, persisted, reduce, type Action, type GraphState } from "./state";
import { loadState, post, saveState } from "./vscodeApi";
import "./styles.css";
import { displayLines, displayText } from "../src/display/displayText";

registerComponents();

const LEVEL_HELP: Record<CompressionView, string> = {
    uncompressed: "no level",
    gzip: "-1 (default) or 0–9, as Go's compress/gzip",
    zstd: "-1 (default) or 1–22",
    estargz: "-1 (default) or 0–9 (gzip members)",
};

// --- the page skeleton (static: no data in it) ---
const search = h("input", { id: "search", type: "search", placeholder: "Search ref id, description or digest", "aria-label": "Search refs by id or digest", spellcheck: "false" });
const searchCount = h("span", { id: "search-count", class: "hint", "aria-live": "polite" });
const fitButton = button("fit", "Fit", "secondary", "Fit the whole graph (0)");
const zoomIn = button("zoom-in", "+", "icon", "Zoom in (+)");
const zoomOut = button("zoom-out", "−", "icon", "Zoom out (−)");
const legend = h("span", { class: "legend" });
for (const k of REF_KINDS) legend.append(h("span", { class: `swatch kind-${k}` }, k));
const title = h("span", { id: "title", class: "hint" });
const toolbar = h("header", { class: "toolbar" }, search, searchCount, fitButton, zoomIn, zoomOut, legend, title);

const graphRoot = h("section", { id: "graph", "data-node-count": "0", tabindex: "-1" });
const message = h("div", { id: "message", class: "message", role: "status" });
graphRoot.append(message);
const details = h("div", { id: "details", "aria-live": "polite" });
const sizes = h("div", { id: "sizes", "aria-live": "polite" });

const compression = h("select", { id: "compression", "aria-label": "Compression" });
for (const c of COMPRESSIONS) compression.append(h("option", { value: c }, c));
const level = h("input", { id: "level", type: "number", min: "-1", max: "22", step: "1", "aria-label": "Compression level (-1: default)" });
const force = h("input", { id: "force", type: "checkbox" });
const levelHelp = h("span", { class: "hint", id: "level-help" });
const compute = button("compute", "Compute blob chain", "primary", "Compute the blob chain of the selected ref with this compression");
const convert = button("convert", "Convert", "secondary", "Add a variant of the selected ref's blob in this compression");
const opStatus = h("div", { id: "op-status", class: "hint", role: "status" });
const controls = h(
    "div",
    { id: "controls" },
    h("div", { class: "row" }, h("label", { for: "compression" }, "Compression"), compression, h("label", { for: "level" }, "Level"), level),
    h("div", { class: "row" }, levelHelp),
    h("div", { class: "row" }, force, h("label", { for: "force", title: "Recompress even when a blob of this type exists (BuildKit force-compression): base-layer sharing may be lost" }, "Force recompression")),
    h("div", { class: "row buttons" }, compute, convert),
    opStatus,
);
const side = h("aside", { id: "side" }, details, sizes, controls);
const app = document.getElementById("app")!;
app.append(toolbar, h("main", {}, graphRoot, side));

// --- state ---
let state: GraphState = initialState();
const saved = loadState();
if (isPersistedState(saved)) state = reduce(state, { type: "ui/restore", state: saved });

const view = new GraphView(graphRoot, {
    select: (ref) => select(ref),
    view: (t) => dispatch({ type: "ui/view", ...t }),
});

let renderedTopology = -1;
let renderedNodes: ReadonlyMap<string, RefNodeView> = new Map();
let renderedDetails: unknown = undefined;
let renderedSelected = "";
let renderedSizes: unknown = undefined;
let renderedSizesFor = "";
let saveTimer: ReturnType<typeof setTimeout> | undefined;
let matchCursor = -1;

function dispatch(action: Action): void {
    const prev = state;
    state = reduce(state, action);
    if (state === prev) return;
    // Pan and zoom are drawn by the GraphView itself: only the saved state follows them.
    if (action.type === "ui/view") scheduleSave();
    else render();
}

function scheduleSave(): void {
    clearTimeout(saveTimer);
    saveTimer = setTimeout(() => saveState(persisted(state)), 150);
}

function select(ref: string): void {
    dispatch({ type: "ui/select", ref });
    if (ref && ref === state.selected) post({ type: "select", ref });
}

function render(): void {
    if (state.status === "failed") {
        message.textContent = displayLines(state.failure);
        message.hidden = false;
    } else if (state.status === "loading") {
        message.textContent = "Loading refs…";
        message.hidden = false;
    } else {
        message.hidden = state.order.length > 0;
        message.textContent = state.order.length === 0 ? "This source declares no refs." : "";
    }
    if (state.status === "ready") renderGraph();
    const busy = (ref: string) => state.busy.get(ref) ?? (isBusy(state, ref) ? { operation: "request", phase: "sent", detail: "", root: true } : undefined);
    view.decorate(state.selected, new Set(state.matches), busy, state.search.trim() !== "");
    if (state.details !== renderedDetails || state.selected !== renderedSelected) {
        renderedDetails = state.details;
        renderedSelected = state.selected;
        renderDetails(details, state.details, state.selected, {
            select: (ref) => focusRef(ref),
            copy: (text) => post({ type: "copy", text }),
            contents: (action, ref) => post({ type: "contents", action, ref }),
        });
    }
    if (state.sizes !== renderedSizes || state.selected !== renderedSizesFor) {
        renderedSizes = state.sizes;
        renderedSizesFor = state.selected;
        renderSizes(sizes, state.sizes, state.selected, {
            request: (ref) => {
                dispatch({ type: "ui/sizes", ref });
                post({ type: "sizes", ref });
            },
        });
    }
    renderControls();
    searchCount.textContent = state.search.trim() ? `${state.matches.length} match${state.matches.length === 1 ? "" : "es"}` : "";
    title.textContent = state.label ? `${displayText(state.label)} · ${state.order.length} refs` : "";
    if (state.focus) {
        const ref = state.focus;
        dispatch({ type: "ui/focused" });
        view.center(ref);
        view.focusNode(ref);
        post({ type: "select", ref });
    }
    scheduleSave();
}

function renderGraph(): void {
    if (state.topology !== renderedTopology) {
        const first = renderedTopology === -1;
        renderedTopology = state.topology;
        const layout = layoutGraph(state.order.map((id) => state.nodes.get(id)!));
        view.setGraph(layout, state.nodes);
        renderedNodes = state.nodes;
        if (!state.viewSet) view.fit();
        else view.setTransform(state);
        if (first) {
            if (state.selected) post({ type: "select", ref: state.selected });
            void componentsReady().then(() => document.body.setAttribute("data-ready", "true"));
        }
        return;
    }
    if (state.nodes !== renderedNodes) {
        for (const [id, n] of state.nodes) if (renderedNodes.get(id) !== n) view.updateNode(n);
        renderedNodes = state.nodes;
    }
}

function renderControls(): void {
    if (compression.value !== state.compression) compression.value = state.compression;
    const lv = state.level < 0 ? "" : String(state.level);
    if (document.activeElement !== level && level.value !== lv) level.value = lv;
    level.placeholder = "-1";
    level.disabled = state.compression === "uncompressed";
    force.checked = state.force;
    levelHelp.textContent = `Level: ${LEVEL_HELP[state.compression]}`;
    const node = state.nodes.get(state.selected);
    const busy = state.selected !== "" && isBusy(state, state.selected);
    setDisabled(compute, !node || busy);
    setDisabled(convert, !node || busy || node.blob === "");
    const b = state.busy.get(state.selected);
    opStatus.textContent = displayLines(b ? progressText(b) : (state.notes.get(state.selected) ?? ""));
}

function readControls(): void {
    const c = compression.value as CompressionView;
    const raw = level.value.trim();
    const n = raw === "" ? -1 : Math.trunc(Number(raw));
    dispatch({
        type: "ui/controls",
        compression: (COMPRESSIONS as readonly string[]).includes(c) ? c : "gzip",
        level: Number.isFinite(n) ? Math.min(22, Math.max(-1, n)) : -1,
        force: force.checked,
    });
}

function run(command: "compute" | "convert"): void {
    readControls();
    if (!state.selected) return;
    const id = state.nextRequest;
    const ref = state.selected;
    dispatch({ type: "ui/run", command });
    post({ type: "run", id, command, ref, compression: state.compression, level: state.compression === "uncompressed" ? -1 : state.level, force: state.force });
}

function focusRef(ref: string): void {
    if (!state.nodes.has(ref)) return;
    select(ref);
    view.center(ref);
}

function nextMatch(step: number): void {
    if (state.matches.length === 0) return;
    matchCursor = (matchCursor + step + state.matches.length) % state.matches.length;
    focusRef(state.matches[matchCursor]!);
}

// --- events ---
window.addEventListener("message", (ev: MessageEvent) => {
    if (!isHostToWebview(ev.data)) {
        console.warn("layerscope: ignored a malformed message from the host");
        return;
    }
    dispatch(ev.data);
    // Show Layer Sizes: the host asked for this ref's sizes; ask it for them like the button does.
    if (ev.data.type === "readSizes" && state.sizes.ref === ev.data.ref && state.sizes.status === "loading") post({ type: "sizes", ref: ev.data.ref });
});
search.value = state.search;
search.addEventListener("input", () => {
    matchCursor = -1;
    dispatch({ type: "ui/search", text: search.value });
});
search.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter") nextMatch(ev.shiftKey ? -1 : 1);
    if (ev.key === "Escape") {
        search.value = "";
        dispatch({ type: "ui/search", text: "" });
    }
});
fitButton.addEventListener("click", () => view.fit());
zoomIn.addEventListener("click", () => view.zoomBy(1.25));
zoomOut.addEventListener("click", () => view.zoomBy(0.8));
compression.addEventListener("change", readControls);
level.addEventListener("change", readControls);
force.addEventListener("change", readControls);
compute.addEventListener("click", () => run("compute"));
convert.addEventListener("click", () => run("convert"));
window.addEventListener("keydown", (ev) => {
    const t = ev.target as HTMLElement | null;
    if (t && (t.tagName === "INPUT" || t.tagName === "SELECT" || t.tagName === "TEXTAREA")) return;
    if (ev.key === "/") {
        ev.preventDefault();
        search.focus();
    } else if (ev.key === "0") view.fit();
    else if (ev.key === "+" || ev.key === "=") view.zoomBy(1.25);
    else if (ev.key === "-") view.zoomBy(0.8);
    else if (ev.key.startsWith("Arrow")) {
        const d = 60;
        view.panBy(ev.key === "ArrowLeft" ? d : ev.key === "ArrowRight" ? -d : 0, ev.key === "ArrowUp" ? d : ev.key === "ArrowDown" ? -d : 0);
    }
});
window.addEventListener("resize", () => {
    if (!state.viewSet) view.fit();
});

render();
post({ type: "ready" });
