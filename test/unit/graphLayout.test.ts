/**
 * The ref graph's layered layout: parents above children, no two nodes overlapping, labelled
 * edges routed through every layer they cross, deterministic, and sound on 2,000 refs and on
 * hostile input (cycles, dangling parents, duplicate ids).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DEFAULT_LAYOUT, edgeLabel, layoutGraph, separate, type GraphLayout, type LayoutInputNode } from "../../webview/graphLayout";
import { generateRefGraph } from "../helpers/refGraphs";

function byId(layout: GraphLayout): Map<string, GraphLayout["nodes"][number]> {
    return new Map(layout.nodes.map((n) => [n.id, n]));
}

function assertNoOverlaps(layout: GraphLayout): void {
    const rows = new Map<number, number[]>();
    for (const n of layout.nodes) {
        const row = rows.get(n.y) ?? [];
        row.push(n.x);
        rows.set(n.y, row);
    }
    for (const [y, xs] of rows) {
        xs.sort((a, b) => a - b);
        for (let i = 1; i < xs.length; i++) {
            assert.ok(xs[i]! - xs[i - 1]! >= DEFAULT_LAYOUT.nodeWidth + DEFAULT_LAYOUT.gapX - 1e-6, `nodes overlap at y=${y}: ${xs[i - 1]} and ${xs[i]}`);
        }
    }
}

function assertLayered(input: readonly LayoutInputNode[], layout: GraphLayout): void {
    const pos = byId(layout);
    for (const e of layout.edges) {
        assert.ok(pos.get(e.to)!.layer > pos.get(e.from)!.layer, `edge ${e.from} -> ${e.to} does not go down`);
        const first = e.points[0]!;
        const last = e.points.at(-1)!;
        assert.equal(first.x, pos.get(e.from)!.x);
        assert.equal(first.y, pos.get(e.from)!.y + DEFAULT_LAYOUT.nodeHeight);
        assert.deepEqual(last, { x: pos.get(e.to)!.x, y: pos.get(e.to)!.y });
        // One bend point per layer crossed.
        assert.equal(e.points.length, pos.get(e.to)!.layer - pos.get(e.from)!.layer + 1);
    }
    assert.equal(layout.nodes.length, new Set(input.map((n) => n.id)).size);
    for (const n of layout.nodes) {
        assert.ok(Number.isFinite(n.x) && n.x >= 0 && n.x <= layout.width, `${n.id} x=${n.x} outside 0..${layout.width}`);
        assert.equal(n.y, n.layer * DEFAULT_LAYOUT.layerGap);
    }
}

describe("graph layout", () => {
    const diamond: LayoutInputNode[] = [
        { id: "base", parents: [] },
        { id: "app", parents: [{ ref: "base", role: "parent", index: 0 }] },
        { id: "config", parents: [{ ref: "app", role: "parent", index: 0 }] },
        { id: "other", parents: [] },
        { id: "merged", parents: [{ ref: "config", role: "merge", index: 0 }, { ref: "other", role: "merge", index: 1 }] },
        { id: "delta", parents: [{ ref: "base", role: "lower", index: 0 }, { ref: "config", role: "upper", index: 0 }] },
    ];

    it("puts each ref below all of its parents (longest-path layers)", () => {
        const layout = layoutGraph(diamond);
        const pos = byId(layout);
        assert.deepEqual(["base", "app", "config", "other", "merged", "delta"].map((id) => pos.get(id)!.layer), [0, 1, 2, 0, 3, 3]);
        assertLayered(diamond, layout);
        assertNoOverlaps(layout);
        assert.equal(layout.layers, 4);
    });

    it("labels edges by role: layer parent, merge input n, diff lower and upper", () => {
        const layout = layoutGraph(diamond);
        const labels = layout.edges.map((e) => `${e.from}->${e.to}:${e.label}`).sort();
        assert.deepEqual(labels, [
            "app->config:parent",
            "base->app:parent",
            "base->delta:lower",
            "config->delta:upper",
            "config->merged:merge input 1",
            "other->merged:merge input 2",
        ]);
        assert.equal(edgeLabel("merge", 2), "merge input 3");
        for (const e of layout.edges) {
            const a = e.points.at(-2)!;
            const b = e.points.at(-1)!;
            assert.ok(e.labelY > Math.min(a.y, b.y) && e.labelY < Math.max(a.y, b.y), "label sits on the last segment");
        }
    });

    it("routes a long edge through one dummy per crossed layer", () => {
        const layout = layoutGraph(diamond);
        const lower = layout.edges.find((e) => e.role === "lower")!;
        assert.equal(lower.points.length, 4); // base (0) -> delta (3)
        assert.equal(layout.dummies, 2 /* base->delta */ + 2 /* other->merged */);
    });

    it("is deterministic", () => {
        const refs = generateRefGraph(400, 7);
        assert.deepEqual(layoutGraph(refs), layoutGraph(refs));
        assert.deepEqual(layoutGraph(refs.map((r) => ({ ...r, parents: [...r.parents] }))), layoutGraph(refs));
    });

    it("survives hostile input: cycles, self loops, dangling parents, duplicate ids", () => {
        const bad: LayoutInputNode[] = [
            { id: "a", parents: [{ ref: "c", role: "parent", index: 0 }] },
            { id: "b", parents: [{ ref: "a", role: "parent", index: 0 }] },
            { id: "c", parents: [{ ref: "b", role: "parent", index: 0 }] },
            { id: "self", parents: [{ ref: "self", role: "parent", index: 0 }] },
            { id: "orphan", parents: [{ ref: "missing", role: "upper", index: 0 }] },
            { id: "a", parents: [] },
        ];
        const layout = layoutGraph(bad);
        assert.deepEqual(layout.nodes.map((n) => n.id).sort(), ["a", "b", "c", "orphan", "self"]);
        assert.equal(layout.dropped, 3); // one cycle edge, the self loop, the dangling parent
        assertLayered(bad, layout);
        assertNoOverlaps(layout);
    });

    it("handles the empty graph", () => {
        const layout = layoutGraph([]);
        assert.deepEqual([layout.nodes.length, layout.edges.length, layout.width, layout.height], [0, 0, 0, 0]);
    });

    it("lays out 2,000 refs without overlaps, every edge downwards", () => {
        const refs = generateRefGraph(2000, 42);
        const kinds = new Set(refs.map((r) => r.kind));
        assert.deepEqual([...kinds].sort(), ["BaseLayer", "Diff", "Layer", "Merge"]);
        const layout = layoutGraph(refs);
        assert.equal(layout.nodes.length, 2000);
        assert.equal(layout.edges.length, refs.reduce((n, r) => n + r.parents.length, 0));
        assert.equal(layout.dropped, 0);
        assertLayered(refs, layout);
        assertNoOverlaps(layout);
    });
});

describe("separate (minimum-separation placement)", () => {
    it("keeps positions that already respect the separation", () => {
        assert.deepEqual(separate([0, 100, 300], [10, 10, 10], 5), [0, 100, 300]);
    });

    it("pushes overlapping nodes apart symmetrically around their desired mean", () => {
        const xs = separate([50, 50], [20, 20], 10); // need 30 apart
        assert.deepEqual(xs, [35, 65]);
    });

    it("never violates the separation, whatever it is asked", () => {
        const desired = [5, -3, 40, 40, 40, 12, 90, 0];
        const widths = [10, 30, 10, 10, 20, 10, 10, 14];
        const xs = separate(desired, widths, 4);
        for (let i = 1; i < xs.length; i++) {
            assert.ok(xs[i]! - xs[i - 1]! >= (widths[i]! + widths[i - 1]!) / 2 + 4 - 1e-9);
        }
        // Least squares: the mean displacement is zero (the pooled blocks keep their means).
        const drift = xs.reduce((s, x, i) => s + x - desired[i]!, 0);
        assert.ok(Math.abs(drift) < 1e-9);
    });
});
