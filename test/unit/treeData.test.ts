/**
 * The Refs tree as plain data: rows (labels, descriptions, icons, context values), children
 * (parents, variants, chain IDs), laziness (listing never reads reports), error rows.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import type { RefReport } from "../../src/engine";
import { SourceModel } from "../../src/extension/model/sourceModel";
import { formatBytes, shortDigest, shortMediaType } from "../../src/extension/tree/format";
import { KIND_ICONS, type RefNode, RefsTreeData, type Row, type TreeNode, type TreeSourceModel } from "../../src/extension/tree/treeData";
import { FakeHost } from "../helpers/modelHost";
import { standardWorkspace, WorkspaceKit } from "../helpers/workspaceKit";

const cleanups: (() => void)[] = [];
after(() => cleanups.forEach((c) => c()));

/** The model with report() counted, to prove the listing is lazy. */
class CountingModel implements TreeSourceModel {
    reportCalls = 0;
    constructor(readonly inner: SourceModel) {}
    settled() { return this.inner.settled(); }
    sources() { return this.inner.sources(); }
    refIds(s: string) { return this.inner.refIds(s); }
    summary(s: string, r: string) { return this.inner.summary(s, r); }
    snapshotInfo(s: string, r: string) { return this.inner.snapshotInfo(s, r); }
    report(s: string, r: string): Promise<RefReport> {
        this.reportCalls++;
        return this.inner.report(s, r);
    }
    busyRefs(s: string) { return this.inner.busyRefs(s); }
    timing(s: string, d: string) { return this.inner.timing(s, d); }
    isRemembered(s: string) { return this.inner.isRemembered(s); }
}

async function treeOver(...kits: WorkspaceKit[]): Promise<{ tree: RefsTreeData; model: SourceModel; counting: CountingModel }> {
    const host = new FakeHost(kits.map((k) => k.dir));
    cleanups.push(() => host.dispose());
    const model = new SourceModel(host);
    await model.refresh();
    const counting = new CountingModel(model);
    return { tree: new RefsTreeData(counting), model, counting };
}

function kit(extra: readonly object[] = []): WorkspaceKit {
    const k = standardWorkspace(extra);
    cleanups.push(() => k.dispose());
    return k;
}

const rows = (tree: RefsTreeData, nodes: TreeNode[]): Row[] => nodes.map((n) => tree.row(n));

describe("Refs tree data", () => {
    it("sources at the root, refs below with kind icons, short diffID or \"no blob\", per-kind context values", async () => {
        const k = kit([{ id: "m", merge: ["app", "other"] }, { id: "d", diff: { lower: "base", upper: "other" } }]);
        const { tree, model } = await treeOver(k);
        const [src] = await tree.children();
        assert.equal(src!.type, "source");
        const srow = tree.row(src!);
        assert.equal(srow.collapsible, "expanded");
        assert.equal(srow.contextValue, "source.ok");
        await model.compute({ source: k.dir, ref: "app" }).done;
        const refs = await tree.children(src);
        const byLabel = new Map(rows(tree, refs).map((r) => [r.label, r]));
        assert.deepEqual([...byLabel.keys()], ["base", "app", "config", "other", "m", "d"]);
        const app = byLabel.get("app")!;
        const diffID = model.summary(k.dir, "app")!.diffID!;
        assert.equal(app.description, diffID.slice(7, 19));
        assert.match(app.description!, /^[0-9a-f]{12}$/);
        assert.equal(app.contextValue, "ref.Layer.blob");
        assert.equal(app.icon?.id, KIND_ICONS["Layer"]);
        assert.match(app.tooltip!, /app — Layer/);
        assert.match(app.tooltip!, new RegExp(diffID));
        assert.equal(byLabel.get("base")!.contextValue, "ref.BaseLayer.blob");
        assert.equal(byLabel.get("config")!.description, "no blob");
        assert.equal(byLabel.get("config")!.contextValue, "ref.Layer.noblob");
        assert.equal(byLabel.get("m")!.contextValue, "ref.Merge.noblob");
        assert.equal(byLabel.get("d")!.contextValue, "ref.Diff.noblob");
        const icons = ["base", "app", "m", "d"].map((id) => byLabel.get(id)!.icon!.id);
        assert.equal(new Set(icons).size, 4, "four kinds, four icons");
        assert.equal(new Set(rows(tree, refs).map((r) => r.id)).size, refs.length, "stable unique ids");
        assert.equal(tree.parent(refs[0]!), src, "getParent leads back to the source (reveal)");
        assert.equal(tree.refNode(k.dir, "app"), refs[1], "one node object per ref");
    });

    it("listing thousands of refs reads no report; expanding one reads only that one", async () => {
        const k = new WorkspaceKit();
        cleanups.push(() => k.dispose());
        k.snapshot("base", { from: null, write: { "etc/os-release": "ID=x\n" } });
        const refs: object[] = [];
        for (let i = 0; i < 3000; i++) refs.push(i === 0 ? { id: "r0", snapshot: "snapshots/base" } : { id: `r${i}`, merge: [`r${i - 1}`, "r0"] });
        k.refs(refs);
        const { tree, counting } = await treeOver(k);
        const [src] = await tree.children();
        const nodes = await tree.children(src);
        assert.equal(nodes.length, 3000);
        rows(tree, nodes);
        assert.equal(counting.reportCalls, 0);
        await tree.children(nodes[2999]);
        assert.equal(counting.reportCalls, 1);
    });

    it("a ref's children: parents (declared ones reveal), variants, chain IDs", async () => {
        const k = kit([{ id: "m", merge: ["app", "other"] }, { id: "d", diff: { lower: "base", upper: "config" } }, { id: "d2", diff: { lower: "app", upper: "config" } }]);
        const { tree, model } = await treeOver(k);
        const [src] = await tree.children();
        await tree.children(src);
        await model.compute({ source: k.dir, ref: "config", compression: "gzip" }).done;
        await model.convert({ source: k.dir, ref: "config", compression: "zstd" }).done;

        const config = await tree.children(tree.refNode(k.dir, "config"));
        const cr = rows(tree, config);
        assert.deepEqual(cr.map((r) => r.label), ["app", "Variants", "diffID", "chainID", "blobChainID"]);
        assert.equal(cr[0]!.description, "parent");
        assert.deepEqual(cr[0]!.command?.arguments, [{ source: k.dir, ref: "app" }]);
        const report = await model.report(k.dir, "config");
        assert.equal(cr[2]!.description, report.diffID);
        assert.equal(cr[4]!.description, report.blobChainID);

        const variants = await tree.children(config[1]);
        const vr = rows(tree, variants);
        assert.equal(vr.length, 2);
        const gz = vr.find((r) => r.label.endsWith("tar+gzip"))!;
        const zs = vr.find((r) => r.label.endsWith("tar+zstd"))!;
        assert.equal(gz.description, `${shortDigest(report.blob!.digest)} · ${formatBytes(report.blob!.size)} · BuildKit-comparable · main`);
        assert.match(zs.description!, /· not BuildKit-comparable$/);
        assert.equal(gz.contextValue, "variant.comparable");
        assert.equal(zs.contextValue, "variant.notComparable");
        assert.equal(tree.parent(config[1]!), tree.refNode(k.dir, "config"));

        const m = rows(tree, await tree.children(tree.refNode(k.dir, "m")));
        assert.deepEqual(m.slice(0, 2).map((r) => `${r.label}:${r.description}`), ["app:merge input 1", "other:merge input 2"]);
        assert.match(m[2]!.label, /a Merge has no blob of its own/);

        const k2 = await tree.children(tree.refNode(k.dir, "d2"));
        assert.match(tree.row(k2.find((n) => n.type === "message")!).label, /reuses the blob of config/);

        const d = rows(tree, await tree.children(tree.refNode(k.dir, "d")));
        assert.deepEqual(d.slice(0, 2).map((r) => r.description), ["merge input 1 (internal ref)", "merge input 2 (internal ref)"], "a Diff over two layers is a Merge of per-layer Diffs");
        assert.match(d[0]!.label, /^d~/);
        assert.equal(d[0]!.command, undefined, "loader-made refs are not in the tree: no reveal");
        assert.match(d[0]!.description! + d[0]!.tooltip!, /not declared/);
    });

    it("row ids stay unique when ref ids look like row kinds (refs \"ref\" and \"variants\")", async () => {
        // Ids were "<source>\0ref\0<ref>" and "<source>\0<ref>\0variants": ref "variants"'s row
        // and ref "ref"'s Variants row were both "<source>\0ref\0variants", and VS Code refuses a
        // second element with an id already registered.
        const k = new WorkspaceKit();
        cleanups.push(() => k.dispose());
        k.snapshot("s1", { from: null, write: { "a": "1\n" } });
        k.snapshot("s2", { from: null, write: { "b": "2\n" } });
        k.refs([{ id: "ref", snapshot: "snapshots/s1" }, { id: "variants", snapshot: "snapshots/s2" }]);
        const { tree, model } = await treeOver(k);
        const [src] = await tree.children();
        const refs = await tree.children(src);
        await model.compute({ source: k.dir, ref: "ref", compression: "gzip" }).done;
        await model.compute({ source: k.dir, ref: "variants", compression: "gzip" }).done;
        const all: TreeNode[] = [src!, ...refs];
        for (const r of refs) {
            const kids = await tree.children(r);
            all.push(...kids);
            for (const c of kids) if (c.type === "variants") all.push(...(await tree.children(c)));
        }
        const shown = all.map((n) => tree.row(n));
        assert.ok(shown.some((r) => r.label === "variants" && (r.contextValue ?? "").startsWith("ref.")), "ref \"variants\" is listed");
        assert.ok(shown.some((r) => r.label === "Variants" && r.contextValue === "variants"), "ref \"ref\" shows its Variants row");
        const ids = shown.map((r) => r.id);
        assert.equal(new Set(ids).size, ids.length, `duplicate row ids: ${ids.filter((id, i) => ids.indexOf(id) !== i).join(", ")}`);
    });

    it("a source that fails to open shows an error row with the message", async () => {
        const bad = new WorkspaceKit();
        cleanups.push(() => bad.dispose());
        bad.snapshot("x", { from: null, write: { f: "1" } });
        writeFileSync(join(bad.dir, "layerscope.json"), JSON.stringify({ snapshotter: "native", refs: [{ id: "a", parent: "ghost", snapshot: "snapshots/x" }] }));
        const { tree } = await treeOver(bad);
        const [src] = await tree.children();
        const r = tree.row(src!);
        assert.equal(r.icon?.id, "error");
        assert.equal(r.contextValue, "source.error");
        assert.equal(r.description, "could not be opened");
        const [msg] = await tree.children(src);
        assert.equal(msg!.type, "message");
        assert.match(tree.row(msg!).label, /ghost/);
    });

    it("a ref being diffed shows a spinner", async () => {
        const k = kit();
        const { tree, model } = await treeOver(k);
        const seen: string[] = [];
        model.onOperation((e) => {
            if (e.phase === "diff" && e.ref === "base") seen.push(tree.row(tree.refNode(k.dir, "base") as RefNode).icon!.id);
            if (e.phase === "end") seen.push(tree.row(tree.refNode(k.dir, "base")).icon!.id);
        });
        await model.compute({ source: k.dir, ref: "base" }).done;
        assert.deepEqual(seen, ["sync~spin", KIND_ICONS["BaseLayer"]]);
    });
});

describe("tree formatting", () => {
    it("short digests, sizes and media types", () => {
        assert.equal(shortDigest("sha256:0123456789abcdef0123"), "0123456789ab");
        assert.equal(formatBytes(0), "0 B");
        assert.equal(formatBytes(1023), "1,023 B");
        assert.equal(formatBytes(1536), "1.5 KiB");
        assert.equal(formatBytes(200 * 1024 * 1024), "200 MiB");
        assert.equal(shortMediaType("application/vnd.oci.image.layer.v1.tar+gzip"), "tar+gzip");
        assert.equal(shortMediaType("application/vnd.docker.image.rootfs.diff.tar.gzip"), "docker diff.tar.gzip");
        assert.equal(shortMediaType("application/x-custom"), "application/x-custom");
    });
});
