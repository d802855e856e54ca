/**
 * The webview's state and its one reducer: every host message (already checked by the guards)
 * and every user action goes through `reduce`, which returns a new state and never touches the
 * DOM. Tested in Node.
 */
import type { HostToWebview, OperationCommand, PersistedState } from "../src/protocol/messages";
import type { CompressionView, GraphView, ProgressView, RefDetailsView, RefNodeView, SizesView } from "../src/protocol/viewModel";

/** The sizes of one ref's layer chain, asked for by the details panel's button. */
export interface SizesState {
    /** "" when none was asked for. */
    readonly ref: string;
    readonly status: "idle" | "loading" | "ready" | "failed";
    readonly view: SizesView | null;
    readonly error: string;
}

export interface Busy {
    readonly operation: string;
    readonly phase: string;
    readonly detail: string;
    /** The ref the operation was started on (it stays busy until the operation's "end"). */
    readonly root: boolean;
}

export interface Pending {
    readonly command: OperationCommand;
    readonly ref: string;
}

export interface GraphState {
    readonly status: "loading" | "ready" | "failed";
    readonly failure: string;
    readonly source: string;
    readonly label: string;
    /** Refs in the host's order, and by id. */
    readonly order: readonly string[];
    readonly nodes: ReadonlyMap<string, RefNodeView>;
    /** Bumped when ids or parents change: the layout is recomputed only then. */
    readonly topology: number;
    readonly selected: string;
    /** Details of the selected ref (null until the host answers). */
    readonly details: RefDetailsView | null;
    readonly search: string;
    /** Refs matching the search, in graph order ("" search: none). */
    readonly matches: readonly string[];
    readonly busy: ReadonlyMap<string, Busy>;
    /** Operations started and not yet ended, per kind (their layers' busy marks go at the last end). */
    readonly running: ReadonlyMap<string, number>;
    /** The last operation message per ref ("" when none), e.g. an error. */
    readonly notes: ReadonlyMap<string, string>;
    readonly pending: ReadonlyMap<number, Pending>;
    readonly nextRequest: number;
    readonly panX: number;
    readonly panY: number;
    readonly zoom: number;
    /** True once the view transform was set (restored or fitted): no automatic fit then. */
    readonly viewSet: boolean;
    readonly compression: CompressionView;
    readonly level: number;
    readonly force: boolean;
    /** A ref the host asked to centre; the renderer clears it once done. */
    readonly focus: string;
    readonly sizes: SizesState;
}

export type UiAction =
    | { readonly type: "ui/restore"; readonly state: PersistedState }
    | { readonly type: "ui/select"; readonly ref: string }
    | { readonly type: "ui/search"; readonly text: string }
    | { readonly type: "ui/view"; readonly panX: number; readonly panY: number; readonly zoom: number }
    | { readonly type: "ui/controls"; readonly compression: CompressionView; readonly level: number; readonly force: boolean }
    | { readonly type: "ui/run"; readonly command: OperationCommand }
    | { readonly type: "ui/focused" }
    /** The sizes of the selected ref were asked for. */
    | { readonly type: "ui/sizes"; readonly ref: string };

export type Action = HostToWebview | UiAction;

export const MIN_ZOOM = 0.02;
export const MAX_ZOOM = 4;

export function initialState(): GraphState {
    return {
        status: "loading",
        failure: "",
        source: "",
        label: "",
        order: [],
        nodes: new Map(),
        topology: 0,
        selected: "",
        details: null,
        search: "",
        matches: [],
        busy: new Map(),
        running: new Map(),
        notes: new Map(),
        pending: new Map(),
        nextRequest: 1,
        panX: 0,
        panY: 0,
        zoom: 1,
        viewSet: false,
        compression: "gzip",
        level: -1,
        force: false,
        focus: "",
        sizes: NO_SIZES,
    };
}

const NO_SIZES: SizesState = { ref: "", status: "idle", view: null, error: "" };

export function persisted(s: GraphState): PersistedState {
    return {
        source: s.source,
        selected: s.selected,
        search: s.search,
        panX: s.panX,
        panY: s.panY,
        zoom: s.zoom,
        compression: s.compression,
        level: s.level,
        force: s.force,
    };
}

function normalize(text: string): string {
    return text.trim().toLowerCase().replace(/^sha256:/, "");
}

/** A ref matches when its id or description contains the text, or one of its digests does. */
export function matchesSearch(node: RefNodeView, text: string): boolean {
    const q = normalize(text);
    if (!q) return false;
    if (node.id.toLowerCase().includes(q) || node.description.toLowerCase().includes(q)) return true;
    const digests = [node.diffID, node.chainID, node.blobChainID, node.blob, ...node.digests];
    return digests.some((d) => d !== "" && normalize(d).includes(q));
}

function searchAll(order: readonly string[], nodes: ReadonlyMap<string, RefNodeView>, text: string): string[] {
    if (!normalize(text)) return [];
    return order.filter((id) => matchesSearch(nodes.get(id)!, text));
}

function sameTopology(a: RefNodeView | undefined, b: RefNodeView): boolean {
    if (!a || a.parents.length !== b.parents.length) return false;
    return a.parents.every((p, i) => p.ref === b.parents[i]!.ref && p.role === b.parents[i]!.role && p.index === b.parents[i]!.index);
}

function withGraph(s: GraphState, graph: GraphView): GraphState {
    const nodes = new Map<string, RefNodeView>();
    const order: string[] = [];
    for (const n of graph.nodes) {
        if (nodes.has(n.id)) continue;
        nodes.set(n.id, n);
        order.push(n.id);
    }
    const same = order.length === s.order.length && order.every((id, i) => id === s.order[i] && sameTopology(s.nodes.get(id), nodes.get(id)!));
    const keepSelection = nodes.has(s.selected);
    return {
        ...s,
        status: "ready",
        failure: "",
        source: graph.source,
        label: graph.label,
        order,
        nodes,
        topology: same ? s.topology : s.topology + 1,
        selected: keepSelection ? s.selected : "",
        details: keepSelection ? s.details : null,
        matches: searchAll(order, nodes, s.search),
        // A source switch (new panel contents) starts with a fresh view.
        viewSet: graph.source === s.source ? s.viewSet : false,
    };
}

function withNodes(s: GraphState, changed: readonly RefNodeView[]): GraphState {
    const nodes = new Map(s.nodes);
    let order = s.order;
    let topology = s.topology;
    for (const n of changed) {
        const known = nodes.get(n.id);
        if (!known) continue; // refs outside the graph (synthetic layers) are not drawn
        if (!sameTopology(known, n)) topology = s.topology + 1;
        nodes.set(n.id, n);
    }
    order = [...order];
    return { ...s, nodes, order, topology, matches: searchAll(order, nodes, s.search) };
}

/**
 * An operation reports "start" and "end" on the ref it was asked for, and "diff", "convert",
 * "done" or "reused" on each layer of that ref's chain as it goes: a layer is busy from its
 * first phase to its "done" (or "reused"), the ref itself until "end". Layers left busy by a
 * failed or canceled operation are cleared when the last operation of that kind ends.
 */
function withProgress(s: GraphState, p: ProgressView): GraphState {
    const busy = new Map(s.busy);
    const notes = new Map(s.notes);
    const running = new Map(s.running);
    const known = busy.get(p.ref);
    switch (p.phase) {
        case "start":
            running.set(p.operation, (running.get(p.operation) ?? 0) + 1);
            busy.set(p.ref, { operation: p.operation, phase: p.phase, detail: p.detail, root: true });
            notes.delete(p.ref);
            break;
        case "diff":
        case "convert":
            busy.set(p.ref, { operation: p.operation, phase: p.phase, detail: p.detail, root: known?.root ?? false });
            break;
        case "done":
        case "reused":
            if (known?.root) busy.set(p.ref, { ...known, phase: p.phase, detail: p.detail });
            else busy.delete(p.ref);
            break;
        case "end": {
            busy.delete(p.ref);
            const left = Math.max(0, (running.get(p.operation) ?? 1) - 1);
            if (left === 0) {
                running.delete(p.operation);
                for (const [ref, b] of busy) if (b.operation === p.operation) busy.delete(ref);
            } else running.set(p.operation, left);
            const secs = (p.elapsedMs / 1000).toFixed(1);
            notes.set(p.ref, p.error ? `${p.operation} failed: ${p.error}` : `${p.operation} done in ${secs} s`);
            break;
        }
    }
    return { ...s, busy, notes, running };
}

export function reduce(s: GraphState, a: Action): GraphState {
    switch (a.type) {
        case "graph":
            return withGraph(s, a.graph);
        case "nodes": {
            if (a.source !== s.source) return s;
            const next = withNodes(s, a.nodes);
            // A compute gave a layer of the shown chain a blob: its figures (blob sizes) are stale.
            const stale = s.sizes.view?.layers.some((l) => a.nodes.some((n) => n.id === l.ref)) ?? false;
            return stale ? { ...next, sizes: { ...s.sizes, status: "idle", view: null } } : next;
        }
        case "readSizes":
            return s.nodes.has(a.ref)
                ? { ...s, selected: a.ref, details: s.selected === a.ref ? s.details : null, focus: a.ref, sizes: { ref: a.ref, status: "loading", view: null, error: "" } }
                : s;
        case "sizes":
            return a.source === s.source && a.sizes.ref === s.sizes.ref ? { ...s, sizes: { ref: a.sizes.ref, status: "ready", view: a.sizes, error: "" } } : s;
        case "sizesFailed":
            return a.source === s.source && a.ref === s.sizes.ref ? { ...s, sizes: { ref: a.ref, status: "failed", view: null, error: a.message } } : s;
        case "details":
            return a.source === s.source && a.details.id === s.selected ? { ...s, details: a.details } : s;
        case "progress":
            return a.source === s.source ? withProgress(s, a.progress) : s;
        case "focus":
            return s.nodes.has(a.ref) ? { ...s, selected: a.ref, details: s.selected === a.ref ? s.details : null, focus: a.ref } : s;
        case "reply": {
            const req = s.pending.get(a.id);
            if (!req) return s;
            const pending = new Map(s.pending);
            pending.delete(a.id);
            const notes = new Map(s.notes);
            if (!a.ok) notes.set(req.ref, `${req.command} failed: ${a.error}`);
            return { ...s, pending, notes };
        }
        case "failure":
            return { ...s, status: "failed", failure: a.message };
        case "ui/restore":
            return {
                ...s,
                source: a.state.source,
                selected: a.state.selected,
                search: a.state.search,
                panX: a.state.panX,
                panY: a.state.panY,
                zoom: clampZoom(a.state.zoom),
                viewSet: true,
                compression: a.state.compression,
                level: a.state.level,
                force: a.state.force,
            };
        case "ui/select":
            if (a.ref !== "" && !s.nodes.has(a.ref)) return s;
            return { ...s, selected: a.ref, details: a.ref === s.selected ? s.details : null };
        case "ui/search":
            return { ...s, search: a.text, matches: searchAll(s.order, s.nodes, a.text) };
        case "ui/view":
            return { ...s, panX: a.panX, panY: a.panY, zoom: clampZoom(a.zoom), viewSet: true };
        case "ui/controls":
            return { ...s, compression: a.compression, level: a.level, force: a.force };
        case "ui/run": {
            if (!s.selected) return s;
            const pending = new Map(s.pending);
            pending.set(s.nextRequest, { command: a.command, ref: s.selected });
            const notes = new Map(s.notes);
            notes.delete(s.selected);
            return { ...s, pending, notes, nextRequest: s.nextRequest + 1 };
        }
        case "ui/focused":
            return { ...s, focus: "" };
        case "ui/sizes":
            return s.nodes.has(a.ref) ? { ...s, sizes: { ref: a.ref, status: "loading", view: null, error: "" } } : s;
    }
}

export function clampZoom(z: number): number {
    return Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, z));
}

/** Whether an operation runs on the ref: live progress, or a request not yet answered. */
export function isBusy(s: GraphState, ref: string): boolean {
    if (s.busy.has(ref)) return true;
    for (const p of s.pending.values()) if (p.ref === ref) return true;
    return false;
}
