/**
 * Layer contents from snapshot directories never follow a symlink in the middle of a caller's
 * path: a snapshot holding `lnk -> /secret-dir` (absolute, or `../../..` relative) does not let
 * `layerscope:` URIs or `ls`/`cat` PATHs reach files outside the snapshot. The kernel would follow
 * such a link when the path is opened as one string; the view checks each directory above it.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { after, describe, it } from "node:test";
import { isEngineError, openLayerContents, openWorkspaceEngine } from "../../src/engine";
import * as fsb from "../helpers/fsbuild";
import { WorkspaceKit } from "../helpers/workspaceKit";

const secretDir = mkdtempSync(join(tmpdir(), "layerscope-secret-"));
writeFileSync(join(secretDir, "secret.txt"), "host file\n");
const kit = new WorkspaceKit();
after(() => {
    kit.dispose();
    rmSync(secretDir, { recursive: true, force: true });
});

kit.snapshot("base", { from: null, write: { "etc/os-release": "ID=test\n" } });
const base = join(kit.dir, "snapshots/base");
fsb.symlink(secretDir, join(base, "lnk"));
fsb.symlink(relative(join(base, "etc"), secretDir), join(base, "etc/up"));
fsb.normalizeMtimes(base, fsb.T0);
// app replaces the symlink with a directory holding a file of the same name as the host's.
kit.snapshot("app", { from: "base", remove: ["lnk"], write: { "lnk/secret.txt": "app's own\n" } });
kit.refs([
    { id: "base", snapshot: "snapshots/base" },
    { id: "app", parent: "base", snapshot: "snapshots/app" },
]);

const notFound = (e: unknown) => isEngineError(e) && e.code === "NotFound";

describe("layer contents: symlinks inside snapshot directories", () => {
    it("the merged view does not reach through an absolute or relative symlink", async () => {
        const engine = await openWorkspaceEngine(kit.dir);
        const view = await openLayerContents(engine, "base", { view: "merged", source: "snapshot" });
        try {
            assert.equal((await view.stat("/lnk")).type, "symlink");
            await assert.rejects(view.stat("/lnk/secret.txt"), notFound);
            await assert.rejects(view.stat("/etc/up/secret.txt"), notFound);
            await assert.rejects(view.list("/lnk"), (e: unknown) => isEngineError(e) && /not a directory/.test(e.message));
            await assert.rejects(async () => {
                for await (const _ of view.read("/lnk/secret.txt")) void _;
            }, notFound);
        } finally {
            await view.close();
        }
    });

    it("a layer's file under a directory that replaced a symlink is added, not compared with the host's", async () => {
        const engine = await openWorkspaceEngine(kit.dir);
        const layer = await openLayerContents(engine, "app", { view: "layer", source: "snapshot" });
        try {
            const e = await layer.stat("/lnk/secret.txt");
            assert.equal(e.change, "added");
            assert.equal(e.size, "app's own\n".length);
        } finally {
            await layer.close();
        }
    });
});
