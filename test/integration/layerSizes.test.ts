/**
 * computeLayerSizes on a three-layer chain whose figures are worked out by hand: per layer and
 * per directory added / modified / deleted bytes and entries, bytes shadowed by later layers,
 * and dive's efficiency and wasted bytes by dive's rules; the same from the snapshots and from
 * blobs in every compression.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type CompressionType, computeLayerSizes, openWorkspaceEngine, type SizeReport, type WorkspaceEngine } from "../../src/engine";
import { WorkspaceKit } from "../helpers/workspaceKit";

const bytes = (n: number, c = "x"): string => c.repeat(n);
let kit: WorkspaceKit;
let engine: WorkspaceEngine;

before(async () => {
    kit = new WorkspaceKit();
    kit.snapshot("base", { from: null, write: { "a/big": bytes(1000), "a/small": bytes(10), "b/x": bytes(100), keep: bytes(5) } });
    kit.snapshot("l1", { from: "base", write: { "a/big": bytes(2000, "y"), "c/new": bytes(50) }, remove: ["b"] });
    kit.snapshot("l2", { from: "l1", write: { "a/extra": bytes(7) }, remove: ["c/new"] });
    kit.refs([
        { id: "base", snapshot: "snapshots/base" },
        { id: "l1", parent: "base", snapshot: "snapshots/l1" },
        { id: "l2", parent: "l1", snapshot: "snapshots/l2" },
    ]);
    engine = await openWorkspaceEngine(kit.dir);
    await engine.computeBlobChain("l2", { createIfNeeded: true, compression: { type: "gzip" } });
    for (const type of ["uncompressed", "zstd", "estargz"] as const) {
        await engine.computeBlobChain("l2", { createIfNeeded: true, compression: { type, force: true } });
    }
});
after(() => kit?.dispose());

const tally = (count: number, b: number): { count: number; bytes: number } => ({ count, bytes: b });

function assertFigures(r: SizeReport, what: string): void {
    const [base, l1, l2] = r.layers;
    assert.deepEqual(r.layers.map((l) => l.refId), ["base", "l1", "l2"], what);
    // base: dirs a, b and files a/big, a/small, b/x, keep.
    assert.deepEqual([base!.added, base!.modified, base!.deleted], [tally(6, 1115), tally(0, 0), tally(0, 0)], `${what} base`);
    // l1: a/big rewritten, c/ and c/new added, b/ (holding 100 bytes) deleted.
    assert.deepEqual([l1!.added, l1!.modified, l1!.deleted], [tally(2, 50), tally(1, 2000), tally(1, 100)], `${what} l1`);
    assert.deepEqual([l2!.added, l2!.modified, l2!.deleted], [tally(1, 7), tally(0, 0), tally(1, 50)], `${what} l2`);
    // Shadowed: base's a/big (overwritten) and b/x (deleted); l1's c/new (deleted by l2).
    assert.deepEqual(r.layers.map((l) => l.shadowed), [tally(2, 1100), tally(1, 50), tally(0, 0)], `${what} shadowed`);
    assert.deepEqual(r.shadowed, tally(3, 1150));
    assert.equal(r.contentBytes, 1115 + 2050 + 7);
    // Directories, largest first: l1 carries 2000 bytes under /a and 50 under /c.
    assert.deepEqual(l1!.directories.map((d) => [d.path, d.bytes, d.deleted.bytes]), [["/", 2050, 100], ["/a", 2000, 0], ["/c", 50, 0]], `${what} l1 dirs`);
    // dive: /a/big seen twice (1000 + 2000), /c/new twice (50 + a whiteout of a file: 0).
    const d = r.dive;
    assert.deepEqual(d.inefficiencies.map((x) => [x.path, x.layers, x.cumulativeBytes]), [["/a/big", [0, 1], 3000], ["/c/new", [1, 2], 50]], what);
    assert.equal(d.wastedBytes, 3050);
    assert.equal(d.userBytes, 2057);
    // Σ min = 1000 + 10 + 100 + 5 + 100 (whiteout of b/, sized as what b/ held) + 0 + 7; Σ total adds 2000 + 50.
    assert.equal(d.efficiency, 1222 / 3272);
    assert.equal(d.wastedUserFraction, 3050 / 2057);
}

describe("computeLayerSizes", () => {
    it("from the snapshots", async () => {
        const r = await computeLayerSizes(engine, "l2", { source: "snapshot" });
        assertFigures(r, "snapshots");
        assert.equal(r.compressedBytes, null);
        assert.ok(r.layers.every((l) => l.blob === null && l.tarBytes === null));
    });

    for (const compression of ["uncompressed", "gzip", "zstd", "estargz"] as CompressionType[]) {
        it(`from ${compression} blobs`, async () => {
            const r = await computeLayerSizes(engine, "l2", { source: "blob", compression });
            assertFigures(r, compression);
            const reports = await Promise.all(["base", "l1", "l2"].map((id) => engine.report(id)));
            r.layers.forEach((l, i) => {
                const v = reports[i]!.variants.find((x) => x.digest === l.blob!.digest)!;
                assert.equal(l.blob!.compressedBytes, v.size);
                assert.equal(l.blob!.compression, compression);
                const tar = reports[i]!.variants.find((x) => x.mediaType === "application/vnd.oci.image.layer.v1.tar")!;
                if (compression !== "estargz") assert.equal(l.tarBytes, tar.size, "the layer tar's size");
                else assert.ok(l.tarBytes! > tar.size, "eStargz records its uncompressed size with the TOC");
            });
            assert.equal(r.compressedBytes, r.layers.reduce((a, l) => a + l.blob!.compressedBytes, 0));
        });
    }
});
