/**
 * The webview's reducer: graph loads and partial updates, selection, search by id or digest,
 * live progress and request replies, the view transform, and what is persisted for a reload.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isPersistedState } from "../../src/protocol/guards";
import type { GraphView, RefNodeView } from "../../src/protocol/viewModel";
import { initialState, isBusy, matchesSearch, MAX_ZOOM, MIN_ZOOM, persisted, reduce, type Action, type GraphState } from "../../webview/state";

const hex = (c: string): string => `sha256:${c.repeat(64)}`;

function node(id: string, parents: RefNodeView["parents"] = [], diffID = ""): RefNodeView {
    return { id, kind: parents.length ? "Layer" : "BaseLayer", description: `built ${id}`, parents, diffID, chainID: "", blobChainID: "", blob: "", digests: [], verification: "unverified", verdict: "" };
}

const graph: GraphView = {
    source: "/ws",
    label: "ws",
    nodes: [node("base", [], hex("a")), node("app", [{ ref: "base", role: "parent", index: 0 }]), node("config", [{ ref: "app", role: "parent", index: 0 }])],
};

function run(...actions: Action[]): GraphState {
    return actions.reduce(reduce, initialState());
}

describe("webview state", () => {
    it("loads a graph, keeps host order, and bumps the topology only when edges change", () => {
        const s = run({ type: "graph", graph });
        assert.equal(s.status, "ready");
        assert.deepEqual(s.order, ["base", "app", "config"]);
        const again = reduce(s, { type: "graph", graph: { ...graph, nodes: graph.nodes.map((n) => ({ ...n, diffID: hex("b") })) } });
        assert.equal(again.topology, s.topology, "same refs and parents: no new layout");
        const rewired = reduce(s, { type: "graph", graph: { ...graph, nodes: [...graph.nodes, node("extra", [{ ref: "base", role: "parent", index: 0 }])] } });
        assert.equal(rewired.topology, s.topology + 1);
    });

    it("applies node updates for known refs only, from its own source only", () => {
        const s = run({ type: "graph", graph });
        const updated = reduce(s, { type: "nodes", source: "/ws", nodes: [{ ...graph.nodes[1]!, diffID: hex("c") }, node("synthetic~1")] });
        assert.equal(updated.nodes.get("app")!.diffID, hex("c"));
        assert.equal(updated.nodes.has("synthetic~1"), false);
        assert.equal(updated.topology, s.topology);
        assert.equal(reduce(s, { type: "nodes", source: "/other", nodes: [{ ...graph.nodes[1]!, diffID: hex("c") }] }), s);
    });

    it("selects known refs, drops stale details, and accepts details only for the selection", () => {
        let s = run({ type: "graph", graph }, { type: "ui/select", ref: "app" });
        assert.equal(s.selected, "app");
        assert.equal(reduce(s, { type: "ui/select", ref: "nope" }), s);
        const details = { id: "config" } as never;
        assert.equal(reduce(s, { type: "details", source: "/ws", details }).details, null, "not the selected ref");
        s = reduce(s, { type: "details", source: "/ws", details: { id: "app" } as never });
        assert.deepEqual(s.details, { id: "app" });
        s = reduce(s, { type: "ui/select", ref: "" });
        assert.equal(s.selected, "");
        assert.equal(s.details, null);
    });

    it("a verification arriving for a node replaces that node only, without a new layout", () => {
        const s = run({ type: "graph", graph });
        const u = reduce(s, { type: "nodes", source: "/ws", nodes: [{ ...graph.nodes[1]!, verification: "different-writer", verdict: "same files, different tar writer" }] });
        assert.equal(u.nodes.get("app")!.verification, "different-writer");
        assert.equal(u.nodes.get("app")!.verdict, "same files, different tar writer");
        assert.equal(u.nodes.get("base"), s.nodes.get("base"), "other nodes untouched");
        assert.equal(u.topology, s.topology, "a badge is no edge change");
    });

    it("searches by id, description and any digest, with or without the sha256: prefix", () => {
        const n = { ...node("app"), blob: hex("d"), digests: [hex("d"), hex("e")] };
        assert.ok(matchesSearch(n, "APP"));
        assert.ok(matchesSearch(n, "built app"));
        assert.ok(matchesSearch(n, "eeee"));
        assert.ok(matchesSearch(n, "sha256:dddd"));
        assert.ok(!matchesSearch(n, "sha256:"));
        assert.ok(!matchesSearch(n, "   "));
        const s = run({ type: "graph", graph }, { type: "ui/search", text: hex("a").slice(0, 20) });
        assert.deepEqual(s.matches, ["base"]);
        // Matches follow graph updates.
        const u = reduce(s, { type: "nodes", source: "/ws", nodes: [{ ...graph.nodes[2]!, diffID: hex("a") }] });
        assert.deepEqual(u.matches, ["base", "config"]);
    });

    it("tracks live progress per ref and notes how an operation ended", () => {
        const p = (phase: "start" | "diff" | "end", error = "") => ({ type: "progress" as const, source: "/ws", progress: { ref: "app", operation: "compute" as const, phase, detail: "", error, elapsedMs: 1500 } });
        let s = run({ type: "graph", graph }, p("start"), p("diff"));
        assert.ok(isBusy(s, "app"));
        assert.equal(s.busy.get("app")!.phase, "diff");
        s = reduce(s, p("end"));
        assert.ok(!isBusy(s, "app"));
        assert.equal(s.notes.get("app"), "compute done in 1.5 s");
        s = reduce(s, p("end", "Canceled"));
        assert.equal(s.notes.get("app"), "compute failed: Canceled");
    });

    it("marks each layer busy from its first phase to its done, the asked-for ref until the end", () => {
        const ev = (ref: string, phase: "start" | "diff" | "convert" | "done" | "reused" | "end", operation: "compute" | "convert" = "compute", error = "") =>
            ({ type: "progress" as const, source: "/ws", progress: { ref, operation, phase, detail: phase === "done" ? hex("f") : "", error, elapsedMs: 10 } });
        let s = run({ type: "graph", graph }, ev("config", "start"), ev("base", "diff"), ev("base", "done"), ev("app", "diff"));
        assert.deepEqual([...s.busy.keys()].sort(), ["app", "config"]);
        s = reduce(s, ev("config", "diff"));
        s = reduce(s, ev("config", "done"));
        assert.ok(isBusy(s, "config"), "the asked-for ref stays busy until the end");
        s = reduce(s, ev("app", "reused"));
        assert.deepEqual([...s.busy.keys()], ["config"]);
        // A second operation of another kind, then a failed end that leaves a layer marked.
        s = reduce(s, ev("app", "start", "convert"));
        s = reduce(s, ev("base", "convert", "convert"));
        s = reduce(s, ev("config", "end"));
        assert.deepEqual([...s.busy.keys()].sort(), ["app", "base"], "compute ended; convert still runs");
        s = reduce(s, ev("app", "end", "convert", "Canceled"));
        assert.equal(s.busy.size, 0, "the last convert's end clears its layers");
        assert.equal(s.notes.get("app"), "convert failed: Canceled");
        assert.equal(s.running.size, 0);
    });

    it("correlates run requests with replies", () => {
        let s = run({ type: "graph", graph }, { type: "ui/select", ref: "config" }, { type: "ui/run", command: "convert" });
        assert.equal(s.nextRequest, 2);
        assert.ok(isBusy(s, "config"), "busy until the reply");
        assert.equal(reduce(s, { type: "reply", id: 99, ok: true, error: "" }), s, "unknown ids are ignored");
        s = reduce(s, { type: "reply", id: 1, ok: false, error: "no blob to convert" });
        assert.ok(!isBusy(s, "config"));
        assert.equal(s.notes.get("config"), "convert failed: no blob to convert");
        assert.equal(run({ type: "ui/run", command: "compute" }).pending.size, 0, "nothing selected: nothing to run");
    });

    it("focus selects and asks for centring; failures replace the graph", () => {
        const s = run({ type: "graph", graph }, { type: "focus", ref: "config" });
        assert.equal(s.selected, "config");
        assert.equal(s.focus, "config");
        assert.equal(reduce(s, { type: "ui/focused" }).focus, "");
        assert.equal(reduce(s, { type: "focus", ref: "missing" }), s);
        assert.equal(run({ type: "failure", message: "gone" }).status, "failed");
    });

    it("persists a checked state and restores it, zoom clamped", () => {
        let s = run(
            { type: "graph", graph },
            { type: "ui/select", ref: "app" },
            { type: "ui/search", text: "conf" },
            { type: "ui/view", panX: 10, panY: -5, zoom: 100 },
            { type: "ui/controls", compression: "zstd", level: 19, force: true },
        );
        assert.equal(s.zoom, MAX_ZOOM);
        const saved = persisted(s);
        assert.ok(isPersistedState(saved));
        assert.deepEqual(saved, { source: "/ws", selected: "app", search: "conf", panX: 10, panY: -5, zoom: MAX_ZOOM, compression: "zstd", level: 19, force: true });
        s = run({ type: "ui/restore", state: { ...saved, zoom: 0.0001 } }, { type: "graph", graph });
        assert.equal(s.selected, "app");
        assert.equal(s.zoom, MIN_ZOOM);
        assert.equal(s.viewSet, true, "a restored view is not re-fitted");
        assert.deepEqual(s.matches, ["config"]);
        // A restored selection that no longer exists is dropped when the graph arrives.
        assert.equal(run({ type: "ui/restore", state: { ...saved, selected: "gone" } }, { type: "graph", graph }).selected, "");
    });

    it("sizes: asked for the selected ref, answered for that ref only, stale after its layers change", () => {
        const empty = { count: 0, bytes: 0 };
        const changes = { added: { count: 1, bytes: 5 }, modified: empty, deleted: empty };
        const view = {
            ref: "app", compressedBytes: -1, contentBytes: 5, shadowed: empty, efficiency: 1, wastedBytes: 0, userBytes: 0, inefficiencies: [], inefficiencyCount: 0, origin: "snapshot" as const,
            layers: [{ ref: "base", index: 0, blobBytes: -1, compression: "", tarBytes: -1, changes, shadowed: empty, dirs: [], dirCount: 0 }],
        };
        let s = run({ type: "graph", graph }, { type: "ui/select", ref: "app" });
        assert.equal(s.sizes.status, "idle");
        assert.equal(reduce(s, { type: "ui/sizes", ref: "nope" }), s, "unknown refs are ignored");
        s = reduce(s, { type: "ui/sizes", ref: "app" });
        assert.deepEqual([s.sizes.ref, s.sizes.status], ["app", "loading"]);
        assert.equal(reduce(s, { type: "sizes", source: "/elsewhere", sizes: view }), s, "another source's answer");
        assert.equal(reduce(s, { type: "sizes", source: "/ws", sizes: { ...view, ref: "config" } }), s, "an answer for another ref");
        const ready = reduce(s, { type: "sizes", source: "/ws", sizes: view });
        assert.deepEqual([ready.sizes.status, ready.sizes.view], ["ready", view]);
        const failed = reduce(s, { type: "sizesFailed", source: "/ws", ref: "app", message: "boom" });
        assert.deepEqual([failed.sizes.status, failed.sizes.error], ["failed", "boom"]);
        const computed = reduce(ready, { type: "nodes", source: "/ws", nodes: [{ ...graph.nodes[0]!, blob: hex("d") }] });
        assert.deepEqual([computed.sizes.status, computed.sizes.view], ["idle", null], "base got a blob: read again");
        const asked = reduce(run({ type: "graph", graph }), { type: "readSizes", ref: "config" });
        assert.deepEqual([asked.selected, asked.focus, asked.sizes.ref, asked.sizes.status], ["config", "config", "config", "loading"], "Show Layer Sizes");
        const unrelated = reduce(ready, { type: "nodes", source: "/ws", nodes: [{ ...graph.nodes[2]!, blob: hex("d") }] });
        assert.equal(unrelated.sizes.status, "ready");
    });
});
