/**
 * The ref model against spec §1.1–§1.4: kind() precedence, layerWalk/layerChain/layerSet for
 * every row of the §1.3 table (Diff cases a/b/c included), cm.Merge flattening and aliasing,
 * cm.Diff of an ancestor, isTypeWindows.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isEngineError } from "../../src/engine/errors";
import { cmDiff, cmMerge, isTypeWindows, Ref, type LayerType } from "../../src/engine/refs";

const base = (id: string, layerType?: LayerType): Ref => new Ref({ id, snapshot: `/snap/${id}`, layerType });
const layer = (id: string, parent: Ref, layerType?: LayerType): Ref =>
    new Ref({ id, layerParent: parent, snapshot: `/snap/${id}`, layerType });
const merge = (id: string, ...parents: Ref[]): Ref => new Ref({ id, mergeParents: parents });
const diff = (id: string, lower: Ref | null, upper: Ref | null): Ref => new Ref({ id, diffParents: { lower, upper } });
const ids = (refs: readonly Ref[]): string[] => refs.map((r) => r.id);

// B <- P <- L (a chain of three); B2 and X unrelated base layers.
const B = base("B");
const P = layer("P", B);
const L = layer("L", P);
const B2 = base("B2");
const X = base("X");

describe("kind()", () => {
    it("is BaseLayer, Layer, Merge or Diff by which parents are set", () => {
        assert.equal(B.kind(), "BaseLayer");
        assert.equal(P.kind(), "Layer");
        assert.equal(merge("M", B, B2).kind(), "Merge");
        assert.equal(diff("D", B, P).kind(), "Diff");
    });

    it("is Diff even when lower and upper are both nil", () => {
        assert.equal(diff("D", null, null).kind(), "Diff");
    });

    it("refuses more than one kind of parent (parentRefs is a disjoint union)", () => {
        assert.throws(
            () => new Ref({ id: "bad", layerParent: B, diffParents: { lower: B, upper: null } }),
            (e: unknown) => isEngineError(e, "Internal"),
        );
    });
});

describe("layerChain / layerSet (spec §1.3 table)", () => {
    const rows: Array<[string, Ref, string[]]> = [
        ["BaseLayer B", B, ["B"]],
        ["Layer L on parent P", L, ["B", "P", "L"]],
        ["Merge(P1..Pn): concatenation", merge("M", L, B2), ["B", "P", "L", "B2"]],
        ["Merge keeps duplicates", merge("M", P, P), ["B", "P", "B", "P"]],
        ["Diff(lower, upper) with upper a Layer directly on lower: upper's blob (b)", diff("D", P, L), ["L"]],
        ["Diff(nil, upper BaseLayer): upper (a)", diff("D", null, B), ["B"]],
        ["Diff(nil, upper Layer): own blob (c)", diff("D", null, L), ["D"]],
        ["Diff(lower, nil): own blob", diff("D", L, null), ["D"]],
        ["Diff(nil, nil): own blob", diff("D", null, null), ["D"]],
        ["Diff over non-ancestors: own blob", diff("D", B2, L), ["D"]],
        ["Diff with a Merge upper: own blob", diff("D", B, merge("M", B, X)), ["D"]],
        ["Diff(ancestor two apart) built directly: own blob", diff("D", B, L), ["D"]],
        ["Diff(L, L): own blob (an empty diff)", diff("D", L, L), ["D"]],
        ["Layer on a Merge", layer("T", merge("M", P, X)), ["B", "P", "X", "T"]],
        ["Layer on an own-blob Diff", layer("T", diff("D", B2, L)), ["D", "T"]],
        ["Layer on a Diff reusing its upper", layer("T", diff("D", P, L)), ["L", "T"]],
        ["Merge of a Diff reusing upper and a Layer", merge("M", diff("D", P, L), P), ["L", "B", "P"]],
    ];
    for (const [name, ref, want] of rows) {
        it(name, () => {
            assert.deepEqual(ids(ref.layerChain()), want);
            assert.deepEqual([...ref.layerSet()].sort(), [...new Set(want)].sort());
        });
    }

    it("never contains a Merge, nor a Diff that reuses its upper", () => {
        const d = diff("D", P, L);
        const m = merge("M", d, merge("M2", B2, X));
        assert.deepEqual(ids(m.layerChain()), ["L", "B2", "X"]);
        assert.ok(!m.layerSet().has("M") && !m.layerSet().has("D") && !m.layerSet().has("M2"));
    });

    it("reusedUpper/ownsBlob follow cases a, b, c", () => {
        assert.equal(diff("D", P, L).reusedUpper(), L);
        assert.equal(diff("D", null, B).reusedUpper(), B);
        assert.equal(diff("D", B, L).reusedUpper(), null);
        assert.equal(diff("D", B, L).ownsBlob(), true);
        assert.equal(diff("D", P, L).ownsBlob(), false);
        assert.equal(merge("M", B, X).ownsBlob(), false);
        assert.equal(L.ownsBlob(), true);
    });
});

describe("cm.Merge (mergeFlattening)", () => {
    it("skips nil inputs", () => {
        const m = cmMerge("M", [null, P, null, X])!;
        assert.deepEqual(ids(m.mergeParents), ["P", "X"]);
    });

    it("flattens Merge inputs into their merge parents, keeping duplicates", () => {
        const inner = cmMerge("I", [P, X])!;
        const m = cmMerge("M", [inner, B2, inner])!;
        assert.deepEqual(ids(m.mergeParents), ["P", "X", "B2", "P", "X"]);
        assert.deepEqual(ids(m.layerChain()), ["B", "P", "X", "B2", "B", "P", "X"]);
    });

    it("gives no ref for no inputs", () => {
        assert.equal(cmMerge("M", []), null);
        assert.equal(cmMerge("M", [null, null]), null);
    });

    it("gives the input itself for one input (an alias, no new ref)", () => {
        assert.equal(cmMerge("M", [null, L]), L);
    });

    it("makes a new Merge from a single Merge input with two parents", () => {
        const inner = cmMerge("I", [P, X])!;
        const m = cmMerge("M", [inner])!;
        assert.notEqual(m, inner);
        assert.equal(m.id, "M");
        assert.deepEqual(ids(m.mergeParents), ["P", "X"]);
    });
});

describe("cm.Diff", () => {
    it("refuses a nil lower (lower ref for diff cannot be nil)", () => {
        assert.throws(() => cmDiff("D", null, L), (e: unknown) => isEngineError(e, "InvalidArgument"));
    });

    it("makes a Diff reusing upper's blob when upper is a Layer directly on lower (diffReusesUpperBlob)", () => {
        const d = cmDiff("D", P, L);
        assert.equal(d.kind(), "Diff");
        assert.deepEqual(ids(d.layerChain()), ["L"]);
    });

    it("turns a strict ancestor more than one layer apart into a Merge of per-layer Diffs", () => {
        const C = layer("C", L);
        const d = cmDiff("D", B, C);
        assert.equal(d.kind(), "Merge");
        assert.equal(d.id, "D");
        assert.deepEqual(ids(d.mergeParents), ["D~P", "D~L", "D~C"]);
        for (const p of d.mergeParents) {
            assert.equal(p.kind(), "Diff");
            assert.ok(p.synthetic);
            assert.ok(p.reusedUpper(), `${p.id} reuses its upper's blob`);
        }
        assert.equal(d.mergeParents[1]!.description, 'diff "P" -> "L"');
        assert.deepEqual(ids(d.layerChain()), ["P", "L", "C"]);
    });

    it("keeps an extra BaseLayer of the upper's chain as it is", () => {
        const T = layer("T", cmMerge("M", [B, X])!);
        const d = cmDiff("D", B, T);
        assert.equal(d.kind(), "Merge");
        assert.deepEqual(ids(d.mergeParents), ["X", "D~T"]);
        assert.equal(d.mergeParents[0], X);
        assert.deepEqual(ids(d.layerChain()), ["X", "T"]);
    });

    it("names a layer that occurs twice uniquely", () => {
        // Merge(B, P, P) has the chain [B, B, P, B, P]: four layers above B.
        const d = cmDiff("D", B, cmMerge("M", [B, P, P])!);
        assert.deepEqual(ids(d.mergeParents), ["B", "D~P", "B", "D~P~3"]);
        assert.deepEqual(ids(d.layerChain()), ["B", "P", "B", "P"]);
    });

    it("makes an own-blob Diff when exactly one layer apart through a Merge, or not an ancestor", () => {
        assert.deepEqual(ids(cmDiff("D", B, cmMerge("M", [B, X])!).layerChain()), ["D"]);
        assert.deepEqual(ids(cmDiff("D", B2, L).layerChain()), ["D"]);
        assert.deepEqual(ids(cmDiff("D", L, null).layerChain()), ["D"]);
        assert.deepEqual(ids(cmDiff("D", L, L).layerChain()), ["D"]);
    });
});

describe("isTypeWindows (§1.4)", () => {
    const W = base("W", "windows");
    it("is the ref's own layer type", () => {
        assert.equal(isTypeWindows(W), true);
        assert.equal(isTypeWindows(B), false);
    });
    it("recurses into the layer parent and merge parents", () => {
        assert.equal(isTypeWindows(layer("T", layer("S", W))), true);
        assert.equal(isTypeWindows(merge("M", B, layer("T", W))), true);
        assert.equal(isTypeWindows(merge("M", B, X)), false);
    });
    it("does not look at diff parents", () => {
        assert.equal(isTypeWindows(diff("D", W, layer("T", W))), false);
        assert.equal(isTypeWindows(new Ref({ id: "D", diffParents: { lower: B, upper: X }, layerType: "windows" })), true);
    });
});
