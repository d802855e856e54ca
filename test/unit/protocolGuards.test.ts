/**
 * The message guards: every well-formed message passes, and a message with any one field
 * missing, of the wrong type, out of range or of an unknown kind is rejected, on both sides.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isHostToWebview, isPersistedState, isWebviewToHost } from "../../src/protocol/guards";
import type { HostToWebview, PersistedState, WebviewToHost } from "../../src/protocol/messages";
import type { RefDetailsView, RefNodeView, SizesView } from "../../src/protocol/viewModel";

const D = `sha256:${"a".repeat(64)}`;

const node: RefNodeView = {
    id: "app",
    kind: "Layer",
    description: "RUN make",
    parents: [{ ref: "base", role: "parent", index: 0 }],
    diffID: D,
    chainID: D,
    blobChainID: D,
    blob: D,
    digests: [D],
    verification: "different-writer",
    verdict: "same files, different tar writer",
};

const details: RefDetailsView = {
    id: "app",
    kind: "Layer",
    description: "",
    snapshot: "/ws/snapshots/app",
    layers: ["base", "app"],
    diffID: D,
    chainID: { value: D, check: "match", steps: [{ layer: "base", formula: "chainID(base) = diffID(base)", input: D, hash: "none", result: D }] },
    blobChainID: { value: D, check: "incomplete", steps: [] },
    buildkit: { chainID: "", blobChainID: "", reason: "" },
    variants: [
        {
            digest: D,
            mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
            compression: "gzip",
            size: 10,
            uncompressedSize: -1,
            uncompressedDigest: D,
            timeMs: -1,
            comparable: "buildkit",
            role: "main",
            path: "/ws/.layerscope/blobs/sha256/aa",
        },
    ],
    verification: {
        state: "verified",
        verdict: "identical after inference",
        check: "Verify Image (/images/app)",
        at: 1795890076000,
        explanation: ["identical after inference: …"],
        whiteoutTime: "0 (no whiteouts in the layer)",
        nameLookup: 'uid 0 → "root"; gid 0 → "root"',
        writerTraits: [],
    },
};

const counts = { added: { count: 2, bytes: 30 }, modified: { count: 1, bytes: 3 }, deleted: { count: 1, bytes: 0 } };
const sizes: SizesView = {
    ref: "app",
    layers: [{ ref: "app", index: 1, blobBytes: 120, compression: "gzip", tarBytes: 4096, changes: counts, shadowed: { count: 1, bytes: 3 }, dirs: [{ path: "/app", changes: counts }], dirCount: 1 }],
    compressedBytes: -1,
    contentBytes: 33,
    shadowed: { count: 1, bytes: 3 },
    efficiency: 0.925,
    wastedBytes: 6,
    userBytes: 33,
    inefficiencies: [{ path: "/app/server.js", layers: [0, 1], cumulativeBytes: 6 }],
    inefficiencyCount: 1,
    origin: "blob",
};

const hostMessages: HostToWebview[] = [
    { type: "graph", graph: { source: "/ws", label: "ws", nodes: [node] } },
    { type: "nodes", source: "/ws", nodes: [node] },
    { type: "details", source: "/ws", details },
    { type: "progress", source: "/ws", progress: { ref: "app", operation: "compute", phase: "diff", detail: "", error: "", elapsedMs: 0 } },
    { type: "focus", ref: "app" },
    { type: "reply", id: 3, ok: false, error: "boom" },
    { type: "failure", message: "cannot read" },
    { type: "readSizes", ref: "app" },
    { type: "sizes", source: "/ws", sizes },
    { type: "sizesFailed", source: "/ws", ref: "app", message: "no such ref" },
];

const webviewMessages: WebviewToHost[] = [
    { type: "ready" },
    { type: "select", ref: "app" },
    { type: "run", id: 1, command: "convert", ref: "app", compression: "zstd", level: 3, force: true },
    { type: "copy", text: D },
    { type: "contents", action: "browseLayer", ref: "app" },
    { type: "sizes", ref: "app" },
];

const clone = <T>(x: T): T => JSON.parse(JSON.stringify(x)) as T;

/** Every path to a leaf (or array) of an object, as key lists. */
function paths(x: unknown, prefix: (string | number)[] = []): (string | number)[][] {
    if (typeof x !== "object" || x === null) return [prefix];
    const out: (string | number)[][] = prefix.length > 0 ? [prefix] : [];
    for (const [k, v] of Object.entries(x)) out.push(...paths(v, [...prefix, Array.isArray(x) ? Number(k) : k]));
    return out;
}

function mutate(x: unknown, path: (string | number)[], f: (parent: Record<string | number, unknown>, key: string | number) => void): unknown {
    const copy = clone(x) as Record<string | number, unknown>;
    let parent = copy;
    for (const k of path.slice(0, -1)) parent = parent[k] as Record<string | number, unknown>;
    f(parent, path.at(-1)!);
    return copy;
}

/** Replacements no field accepts: each field rejects at least the value of another type. */
function wrongValues(value: unknown): unknown[] {
    const wrong: unknown[] = [null, undefined, { nested: true }];
    if (typeof value !== "string") wrong.push("text");
    if (typeof value !== "number") wrong.push(7);
    if (typeof value !== "boolean") wrong.push(true);
    if (!Array.isArray(value)) wrong.push(["x"]);
    if (typeof value === "number") wrong.push(NaN, Infinity);
    return wrong.filter((w) => JSON.stringify(w) !== JSON.stringify(value) || (typeof w === "number" && !Number.isFinite(w)));
}

function fieldByField(messages: readonly object[], guard: (x: unknown) => boolean): void {
    for (const m of messages) {
        assert.ok(guard(m), `accepts ${JSON.stringify(m)}`);
        assert.ok(guard(clone(m)), "accepts after a JSON round trip");
        for (const path of paths(m)) {
            if (typeof path.at(-1) === "number") continue; // array elements are checked through their fields
            const missing = mutate(m, path, (p, k) => delete p[k]);
            assert.ok(!guard(missing), `rejects ${JSON.stringify(m)} without ${path.join(".")}`);
            const value = path.reduce<unknown>((o, k) => (o as Record<string | number, unknown>)[k], m);
            for (const w of wrongValues(value)) {
                if (path.at(-1) === "type") continue;
                const bad = mutate(m, path, (p, k) => (p[k] = w));
                assert.ok(!guard(bad), `rejects ${path.join(".")} = ${String(w)} in ${m.constructor.name} ${(m as { type?: string }).type}`);
            }
        }
    }
}

describe("protocol guards", () => {
    it("host → webview: accepts each message, rejects any one field missing or mistyped", () => {
        fieldByField(hostMessages, isHostToWebview);
    });

    it("webview → host: accepts each message, rejects any one field missing or mistyped", () => {
        fieldByField(webviewMessages, isWebviewToHost);
    });

    it("rejects unknown types, non-objects and enum values outside their set", () => {
        for (const bad of [null, undefined, 42, "ready", [], [{ type: "ready" }], { type: "nope" }, { type: "toString" }, { type: "__proto__" }]) {
            assert.ok(!isWebviewToHost(bad), JSON.stringify(bad));
            assert.ok(!isHostToWebview(bad), JSON.stringify(bad));
        }
        const run = webviewMessages[2]!;
        assert.ok(!isWebviewToHost({ ...run, command: "rm -rf" }));
        assert.ok(!isWebviewToHost({ ...run, compression: "brotli" }));
        assert.ok(!isWebviewToHost({ ...run, level: 23 }));
        assert.ok(!isWebviewToHost({ ...run, level: -2 }));
        assert.ok(!isWebviewToHost({ ...run, level: 1.5 }));
        assert.ok(!isWebviewToHost({ ...run, id: -1 }));
        assert.ok(!isWebviewToHost({ ...run, ref: "" }));
        assert.ok(!isWebviewToHost({ type: "copy", text: "x".repeat(5000) }));
        assert.ok(!isWebviewToHost({ type: "contents", action: "deleteLayer", ref: "app" }));
        assert.ok(!isWebviewToHost({ type: "contents", action: "browseMerged", ref: "" }));
        assert.ok(!isHostToWebview({ type: "sizes", source: "/ws", sizes: { ...sizes, efficiency: 1.5 } }));
        assert.ok(!isHostToWebview({ type: "sizes", source: "/ws", sizes: { ...sizes, wastedBytes: -1 } }));
        assert.ok(!isHostToWebview({ type: "sizes", source: "/ws", sizes: { ...sizes, compressedBytes: -2 } }));
        assert.ok(!isHostToWebview({ type: "sizes", source: "/ws", sizes: { ...sizes, inefficiencies: [{ ...sizes.inefficiencies[0], layers: [-1] }] } }));
        assert.ok(!isHostToWebview({ type: "sizes", source: "/ws", sizes: { ...sizes, origin: "disk" } }));
        assert.ok(!isHostToWebview({ type: "sizes", source: "/ws", sizes: { ...sizes, layers: [{ ...sizes.layers[0], blobBytes: -2 }] } }));
        assert.ok(!isHostToWebview({ type: "graph", graph: { source: "/ws", label: "ws", nodes: [{ ...node, kind: "Snapshot" }] } }));
        assert.ok(!isHostToWebview({ type: "graph", graph: { source: "/ws", label: "ws", nodes: [{ ...node, parents: [{ ref: "b", role: "child", index: 0 }] }] } }));
        assert.ok(!isHostToWebview({ type: "details", source: "/ws", details: { ...details, variants: [{ ...details.variants[0], comparable: "yes" }] } }));
        assert.ok(!isHostToWebview({ type: "details", source: "/ws", details: { ...details, chainID: { ...details.chainID, check: "ok" } } }));
        // Verification: a badge state outside the five, a negative time, a non-string explanation line.
        assert.ok(!isHostToWebview({ type: "nodes", source: "/ws", nodes: [{ ...node, verification: "trusted" }] }));
        assert.ok(!isHostToWebview({ type: "details", source: "/ws", details: { ...details, verification: { ...details.verification, state: "ok" } } }));
        assert.ok(!isHostToWebview({ type: "details", source: "/ws", details: { ...details, verification: { ...details.verification, at: -1 } } }));
        assert.ok(!isHostToWebview({ type: "details", source: "/ws", details: { ...details, verification: { ...details.verification, explanation: [3] } } }));
        for (const state of ["verified", "different-compressor", "different-writer", "content-differs", "unverified"]) {
            assert.ok(isHostToWebview({ type: "nodes", source: "/ws", nodes: [{ ...node, verification: state }] }), state);
        }
    });

    it("checks the state a panel is revived from", () => {
        const state: PersistedState = { source: "/ws", selected: "app", search: "", panX: 1, panY: 2, zoom: 0.5, compression: "gzip", level: -1, force: false };
        fieldByField([state], isPersistedState);
        assert.ok(!isPersistedState({ ...state, zoom: 0 }));
        assert.ok(!isPersistedState(undefined));
    });
});
