/**
 * containerd roots as sources of the model and the tree: detected when opened, state kept
 * outside the root, snapshot kinds shown (an active or view snapshot is marked), the root
 * unchanged. Built around the committed real databases (test/fixtures/realstate), no daemon.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import { readSnapshotterDb } from "../../src/engine/roots/snapshotterDb";
import { SourceModel } from "../../src/extension/model/sourceModel";
import { RefsTreeData } from "../../src/extension/tree/treeData";
import { fixtureDb } from "../helpers/boltDump";
import { FakeHost } from "../helpers/modelHost";
import { treeFingerprint } from "../helpers/treeFingerprint";

const dir = mkdtempSync(path.join(tmpdir(), "layerscope-model-roots-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A containerd root (overlayfs) around the real databases, one file in each snapshot. */
function containerdRoot(): string {
    const root = path.join(dir, `root-${Math.random().toString(36).slice(2, 8)}`);
    const meta = path.join(root, "io.containerd.metadata.v1.bolt");
    const sn = path.join(root, "io.containerd.snapshotter.v1.overlayfs");
    mkdirSync(meta, { recursive: true });
    mkdirSync(sn, { recursive: true });
    renameSync(fixtureDb("containerd-meta", dir), path.join(meta, "meta.db"));
    renameSync(fixtureDb("containerd-overlayfs", dir), path.join(sn, "metadata.db"));
    for (const s of readSnapshotterDb(path.join(sn, "metadata.db")).values()) {
        const fs = path.join(sn, "snapshots", String(s.id), "fs");
        mkdirSync(fs, { recursive: true });
        writeFileSync(path.join(fs, `file-${s.id}`), `snapshot ${s.id}\n`);
    }
    return root;
}

describe("SourceModel over a containerd root", () => {
    it("an open folder that is a root is a source; its state lives outside; refs compute; the root is unchanged", async () => {
        const root = containerdRoot();
        const before = treeFingerprint(root);
        const host = new FakeHost([root]);
        host.raw = { stateLocation: "global" };
        const model = new SourceModel(host);
        after(() => host.dispose());
        await model.refresh();
        const [src] = model.sources();
        assert.equal(src?.kind, "containerd");
        assert.equal(src?.error, undefined);
        assert.ok(model.stateDir(root, host.settings(), "containerd")!.startsWith(host.globalStorage));
        assert.equal(model.stateDir(root, { ...host.settings(), stateLocation: "workspace" }, "containerd"), undefined, "never inside the root");

        const tree = new RefsTreeData(model);
        const refs = await tree.children(tree.sourceNode(root));
        const rows = new Map(refs.map((n) => [tree.row(n).label, tree.row(n)]));
        assert.equal(tree.row(tree.sourceNode(root)).icon?.id, "server-environment");
        assert.match(rows.get("view-1")!.description!, /· view$/);
        assert.match(rows.get("mnt")!.description!, /· active$/);
        assert.match(rows.get("view-1")!.tooltip!, /overlayfs snapshot view-1 \(view, namespace test\)/);

        await model.compute({ source: root, ref: "c1", compression: "gzip" }).done;
        assert.ok(model.summary(root, "c1")?.blob);
        assert.deepEqual(treeFingerprint(root), before, "not one byte of the root changed");
    });

    it("Open Snapshot Source accepts a root and refuses a folder that is no source", async () => {
        const root = containerdRoot();
        const host = new FakeHost([]);
        host.raw = { stateLocation: "global" };
        after(() => host.dispose());
        const model = new SourceModel(host);
        await model.refresh();
        const empty = path.join(dir, "empty");
        mkdirSync(empty, { recursive: true });
        await assert.rejects(model.addSource(empty), { code: "NotFound" });
        const info = await model.addSource(root);
        assert.equal(info.kind, "containerd");
        assert.equal(info.error, undefined);
    });
});
