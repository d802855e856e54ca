/**
 * A standalone buildkitd root (runc-overlayfs/: metadata_v2.db, containerdmeta.db, snapshots/,
 * content/), made by test/fixtures/realstate/tools/make-buildkit-root.sh as root: containerd's
 * own databases and overlay snapshots (namespace buildkit) plus a metadata_v2.db in BuildKit's
 * layout. Checks: detected (the root and its runc-overlayfs/), refs and parents = the records'
 * cache.parent and agree with `ctr snapshots ls`, descriptions and kinds, a committed record
 * read through its equal mutable, the blob-only record named and skipped, compute + verify with
 * the state outside, and not one byte of the root changed. Skips without root, containerd, ctr,
 * jq, Go and Debian's bbolt sources.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { detectSource, isEngineError, openSourceEngine, RootEngine } from "../../src/engine";
import { SourceModel } from "../../src/extension/model/sourceModel";
import { RefsTreeData } from "../../src/extension/tree/treeData";
import { FakeHost } from "../helpers/modelHost";
import { treeFingerprint } from "../helpers/treeFingerprint";

const repo = join(__dirname, "..", "..", "..");
const cli = join(repo, "dist", "cli.js");
const script = join(repo, "test", "fixtures", "realstate", "tools", "make-buildkit-root.sh");

function has(cmd: string): boolean {
    return spawnSync("sh", ["-c", `command -v ${cmd}`]).status === 0;
}
const skip =
    process.getuid?.() !== 0
        ? "needs root (CI runs as root)"
        : !has("containerd") || !has("ctr") || !has("jq") || !has("getfattr")
          ? "needs containerd, ctr, jq and attr (apt-get install containerd jq attr)"
          : !has("go") || !existsSync("/usr/share/gocode/src/go.etcd.io/bbolt")
            ? "needs Go and Debian's bbolt sources (apt-get install golang-go golang-github-coreos-bbolt-dev)"
            : null;

interface Expected {
    parent: string | null;
    description: string;
    snapshot: string;
    kind: "committed" | "mutable";
    snapshotKind: "committed" | "active";
}

interface RefsJson {
    source: string;
    snapshotter: string;
    namespace: string;
    problems: string[];
    refs: Array<{
        id: string;
        parents: { parent?: string };
        snapshotInfo: { kind: string; namespace: string; dir: string; buildkit: { description: string; snapshot: string; snapshotKind: string; equalMutable: string | null; recordType: string | null } };
    }>;
}

let work = "";
let root = "";
let expected: Record<string, Expected | null> = {};
let fingerprint = "";

function run(args: string[]): { code: number; stdout: string; stderr: string } {
    const r = spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", env: { ...process.env, XDG_CACHE_HOME: join(work, "cache") } });
    return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** `ctr -n buildkit snapshots ls` before the move: key → parent key. */
function ctrParents(): Map<string, string> {
    const lines = readFileSync(join(work, "out", "ctr", "snapshots.txt"), "utf8").trim().split("\n").slice(1);
    return new Map(
        lines.map((l) => {
            const f = l.trim().split(/\s+/);
            return [f[0]!, f.length === 3 ? f[1]! : ""];
        }),
    );
}

describe("standalone buildkitd root, read in place", { skip: skip || undefined }, () => {
    before(() => {
        work = mkdtempSync(join(tmpdir(), "layerscope-bk-"));
        const r = spawnSync("bash", [script, join(work, "out")], { encoding: "utf8" });
        assert.equal(r.status, 0, `make-buildkit-root.sh failed: ${r.stderr}`);
        root = r.stdout.trim().split("\n").pop()!;
        expected = JSON.parse(readFileSync(join(work, "out", "expected.json"), "utf8")) as typeof expected;
        fingerprint = treeFingerprint(root);
    });
    after(() => {
        if (work) rmSync(work, { recursive: true, force: true });
    });

    it("is detected as /var/lib/buildkit and as its runc-overlayfs/ worker", () => {
        assert.equal(detectSource(root), "buildkit");
        assert.equal(detectSource(join(root, "runc-overlayfs")), "buildkit");
        // Its parts are not roots of their own kinds.
        assert.equal(detectSource(join(root, "runc-overlayfs", "snapshots")), null);
    });

    it("refs are the records, parents their cache.parent, agreeing with ctr snapshots ls", () => {
        for (const dir of [root, join(root, "runc-overlayfs")]) {
            const r = run(["refs", dir, "--json"]);
            assert.equal(r.code, 0, r.stderr);
            const out = JSON.parse(r.stdout) as RefsJson;
            assert.equal(out.source, "buildkit");
            assert.equal(out.snapshotter, "overlayfs");
            assert.equal(out.namespace, "buildkit");
            const want = Object.entries(expected).filter((e): e is [string, Expected] => e[1] !== null);
            assert.deepEqual(out.refs.map((x) => x.id).sort(), want.map(([id]) => id).sort());
            const byId = new Map(out.refs.map((x) => [x.id, x]));
            const ctr = ctrParents();
            for (const [id, e] of want) {
                const ref = byId.get(id)!;
                assert.equal(ref.parents.parent ?? null, e.parent, id);
                assert.equal(ref.snapshotInfo.kind, e.kind, id);
                assert.equal(ref.snapshotInfo.namespace, "buildkit");
                assert.equal(ref.snapshotInfo.buildkit.snapshot, e.snapshot, id);
                assert.equal(ref.snapshotInfo.buildkit.snapshotKind, e.snapshotKind, id);
                // containerd's parent of the snapshot is the parent record's snapshot.
                assert.equal(ctr.get(e.snapshot), e.parent === null ? "" : expected[e.parent]!.snapshot, id);
            }
            const [blobOnly] = Object.entries(expected).find((e) => e[1] === null)!;
            assert.ok(out.problems.some((p) => p.includes(blobOnly) && /not unpacked/.test(p)), out.problems.join("\n"));
            assert.equal(out.problems.length, 1, out.problems.join("\n"));
        }
    });

    it("carries the records' descriptions; a committed record reads its equal mutable's snapshot", async () => {
        const engine = await openSourceEngine(root, { stateDir: join(work, "state-engine") });
        assert.ok(engine instanceof RootEngine);
        assert.equal(engine.source, "buildkit");
        for (const [id, e] of Object.entries(expected)) {
            if (e === null) {
                assert.equal(engine.snapshotInfo(id), null);
                continue;
            }
            assert.equal(engine.snapshotInfo(id)!.buildkit!.description, e.description);
            assert.equal(engine.workspace.get(id)!.description, e.description);
        }
        const [cid, ce] = Object.entries(expected).find((e) => e[1] !== null && e[1].kind === "committed" && e[1].snapshotKind === "active") as [string, Expected];
        const info = engine.snapshotInfo(cid)!;
        assert.equal(info.buildkit!.equalMutable, ce.snapshot);
        assert.equal(info.dir, engine.snapshotInfo(ce.snapshot)!.dir);
        const chain = [cid];
        for (let p = ce.parent; p; p = expected[p]!.parent) chain.unshift(p);
        assert.deepEqual(engine.layerIds(cid), chain);
        const local = Object.entries(expected).find((e) => e[1]?.description === "local source for context")!;
        assert.equal(engine.snapshotInfo(local[0])!.buildkit!.recordType, "source.local");
    });

    it("computes a record's blob chain with the state outside, then verify passes", () => {
        const top = Object.entries(expected).find((e) => e[1] !== null && e[1].kind === "committed" && e[1].snapshotKind === "active")![0];
        const state = join(work, "state-compute");
        const r = run(["compute", root, "--ref", top, "--state", state, "--json"]);
        assert.equal(r.code, 0, r.stderr);
        const out = JSON.parse(r.stdout) as { layers: string[]; refs: Array<{ diffID: string }> };
        assert.equal(out.layers.length, 3);
        assert.ok(out.refs.every((x) => /^sha256:[a-f0-9]{64}$/.test(x.diffID)));
        const v = run(["verify", root, "--state", state, "--json"]);
        assert.equal(v.code, 0, v.stdout + v.stderr);
        const rep = JSON.parse(v.stdout) as { ok: boolean; checks: unknown[] };
        assert.equal(rep.ok, true);
        assert.ok(rep.checks.length >= 3);
        assert.equal(run(["refs", root, "--state", join(root, "x")]).code, 1, "a state dir inside the root is refused");
    });

    it("a snapshotter or namespace the root does not have: what and why, exit 1", async () => {
        const r = run(["refs", root, "--snapshotter", "native"]);
        assert.equal(r.code, 1);
        assert.match(r.stderr, /no runc-native\/ worker \(has runc-overlayfs\)/);
        await assert.rejects(openSourceEngine(root, { namespace: "default", stateDir: join(work, "state-ns") }), (e: unknown) => isEngineError(e, "NotFound"));
    });

    it("the extension's Open Snapshot Source accepts it; the tree lists the records", async () => {
        const host = new FakeHost([]);
        host.raw = { stateLocation: "global" };
        try {
            const model = new SourceModel(host);
            await model.refresh();
            const info = await model.addSource(root);
            assert.equal(info.kind, "buildkit");
            assert.equal(info.error, undefined);
            const tree = new RefsTreeData(model);
            const rows = (await tree.children(tree.sourceNode(root))).map((n) => tree.row(n).label);
            const want = Object.entries(expected).filter((e) => e[1] !== null).map(([id]) => id);
            assert.deepEqual([...rows].sort(), want.sort());
        } finally {
            host.dispose();
        }
    });

    it("leaves every byte, mode, mtime and xattr of the root as it was", () => {
        assert.equal(treeFingerprint(root), fingerprint);
    });
});
