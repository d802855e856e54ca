/**
 * What the `layerscope:` file system, the Layer Files view and Open Changes serve, against real
 * workspaces through the source model: listings and reads equal the snapshot trees they come
 * from (before and after the blobs exist, gzip and eStargz), non-UTF-8 names, the size limit
 * of an editor read, Save File As… streaming, the sides of each diff, the rows of the view.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { isEngineError, type LayerEntry } from "../../src/engine";
import { ContentsService, type ViewEntry } from "../../src/extension/contents/contentsService";
import { changePair, layerChanges } from "../../src/extension/contents/layerDiff";
import { type EntryNode, LayerFilesData, modeString, OPEN_CHANGES_COMMAND, OPEN_FILE_COMMAND } from "../../src/extension/contents/layerFilesData";
import { innerPathOf, parseLayerUri, formatLayerUri, sourceKey } from "../../src/extension/contents/layerUri";
import { SourceModel } from "../../src/extension/model/sourceModel";
import * as fsb from "../helpers/fsbuild";
import { FakeHost } from "../helpers/modelHost";
import { standardWorkspace, T0, type WorkspaceKit } from "../helpers/workspaceKit";

const LATIN1 = Buffer.from("caf\xe9.txt", "latin1"); // not UTF-8
const BIG = 3 * 1024 * 1024 + 17;

function entries(list: readonly ViewEntry[]): LayerEntry[] {
    return list.filter((e): e is LayerEntry => e.type !== "absent");
}

async function fixture(): Promise<{ kit: WorkspaceKit; model: SourceModel; host: FakeHost; service: ContentsService; source: string }> {
    const kit = standardWorkspace([
        { id: "config-changes", diff: { lower: "app", upper: "config" } },
        { id: "both", merge: ["base", "other"] },
    ]);
    // Non-UTF-8 name and a file larger than the read limit the tests set, added by app (so
    // config, a copy of app with edits, has them too).
    for (const snap of ["app", "config"]) {
        const dir = join(kit.dir, "snapshots", snap);
        fsb.writeFile(Buffer.concat([Buffer.from(`${dir}/app/`), LATIN1]), "latin-1 name\n");
        fsb.writeFile(join(dir, "app/big.bin"), fsb.patternBytes(BIG));
        fsb.symlink("server.js", join(dir, "app/current"));
        fsb.symlink("/etc/hostname", join(dir, "app/abs"));
        fsb.symlink("../../../../etc/hostname", join(dir, "app/up"));
        fsb.symlink("../app/current", join(dir, "app/chain"));
        fsb.symlink("loop", join(dir, "app/loop"));
        fsb.symlink("/nope", join(dir, "app/dangling"));
        fsb.normalizeMtimes(dir, T0);
    }
    const host = new FakeHost([kit.dir]);
    const model = new SourceModel(host);
    await model.refresh();
    const source = model.sources()[0]!.id;
    return { kit, model, host, service: new ContentsService(model), source };
}

describe("layer contents behind layerscope: URIs", () => {
    let f: Awaited<ReturnType<typeof fixture>>;
    const scratch = mkdtempSync(join(tmpdir(), "layerscope-saveas-"));

    before(async () => {
        f = await fixture();
    });
    after(() => {
        f.service.dispose();
        f.kit.dispose();
        f.host.dispose();
        rmSync(scratch, { recursive: true, force: true });
    });

    const loc = (ref: string, view: "layer" | "merged" | "absent", path = "/") => f.service.location(f.source, ref, view, path);

    async function checkAgainstSnapshots(): Promise<void> {
        // config's layer: server.js modified, .env added, /usr/share/doc deleted.
        const app = entries(await f.service.list(loc("config", "layer", "/app")));
        assert.deepEqual(app.map((e) => [e.name, e.change, e.type]), [[".env", "added", "file"], ["server.js", "modified", "file"]]);
        const doc = await f.service.stat(loc("config", "layer", "/usr/share/doc"));
        assert.ok(doc.type !== "absent" && doc.change === "deleted");
        assert.deepEqual(Buffer.from(await f.service.readFile(loc("config", "layer", "/app/server.js"))).toString(), "v2\n");
        // The merged view is the config snapshot, file for file.
        const hostname = await f.service.readFile(loc("config", "merged", "/etc/hostname"));
        assert.deepEqual(Buffer.from(hostname), readFileSync(join(f.kit.dir, "snapshots/config/etc/hostname")));
        await assert.rejects(f.service.stat(loc("config", "merged", "/usr/share/doc")), (e) => isEngineError(e, "NotFound"));
        const big = await f.service.readFile(loc("config", "merged", "/app/big.bin"));
        assert.ok(Buffer.from(big).equals(readFileSync(join(f.kit.dir, "snapshots/app/app/big.bin"))));
        // The name that is not UTF-8 is listed encoded, and reads back through its URI path.
        const inApp = entries(await f.service.list(loc("app", "layer", "/app")));
        const latin = inApp.find((e) => e.rawPath.equals(Buffer.concat([Buffer.from("/app/"), LATIN1])));
        assert.ok(latin, `app's layer lists ${inApp.map((e) => e.name).join(", ")}`);
        assert.equal(latin.name, innerPathOf(LATIN1));
        const viaUri = parseLayerUri(sourceKey(f.source), formatLayerUri(loc("app", "layer", latin.path)).path);
        assert.equal(Buffer.from(await f.service.readFile(viaUri)).toString(), "latin-1 name\n");
    }

    it("lists and reads from the snapshots before any blob exists", async () => {
        await checkAgainstSnapshots();
    });

    it("lists and reads the same from eStargz blobs once they exist (through their TOC)", async () => {
        await f.model.compute({ source: f.source, ref: "config", compression: "estargz" }).done;
        // The compute's refs event dropped the open contents: the next read takes the blobs.
        const origin = await f.service.use(loc("config", "merged"), async (c) => c.origin);
        assert.equal(origin.kind, "blob");
        assert.deepEqual(origin.kind === "blob" && origin.blobs.map((b) => [b.refId, b.compression]), [["base", "estargz"], ["app", "estargz"], ["config", "estargz"]]);
        await checkAgainstSnapshots();
    });

    it("refuses an editor read above the limit, with the size; Save File As streams it whole", async () => {
        const big = loc("app", "layer", "/app/big.bin");
        await assert.rejects(f.service.readFile(big, 1024 * 1024), (e) => isEngineError(e, "FailedPrecondition") && e.data.size === BIG && /Save File As/.test(e.message));
        const dest = join(scratch, "big.bin");
        assert.equal(await f.service.saveAs(big, dest), BIG);
        assert.ok(readFileSync(dest).equals(fsb.patternBytes(BIG)));
        assert.deepEqual(readdirSync(scratch), ["big.bin"], "no temporary file left");
    });

    it("Save File As canceled leaves no file; of a directory or deletion it refuses", async () => {
        const abort = new AbortController();
        abort.abort();
        const dest = join(scratch, "canceled.bin");
        await assert.rejects(f.service.saveAs(loc("app", "layer", "/app/big.bin"), dest, abort.signal));
        assert.equal(existsSync(dest), false);
        assert.deepEqual(readdirSync(scratch).filter((n) => n !== "big.bin"), []);
        await assert.rejects(f.service.saveAs(loc("config", "layer", "/app"), join(scratch, "x")), (e) => isEngineError(e, "InvalidArgument"));
        await assert.rejects(f.service.readFile(loc("config", "layer", "/usr/share/doc")), (e) => isEngineError(e, "NotFound"));
    });

    it("a symbolic link reads as its target in the ref's root filesystem (as in a chroot)", async () => {
        const read = async (ref: string, view: "layer" | "merged", p: string) => Buffer.from(await f.service.readFile(loc(ref, view, p))).toString();
        assert.equal(await read("config", "merged", "/app/current"), "v2\n");
        assert.equal(await read("app", "layer", "/app/current"), "v1\n", "a link of app's layer resolves in app's view");
        assert.equal(await read("config", "merged", "/app/abs"), "app\n");
        assert.equal(await read("config", "merged", "/app/up"), "app\n", "'..' stops at the root");
        assert.equal(await read("config", "merged", "/app/chain"), "v2\n");
        assert.deepEqual(await f.service.resolveLink(loc("config", "merged", "/app/chain")), loc("config", "merged", "/app/server.js"));
        await assert.rejects(f.service.readFile(loc("config", "merged", "/app/loop")), (e) => isEngineError(e, "InvalidArgument"));
        await assert.rejects(f.service.readFile(loc("config", "merged", "/app/dangling")), (e) => isEngineError(e, "NotFound"));
        const dest = join(scratch, "via-link");
        assert.equal(await f.service.saveAs(loc("config", "merged", "/app/current"), dest), 3);
        rmSync(dest);
    });

    it("the absent view is empty; unknown sources and refs are NotFound; a Merge has no layer", async () => {
        assert.deepEqual(await f.service.stat(loc("config", "absent", "/x")), { type: "absent", path: "/x" });
        assert.equal((await f.service.readFile(loc("config", "absent", "/x"))).length, 0);
        assert.deepEqual(await f.service.list(loc("config", "absent")), []);
        await assert.rejects(f.service.stat({ source: "0123456789abcdef", ref: "config", view: "layer", path: "/" }), (e) => isEngineError(e, "NotFound"));
        await assert.rejects(f.service.stat(loc("nope", "merged")), (e) => isEngineError(e, "NotFound"));
        await assert.rejects(f.service.stat(loc("both", "layer")), (e) => isEngineError(e, "InvalidArgument"));
        const merged = entries(await f.service.list(loc("both", "merged")));
        assert.deepEqual(merged.map((e) => e.name), ["bin", "etc", "opt", "usr"]);
    });

    it("Open Changes: parent's merged view against the layer; nothing on the left of an addition, right of a deletion", async () => {
        const modified = await changePair(f.service, f.source, "config", "/app/server.js");
        assert.deepEqual([modified.change, modified.left, modified.right], ["modified", loc("app", "merged", "/app/server.js"), loc("config", "layer", "/app/server.js")]);
        assert.equal(Buffer.from(await f.service.readFile(modified.left)).toString(), "v1\n");
        assert.equal(Buffer.from(await f.service.readFile(modified.right)).toString(), "v2\n");
        const added = await changePair(f.service, f.source, "config", "/app/.env");
        assert.deepEqual([added.change, added.left.view, added.right], ["added", "absent", loc("config", "layer", "/app/.env")]);
        const base = await changePair(f.service, f.source, "base", "/bin/sh");
        assert.deepEqual([base.change, base.left.view], ["added", "absent"], "a BaseLayer sits on nothing");
        await assert.rejects(changePair(f.service, f.source, "config", "/app"), (e) => isEngineError(e, "InvalidArgument"));
        await assert.rejects(changePair(f.service, f.source, "config", "/etc/os-release"), (e) => isEngineError(e, "NotFound"));
        // A Diff: its lower's view against its own layer.
        const d = await changePair(f.service, f.source, "config-changes", "/app/server.js");
        assert.deepEqual([d.left, d.right.ref], [loc("app", "merged", "/app/server.js"), "config-changes"]);
        assert.match(d.title, /^server\.js \(app ↔ config-changes\)$/);
    });

    it("Open All Changes lists every changed file, a deleted folder as its old files, largest first", async () => {
        const pairs = await layerChanges(f.service, f.source, "config");
        assert.deepEqual(pairs.map((p) => [p.change, p.left.path, p.size]), [
            ["added", "/app/.env", 8],
            ["deleted", "/usr/share/doc/README", 5],
            ["modified", "/app/server.js", 3],
        ]);
        assert.deepEqual(pairs[1]!.left, loc("app", "merged", "/usr/share/doc/README"));
        assert.equal(pairs[1]!.right.view, "absent");
    });

    it("the Layer Files rows: folders first, change and size, commands by kind", async () => {
        const data = new LayerFilesData(f.service);
        const root = data.add({ source: f.source, sourceLabel: "ws", ref: "config", view: "layer" });
        assert.equal(data.add({ source: f.source, sourceLabel: "ws", ref: "config", view: "layer" }), root, "one root per ref and view");
        const top = (await data.children(root)) as EntryNode[];
        assert.deepEqual(top.map((n) => n.entry.name), ["app", "usr"]);
        const files = (await data.children(top[0])) as EntryNode[];
        const rows = files.map((n) => data.row(n));
        assert.deepEqual(rows.map((r) => [r.label, r.description]), [[".env", "added · 8 B"], ["server.js", "modified · 3 B"]]);
        assert.equal(rows[1]!.contextValue, "layerEntry.file.modified.changed.readable");
        assert.equal(rows[1]!.command?.command, OPEN_FILE_COMMAND);
        const usr = (await data.children(top[1])) as EntryNode[];
        const doc = ((await data.children(usr[0])) as EntryNode[])[0]!;
        const docRow = data.row(doc);
        assert.deepEqual([docRow.description, docRow.collapsible, docRow.command?.command], ["deleted", "none", OPEN_CHANGES_COMMAND]);
        assert.match(data.row(files[1]!).tooltip, /mode -rw-r--r-- \(0644\)/);
        assert.equal(modeString({ type: "dir", mode: 0o1777 }), "drwxrwxrwt");
        assert.equal(modeString({ type: "file", mode: 0o4755 }), "-rwsr-xr-x");
        data.remove(root);
        assert.deepEqual(await data.children(), []);
    });

    it("a reopened source drops what was open; reads go on", async () => {
        await f.service.readFile(loc("config", "merged", "/etc/hostname"));
        await f.model.refresh({ reopen: true });
        writeFileSync(join(scratch, "marker"), "");
        assert.equal(Buffer.from(await f.service.readFile(loc("config", "merged", "/etc/hostname"))).toString(), "app\n");
    });
});
