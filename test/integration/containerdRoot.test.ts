/**
 * A real containerd 1.6 root, made by containerd itself (test/fixtures/realstate/tools/
 * make-containerd-root.sh, as root), read in place: refs and parents against `ctr snapshots ls`,
 * image layers recomputed from both snapshotters against the config's diff_ids, the plain answer
 * for layers another tar writer made, a non-root user's error, and not one byte of the root
 * changed. Skips without root, containerd, ctr or GNU tar/busybox-static.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { detectSource, isEngineError, openSourceEngine, RootEngine } from "../../src/engine";
import { ReadOnlyGuard } from "../helpers/readOnlyGuard";
import { cliForUser } from "../helpers/cliForUser";

const repo = join(__dirname, "..", "..", "..");
const cli = join(repo, "dist", "cli.js");
const script = join(repo, "test", "fixtures", "realstate", "tools", "make-containerd-root.sh");
const oracle = process.env.LAYERSCOPE_ORACLE;

function has(cmd: string): boolean {
    return spawnSync("sh", ["-c", `command -v ${cmd}`]).status === 0;
}
const skip =
    process.getuid?.() !== 0
        ? "needs root (CI runs as root)"
        : !has("containerd") || !has("ctr") || !has("setfattr") || !has("getfattr")
          ? "needs containerd, ctr and attr (apt-get install containerd runc busybox-static attr)"
          : spawnSync("sh", ["-c", "file -L /bin/busybox | grep -q statically"]).status !== 0
            ? "needs a static busybox (apt-get install busybox-static)"
            : null;

let work = "";
let root = "";
let ctrOut = "";
/** Checks the root after every command run(). */
let guard: ReadOnlyGuard | undefined;

function run(args: string[], opts: { uid?: number } = {}): { code: number; stdout: string; stderr: string } {
    const argv = opts.uid === undefined ? [process.execPath, cli, ...args] : ["setpriv", `--reuid=${opts.uid}`, `--regid=${opts.uid}`, "--clear-groups", process.execPath, cliForUser(opts.uid), ...args];
    const r = spawnSync(argv[0]!, argv.slice(1), { encoding: "utf8", env: { ...process.env, XDG_CACHE_HOME: join(work, "cache") } });
    guard?.check(`layerscope ${args.join(" ")}`);
    return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** `ctr snapshots ls`: key → [parent, kind]. */
function ctrSnapshots(sn: string): Map<string, [string, string]> {
    const lines = readFileSync(join(ctrOut, `snapshots-${sn}.txt`), "utf8").trim().split("\n").slice(1);
    return new Map(
        lines.map((l) => {
            const f = l.trim().split(/\s+/);
            return f.length === 3 ? [f[0]!, [f[1]!, f[2]!]] : [f[0]!, ["", f[1]!]];
        }),
    );
}

describe("containerd root, read in place", { skip: skip || undefined }, () => {
    before(() => {
        work = mkdtempSync(join(tmpdir(), "layerscope-ctrd-"));
        chmodSync(work, 0o755); // so a non-root user meets containerd's own 0700, not ours
        const r = spawnSync("bash", [script, join(work, "out")], { encoding: "utf8", env: { ...process.env, ...(oracle ? { ORACLE: oracle } : {}) } });
        assert.equal(r.status, 0, `make-containerd-root.sh failed: ${r.stderr}`);
        root = r.stdout.trim().split("\n").pop()!;
        ctrOut = join(work, "out", "ctr");
        guard = new ReadOnlyGuard([root]);
    });
    after(() => {
        if (work) rmSync(work, { recursive: true, force: true });
    });

    it("detects the root; refs, parents and kinds agree with ctr snapshots ls for both snapshotters", async () => {
        assert.equal(detectSource(root), "containerd");
        for (const sn of ["overlayfs", "native"]) {
            const r = run(["refs", root, "--snapshotter", sn, "--json"]);
            assert.equal(r.code, 0, r.stderr);
            const out = JSON.parse(r.stdout) as { source: string; snapshotter: string; refs: Array<{ id: string; parents: { parent?: string }; snapshotInfo: { kind: string; key: string } }> };
            assert.equal(out.source, "containerd");
            assert.equal(out.snapshotter, sn);
            const expected = ctrSnapshots(sn);
            const kinds: Record<string, string> = { committed: "Committed", active: "Active", view: "View" };
            const actual = new Map(out.refs.map((x) => [x.id, [x.parents.parent ?? "", kinds[x.snapshotInfo.kind]!] as [string, string]]));
            assert.deepEqual(actual, expected);
        }
    });

    it("marks active and view snapshots and carries both label sets", async () => {
        const engine = await openSourceEngine(root, { snapshotter: "overlayfs", stateDir: join(work, "state-o") });
        assert.ok(engine instanceof RootEngine);
        assert.equal(engine.snapshotInfo("mnt")!.kind, "active");
        assert.equal(engine.snapshotInfo("view-1")!.kind, "view");
        const base = engine.summary.images.find((i) => i.name === "docker.io/test/base:1")!;
        const labels = engine.snapshotInfo(base.chainIDs[0]!)!.labels;
        assert.equal(labels["example.com/note"], "base-layer");
        assert.equal(labels["containerd.io/snapshot/example"], "passed-to-backend");
        assert.deepEqual(engine.layerIds("mnt"), [...base.chainIDs.slice(0, 1), engine.summary.images.find((i) => i.name === "docker.io/test/app:1")!.chainIDs[1]!, "mnt"]);
    });

    it("verify --image: layers containerd's writer made are recomputed exactly, with both snapshotters", { skip: oracle ? undefined : "needs LAYERSCOPE_ORACLE to make the image" }, () => {
        for (const sn of ["overlayfs", "native"]) {
            const r = run(["verify", root, "--image", "test/ctrd:1", "--snapshotter", sn, "--json"]);
            assert.equal(r.code, 0, r.stdout + r.stderr);
            const rep = JSON.parse(r.stdout) as { ok: boolean; layers: Array<{ ok: boolean; recomputed: string; diffID: string }> };
            assert.equal(rep.layers.length, 2);
            for (const l of rep.layers) assert.equal(l.recomputed, l.diffID);
        }
    });

    it("verify --image on a GNU-tar image: exit 1, names the writer, says the content matches", () => {
        for (const sn of ["overlayfs", "native"]) {
            const r = run(["verify", root, "--image", "docker.io/test/app:2", "--snapshotter", sn, "--json"]);
            assert.equal(r.code, 1, r.stderr);
            const rep = JSON.parse(r.stdout) as { ok: boolean; layers: Array<{ ok: boolean; message: string; original: { writer: string; contentMatches: boolean; decompressesToDiffID: boolean } }> };
            assert.equal(rep.ok, false);
            assert.equal(rep.layers.length, 3);
            for (const l of rep.layers) {
                assert.equal(l.ok, false);
                assert.match(l.original.writer, /GNU tar/);
                assert.equal(l.original.contentMatches, true, l.message);
                assert.equal(l.original.decompressesToDiffID, true);
            }
            const text = run(["verify", root, "--image", "docker.io/test/app:2", "--snapshotter", sn]);
            assert.match(text.stdout, /MISMATCH {2}layer 0 .*GNU tar.*content itself matches/);
        }
    });

    it("computes blobs of an active snapshot with the engine state outside the root", () => {
        const state = join(work, "state-compute");
        const r = run(["compute", root, "--ref", "c1", "--state", state, "--json"]);
        if (!readFileSync(join(ctrOut, "snapshots-overlayfs.txt"), "utf8").includes("c1")) return; // NO_RUN
        assert.equal(r.code, 0, r.stderr);
        const out = JSON.parse(r.stdout) as { layers: string[]; refs: Array<{ id: string; diffID: string }> };
        assert.equal(out.layers.at(-1), "c1");
        assert.ok(out.refs.every((x) => /^sha256:/.test(x.diffID)));
        assert.equal(run(["verify", root, "--ref", "c1", "--state", state]).code, 0);
        assert.equal(run(["refs", root, "--state", join(root, "x")]).code, 1, "a state dir inside the root is refused");
    });

    it("a user who cannot read the root gets what and how, not a stack trace", { skip: has("setpriv") ? undefined : "needs setpriv" }, () => {
        const r = run(["refs", root, "--json"], { uid: 65534 });
        assert.equal(r.code, 1);
        assert.match(r.stderr, /permission denied/);
        assert.match(r.stderr, /sudo/);
        assert.doesNotMatch(r.stderr, /\n\s+at /);
    });

    it("an unreadable root through the engine door is PermissionDenied", () => {
        // As root nothing is unreadable; a missing root is NotFound, never a crash.
        assert.throws(() => detectSource(join(root, "missing")), (e: unknown) => isEngineError(e, "NotFound"));
    });

    it("compute, convert, verify, refs and gc with the state outside change nothing in the root", () => {
        const refs = JSON.parse(run(["refs", root, "--json"]).stdout) as { refs: Array<{ id: string; kind: string; layers: string[] }> };
        const top = refs.refs.filter((r) => r.layers.length > 0).sort((a, b) => b.layers.length - a.layers.length)[0];
        assert.ok(top, "the root has a ref with layers");
        const state = join(work, "state-readonly");
        for (const args of [
            ["compute", root, "--ref", top.id, "--state", state, "--json"],
            ["convert", root, "--ref", top.id, "--compression", "zstd", "--state", state, "--json"],
            ["verify", root, "--state", state, "--json"],
            ["refs", root, "--state", state, "--json"],
            ["gc", root, "--state", state, "--json"],
        ]) {
            const r = run(args);
            assert.equal(r.code, 0, `${args.join(" ")}: ${r.stderr}`);
        }
    });

    it("leaves every byte, mode, mtime and xattr of the root as it was", () => {
        guard!.check("every command above and the engine calls between them");
        assert.ok(guard!.checked >= 5, `the root was checked after each of ${guard!.checked} commands`);
    });
});
