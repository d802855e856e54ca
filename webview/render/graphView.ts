/**
 * Draws a GraphLayout as SVG and handles pan (drag), zoom (wheel, at the cursor), fit and
 * centring. All nodes stay in the DOM (tests and keyboard users find every `[data-ref-id]`);
 * for big graphs, nodes and edges outside the viewport are culled with `display: none` once the
 * view settles, and text is dropped when zoomed far out.
 */
import type { RefNodeView, VerificationState } from "../../src/protocol/viewModel";
import { DEFAULT_LAYOUT, type GraphLayout } from "../graphLayout";
import { clampZoom, type Busy } from "../state";
import { ellipsize, shortDigest, svg } from "./svg";
import { displayLines, displayText } from "../../src/display/displayText";

export interface ViewTransform {
    readonly panX: number;
    readonly panY: number;
    readonly zoom: number;
}

export interface GraphViewCallbacks {
    select(ref: string): void;
    view(t: ViewTransform): void;
}

const KIND_TAG = { BaseLayer: "BASE", Layer: "LAYER", Merge: "MERGE", Diff: "DIFF" } as const;
/** Below this zoom, labels are unreadable anyway: hide all text. */
const FAR_ZOOM = 0.45;
const CULL_FROM = 250;
/** Room around the layout for edge labels and progress text. */
const MARGIN = 60;

interface NodeEls {
    readonly g: SVGGElement;
    readonly sub: SVGTextElement;
    readonly status: SVGTextElement;
    readonly badge: SVGGElement;
    readonly x: number;
    readonly y: number;
}

interface EdgeEls {
    readonly g: SVGGElement;
    readonly from: string;
    readonly to: string;
    readonly box: readonly [number, number, number, number];
}

export class GraphView {
    readonly svg: SVGSVGElement;
    private readonly viewport: SVGGElement;
    private readonly edgeLayer: SVGGElement;
    private readonly nodeLayer: SVGGElement;
    private nodes = new Map<string, NodeEls>();
    private edges: EdgeEls[] = [];
    private layout: GraphLayout | null = null;
    private t: ViewTransform = { panX: 0, panY: 0, zoom: 1 };
    private frame = 0;
    private cullTimer: ReturnType<typeof setTimeout> | undefined;
    private rasterTimer: ReturnType<typeof setTimeout> | undefined;
    private rasterZoom = 1;
    private drag: { x: number; y: number; panX: number; panY: number; moved: boolean; id: number } | null = null;

    constructor(
        readonly root: HTMLElement,
        private readonly cb: GraphViewCallbacks,
    ) {
        this.svg = svg("svg", { class: "graph-svg", role: "group", "aria-label": "Ref graph" });
        this.svg.append(markers());
        this.viewport = svg("g", { class: "viewport", transform: `translate(${MARGIN} ${MARGIN})` });
        this.edgeLayer = svg("g", { class: "edges" });
        this.nodeLayer = svg("g", { class: "nodes" });
        this.viewport.append(this.edgeLayer, this.nodeLayer);
        this.svg.append(this.viewport);
        root.append(this.svg);
        this.listen();
    }

    /** Rebuilds every element (after a topology change). */
    setGraph(layout: GraphLayout, nodes: ReadonlyMap<string, RefNodeView>): void {
        this.layout = layout;
        this.svg.setAttribute("width", String(Math.ceil(layout.width + 2 * MARGIN)));
        this.svg.setAttribute("height", String(Math.ceil(layout.height + 2 * MARGIN)));
        this.nodes.clear();
        this.edges = [];
        const nodeFrag = document.createDocumentFragment();
        for (const ln of layout.nodes) {
            const node = nodes.get(ln.id);
            if (!node) continue;
            const els = drawNode(node, ln.x, ln.y);
            this.nodes.set(ln.id, els);
            nodeFrag.append(els.g);
        }
        const edgeFrag = document.createDocumentFragment();
        for (const e of layout.edges) {
            const g = svg("g", { class: `edge role-${e.role}`, "data-from": e.from, "data-to": e.to });
            g.append(svg("path", { d: pathOf(e.points), "marker-end": `url(#arrow-${e.role})` }));
            // Labels sit beside the edge's last segment, on the side it comes from.
            const a = e.points[e.points.length - 2]!;
            const fromRight = a.x > e.labelX + 1;
            const label = svg("text", { x: e.labelX + (fromRight ? 6 : -6), y: e.labelY, class: "edge-label", "text-anchor": fromRight ? "start" : "end" });
            label.textContent = e.label;
            g.append(label);
            const xs = e.points.map((p) => p.x);
            const ys = e.points.map((p) => p.y);
            edgeFrag.append(g);
            this.edges.push({ g, from: e.from, to: e.to, box: [Math.min(...xs), Math.min(...ys), Math.max(...xs) + 90, Math.max(...ys)] });
        }
        this.edgeLayer.replaceChildren(edgeFrag);
        this.nodeLayer.replaceChildren(nodeFrag);
        this.root.setAttribute("data-node-count", String(this.nodes.size));
        this.apply();
    }

    /** Node text and state attributes, without touching positions. */
    updateNode(node: RefNodeView): void {
        const els = this.nodes.get(node.id);
        if (!els) return;
        els.sub.textContent = displayText(subtitle(node));
        els.g.classList.toggle("computed", node.diffID !== "" || node.chainID !== "");
        setBadge(els.badge, node);
    }

    decorate(selected: string, matches: ReadonlySet<string>, busy: (ref: string) => Busy | undefined, searching: boolean): void {
        for (const [id, els] of this.nodes) {
            const b = busy(id);
            els.g.classList.toggle("selected", id === selected);
            els.g.classList.toggle("match", matches.has(id));
            els.g.classList.toggle("dim", searching && !matches.has(id));
            // Progress replaces the digest line inside the frame (the node's box stays the same).
            if (b) {
                els.g.setAttribute("data-busy", "true");
                els.status.textContent = ellipsize(displayText(progressText(b)), 21);
                els.sub.setAttribute("visibility", "hidden");
            } else {
                els.g.removeAttribute("data-busy");
                els.status.textContent = "";
                els.sub.removeAttribute("visibility");
            }
            els.g.setAttribute("aria-selected", String(id === selected));
            if (matches.has(id)) els.g.setAttribute("data-match", "true");
            else els.g.removeAttribute("data-match");
        }
        for (const e of this.edges) e.g.classList.toggle("selected", e.from === selected || e.to === selected);
    }

    get transform(): ViewTransform {
        return this.t;
    }

    setTransform(t: ViewTransform, notify = false): void {
        this.t = { panX: t.panX, panY: t.panY, zoom: clampZoom(t.zoom) };
        if (!this.frame) this.frame = requestAnimationFrame(() => this.apply());
        if (notify) this.cb.view(this.t);
    }

    /** Fits the whole graph into the visible area (never zooming in past 1). */
    fit(): void {
        if (!this.layout) return;
        const { width, height } = this.size();
        const pad = 32;
        const w = Math.max(this.layout.width, 1);
        const h = Math.max(this.layout.height, 1);
        const zoom = clampZoom(Math.min(1, (width - 2 * pad) / w, (height - 2 * pad) / h));
        this.setTransform({ zoom, panX: (width - w * zoom) / 2, panY: Math.max(pad, (height - h * zoom) / 2) }, true);
    }

    /** Centres a node, zooming in to a readable scale if needed. */
    center(ref: string): void {
        const els = this.nodes.get(ref);
        if (!els) return;
        const { width, height } = this.size();
        const zoom = Math.max(this.t.zoom, 0.8);
        const cx = els.x;
        const cy = els.y + DEFAULT_LAYOUT.nodeHeight / 2;
        this.setTransform({ zoom, panX: width / 2 - cx * zoom, panY: height / 2 - cy * zoom }, true);
    }

    focusNode(ref: string): void {
        this.nodes.get(ref)?.g.focus({ preventScroll: true });
    }

    zoomBy(factor: number, at?: { x: number; y: number }): void {
        const { width, height } = this.size();
        const p = at ?? { x: width / 2, y: height / 2 };
        const zoom = clampZoom(this.t.zoom * factor);
        const k = zoom / this.t.zoom;
        this.setTransform({ zoom, panX: p.x - (p.x - this.t.panX) * k, panY: p.y - (p.y - this.t.panY) * k }, true);
    }

    panBy(dx: number, dy: number): void {
        this.setTransform({ ...this.t, panX: this.t.panX + dx, panY: this.t.panY + dy }, true);
    }

    private size(): { width: number; height: number } {
        const r = this.root.getBoundingClientRect();
        return { width: r.width || 800, height: r.height || 600 };
    }

    private apply(): void {
        this.frame = 0;
        const { panX, panY, zoom } = this.t;
        // NOTE: the pan/zoom is a CSS transform of the whole <svg>, a compositor layer
        // (will-change): panning moves already painted tiles instead of repainting thousands of
        // shapes. After a zoom settles, dropping will-change for a frame repaints at the new scale.
        this.svg.style.transform = `translate(${panX - MARGIN * zoom}px, ${panY - MARGIN * zoom}px) scale(${zoom})`;
        this.svg.classList.toggle("far", zoom < FAR_ZOOM);
        if (zoom !== this.rasterZoom) {
            clearTimeout(this.rasterTimer);
            this.rasterTimer = setTimeout(() => {
                this.rasterZoom = this.t.zoom;
                this.svg.style.willChange = "auto";
                // Two frames: the first paints without the layer, at the new scale.
                requestAnimationFrame(() => requestAnimationFrame(() => (this.svg.style.willChange = "transform")));
            }, 150);
        }
        if (this.nodes.size >= CULL_FROM) {
            clearTimeout(this.cullTimer);
            this.cullTimer = setTimeout(() => this.cull(), 80);
        }
    }

    /** Hides what lies outside the viewport (with a margin), so the browser paints less. */
    private cull(): void {
        const { width, height } = this.size();
        const { panX, panY, zoom } = this.t;
        const margin = 200 / zoom;
        const x0 = -panX / zoom - margin;
        const y0 = -panY / zoom - margin;
        const x1 = (width - panX) / zoom + margin;
        const y1 = (height - panY) / zoom + margin;
        const half = DEFAULT_LAYOUT.nodeWidth / 2;
        for (const els of this.nodes.values()) {
            const out = els.x + half < x0 || els.x - half > x1 || els.y + DEFAULT_LAYOUT.nodeHeight < y0 || els.y > y1;
            els.g.style.display = out ? "none" : "";
        }
        for (const e of this.edges) {
            const [ex0, ey0, ex1, ey1] = e.box;
            e.g.style.display = ex1 < x0 || ex0 > x1 || ey1 < y0 || ey0 > y1 ? "none" : "";
        }
    }

    private listen(): void {
        this.root.addEventListener("wheel", (ev) => {
            ev.preventDefault();
            const r = this.root.getBoundingClientRect();
            // Pinch gestures arrive as ctrl+wheel with small deltas; plain wheels in lines or pixels.
            const delta = ev.deltaMode === 1 ? ev.deltaY * 16 : ev.deltaY;
            this.zoomBy(Math.exp(-delta * (ev.ctrlKey ? 0.01 : 0.0015)), { x: ev.clientX - r.left, y: ev.clientY - r.top });
        }, { passive: false });
        this.root.addEventListener("pointerdown", (ev) => {
            if (ev.button !== 0) return;
            this.drag = { x: ev.clientX, y: ev.clientY, panX: this.t.panX, panY: this.t.panY, moved: false, id: ev.pointerId };
        });
        this.root.addEventListener("pointermove", (ev) => {
            const d = this.drag;
            if (!d || d.id !== ev.pointerId) return;
            const dx = ev.clientX - d.x;
            const dy = ev.clientY - d.y;
            if (!d.moved && Math.hypot(dx, dy) < 4) return;
            if (!d.moved) this.root.setPointerCapture(ev.pointerId);
            d.moved = true;
            this.setTransform({ zoom: this.t.zoom, panX: d.panX + dx, panY: d.panY + dy });
        });
        const end = (ev: PointerEvent): void => {
            const d = this.drag;
            if (!d || d.id !== ev.pointerId) return;
            this.drag = null;
            if (d.moved) {
                this.cb.view(this.t);
                return;
            }
            if (ev.type === "pointerup") {
                const node = (ev.target as Element | null)?.closest?.("[data-ref-id]");
                this.cb.select(node?.getAttribute("data-ref-id") ?? "");
            }
        };
        this.root.addEventListener("pointerup", end);
        this.root.addEventListener("pointercancel", end);
        this.root.addEventListener("keydown", (ev) => {
            const node = (ev.target as Element | null)?.closest?.("[data-ref-id]");
            if (node && (ev.key === "Enter" || ev.key === " ")) {
                ev.preventDefault();
                this.cb.select(node.getAttribute("data-ref-id") ?? "");
            }
        });
    }
}

/** "compute: diff", or "converting zstd…" when the phase is the operation itself. */
export function progressText(b: { operation: string; phase: string; detail: string }): string {
    // Details that are digests (a finished blob) are too long for a node: the table shows them.
    const detail = b.detail && !b.detail.includes(":") ? ` ${b.detail}` : "";
    return b.phase === b.operation ? `${b.phase.replace(/e$/, "")}ing${detail}…` : `${b.operation}: ${b.phase}${detail}`;
}

function subtitle(node: RefNodeView): string {
    const n = node.digests.length;
    if (node.diffID) return `${shortDigest(node.diffID, 8).replace("sha256:", "")} · ${n} blob${n === 1 ? "" : "s"}`;
    if (node.chainID) return `chain ${shortDigest(node.chainID, 8).replace("sha256:", "")}`;
    return "not computed";
}

function drawNode(node: RefNodeView, x: number, y: number): NodeEls {
    const { nodeWidth: w, nodeHeight: h } = DEFAULT_LAYOUT;
    const g = svg("g", {
        class: `node kind-${node.kind}`,
        transform: `translate(${x - w / 2} ${y})`,
        "data-ref-id": node.id,
        "data-kind": node.kind,
        tabindex: "0",
        role: "button",
        "aria-label": `${node.kind} ${node.id}`,
    });
    const title = svg("title");
    title.textContent = displayLines(node.description ? `${node.id}\n${node.description}` : node.id);
    g.append(title);
    if (node.kind === "Merge") g.append(svg("rect", { class: "frame-outer", x: -4, y: -4, width: w + 8, height: h + 8, rx: 9 }));
    g.append(svg("rect", { class: "frame", width: w, height: h, rx: 6 }));
    g.append(svg("rect", { class: "accent", width: 5, height: h, rx: 2 }));
    const name = svg("text", { class: "name", x: 13, y: 19 });
    name.textContent = ellipsize(displayText(node.id), 21);
    const tag = svg("text", { class: "kind-tag", x: 13, y: 36 });
    tag.textContent = KIND_TAG[node.kind];
    const sub = svg("text", { class: "sub", x: 56, y: 36 });
    const status = svg("text", { class: "status", x: 56, y: 36 });
    const badge = svg("g", { class: "verification", transform: `translate(${w - 14} 14)` });
    badge.append(svg("circle", { r: 7.5 }), svg("text", { "text-anchor": "middle", y: 3.5 }), svg("title"));
    setBadge(badge, node);
    g.append(tag, name, sub, status, badge);
    g.classList.toggle("computed", node.diffID !== "" || node.chainID !== "");
    const els = { g, sub, status, badge, x, y };
    sub.textContent = displayText(subtitle(node));
    return els;
}

/** The badge's glyph and words per verification state (the details panel says more). */
export const VERIFICATION_BADGE: Readonly<Record<VerificationState, { readonly glyph: string; readonly words: string }>> = {
    verified: { glyph: "✓", words: "verified: recomputed and identical" },
    "different-compressor": { glyph: "C", words: "same content, different compressor" },
    "different-writer": { glyph: "W", words: "same files, different tar writer" },
    "content-differs": { glyph: "✗", words: "content differs" },
    unverified: { glyph: "?", words: "not verified" },
};

function setBadge(badge: SVGGElement, node: RefNodeView): void {
    const b = VERIFICATION_BADGE[node.verification];
    badge.setAttribute("data-verification", node.verification);
    badge.setAttribute("class", `verification state-${node.verification}`);
    badge.querySelector("text")!.textContent = b.glyph;
    badge.querySelector("title")!.textContent = node.verdict && node.verdict !== b.words ? `${b.words} (${node.verdict})` : b.words;
}

/** A polyline through the points, drawn as vertical-tangent cubic curves between them. */
export function pathOf(points: readonly { x: number; y: number }[]): string {
    const [first, ...rest] = points;
    if (!first) return "";
    let d = `M${first.x} ${first.y}`;
    let prev = first;
    for (const p of rest) {
        const my = (prev.y + p.y) / 2;
        d += ` C${prev.x} ${my} ${p.x} ${my} ${p.x} ${p.y}`;
        prev = p;
    }
    return d;
}

function markers(): SVGDefsElement {
    const defs = svg("defs");
    for (const role of ["parent", "merge", "lower", "upper"]) {
        const m = svg("marker", { id: `arrow-${role}`, viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 9, markerHeight: 9, markerUnits: "userSpaceOnUse", orient: "auto" });
        m.append(svg("path", { d: "M0 0 L10 5 L0 10 z", class: `arrow role-${role}` }));
        defs.append(m);
    }
    return defs;
}
