/**
 * The source model over real workspaces (test/helpers/workspaceKit): discovery, error rows,
 * lazy reports, compute/convert events, deduplication, cancel, settings read per operation.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { openWorkspaceEngine } from "../../src/engine";
import type { OperationEvent } from "../../src/extension/model/hostApi";
import { SourceModel } from "../../src/extension/model/sourceModel";
import { FakeHost } from "../helpers/modelHost";
import { standardWorkspace, WorkspaceKit } from "../helpers/workspaceKit";

const cleanups: (() => void)[] = [];
after(() => cleanups.forEach((c) => c()));

function kit(extra: readonly object[] = []): WorkspaceKit {
    const k = standardWorkspace(extra);
    cleanups.push(() => k.dispose());
    return k;
}

async function modelOver(folders: string[], raw: Record<string, unknown> = {}): Promise<{ model: SourceModel; host: FakeHost; events: OperationEvent[] }> {
    const host = new FakeHost(folders);
    host.raw = raw;
    cleanups.push(() => host.dispose());
    const model = new SourceModel(host);
    const events: OperationEvent[] = [];
    model.onOperation((e) => events.push(e));
    await model.refresh();
    return { model, host, events };
}

describe("SourceModel sources", () => {
    it("finds workspaces in the folder and a few levels down, skipping node_modules, .git and too-deep ones", async () => {
        const top = new WorkspaceKit();
        cleanups.push(() => top.dispose());
        const place = (rel: string): void => {
            mkdirSync(join(top.dir, rel), { recursive: true });
            writeFileSync(join(top.dir, rel, "layerscope.json"), JSON.stringify({ snapshotter: "native", refs: [] }));
        };
        place("a");
        place("group/b");
        place("node_modules/pkg");
        place(".git/x");
        place("one/two/three/four");
        place("c/inner"); // found as c/inner, but "c" itself is a workspace too: no descent below it
        place("c");
        const { model } = await modelOver([top.dir]);
        const roots = model.sources().map((s) => s.root.slice(top.dir.length + 1)).sort();
        assert.deepEqual(roots, ["a", "c", "group/b"]);
        assert.ok(model.sources().every((s) => s.kind === "workspace" && !s.error));
    });

    it("a source that fails to open is listed with a specific error, the others still open", async () => {
        const good = kit();
        const bad = new WorkspaceKit();
        cleanups.push(() => bad.dispose());
        writeFileSync(join(bad.dir, "layerscope.json"), "{ not json");
        const missing = new WorkspaceKit();
        cleanups.push(() => missing.dispose());
        missing.refs([{ id: "x", snapshot: "snapshots/nope" }]);
        const { model } = await modelOver([good.dir, bad.dir, missing.dir]);
        const byRoot = new Map(model.sources().map((s) => [s.root, s]));
        assert.equal(byRoot.get(good.dir)?.error, undefined);
        assert.match(byRoot.get(bad.dir)?.error ?? "", /layerscope\.json/);
        assert.match(byRoot.get(missing.dir)?.error ?? "", /snapshots\/nope/);
        await assert.rejects(model.refIds(bad.dir), { code: "FailedPrecondition" });
    });

    it("Open Snapshot Source: a folder without layerscope.json is refused; one with it is added and remembered", async () => {
        const k = kit();
        const { model, host } = await modelOver([]);
        await assert.rejects(model.addSource(join(k.dir, "snapshots")), { code: "NotFound" });
        const info = await model.addSource(k.dir);
        assert.equal(info.root, k.dir);
        assert.deepEqual(host.rememberedRoots, [k.dir]);
        assert.ok(model.isRemembered(k.dir));
        await model.removeSource(k.dir);
        assert.deepEqual(model.sources(), []);
    });

    it("labels name the parent when two sources share a folder name", async () => {
        const a = kit();
        const b = kit();
        const { model } = await modelOver([a.dir, b.dir]);
        assert.equal(new Set(model.sources().map((s) => s.label)).size, 2);
    });

    it("stateLocation global keeps the store out of the workspace", async () => {
        const k = kit();
        const { model, host } = await modelOver([k.dir], { stateLocation: "global" });
        await model.compute({ source: k.dir, ref: "base", compression: "uncompressed" }).done;
        assert.ok(!existsSync(join(k.dir, ".layerscope")), "nothing written next to layerscope.json");
        const state = model.stateDir(k.dir, host.settings()) ?? "";
        assert.ok(state.startsWith(host.globalStorage));
        assert.ok(existsSync(state));
    });
});

describe("SourceModel reports", () => {
    it("lists refs and summaries without computing; reports are cached until the refs change", async () => {
        const k = kit([{ id: "m", merge: ["app", "other"] }]);
        const { model } = await modelOver([k.dir]);
        assert.deepEqual(await model.refIds(k.dir), ["base", "app", "config", "other", "m"]);
        assert.deepEqual(model.summary(k.dir, "m"), { id: "m", kind: "Merge", description: null, diffID: null, blob: null, mediaType: null });
        assert.equal(model.summary(k.dir, "app")?.kind, "Layer");
        assert.equal(model.summary(k.dir, "nope"), undefined);
        const r1 = model.report(k.dir, "app");
        assert.equal(model.report(k.dir, "app"), r1, "cached");
        const changed: (readonly string[] | undefined)[] = [];
        model.onDidChangeRefs((e) => changed.push(e.refs));
        await model.compute({ source: k.dir, ref: "app" }).done;
        assert.notEqual(model.report(k.dir, "app"), r1, "dropped after a compute");
        assert.ok(changed.some((c) => c === undefined), "the whole source is announced at the end");
        assert.ok((await model.report(k.dir, "app")).blob);
        const all = await model.reports(k.dir);
        assert.deepEqual(all.map((r) => r.id), ["base", "app", "config", "other", "m"]);
    });
});

describe("SourceModel operations", () => {
    it("compute: start, per-ref phases, end; refs change before end; timings per blob", async () => {
        const k = kit();
        const { model, events } = await modelOver([k.dir]);
        const order: string[] = [];
        model.onDidChangeRefs((e) => order.push(e.refs ? "refs" : "all"));
        model.onOperation((e) => order.push(e.phase));
        const reports = await model.compute({ source: k.dir, ref: "app", compression: "gzip" }).done;
        assert.deepEqual(reports.map((r) => r.id), ["base", "app"]);
        assert.equal(events[0]!.phase, "start");
        assert.equal(events[0]!.ref, "app");
        assert.equal(events.at(-1)!.phase, "end");
        assert.equal(events.at(-1)!.error, undefined);
        const perRef = events.slice(1, -1).map((e) => `${e.ref}:${e.phase}`).sort();
        assert.deepEqual(perRef, ["app:diff", "app:done", "base:diff", "base:done"]);
        assert.equal(order.lastIndexOf("all") + 1, order.lastIndexOf("end"), "onDidChangeRefs(all) right before end");
        const app = await model.report(k.dir, "app");
        assert.equal(app.blob!.buildkitComparable, true, "Go deflate by default");
        assert.equal(typeof model.timing(k.dir, app.blob!.digest), "number");
        // Again: the blobs exist, so only "reused".
        events.length = 0;
        await model.compute({ source: k.dir, ref: "app" }).done;
        assert.deepEqual(events.slice(1, -1).map((e) => e.phase), ["reused", "reused"]);
    });

    it("verify keeps each checked ref's result for the graph and says which refs changed; the rest stay unverified", async () => {
        const k = kit();
        const { model } = await modelOver([k.dir]);
        await model.compute({ source: k.dir, ref: "app", compression: "gzip" }).done;
        const changed: Array<readonly string[] | undefined> = [];
        model.onDidChangeRefs((e) => changed.push(e.refs));
        const report = await model.verify(k.dir, "app").done;
        assert.equal(report.ok, true);
        assert.ok(changed.some((refs) => refs?.includes("app") && refs.includes("base")), JSON.stringify(changed));
        for (const id of ["base", "app"]) {
            const r = await model.report(k.dir, id);
            const v = model.verification(k.dir, { id, chainID: r.chainID })!;
            assert.equal(v.state, "verified", id);
            assert.equal(v.check, "Verify");
        }
        assert.equal(model.verification(k.dir, { id: "other", chainID: null }), undefined);
        assert.throws(() => model.rootImages(k.dir), { code: "Unsupported" }, "a workspace has no images to check");
    });

    it("deduplicates the same compute: one start, one execution, the same promise", async () => {
        const k = kit();
        const { model, events } = await modelOver([k.dir]);
        const a = model.compute({ source: k.dir, ref: "config" });
        const b = model.compute({ source: k.dir, ref: "config" });
        const c = model.compute({ source: k.dir, ref: "config", compression: "zstd" });
        assert.equal(b.joined, true);
        assert.equal(b.done, a.done);
        assert.equal(c.joined, false, "another compression is other work");
        await Promise.all([a.done, b.done, c.done]);
        assert.equal(events.filter((e) => e.phase === "start").length, 2);
        assert.equal(events.filter((e) => e.phase === "diff" && e.ref === "config").length, 1, "the engine made config's blob once");
    });

    it("cancel: done rejects with Canceled, end says canceled, no blob is recorded", async () => {
        const k = kit();
        const { model, events } = await modelOver([k.dir]);
        const op = model.compute({ source: k.dir, ref: "config" });
        op.cancel();
        await assert.rejects(op.done, { code: "Canceled" });
        const end = events.at(-1)!;
        assert.equal(end.phase, "end");
        assert.equal(end.error, "canceled");
        assert.equal(model.summary(k.dir, "config")?.blob, null);
        // And it can run afterwards.
        await model.compute({ source: k.dir, ref: "config" }).done;
        assert.ok(model.summary(k.dir, "config")?.blob);
    });

    it("convert adds variants; zstd and fast gzip are marked not BuildKit-comparable", async () => {
        const k = kit();
        const { model, host, events } = await modelOver([k.dir]);
        await model.compute({ source: k.dir, ref: "app" }).done;
        events.length = 0;
        await model.convert({ source: k.dir, ref: "app", compression: "zstd" }).done;
        assert.deepEqual(events.filter((e) => e.phase === "convert").map((e) => `${e.ref}:${e.detail}`).sort(), ["app:zstd", "base:zstd"]);
        const app = await model.report(k.dir, "app");
        const zstd = app.variants.find((v) => v.mediaType.endsWith("zstd"));
        assert.ok(zstd);
        assert.equal(zstd.buildkitComparable, false);
        assert.equal(typeof model.timing(k.dir, zstd.digest), "number", "the conversion's time is kept");
        host.raw = { gzipImplementation: "fast" };
        await model.convert({ source: k.dir, ref: "app", compression: "estargz" }).done;
        const esgz = (await model.report(k.dir, "app")).variants.find((v) => v.annotations["containerd.io/snapshot/stargz/toc.digest"]);
        assert.ok(esgz, "an eStargz variant");
        assert.equal(esgz.buildkitComparable, false, "made with zlib: not comparable");
    });

    it("a failure ends with its message and rejects with the engine's code", async () => {
        const k = kit();
        const { model, events } = await modelOver([k.dir]);
        const op = model.compute({ source: k.dir, ref: "app", compression: "gzip", level: 12 });
        await assert.rejects(op.done, { code: "InvalidArgument" });
        assert.match(events.at(-1)!.error ?? "", /invalid compression level: 12/);
    });

    it("unknown sources and refs are refused before anything starts", async () => {
        const k = kit();
        const { model, events } = await modelOver([k.dir]);
        assert.throws(() => model.compute({ source: "/nowhere", ref: "app" }), { code: "NotFound" });
        assert.throws(() => model.compute({ source: k.dir, ref: "nope" }), { code: "NotFound" });
        assert.throws(() => model.verify(k.dir, "nope"), { code: "NotFound" });
        assert.equal(events.length, 0);
    });

    it("gc waits for nothing: refused while a compute runs on the source, fine afterwards", async () => {
        const k = kit();
        const { model } = await modelOver([k.dir]);
        const op = model.compute({ source: k.dir, ref: "config" });
        assert.throws(() => model.gc(k.dir), { code: "FailedPrecondition" });
        await op.done;
        const r = await model.gc(k.dir).done;
        assert.deepEqual(r.removed, [], "every blob is held by its ref's lease");
    });

    it("verify checks the chain's digests", async () => {
        const k = kit();
        const { model } = await modelOver([k.dir]);
        await model.compute({ source: k.dir, ref: "app" }).done;
        const r = await model.verify(k.dir, "app").done;
        assert.equal(r.ok, true);
        assert.ok(r.checks.length >= 4);
    });

    it("settings are read per operation: a new whiteoutTime reopens the engine before the compute", async () => {
        const k = kit();
        const { model, host } = await modelOver([k.dir]);
        let reopened = 0;
        model.onDidChangeSources(() => reopened++);
        host.raw = { whiteoutTime: "1700000000" };
        await model.compute({ source: k.dir, ref: "base", compression: "uncompressed" }).done;
        assert.equal(reopened, 1);
        host.raw = { whiteoutTime: "not a time" };
        assert.throws(() => model.compute({ source: k.dir, ref: "base" }), /layerscope\.whiteoutTime/);
    });
});

describe("SourceModel reopening", () => {
    it("a Refresh during a compute: the reopened engine shows the new blobs once it ends", async () => {
        const k = kit();
        const { model } = await modelOver([k.dir]);
        const op = model.compute({ source: k.dir, ref: "config" });
        await model.refresh({ reopen: true });
        await op.done;
        for (let i = 0; i < 100 && !model.summary(k.dir, "config")?.blob; i++) await new Promise((r) => setTimeout(r, 20));
        assert.ok(model.summary(k.dir, "config")?.blob, "config's blob is listed");
        assert.ok(model.summary(k.dir, "base")?.blob);
    });
});

describe("engine options used by the model", () => {
    it("concurrency 1: one blob at a time", async () => {
        const k = kit([{ id: "m", merge: ["config", "other"] }]);
        const e = await openWorkspaceEngine(k.dir, { concurrency: 1 });
        let active = 0;
        let peak = 0;
        await e.computeBlobChain("m", {
            createIfNeeded: true,
            onProgress: (p) => {
                if (p.phase === "diff") peak = Math.max(peak, ++active);
                if (p.phase === "done") active--;
            },
        });
        assert.equal(peak, 1);
        await assert.rejects(openWorkspaceEngine(k.dir, { concurrency: -1 }), { code: "InvalidArgument" });
    });

    it("refSummary reads the in-memory record: kind, diffID and blob once computed", async () => {
        const k = kit();
        const e = await openWorkspaceEngine(k.dir);
        assert.deepEqual(e.refSummary("app"), { id: "app", kind: "Layer", description: null, diffID: null, blob: null, mediaType: null });
        await e.computeBlobChain("app", { createIfNeeded: true });
        const s = e.refSummary("app");
        const r = await e.report("app");
        assert.equal(s.diffID, r.diffID);
        assert.equal(s.blob, r.blob!.digest);
        assert.equal(s.mediaType, r.blob!.mediaType);
        assert.throws(() => e.refSummary("nope"), { code: "NotFound" });
    });
});
