/**
 * toViewModel on real computed workspaces: the chainID and blobChainID derivations shown in the
 * graph, recomputed step by step from the layer chain, land exactly on the engine's reported
 * values for every ref kind; the variants read sizes, compression and BuildKit comparability
 * from the reports.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { chainID as imageChainID, openWorkspaceEngine, type RefReport, type WorkspaceEngine } from "../../src/engine";
import type { Digest } from "../../src/engine";
import { deriveChainID, toDetailsView, toGraphView, toNodeView } from "../../src/extension/graph/toViewModel";
import { isGraphView, isRefDetailsView } from "../../src/protocol/guards";
import { standardWorkspace, type WorkspaceKit } from "../helpers/workspaceKit";

const sha = (s: string): string => `sha256:${createHash("sha256").update(s).digest("hex")}`;

describe("toViewModel on a computed workspace", () => {
    let kit: WorkspaceKit;
    let engine: WorkspaceEngine;
    const reports = new Map<string, RefReport>();
    const timings = new Map<string, number>();
    const report = async (id: string): Promise<RefReport> => {
        const r = await engine.report(id);
        reports.set(id, r);
        return r;
    };
    const details = (r: RefReport) => toDetailsView(r, (id) => reports.get(id), (d) => timings.get(d));

    before(async () => {
        kit = standardWorkspace([
            { id: "merged", merge: ["config", "other"] },
            { id: "delta", diff: { lower: "base", upper: "config" } },
            { id: "reuse", diff: { lower: "app", upper: "config" } },
        ]);
        engine = await openWorkspaceEngine(kit.dir);
    });
    after(() => kit.dispose());

    it("before any compute: nodes without IDs, derivations incomplete", async () => {
        const r = await report("config");
        const d = details(r);
        assert.equal(d.chainID.check, "incomplete");
        assert.equal(d.blobChainID.check, "incomplete");
        assert.equal(d.chainID.value, "");
        assert.deepEqual(d.variants, []);
        assert.equal(toNodeView(r).diffID, "");
        assert.ok(isRefDetailsView(d));
    });

    it("derives chainID and blobChainID of every kind exactly as the engine reports them", async () => {
        for (const id of engine.refIds()) await engine.computeBlobChain(id, { createIfNeeded: true, compression: { type: "gzip" } });
        const all = await Promise.all(engine.refIds().map(report));
        // Layers outside the declared refs (a Diff's per-layer diffs) feed derivations too.
        for (const r of all) for (const l of r.layers) if (!reports.has(l)) await report(l);
        const kinds = new Set<string>();
        for (const r of all) {
            kinds.add(r.kind);
            const d = details(r);
            assert.ok(isRefDetailsView(d), `${r.id}: a valid DTO`);
            assert.match(r.chainID ?? "", /^sha256:[0-9a-f]{64}$/, `${r.id} has a chainID`);
            assert.equal(d.chainID.check, "match", `${r.id} chainID`);
            assert.equal(d.blobChainID.check, "match", `${r.id} blobChainID`);
            assert.equal(d.chainID.value, r.chainID);
            assert.equal(d.blobChainID.value, r.blobChainID);
            assert.equal(d.chainID.steps.at(-1)!.result, r.chainID);
            assert.equal(d.blobChainID.steps.at(-1)!.result, r.blobChainID);
            // An independent recomputation with the engine's image-spec ChainID.
            const layers = r.layers.map((l) => reports.get(l)!);
            assert.equal(imageChainID(layers.map((l) => l.diffID!)), r.chainID);
            assert.equal(imageChainID(layers.map((l) => sha(`${l.blob!.digest} ${l.diffID}`) as Digest)), r.blobChainID);
            // One chainID step per layer; a blobID per layer plus a chain step per layer after the first.
            assert.equal(d.chainID.steps.length, r.layers.length);
            assert.equal(d.blobChainID.steps.length, 2 * r.layers.length - 1);
            assert.deepEqual(d.layers, r.layers);
        }
        assert.deepEqual([...kinds].sort(), ["BaseLayer", "Diff", "Layer", "Merge"]);
    });

    it("shows each hash step with its exact input", () => {
        const config = reports.get("config")!;
        const [base, app] = ["base", "app"].map((id) => reports.get(id)!);
        const d = details(config);
        const c = d.chainID.steps;
        assert.deepEqual(c[0], { layer: "base", formula: "chainID(base) = diffID(base)", input: base!.diffID, hash: "none", result: base!.diffID });
        assert.equal(c[1]!.input, `${base!.diffID} ${app!.diffID}`);
        assert.equal(c[1]!.result, sha(c[1]!.input));
        assert.equal(c[1]!.formula, 'chainID(app) = sha256(chainID(base) + " " + diffID(app))');
        const b = d.blobChainID.steps;
        // BuildKit's base case: blobChainID(L1) = sha256(blob + " " + diffID), no chain step.
        assert.equal(b[0]!.input, `${base!.blob!.digest} ${base!.diffID}`);
        assert.equal(b[0]!.result, base!.blobChainID);
        assert.equal(b[1]!.formula, 'blobID(app) = sha256(blob(app) + " " + diffID(app))');
        assert.equal(b[2]!.input, `${b[0]!.result} ${b[1]!.result}`);
        assert.equal(b[2]!.result, app!.blobChainID);
    });

    it("explains BuildKit's recorded IDs where they differ from the image's (a Diff reusing its upper)", () => {
        const reuse = reports.get("reuse")!;
        assert.deepEqual(reuse.layers, ["config"]);
        assert.ok(reuse.buildkit, "BuildKit records the upper's IDs");
        const d = details(reuse);
        assert.equal(d.buildkit.chainID, reports.get("config")!.chainID);
        assert.match(d.buildkit.reason, /upper/);
        assert.equal(details(reports.get("app")!).buildkit.reason, "");
    });

    it("flags a derivation that does not reach the reported value", () => {
        const app = reports.get("app")!;
        const forged = { ...app, chainID: sha("forged") as Digest };
        assert.equal(details(forged).chainID.check, "mismatch");
        assert.equal(deriveChainID([], null).check, "incomplete");
    });

    it("lists the variants side by side: compression, sizes, ratio inputs, time, BuildKit comparability", async () => {
        await engine.computeBlobChain("app", { createIfNeeded: true, compression: { type: "zstd", force: true } });
        await engine.computeBlobChain("app", { createIfNeeded: true, compression: { type: "uncompressed", force: true } });
        const app = await report("app");
        timings.set(app.blob!.digest, 12);
        const d = details(app);
        const by = new Map(d.variants.map((v) => [v.compression, v]));
        assert.deepEqual([...by.keys()].sort(), ["gzip", "uncompressed", "zstd"]);
        const tar = by.get("uncompressed")!;
        assert.equal(tar.digest, app.diffID, "the uncompressed variant is the layer tar");
        assert.equal(tar.uncompressedSize, tar.size);
        for (const v of d.variants) {
            assert.equal(v.uncompressedSize, tar.size, `${v.compression}: uncompressed size from the tar variant`);
            assert.equal(v.uncompressedDigest, app.diffID);
            assert.ok(v.size > 0);
        }
        assert.equal(by.get("gzip")!.role, "main");
        assert.equal(by.get("gzip")!.timeMs, 12);
        assert.equal(by.get("zstd")!.timeMs, -1);
        assert.equal(by.get("gzip")!.comparable, "buildkit");
        assert.equal(by.get("zstd")!.comparable, "not-comparable");
        assert.equal(by.get("uncompressed")!.comparable, "buildkit");
        assert.equal(d.snapshot.endsWith("snapshots/app"), true);
    });

    it("builds the graph DTO with labelled parents", async () => {
        const g = toGraphView(kit.dir, "ws", engine.refIds().map((id) => reports.get(id)!));
        assert.ok(isGraphView(g));
        const by = new Map(g.nodes.map((n) => [n.id, n]));
        assert.deepEqual(by.get("app")!.parents, [{ ref: "base", role: "parent", index: 0 }]);
        assert.deepEqual(by.get("merged")!.parents.map((p) => `${p.role}${p.index}:${p.ref}`), ["merge0:config", "merge1:other"]);
        assert.deepEqual(by.get("reuse")!.parents.map((p) => `${p.role}:${p.ref}`), ["lower:app", "upper:config"]);
        // A Diff across two layers is BuildKit's Merge of per-layer Diffs (refs the graph must fetch).
        assert.equal(by.get("delta")!.kind, "Merge");
        const perLayer = await Promise.all(by.get("delta")!.parents.map((p) => report(p.ref)));
        assert.deepEqual(perLayer.map((r) => [r.kind, toNodeView(r).parents.map((p) => `${p.role}:${p.ref}`)]), [
            ["Diff", ["lower:base", "upper:app"]],
            ["Diff", ["lower:app", "upper:config"]],
        ]);
        assert.deepEqual(by.get("base")!.parents, []);
    });
});
