/**
 * The graph panel's host side against a real computed workspace, with a stand-in for the
 * `vscode` module: the ready handshake, details on select, malformed messages dropped and
 * logged, runs forwarded to the host's commands as RefTargets, live progress, partial refresh,
 * and a serializer that refuses a revived panel without a valid saved state.
 */
import assert from "node:assert/strict";
import Module from "node:module";
import { after, before, describe, it } from "node:test";
import { computeLayerSizes, openWorkspaceEngine, type RefReport, type WorkspaceEngine } from "../../src/engine";
import { isHostToWebview } from "../../src/protocol/guards";
import type { HostToWebview } from "../../src/protocol/messages";
import { VerificationStore } from "../../src/extension/model/verifications";
import { standardWorkspace, type WorkspaceKit } from "../helpers/workspaceKit";
import { imageWith } from "../helpers/verificationReports";

type Listener<T> = (e: T) => void;
class Emitter<T> {
    private listeners: Listener<T>[] = [];
    readonly event = (l: Listener<T>) => {
        this.listeners.push(l);
        return { dispose: () => (this.listeners = this.listeners.filter((x) => x !== l)) };
    };
    fire(e: T): void {
        for (const l of [...this.listeners]) l(e);
    }
}

const executed: { command: string; args: unknown[] }[] = [];
let serializer: { deserializeWebviewPanel(panel: unknown, state: unknown): Promise<void> } | undefined;

class FakePanel {
    readonly posted: HostToWebview[] = [];
    readonly received = new Emitter<unknown>();
    readonly disposed = new Emitter<void>();
    isDisposed = false;
    title = "";
    iconPath: unknown;
    readonly webview = {
        options: {} as Record<string, unknown>,
        html: "",
        cspSource: "https://fake.vscode-cdn.net",
        asWebviewUri: (u: { path: string }) => ({ toString: () => `https://fake.vscode-cdn.net${u.path}` }),
        postMessage: async (m: HostToWebview) => {
            assert.ok(isHostToWebview(m), `the host posts only valid messages: ${JSON.stringify(m).slice(0, 200)}`);
            this.posted.push(m);
            return true;
        },
        onDidReceiveMessage: this.received.event,
    };
    onDidDispose = this.disposed.event;
    readonly viewState = new Emitter<void>();
    onDidChangeViewState = this.viewState.event;
    visible = true;
    reveal(): void {}
    dispose(): void {
        if (this.isDisposed) return;
        this.isDisposed = true;
        this.disposed.fire();
    }
}

const panels: FakePanel[] = [];
const fakeVscode = {
    Uri: { joinPath: (base: { path: string }, ...parts: string[]) => ({ path: [base.path, ...parts].join("/") }) },
    ViewColumn: { Active: -1 },
    window: {
        createWebviewPanel: () => {
            const p = new FakePanel();
            panels.push(p);
            return p;
        },
        registerWebviewPanelSerializer: (_type: string, s: typeof serializer) => {
            serializer = s;
            return { dispose: () => (serializer = undefined) };
        },
    },
    commands: {
        executeCommand: async (command: string, ...args: unknown[]) => {
            executed.push({ command, args });
            if ((args[0] as { ref?: string }).ref === "broken") throw new Error("no such ref: broken");
            return { status: "done" };
        },
    },
    env: { clipboard: { writeText: async () => undefined } },
};

// Serve the stand-in for `require("vscode")`.
const M = Module as unknown as { _load: (request: string, ...rest: unknown[]) => unknown };
const load = M._load;
M._load = function (request: string, ...rest: unknown[]) {
    return request === "vscode" ? fakeVscode : load.call(this, request, ...rest);
};
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { createGraphController } = require("../../src/extension/graph") as typeof import("../../src/extension/graph");

const tick = () => new Promise((r) => setTimeout(r, 20));
async function until(f: () => boolean): Promise<void> {
    for (let i = 0; i < 200 && !f(); i++) await tick();
    assert.ok(f(), "condition reached");
}

describe("graph panel (host side)", () => {
    let kit: WorkspaceKit;
    let engine: WorkspaceEngine;
    const changed = new Emitter<{ source: string; refs?: readonly string[] }>();
    const operation = new Emitter<any>();
    const sources = new Emitter<void>();
    const logLines: string[] = [];
    let controller: ReturnType<typeof createGraphController>;
    const verifications = new VerificationStore();

    before(async () => {
        kit = standardWorkspace([{ id: "merged", merge: ["config", "other"] }, { id: "delta", diff: { lower: "base", upper: "config" } }]);
        engine = await openWorkspaceEngine(kit.dir);
        for (const id of engine.refIds()) await engine.computeBlobChain(id, { createIfNeeded: true, compression: { type: "gzip" } });
        const model = {
            onDidChangeSources: sources.event,
            onDidChangeRefs: changed.event,
            onOperation: operation.event,
            sources: () => [{ id: kit.dir, kind: "workspace", label: "ws", root: kit.dir }],
            refIds: async () => engine.refIds(),
            report: (_s: string, id: string) => engine.report(id),
            reports: async (s: string): Promise<RefReport[]> => {
                if (s !== kit.dir) throw new Error(`unknown source ${s}`);
                return Promise.all(engine.refIds().map((id) => engine.report(id)));
            },
            timing: () => 7,
            verification: (s: string, r: { id: string; chainID: string | null }) => verifications.lookup(s, r),
            sizes: (_s: string, id: string, signal?: AbortSignal) => computeLayerSizes(engine, id, signal ? { signal } : {}),
        };
        const context = { extensionUri: { path: "/ext" } };
        const log = { appendLine: (l: string) => logLines.push(l) };
        controller = createGraphController(context as never, model as never, log as never);
    });
    after(() => {
        controller?.dispose();
        kit.dispose();
    });

    it("serves a strict-CSP page and sends the graph only after ready", async () => {
        await controller.show(kit.dir, "config");
        const panel = panels[0]!;
        const html = panel.webview.html;
        assert.match(html, /default-src 'none'/);
        const nonce = /script-src 'nonce-([^']+)'/.exec(html)![1]!;
        assert.ok(html.includes(`<script type="module" nonce="${nonce}" src="https://fake.vscode-cdn.net/ext/dist/webview.js">`));
        assert.ok(!/unsafe-inline|unsafe-eval/.test(html));
        assert.deepEqual((panel.webview.options.localResourceRoots as { path: string }[]).map((u) => u.path), ["/ext/dist", "/ext/media"]);
        assert.equal(panel.posted.length, 0, "nothing before ready");
        panel.received.fire({ type: "ready" });
        await until(() => panel.posted.some((m) => m.type === "focus"));
        const graph = panel.posted.find((m) => m.type === "graph");
        assert.ok(graph && graph.type === "graph");
        const ids = graph.graph.nodes.map((n) => n.id);
        // delta is BuildKit's Merge of per-layer Diffs: those are fetched so its edges have ends.
        for (const id of ["base", "app", "config", "other", "merged", "delta"]) assert.ok(ids.includes(id), id);
        for (const n of graph.graph.nodes) for (const p of n.parents) assert.ok(ids.includes(p.ref), `${n.id} -> ${p.ref}`);
        assert.deepEqual(panel.posted.at(-1), { type: "focus", ref: "config" });
    });

    it("answers select with details and ignores malformed messages", async () => {
        const panel = panels[0]!;
        panel.received.fire({ type: "select", ref: 42 });
        panel.received.fire({ type: "run", id: 1, command: "rm", ref: "app", compression: "gzip", level: -1, force: false });
        await tick();
        assert.equal(logLines.filter((l) => l.includes("malformed")).length, 2);
        panel.received.fire({ type: "select", ref: "config" });
        await until(() => panel.posted.some((m) => m.type === "details"));
        const d = panel.posted.find((m) => m.type === "details")!;
        assert.ok(d.type === "details");
        assert.equal(d.details.chainID.check, "match");
        assert.equal(d.details.variants[0]!.timeMs, 7);
    });

    it("runs the host's commands with a RefTarget and replies", async () => {
        const panel = panels[0]!;
        panel.received.fire({ type: "run", id: 5, command: "convert", ref: "app", compression: "zstd", level: 3, force: true });
        await until(() => panel.posted.some((m) => m.type === "reply" && m.id === 5));
        assert.deepEqual(executed.at(-1), { command: "layerscope.convertCompression", args: [{ source: kit.dir, ref: "app", compression: "zstd", level: 3, force: true }] });
        panel.received.fire({ type: "run", id: 6, command: "compute", ref: "broken", compression: "gzip", level: -1, force: false });
        await until(() => panel.posted.some((m) => m.type === "reply" && m.id === 6));
        assert.deepEqual(executed.at(-1)!.args, [{ source: kit.dir, ref: "broken", compression: "gzip", force: false }], "level -1: the setting's default");
        assert.deepEqual(panel.posted.find((m) => m.type === "reply" && m.id === 6), { type: "reply", id: 6, ok: false, error: "no such ref: broken" });
    });

    it("runs the layer-contents commands for the contents buttons, with a RefTarget", async () => {
        const panel = panels[0]!;
        const expected = { browseLayer: "layerscope.browseLayer", browseMerged: "layerscope.browseMerged", openAllChanges: "layerscope.openAllLayerChanges" } as const;
        for (const [action, command] of Object.entries(expected)) {
            const n = executed.length;
            panel.received.fire({ type: "contents", action, ref: "config" });
            await until(() => executed.length > n);
            assert.deepEqual(executed.at(-1), { command, args: [{ source: kit.dir, ref: "config" }] });
        }
        const n = executed.length;
        panel.received.fire({ type: "contents", action: "workbench.action.terminal.new", ref: "config" });
        await tick();
        assert.equal(executed.length, n, "an unknown action runs nothing");
    });

    it("answers a sizes request with the engine's figures, and a failure with its message", async () => {
        const panel = panels[0]!;
        panel.received.fire({ type: "sizes", ref: "config" });
        await until(() => panel.posted.some((m) => m.type === "sizes"));
        const m = panel.posted.find((x) => x.type === "sizes")!;
        assert.ok(m.type === "sizes");
        const report = await computeLayerSizes(engine, "config");
        assert.deepEqual(m.sizes.layers.map((l) => [l.ref, l.index, l.changes.added.bytes, l.changes.modified.bytes, l.changes.deleted.count, l.blobBytes]),
            report.layers.map((l) => [l.refId, l.index, l.added.bytes, l.modified.bytes, l.deleted.count, l.blob!.compressedBytes]));
        assert.equal(m.sizes.origin, "blob");
        assert.equal(m.sizes.efficiency, report.dive.efficiency);
        assert.equal(m.sizes.wastedBytes, report.dive.wastedBytes);
        assert.equal(m.sizes.compressedBytes, report.compressedBytes);
        panel.received.fire({ type: "sizes", ref: "nope" });
        await until(() => panel.posted.some((x) => x.type === "sizesFailed"));
        const f = panel.posted.find((x) => x.type === "sizesFailed")!;
        assert.ok(f.type === "sizesFailed" && f.ref === "nope" && /nope/.test(f.message));
    });

    it("forwards live progress of its own source and refreshes only the changed refs", async () => {
        const panel = panels[0]!;
        const before = panel.posted.length;
        operation.fire({ operation: "convert", source: "/elsewhere", ref: "app", phase: "start" });
        operation.fire({ operation: "convert", source: kit.dir, ref: "app", phase: "convert", detail: "zstd" });
        const p = panel.posted.slice(before);
        assert.deepEqual(p, [{ type: "progress", source: kit.dir, progress: { ref: "app", operation: "convert", phase: "convert", detail: "zstd", error: "", elapsedMs: 0 } }]);
        await engine.computeBlobChain("app", { createIfNeeded: true, compression: { type: "zstd", force: true } });
        changed.fire({ source: kit.dir, refs: ["app"] });
        await until(() => panel.posted.some((m) => m.type === "nodes"));
        const nodes = panel.posted.find((m) => m.type === "nodes")!;
        assert.ok(nodes.type === "nodes");
        assert.deepEqual(nodes.nodes.map((n) => n.id), ["app"]);
        assert.equal(nodes.nodes[0]!.digests.length, 2);
        // config (selected) has app in its chain: its details are re-sent.
        await until(() => panel.posted.filter((m) => m.type === "details").length === 2);
    });

    it("puts the latest verification on the nodes and in the details: Verify, then Verify Image by chainID", async () => {
        const panel = panels[0]!;
        const start = panel.posted.length;
        const report = await engine.verify("app");
        const refs = verifications.recordVerify(kit.dir, report, 1000);
        changed.fire({ source: kit.dir, refs });
        await until(() => panel.posted.slice(start).some((m) => m.type === "nodes"));
        const nodes = panel.posted.slice(start).find((m) => m.type === "nodes")!;
        assert.ok(nodes.type === "nodes" && isHostToWebview(nodes));
        const app = nodes.nodes.find((n) => n.id === "app")!;
        assert.equal(app.verification, "verified");
        assert.match(app.verdict, /stored digests recomputed and equal/);
        // A ref outside the verified chain stays unverified.
        const other = (await engine.report("other"));
        assert.equal(verifications.lookup(kit.dir, { id: other.id, chainID: other.chainID }), undefined);
        // Verify Image of an image whose layer has app's chainID: newer, so it wins.
        const appReport = await engine.report("app");
        verifications.recordImage(imageWith(appReport.chainID!, "same files, different tar writer"), 2000);
        panel.received.fire({ type: "select", ref: "app" });
        await until(() => panel.posted.slice(start).some((m) => m.type === "details" && m.details.id === "app" && m.details.verification.state === "different-writer"));
        const d = panel.posted.slice(start).reverse().find((m) => m.type === "details" && m.details.id === "app")!;
        assert.ok(d.type === "details" && isHostToWebview(d));
        assert.equal(d.details.verification.verdict, "same files, different tar writer");
        assert.match(d.details.verification.check, /Verify Image/);
        assert.deepEqual(d.details.verification.writerTraits, ["names start with \"./\" (3 entries)"]);
        assert.match(d.details.verification.whiteoutTime, /^1704067200 /);
    });

    it("holds a focus while the panel is hidden, until its webview is ready again", async () => {
        const panel = panels[0]!;
        panel.visible = false;
        panel.viewState.fire();
        const before = panel.posted.length;
        await controller.show(kit.dir, "app");
        assert.equal(panel.posted.length, before, "nothing posted to a torn-down webview");
        panel.visible = true;
        panel.viewState.fire();
        panel.received.fire({ type: "ready" });
        await until(() => panel.posted.slice(before).some((m) => m.type === "focus"));
        assert.deepEqual(panel.posted.slice(before).map((m) => m.type), ["graph", "focus"]);
    });

    it("Show Layer Sizes: focuses the ref and asks the webview to read its sizes, also once it is ready again", async () => {
        const panel = panels[0]!;
        let before = panel.posted.length;
        await controller.show(kit.dir, "config", { sizes: true });
        assert.deepEqual(panel.posted.slice(before), [{ type: "readSizes", ref: "config" }]);
        panel.visible = false;
        panel.viewState.fire();
        before = panel.posted.length;
        await controller.show(kit.dir, "app", { sizes: true });
        panel.visible = true;
        panel.viewState.fire();
        panel.received.fire({ type: "ready" });
        await until(() => panel.posted.slice(before).some((m) => m.type === "readSizes"));
        assert.deepEqual(panel.posted.slice(before).map((m) => m.type), ["graph", "readSizes"]);
    });

    it("revives a panel from a valid saved state only", async () => {
        const bad = new FakePanel();
        await serializer!.deserializeWebviewPanel(bad, { source: kit.dir, zoom: "big" });
        assert.ok(bad.isDisposed);
        panels[0]!.dispose();
        const good = new FakePanel();
        await serializer!.deserializeWebviewPanel(good, { source: kit.dir, selected: "app", search: "", panX: 0, panY: 0, zoom: 1, compression: "gzip", level: -1, force: false });
        assert.ok(!good.isDisposed);
        assert.match(good.webview.html, /webview\.js/);
        good.received.fire({ type: "ready" });
        await until(() => good.posted.some((m) => m.type === "graph"));
    });
});
