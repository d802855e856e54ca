/**
 * layerscope.json loading: every validation error is an InvalidArgument whose message names the
 * ref (the one place tests look at message content) and whose data names the field; aliases,
 * ancestor Diffs, snapshot directories that escape the workspace, and the bundled sample.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { type EngineError, isEngineError } from "../../src/engine/errors";
import { isTypeWindows, loadWorkspace, type Workspace } from "../../src/engine/refs";

const work = mkdtempSync(join(tmpdir(), "layerscope-refs-"));
after(() => rmSync(work, { recursive: true, force: true }));
const ws = join(work, "ws");
for (const s of ["base", "app", "config", "other"]) {
    mkdirSync(join(ws, "snapshots", s), { recursive: true });
}
writeFileSync(join(ws, "snapshots", "not-a-dir"), "x");
mkdirSync(join(work, "outside"));
symlinkSync(join(work, "outside"), join(ws, "snapshots", "escape"));
symlinkSync("base", join(ws, "snapshots", "base-link"));
mkdirSync(join(ws, ".layerscope", "blobs"), { recursive: true });

const BASE = { id: "base", snapshot: "snapshots/base" };
const APP = { id: "app", parent: "base", snapshot: "snapshots/app" };
const CONFIG = { id: "config", parent: "app", snapshot: "snapshots/config" };
const OTHER = { id: "other", snapshot: "snapshots/other" };

function load(refs: unknown[], extra: Record<string, unknown> = {}): Workspace {
    writeFileSync(join(ws, "layerscope.json"), JSON.stringify({ snapshotter: "native", refs, ...extra }));
    return loadWorkspace(ws);
}

/** Loading fails with InvalidArgument naming `ref` in the message and `field` in the data. */
function rejects(refs: unknown[], ref: string, field: string, extra: Record<string, unknown> = {}): void {
    assert.throws(
        () => load(refs, extra),
        (e: unknown) => {
            assert.ok(isEngineError(e, "InvalidArgument"), `expected InvalidArgument, got ${String(e)}`);
            assert.ok(e.message.includes(`"${ref}"`), `message should name ref "${ref}": ${e.message}`);
            assert.equal((e as EngineError).data.field, field, e.message);
            return true;
        },
    );
}

describe("workspace loading: a valid file", () => {
    it("resolves every kind, aliases and ancestor Diffs", () => {
        const w = load([
            BASE, APP, CONFIG, OTHER,
            { id: "m", merge: ["config", null, "other"] },
            { id: "alias", merge: [null, "app"] },
            { id: "top", parent: "alias", snapshot: "snapshots/other" },
            { id: "reuse", diff: { lower: "app", upper: "config" } },
            { id: "own", diff: { lower: "other", upper: "m" } },
            { id: "scratch", diff: { lower: "config", upper: null } },
            { id: "anc", diff: { lower: "base", upper: "config" } },
            { id: "flat", merge: ["m", "anc"] },
        ]);
        const kind = (id: string): string => w.get(id).kind();
        const chain = (id: string): string[] => w.get(id).layerChain().map((r) => r.id);
        assert.equal(kind("base"), "BaseLayer");
        assert.equal(kind("config"), "Layer");
        assert.equal(kind("m"), "Merge");
        assert.deepEqual(chain("m"), ["base", "app", "config", "other"]);
        // A one-input merge is its input: same Ref object, alias recorded on the entry.
        assert.equal(w.get("alias"), w.get("app"));
        assert.equal(w.entry("alias")!.aliasOf, "app");
        assert.equal(w.entry("m")!.aliasOf, null);
        assert.equal(w.get("top").layerParent, w.get("app"));
        assert.deepEqual(chain("reuse"), ["config"]);
        assert.deepEqual(chain("own"), ["own"]);
        assert.deepEqual(chain("scratch"), ["scratch"]);
        assert.equal(kind("anc"), "Merge");
        assert.deepEqual(chain("anc"), ["app", "config"]);
        assert.equal(w.get("anc~app").kind(), "Diff");
        assert.deepEqual(chain("flat"), ["base", "app", "config", "other", "app", "config"]);
        assert.deepEqual(w.get("flat").mergeParents.map((r) => r.id), ["config", "other", "anc~app", "anc~config"]);
        assert.equal(w.get("base").snapshot, join(w.root, "snapshots", "base"));
    });

    it("accepts refs in any order and a snapshot symlink that stays inside", () => {
        const w = load([CONFIG, APP, { id: "base", snapshot: "snapshots/base-link" }]);
        assert.deepEqual(w.get("config").layerChain().map((r) => r.id), ["base", "app", "config"]);
        assert.equal(w.get("base").snapshot, join(w.root, "snapshots", "base"));
    });

    it("models isTypeWindows from layerType", () => {
        const w = load([{ ...BASE, layerType: "windows" }, APP, OTHER, { id: "m", merge: ["other", "app"] }]);
        assert.equal(isTypeWindows(w.get("app")), true);
        assert.equal(isTypeWindows(w.get("m")), true);
        assert.equal(isTypeWindows(w.get("other")), false);
    });

    it("fails with NotFound for an unknown ref id", () => {
        const w = load([BASE]);
        assert.throws(() => w.get("nope"), (e: unknown) => isEngineError(e, "NotFound"));
    });
});

describe("workspace loading: errors name the ref and the field", () => {
    it("missing file is NotFound; bad JSON is InvalidArgument", () => {
        const empty = join(work, "empty");
        mkdirSync(empty);
        assert.throws(() => loadWorkspace(empty), (e: unknown) => isEngineError(e, "NotFound"));
        writeFileSync(join(empty, "layerscope.json"), "{ nope");
        assert.throws(() => loadWorkspace(empty), (e: unknown) => isEngineError(e, "InvalidArgument"));
    });

    it("top-level fields", () => {
        const docs = [{ refs: [] }, { snapshotter: "zfs", refs: [] }, { snapshotter: "native" }, { snapshotter: "native", refs: [], x: 1 }];
        for (const doc of docs) {
            writeFileSync(join(ws, "layerscope.json"), JSON.stringify(doc));
            assert.throws(() => loadWorkspace(ws), (e: unknown) => isEngineError(e, "InvalidArgument"));
        }
    });

    const cases: Array<[string, unknown[], string, string]> = [
        ["a ref without id is named by its index", [BASE, { snapshot: "snapshots/app" }], "refs[1]", "id"],
        ["an id that is not a plain name", [{ id: "a/b", snapshot: "snapshots/base" }], "refs[0]", "id"],
        ["duplicate ids", [BASE, { ...OTHER, id: "base" }], "base", "id"],
        ["unknown field", [{ ...APP, parnet: "base" }, BASE], "app", "parnet"],
        ["parent and merge together", [BASE, { id: "x", parent: "base", merge: ["base"] }], "x", "merge"],
        ["merge and diff together", [BASE, { id: "x", merge: ["base"], diff: { lower: "base", upper: null } }], "x", "diff"],
        ["an empty merge", [BASE, { id: "m", merge: [] }], "m", "merge"],
        ["a merge of only nulls (no inputs)", [BASE, { id: "m", merge: [null, null] }], "m", "merge"],
        ["a merge entry that is no id", [BASE, { id: "m", merge: ["base", 3] }], "m", "merge[1]"],
        ["a diff with a null lower (cannot be nil)", [BASE, { id: "d", diff: { lower: null, upper: "base" } }], "d", "diff.lower"],
        ["a diff without upper", [BASE, { id: "d", diff: { lower: "base" } }], "d", "diff.upper"],
        ["a diff with an extra field", [BASE, { id: "d", diff: { lower: "base", upper: null, x: 1 } }], "d", "diff.x"],
        ["a BaseLayer without snapshot", [{ id: "base" }], "base", "snapshot"],
        ["a Layer without snapshot", [BASE, { id: "app", parent: "base" }], "app", "snapshot"],
        ["a Merge with a snapshot", [BASE, OTHER, { id: "m", merge: ["base", "other"], snapshot: "snapshots/app" }], "m", "snapshot"],
        ["a Diff with a snapshot", [BASE, { id: "d", diff: { lower: "base", upper: null }, snapshot: "snapshots/app" }], "d", "snapshot"],
        ["a bad layerType", [{ ...BASE, layerType: "darwin" }], "base", "layerType"],
        ["a description that is no string", [{ ...BASE, description: 5 }], "base", "description"],
        ["an unknown parent", [{ ...APP, parent: "bse" }], "app", "parent"],
        ["an unknown merge input", [BASE, { id: "m", merge: ["base", "nope"] }], "m", "merge[1]"],
        ["an unknown diff upper", [BASE, { id: "d", diff: { lower: "base", upper: "nope" } }], "d", "diff.upper"],
        ["a parent cycle", [{ ...APP, id: "a", parent: "b" }, { ...BASE, id: "b", parent: "a" }], "b", "parent"],
        ["a ref that is its own parent", [{ id: "a", parent: "a", snapshot: "snapshots/app" }], "a", "parent"],
        ["a cycle through merge and diff", [BASE, { id: "m", merge: ["base", "d"] }, { id: "d", diff: { lower: "base", upper: "m" } }],
            "d", "diff.upper"],
        ["a snapshot that does not exist", [{ ...BASE, snapshot: "snapshots/nope" }], "base", "snapshot"],
        ["a snapshot that is a file", [{ ...BASE, snapshot: "snapshots/not-a-dir" }], "base", "snapshot"],
        ["a snapshot outside through ..", [{ ...BASE, snapshot: "../outside" }], "base", "snapshot"],
        ["a snapshot outside through a symlink", [{ ...BASE, snapshot: "snapshots/escape" }], "base", "snapshot"],
        ["an absolute snapshot path", [{ ...BASE, snapshot: join(ws, "snapshots", "base") }], "base", "snapshot"],
        ["the workspace itself as snapshot", [{ ...BASE, snapshot: "." }], "base", "snapshot"],
        ["a snapshot inside the engine state", [{ ...BASE, snapshot: ".layerscope/blobs" }], "base", "snapshot"],
    ];
    for (const [name, refs, ref, field] of cases) {
        it(name, () => rejects(refs, ref, field));
    }
});

describe("the bundled sample workspace", () => {
    const sample = join(__dirname, "..", "..", "..", "test", "fixtures", "sample");

    function checkSample(w: Workspace): void {
        const kinds = Object.fromEntries(w.entries.map((e) => [e.id, e.ref.kind()]));
        assert.deepEqual(kinds, {
            base: "BaseLayer",
            app: "Layer",
            config: "Layer",
            "config-changes": "Diff",
            "config-on-base": "Merge",
            "app-over-rebased": "Diff",
            "base-to-config": "Merge",
            scratch: "Diff",
        });
        const chain = (id: string): string[] => w.get(id).layerChain().map((r) => r.id);
        assert.deepEqual(chain("config-changes"), ["config"], "a Diff reusing its upper's blob");
        assert.deepEqual(chain("config-on-base"), ["base", "config"]);
        assert.deepEqual(chain("app-over-rebased"), ["app-over-rebased"], "a Diff as its own blob");
        assert.deepEqual(chain("base-to-config"), ["app", "config"]);
        assert.deepEqual(chain("scratch"), ["scratch"], "a Diff with a null upper");
        assert.equal(w.get("scratch").diffParents!.upper, null);
    }

    it("shows every kind (test/fixtures/sample)", () => {
        checkSample(loadWorkspace(sample));
    });

    it("is valid for the materialised copy too", () => {
        const out = join(work, "sample");
        const r = spawnSync(process.execPath, [join(sample, "materialize.mjs"), out], { encoding: "utf8" });
        assert.equal(r.status, 0, r.stderr);
        copyFileSync(join(sample, "layerscope.json"), join(out, "layerscope.json"));
        checkSample(loadWorkspace(out));
    });
});
