/**
 * computeBlobChain scenarios, named after the BuildKit behaviours they pin (cache/blobs.go,
 * cache/manager_test.go): every kind, the filter, reuse, variants and Force, first-wins chain
 * metadata, GC with leases, deduplicated concurrent work.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { chainID, type Digest, openWorkspaceEngine, writeDiff } from "../../src/engine";
import { standardWorkspace, type WorkspaceKit } from "../helpers/workspaceKit";

const kits: WorkspaceKit[] = [];
after(() => kits.forEach((k) => k.dispose()));

function kit(extra: readonly object[] = []): WorkspaceKit {
    const k = standardWorkspace(extra);
    kits.push(k);
    return k;
}

const sha = (s: string): Digest => `sha256:${createHash("sha256").update(s).digest("hex")}`;

describe("computeBlobChain", () => {
    it("baseLayerAndLayerFormulas: chainID and blobChainID as BuildKit's manager_test pins them", async () => {
        const e = await openWorkspaceEngine(kit().dir);
        await e.computeBlobChain("app", { createIfNeeded: true });
        const base = await e.report("base");
        const app = await e.report("app");
        assert.equal(base.chainID, base.diffID);
        assert.equal(base.blobChainID, chainID([base.blob!.digest, base.diffID!]));
        assert.equal(app.chainID, chainID([base.diffID!, app.diffID!]));
        const appBlobID = sha(`${app.blob!.digest} ${app.diffID}`);
        assert.equal(app.blobChainID, sha(`${base.blobChainID} ${appBlobID}`));
        assert.equal(app.buildkit, null, "BuildKit records the same IDs for a plain chain");
    });

    it("layerDiffIDEqualsTwoTreeDiff: a native Layer's diffID is the diff of its parent's snapshot and its own", async () => {
        const k = kit();
        const e = await openWorkspaceEngine(k.dir, {});
        await e.computeBlobChain("config", { createIfNeeded: true, compression: { type: "uncompressed" } });
        const expected = await writeDiff({ lower: join(k.dir, "snapshots/app"), upper: join(k.dir, "snapshots/config") });
        const r = await e.report("config");
        assert.equal(r.diffID, expected.diffID);
        assert.equal(r.blob!.digest, expected.diffID, "an uncompressed blob is the tar itself");
        assert.equal(r.blob!.mediaType, "application/vnd.oci.image.layer.v1.tar");
    });

    it("noBlobsWithoutCreateIfNeeded: ErrNoBlobs when blobs are missing and creation is off", async () => {
        const e = await openWorkspaceEngine(kit().dir);
        await assert.rejects(e.computeBlobChain("app", { createIfNeeded: false }), { code: "NotFound" });
        await e.computeBlobChain("app", { createIfNeeded: true });
        await e.computeBlobChain("app", { createIfNeeded: false });
    });

    it("mergeOfChains: a Merge's layer chain is its inputs' chains concatenated, with its own chain IDs", async () => {
        const e = await openWorkspaceEngine(kit([{ id: "m", merge: ["app", "other"] }]).dir);
        await e.computeBlobChain("m", { createIfNeeded: true });
        const m = await e.report("m");
        assert.deepEqual(m.layers, ["base", "app", "other"]);
        assert.equal(m.blob, null, "a Merge has no blob of its own");
        const layers = await Promise.all(m.layers.map((id) => e.report(id)));
        assert.equal(m.chainID, chainID(layers.map((l) => l.diffID!)));
        assert.notEqual(m.blobChainID, (await e.report("app")).blobChainID, "merge blobChainID differs from its inputs' (buildkit#2503)");
    });

    it("mergeFlattening: a Merge input that is a Merge contributes its inputs", async () => {
        const e = await openWorkspaceEngine(kit([{ id: "m1", merge: ["base", "other"] }, { id: "m2", merge: ["m1", "config"] }]).dir);
        const m2 = await e.report("m2");
        assert.deepEqual(m2.parents.merge, ["base", "other", "config"]);
        assert.deepEqual(m2.layers, ["base", "other", "base", "app", "config"], "duplicates are kept");
    });

    it("diffReusesUpperBlob: Diff(parent, layer) has the layer's blob and creates none", async () => {
        const e = await openWorkspaceEngine(kit([{ id: "d", diff: { lower: "app", upper: "config" } }]).dir);
        await e.computeBlobChain("d", { createIfNeeded: true });
        const d = await e.report("d");
        assert.deepEqual(d.layers, ["config"]);
        assert.equal(d.blob, null);
        const config = await e.report("config");
        assert.ok(config.blob, "the upper got its blob");
        assert.equal(d.chainID, config.diffID, "an image of the diff has one layer: config's");
        assert.ok(d.buildkit, "BuildKit copies the upper's chain IDs, which differ");
        assert.equal(d.buildkit!.chainID, sha(` ${config.diffID}`), "config's parent app is outside the filter: ChainID([\"\", diffID])");
        assert.equal((await e.report("app")).blob, null, "ancestors outside the filter get no blob");
    });

    it("diffOwnBlobOverNonAncestors: Diff(other, config) diffs the two full views", async () => {
        const k = kit([{ id: "d", diff: { lower: "other", upper: "config" } }]);
        const e = await openWorkspaceEngine(k.dir);
        await e.computeBlobChain("d", { createIfNeeded: true, compression: { type: "uncompressed" } });
        const d = await e.report("d");
        assert.deepEqual(d.layers, ["d"]);
        const expected = await writeDiff({ lower: join(k.dir, "snapshots/other"), upper: join(k.dir, "snapshots/config") });
        assert.equal(d.diffID, expected.diffID);
        assert.equal(d.chainID, d.diffID);
    });

    it("diffOwnBlobOverMerge: Diff(merge, config) diffs the merged view against config", async () => {
        const e = await openWorkspaceEngine(kit([{ id: "m", merge: ["base", "other"] }, { id: "d", diff: { lower: "m", upper: "config" } }]).dir);
        await e.computeBlobChain("d", { createIfNeeded: true, compression: { type: "uncompressed" } });
        const d = await e.report("d");
        assert.deepEqual(d.layers, ["d"]);
        assert.ok(d.blob);
        const tar = execFileSync("tar", ["-tf", d.blob!.path], { encoding: "utf8" }).split("\n");
        assert.ok(tar.includes(".wh.opt"), "what only the merge had is deleted");
        assert.ok(tar.includes("app/server.js"), "what only config has is added");
    });

    it("diffWithNullUpper: Diff(config, null) deletes everything config has", async () => {
        const e = await openWorkspaceEngine(kit([{ id: "d", diff: { lower: "config", upper: null } }]).dir);
        await e.computeBlobChain("d", { createIfNeeded: true, compression: { type: "uncompressed" } });
        const d = await e.report("d");
        const names = execFileSync("tar", ["-tf", d.blob!.path], { encoding: "utf8" }).trim().split("\n").sort();
        assert.deepEqual(names, [".wh.app", ".wh.bin", ".wh.etc", ".wh.usr"]);
    });

    it("layerOnMergeChainQuirk: BuildKit chains a Layer on a Merge from the empty string", async () => {
        const k = kit([{ id: "m", merge: ["app", "other"] }]);
        k.snapshot("top", { from: "app", write: { "opt/tool": "tool\n", "etc/os-release": "ID=other\n", "top.txt": "top\n" } });
        k.refs([
            { id: "base", snapshot: "snapshots/base" },
            { id: "app", parent: "base", snapshot: "snapshots/app" },
            { id: "other", snapshot: "snapshots/other" },
            { id: "m", merge: ["app", "other"] },
            { id: "top", parent: "m", snapshot: "snapshots/top" },
        ]);
        const e = await openWorkspaceEngine(k.dir);
        await e.computeBlobChain("top", { createIfNeeded: true });
        const top = await e.report("top");
        assert.deepEqual(top.layers, ["base", "app", "other", "top"]);
        assert.ok(top.buildkit);
        assert.equal(top.buildkit!.chainID, sha(` ${top.diffID}`), "ChainID([\"\", diffID])");
        assert.equal(top.chainID, chainID(await Promise.all(top.layers.map(async (id) => (await e.report(id)).diffID!))));
    });

    it("ensureWithoutForce: an existing blob keeps its compression when another is requested", async () => {
        const e = await openWorkspaceEngine(kit().dir);
        await e.computeBlobChain("app", { createIfNeeded: true, compression: { type: "gzip" } });
        await e.computeBlobChain("app", { createIfNeeded: true, compression: { type: "zstd" } });
        const app = await e.report("app");
        assert.equal(app.blob!.mediaType, "application/vnd.oci.image.layer.v1.tar+gzip");
        assert.deepEqual(app.variants.map((v) => v.mediaType), [app.blob!.mediaType]);
    });

    it("forceConversion: Force adds a variant to every layer, the main blob and diffID stay", async () => {
        const e = await openWorkspaceEngine(kit().dir);
        await e.computeBlobChain("config", { createIfNeeded: true, compression: { type: "gzip" } });
        const before = await Promise.all(["base", "app", "config"].map((id) => e.report(id)));
        await e.computeBlobChain("config", { createIfNeeded: true, compression: { type: "zstd", force: true } });
        for (const b of before) {
            const r = await e.report(b.id);
            assert.equal(r.blob!.digest, b.blob!.digest);
            assert.equal(r.diffID, b.diffID);
            const zstd = r.variants.find((v) => v.mediaType.endsWith("+zstd"));
            assert.ok(zstd, `${b.id} has a zstd variant`);
            assert.equal(zstd!.annotations["containerd.io/uncompressed"], r.diffID);
            const out = execFileSync("zstd", ["-dc", zstd!.path]);
            assert.equal(`sha256:${createHash("sha256").update(out).digest("hex")}`, r.diffID);
        }
        // again: nothing new
        await e.computeBlobChain("config", { createIfNeeded: true, compression: { type: "zstd", force: true, level: 19 } });
        assert.equal((await e.report("config")).variants.length, 2, "level is not considered: the existing variant serves");
    });

    it("estargzDiffIDIsDPrime: an eStargz blob's diffID covers the TOC; converting back restores the tar's", async () => {
        const e = await openWorkspaceEngine(kit().dir);
        await e.computeBlobChain("app", { createIfNeeded: true, compression: { type: "estargz" } });
        const app = await e.report("app");
        const tar = execFileSync("gzip", ["-dc", app.blob!.path]);
        assert.equal(app.diffID, `sha256:${createHash("sha256").update(tar).digest("hex")}`);
        assert.ok(app.blob!.annotations["containerd.io/snapshot/stargz/toc.digest"]);
        await e.computeBlobChain("app", { createIfNeeded: true, compression: { type: "uncompressed", force: true } });
        const raw = (await e.report("app")).variants.find((v) => v.mediaType.endsWith(".tar"))!;
        const rawBytes = readFileSync(raw.path);
        assert.ok(rawBytes.length < tar.length, "Unpack strips the TOC tar");
        assert.notEqual(raw.annotations["containerd.io/uncompressed"], app.diffID);
    });

    it("concurrentComputeOnce: two concurrent computes of one ref do the work once", async () => {
        const e = await openWorkspaceEngine(kit().dir);
        await Promise.all([
            e.computeBlobChain("config", { createIfNeeded: true }),
            e.computeBlobChain("config", { createIfNeeded: true }),
            e.computeBlobChain("app", { createIfNeeded: true }),
        ]);
        for (const id of ["base", "app", "config"]) {
            assert.equal(e.chain.flight.executions.get(`${id}-true`), 1, id);
        }
    });

    it("gcWithLeases: blobs of refs stay; a ref removed from the workspace loses its blobs at gc", async () => {
        const k = kit();
        const e = await openWorkspaceEngine(k.dir);
        await e.computeBlobChain("config", { createIfNeeded: true, compression: { type: "gzip", force: true } });
        await e.computeBlobChain("other", { createIfNeeded: true });
        assert.deepEqual((await e.gc()).removed, []);
        const other = await e.report("other");
        k.refs([
            { id: "base", snapshot: "snapshots/base" },
            { id: "app", parent: "base", snapshot: "snapshots/app" },
            { id: "config", parent: "app", snapshot: "snapshots/config" },
        ]);
        const e2 = await openWorkspaceEngine(k.dir);
        const r = await e2.gc();
        assert.deepEqual(r.removed, [other.blob!.digest]);
        const v = await e2.verify(undefined);
        assert.ok(v.ok, JSON.stringify(v.checks.filter((c) => !c.ok)));
    });
});
