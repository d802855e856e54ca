/**
 * Views and blob inputs on real workspaces: the same refs laid out twice, once with native
 * snapshots (full root filesystems) and once with overlayfs upperdirs (test/helpers/layerBuilder).
 *
 * - the overlayfs view of every BaseLayer/Layer equals the native full rootfs;
 * - each layer's blob (writeDiff of its blobInputs) has the same diffID with both snapshotters:
 *   native two-tree diff of view(parent) vs the snapshot = overlay upperdir diff;
 * - Merge and Diff views agree between snapshotters, and a Merge shows the chain's blobs applied
 *   in order (an upperdir's opaque directory deletes only what its own blob deletes);
 * - with LAYERSCOPE_ORACLE: own-blob Diff diffIDs equal the oracle's `diff` of the materialised
 *   views, and Merge views equal the oracle's `apply` of the chain's blobs, in order.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createWriteStream, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { writeDiff } from "../../src/engine";
import { isEngineError } from "../../src/engine/errors";
import { loadWorkspace, type Workspace } from "../../src/engine/refs";
import { buildLayer, type LayerOp } from "../helpers/layerBuilder";
import { describeDir, describeReader, diffDescriptions, materializeView } from "../helpers/viewTools";

const ORACLE = process.env.LAYERSCOPE_ORACLE;
const work = mkdtempSync(join(tmpdir(), "layerscope-views-"));
after(() => rmSync(work, { recursive: true, force: true }));

const LAYERS: Record<string, { parent: string | null; ops: LayerOp[] }> = {
    base: {
        parent: null,
        ops: [
            { op: "file", path: "bin/sh", content: "#!sh\n", mode: 0o755 },
            { op: "file", path: "bin/ls", content: "ls\n", mode: 0o755 },
            { op: "file", path: "etc/hosts", content: "127.0.0.1 localhost\n" },
            { op: "file", path: "etc/old.conf", content: "old\n" },
            { op: "file", path: "usr/lib/libc.so", content: "libc" },
            { op: "symlink", path: "usr/lib/libc.so.6", target: "libc.so" },
            { op: "file", path: "usr/share/doc/x", content: "x" },
            { op: "file", path: "usr/share/doc/y", content: "y" },
            { op: "file", path: "var/log/boot.log", content: "boot" },
            { op: "dir", path: "tmp", mode: 0o1777 },
            { op: "file", path: "opt/removeme/a", content: "a" },
            { op: "file", path: "opt/removeme/b", content: "b" },
            { op: "file", path: "srv/file-then-dir", content: "f" },
            { op: "file", path: "srv/dir-then-file/k", content: "k" },
        ],
    },
    app: {
        parent: "base",
        ops: [
            { op: "file", path: "etc/hosts", content: "127.0.0.1 localhost app\n" },
            { op: "delete", path: "etc/old.conf" },
            { op: "delete", path: "opt/removeme" },
            { op: "chmod", path: "bin/sh", mode: 0o700 },
            { op: "file", path: "app/main.js", content: "main" },
            { op: "hardlink", path: "app/main-link", target: "app/main.js" },
            { op: "file", path: "app/lib/util.js", content: "util" },
            { op: "fifo", path: "app/fifo" },
            { op: "opaque", path: "usr/share/doc" },
            { op: "file", path: "usr/share/doc/z", content: "z" },
            { op: "file", path: "var/log/app.log", content: "log" },
            { op: "dir", path: "srv/file-then-dir" },
            { op: "file", path: "srv/file-then-dir/inner", content: "i" },
            { op: "file", path: "srv/dir-then-file", content: "now a file" },
            { op: "file", path: "usr/bin/setcap-tool", content: "cap", mode: 0o755, cap: true },
        ],
    },
    config: {
        parent: "app",
        ops: [
            { op: "delete", path: "app/lib/util.js" },
            { op: "chown", path: "var/log/app.log", uid: 1000, gid: 1000 },
            { op: "file", path: "etc/app.conf", content: "conf", mode: 0o600 },
            { op: "symlink", path: "etc/hosts.link", target: "hosts" },
            { op: "delete", path: "usr/share/doc/z" },
            { op: "dir", path: "var/cache", mode: 0o750 },
        ],
    },
    other: {
        parent: null,
        ops: [
            { op: "file", path: "etc/hosts", content: "other hosts\n" },
            { op: "file", path: "srv/data", content: "data" },
            { op: "file", path: "usr/share/doc/w", content: "w" },
            { op: "file", path: "opt/removeme/c", content: "c" },
            { op: "file", path: "app/lib/other.js", content: "other" },
        ],
    },
};

/** `top` is a Layer on the Merge m; its native snapshot is view(m) copied, then edited. */
const TOP_OPS: LayerOp[] = [
    { op: "file", path: "top.txt", content: "top" },
    { op: "delete", path: "srv/data" },
    { op: "file", path: "etc/hosts", content: "top hosts\n" },
    { op: "delete", path: "usr/share/doc/w" },
];

const REFS = [
    { id: "base", snapshot: "snapshots/base" },
    { id: "app", parent: "base", snapshot: "snapshots/app" },
    { id: "config", parent: "app", snapshot: "snapshots/config" },
    { id: "other", snapshot: "snapshots/other" },
    { id: "m", merge: ["config", "other"] },
    { id: "m2", merge: ["other", "config"] },
    { id: "reuse", diff: { lower: "app", upper: "config" } },
    { id: "own", diff: { lower: "other", upper: "config" } },
    { id: "overMerge", diff: { lower: "other", upper: "m" } },
    { id: "anc", diff: { lower: "app", upper: "m" } },
    { id: "scratch", diff: { lower: "config", upper: null } },
];
const TOP_REF = { id: "top", parent: "m", snapshot: "snapshots/top" };
const LAYER_IDS = ["base", "app", "config", "other", "top"];
const DERIVED_IDS = ["m", "m2", "reuse", "own", "overMerge", "anc", "scratch"];

const ws: Record<"native" | "overlayfs", Workspace> = {} as Record<"native" | "overlayfs", Workspace>;
const dirs = { native: join(work, "native"), overlayfs: join(work, "overlayfs") };

function writeWorkspace(kind: "native" | "overlayfs", refs: unknown[]): Workspace {
    writeFileSync(join(dirs[kind], "layerscope.json"), JSON.stringify({ snapshotter: kind, refs }, null, 2));
    return loadWorkspace(dirs[kind]);
}

before(async () => {
    for (const [id, { parent, ops }] of Object.entries(LAYERS)) {
        const parentFull = parent ? join(dirs.native, "snapshots", parent) : null;
        buildLayer(parentFull, ops, join(dirs.native, "snapshots", id), join(dirs.overlayfs, "snapshots", id));
    }
    const first = writeWorkspace("native", REFS);
    const mView = join(work, "m-view");
    materializeView(await first.views.view(first.get("m")), mView);
    buildLayer(mView, TOP_OPS, join(dirs.native, "snapshots", "top"), join(dirs.overlayfs, "snapshots", "top"));
    ws.native = writeWorkspace("native", [...REFS, TOP_REF]);
    ws.overlayfs = writeWorkspace("overlayfs", [...REFS, TOP_REF]);
});

async function blobDiffID(w: Workspace, id: string): Promise<string> {
    const inputs = await w.views.blobInputs(w.get(id));
    return (await writeDiff(inputs)).diffID;
}

const names = async (w: Workspace, id: string, p: string): Promise<string[]> =>
    (await w.views.view(w.get(id))).readdir(Buffer.from(p)).map((n) => n.toString());

describe("workspace views", () => {
    it("overlayfs views of BaseLayers and Layers equal the native full rootfs", async () => {
        for (const id of LAYER_IDS) {
            const want = describeDir(join(dirs.native, "snapshots", id));
            const got = describeReader(await ws.overlayfs.views.view(ws.overlayfs.get(id)));
            assert.deepEqual(diffDescriptions(want, got), [], `view(${id})`);
        }
    });

    it("each layer's blob has the same diffID with both snapshotters (native two-tree = overlay upperdir)", async () => {
        for (const id of LAYER_IDS) {
            const n = await ws.native.views.blobInputs(ws.native.get(id));
            const o = await ws.overlayfs.views.blobInputs(ws.overlayfs.get(id));
            assert.equal(n.overlay, false);
            assert.equal(o.overlay, true);
            assert.equal((await writeDiff(n)).diffID, (await writeDiff(o)).diffID, `blob of ${id}`);
        }
    });

    it("Merge and Diff views agree between snapshotters", async () => {
        for (const id of DERIVED_IDS) {
            const want = describeReader(await ws.native.views.view(ws.native.get(id)));
            const got = describeReader(await ws.overlayfs.views.view(ws.overlayfs.get(id)));
            assert.deepEqual(diffDescriptions(want, got), [], `view(${id})`);
        }
    });

    it("own-blob Diffs have the same diffID with both snapshotters", async () => {
        for (const id of ["own", "overMerge", "scratch"]) {
            assert.equal(await blobDiffID(ws.native, id), await blobDiffID(ws.overlayfs, id), `blob of ${id}`);
        }
    });

    it("a Merge applies each layer's blob: an opaque directory deletes only what its blob deletes", async () => {
        for (const w of [ws.native, ws.overlayfs]) {
            // m2 = other, base, app, config: app's opaque usr/share/doc deleted base's x and y, not
            // other's w; app deleted opt/removeme as a whole, other's c included.
            assert.deepEqual(await names(w, "m2", "/usr/share/doc"), ["w"]);
            assert.deepEqual(await names(w, "m2", "/opt"), []);
            assert.deepEqual(await names(w, "m2", "/app/lib"), ["other.js"]);
            assert.deepEqual(await names(w, "m", "/opt/removeme"), ["c"]);
            assert.deepEqual(await names(w, "m", "/srv"), ["data", "dir-then-file", "file-then-dir"]);
        }
    });

    it("a Diff reusing its upper shows that layer's changes alone; a Diff to scratch shows nothing", async () => {
        for (const w of [ws.native, ws.overlayfs]) {
            assert.deepEqual(await names(w, "reuse", "/"), ["app", "etc", "usr", "var"]);
            assert.deepEqual(await names(w, "scratch", "/"), []);
            assert.deepEqual(w.get("anc").layerChain().map((r) => r.id), ["config", "other"]);
        }
    });

    it("Windows refs (isTypeWindows) skip the overlay differ: two-tree diff of the full views", async () => {
        const refs = [{ id: "base", snapshot: "snapshots/base", layerType: "windows" }, ...REFS.slice(1), TOP_REF];
        const w = writeWorkspace("overlayfs", refs);
        const inputs = await w.views.blobInputs(w.get("config"));
        assert.equal(inputs.windows, true);
        assert.equal(inputs.overlay, false);
        assert.equal((await writeDiff(inputs)).diffID, await blobDiffID(ws.native, "config"));
        ws.overlayfs = writeWorkspace("overlayfs", [...REFS, TOP_REF]);
    });

    it("a canceled view is forgotten: the next call computes it", async () => {
        const w = loadWorkspace(dirs.native);
        const ac = new AbortController();
        ac.abort();
        await assert.rejects(w.views.view(w.get("m2"), ac.signal), (e: unknown) => isEngineError(e, "Canceled"));
        assert.deepEqual(await names(w, "m2", "/usr/share/doc"), ["w"]);
    });

    it("blobInputs refuses refs without a blob of their own", async () => {
        for (const id of ["m", "reuse", "anc"]) {
            await assert.rejects(ws.native.views.blobInputs(ws.native.get(id)), (e: unknown) => isEngineError(e, "InvalidArgument"));
        }
    });
});

describe("workspace views against the oracle", { skip: !ORACLE && "set LAYERSCOPE_ORACLE to run" }, () => {
    function oracle(args: string[]): Record<string, unknown> {
        const r = spawnSync(ORACLE!, args, { encoding: "utf8" });
        assert.equal(r.status, 0, `oracle ${args.join(" ")}: ${r.stdout}${r.stderr}`);
        return JSON.parse(r.stdout.trim().split("\n").pop()!) as Record<string, unknown>;
    }

    it("own-blob Diffs: our diffID of writeDiff(view, view) = the oracle's diff of the materialised views", async () => {
        const w = ws.native;
        for (const id of ["own", "overMerge", "scratch"]) {
            const { lower, upper } = w.get(id).diffParents!;
            const dir = join(work, `oracle-${id}`);
            materializeView(await w.views.view(lower!), join(dir, "lower"));
            if (upper) materializeView(await w.views.view(upper), join(dir, "upper"));
            else mkdirSync(join(dir, "upper"));
            const want = oracle(["diff", "--whiteout-time", "0", join(dir, "lower"), join(dir, "upper"), join(dir, "out.tar")]);
            assert.equal(await blobDiffID(w, id), want.diffID, `diff of ${id}`);
        }
    });

    it("Merge views equal the oracle's apply of the chain's blobs in order", async () => {
        for (const [kind, w] of Object.entries(ws)) {
            for (const id of ["m", "m2", "anc", "top", "overMerge"]) {
                const dir = join(work, `apply-${kind}-${id}`);
                mkdirSync(join(dir, "root"), { recursive: true });
                for (const [i, layer] of w.get(id).layerChain().entries()) {
                    const tar = join(dir, `${i}.tar`);
                    const out = createWriteStream(tar);
                    await writeDiff({ ...(await w.views.blobInputs(layer)), output: out });
                    await new Promise((resolve) => out.end(resolve));
                    oracle(["apply", tar, join(dir, "root")]);
                }
                const loose = { dirMtimes: false };
                const got = describeReader(await w.views.view(w.get(id)), loose);
                assert.deepEqual(diffDescriptions(describeDir(join(dir, "root"), loose), got), [], `${kind} view(${id})`);
            }
        }
    });
});
