/**
 * The real CLI (dist/cli.js) SIGKILLed at random moments of compute, convert, import and gc.
 * After each kill: no partial blob, every metadata file whole, `layerscope verify` passes
 * (refs not yet computed are simply not checked); then the next run of the same command
 * finishes, leaves no stale ingest or temporary behind, and yields the digests of a run that was
 * never killed. Kill moments are drawn uniformly from each command's measured duration (so some
 * land in Node's start-up, most in the work).
 *
 * LAYERSCOPE_CRASH_KILLS (default 100) sets how many kills in all; LAYERSCOPE_CRASH_SEED
 * replays a run. The figures (kills per command, how many the command outran) go to stdout.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Rng } from "../helpers/rng";
import { blobDigests, leftovers, storeProblems } from "../helpers/storeInvariants";
import { WorkspaceKit } from "../helpers/workspaceKit";

const cli = join(__dirname, "..", "..", "..", "dist", "cli.js");

/** cp -a: modes, owners and ns mtimes kept (the differ compares them). */
function cpSync(from: string, to: string, _opts?: unknown): void {
    const r = spawnSync("cp", ["-a", "--", from, to], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
}
const KILLS = Number(process.env.LAYERSCOPE_CRASH_KILLS ?? 100);
const seed = Number(process.env.LAYERSCOPE_CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));

type Op = "compute" | "convert" | "import" | "gc";
const OPS: readonly Op[] = ["compute", "convert", "import", "gc"];

interface RefDigests {
    readonly id: string;
    readonly diffID: string | null;
    readonly chainID: string | null;
    readonly blobChainID: string | null;
    readonly blob: string | null;
    readonly variants: string[];
}

function run(args: string[]): { code: number; stdout: string; stderr: string; ms: number } {
    const t = Date.now();
    const r = spawnSync(process.execPath, [cli, ...args], { encoding: "utf8" });
    return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr, ms: Date.now() - t };
}

function ok(args: string[]): { stdout: string; ms: number } {
    const r = run(args);
    assert.equal(r.code, 0, `layerscope ${args.join(" ")}: ${r.stderr}`);
    return r;
}

function digestsOf(json: string): RefDigests[] {
    const out = JSON.parse(json) as { refs: Array<{ id: string; diffID: string | null; chainID: string | null; blobChainID: string | null; blob: { digest: string } | null; variants: Array<{ digest: string }> }> };
    return out.refs.map((r) => ({ id: r.id, diffID: r.diffID, chainID: r.chainID, blobChainID: r.blobChainID, blob: r.blob?.digest ?? null, variants: r.variants.map((v) => v.digest).sort() }));
}

/** Starts the command and SIGKILLs it after `delayMs`; false when it had already finished. */
async function killAfter(args: string[], delayMs: number): Promise<boolean> {
    const child = spawn(process.execPath, [cli, ...args], { stdio: "ignore" });
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    let done = false;
    void exited.then(() => (done = true));
    await Promise.race([new Promise((r) => setTimeout(r, delayMs)), exited]);
    if (done) return false;
    child.kill("SIGKILL");
    await exited;
    return true;
}

/** Bytes that compress poorly but deterministically, so gzip takes a measurable while. */
function noise(n: number, salt: number): Buffer {
    const rng = new Rng(salt);
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i += 4) b.writeUInt32LE(rng.next(), i);
    return b;
}

describe(`CLI killed at random moments (${KILLS} kills, seed ${seed})`, () => {
    const work = mkdtempSync(join(tmpdir(), "layerscope-clicrash-"));
    const kit = new WorkspaceKit();
    const gcWs = join(work, "gc-ws");
    const layout = join(work, "layout");
    const tpl = { computed: join(work, "tpl-computed"), converted: join(work, "tpl-converted") };
    const ref: Record<Op, { ms: number; digests: RefDigests[]; blobs?: string[] }> = {} as never;
    after(() => {
        kit.dispose();
        rmSync(work, { recursive: true, force: true });
    });

    before(() => {
        kit.snapshot("base", { from: null, write: { "data/a.bin": noise(1 << 20, 1), "etc/os-release": "ID=crash\n" } });
        kit.snapshot("app", { from: "base", write: { "app/b.bin": noise(768 << 10, 2), "etc/hostname": "app\n" } });
        kit.snapshot("cfg", { from: "app", write: { "app/c.txt": "config\n".repeat(4000) }, remove: ["etc/hostname"] });
        kit.snapshot("other", { from: null, write: { "opt/d.bin": noise(512 << 10, 3) } });
        const refs = [
            { id: "base", snapshot: "snapshots/base" },
            { id: "app", parent: "base", snapshot: "snapshots/app" },
            { id: "cfg", parent: "app", snapshot: "snapshots/cfg" },
            { id: "other", snapshot: "snapshots/other" },
        ];
        kit.refs(refs);
        // gc's workspace: the same snapshots, "other" dropped, so gc has a lease and blobs to remove
        cpSync(kit.dir, gcWs, { recursive: true });
        writeFileSync(join(gcWs, "layerscope.json"), JSON.stringify({ snapshotter: "native", refs: refs.slice(0, 3) }));

        const c = ok(["compute", kit.dir, "--state", tpl.computed, "--json"]);
        ref.compute = { ms: c.ms, digests: digestsOf(c.stdout) };
        cpSync(tpl.computed, tpl.converted, { recursive: true });
        const v = ok(["convert", kit.dir, "--ref", "cfg", "--compression", "zstd", "--state", tpl.converted, "--json"]);
        ref.convert = { ms: v.ms, digests: digestsOf(v.stdout) };
        const gcState = join(work, "gc-ref");
        cpSync(tpl.converted, gcState, { recursive: true });
        const g = ok(["gc", gcWs, "--state", gcState, "--json"]);
        ref.gc = { ms: g.ms, digests: digestsOf(ok(["refs", gcWs, "--state", gcState, "--json"]).stdout), blobs: blobDigests(gcState) };
        assert.ok(blobDigests(gcState).length < blobDigests(tpl.converted).length, "gc has something to remove");
        ok(["export", kit.dir, "--ref", "cfg", "--oci", layout, "--tag", "crash:1", "--state", tpl.computed]);
        const i = ok(["import", layout, join(work, "import-ref"), "--id", "img", "--json"]);
        ref.import = { ms: i.ms, digests: digestsOf(i.stdout) };
        assert.equal(ref.import.digests.length, 3);
    });

    /** Fresh inputs for one round of `op`: [argv, workspace, state dir]. */
    function prepare(op: Op, round: number): { argv: string[]; ws: string; state: string } {
        const dir = join(work, `r${round}`);
        const state = join(dir, "state");
        mkdirSync(dir, { recursive: true });
        switch (op) {
            case "compute":
                return { argv: ["compute", kit.dir, "--state", state, "--json"], ws: kit.dir, state };
            case "convert":
                cpSync(tpl.computed, state, { recursive: true });
                return { argv: ["convert", kit.dir, "--ref", "cfg", "--compression", "zstd", "--state", state, "--json"], ws: kit.dir, state };
            case "gc":
                cpSync(tpl.converted, state, { recursive: true });
                return { argv: ["gc", gcWs, "--state", state, "--json"], ws: gcWs, state };
            case "import": {
                const ws = join(dir, "ws");
                return { argv: ["import", layout, ws, "--id", "img", "--json"], ws, state: join(ws, ".layerscope") };
            }
        }
    }

    /** The run after the kill: finishes, and its digests are a never-killed run's. */
    function recover(op: Op, argv: string[], ws: string, state: string, where: string): void {
        if (op === "import" && existsSync(join(ws, "layerscope.json")) && readFileSync(join(ws, "layerscope.json"), "utf8").includes('"img-1"')) {
            // The refs were recorded before the kill: the import is done; compute finds every blob.
            const c = ok(["compute", ws, "--state", state, "--json"]);
            assert.deepEqual(digestsOf(c.stdout), ref.import.digests, `${where}: compute after the killed import`);
        } else {
            const r = ok(argv);
            if (op === "gc") {
                assert.deepEqual(blobDigests(state), ref.gc.blobs, `${where}: blobs after gc`);
                assert.deepEqual(digestsOf(ok(["refs", ws, "--state", state, "--json"]).stdout), ref.gc.digests, `${where}: refs after gc`);
            } else {
                assert.deepEqual(digestsOf(r.stdout), ref[op].digests, `${where}: digests of the next run`);
            }
        }
        assert.deepEqual(leftovers(state), [], `${where}: left over after the next run`);
        assert.deepEqual(storeProblems(state), [], `${where}: after the next run`);
    }

    it("every kill leaves a sound store, and the next run yields a never-killed run's digests", { timeout: 3_600_000 }, async () => {
        const rng = new Rng(seed);
        const stats = Object.fromEntries(OPS.map((o) => [o, { kills: 0, finished: 0 }])) as Record<Op, { kills: number; finished: number }>;
        let kills = 0;
        for (let round = 0; kills < KILLS; round++) {
            const op = OPS[round % OPS.length]!;
            const { argv, ws, state } = prepare(op, round);
            const delay = Math.floor(rng.float() * ref[op].ms * 1.1);
            const where = `round ${round}: ${op} killed at ${delay} ms (seed ${seed})`;
            const killed = await killAfter(argv, delay);
            if (killed) {
                kills++;
                stats[op].kills++;
            } else {
                stats[op].finished++;
            }
            assert.deepEqual(storeProblems(state), [], where);
            if (existsSync(join(ws, "layerscope.json")) && existsSync(state)) {
                const v = run(["verify", ws, "--state", state, "--json"]);
                assert.equal(v.code, 0, `${where}: verify: ${v.stdout}${v.stderr}`);
            }
            recover(op, argv, ws, state, where);
            rmSync(join(work, `r${round}`), { recursive: true, force: true });
        }
        const line = OPS.map((o) => `${o} ${stats[o].kills} killed (${stats[o].finished} finished first, ${ref[o].ms} ms unkilled)`).join(", ");
        process.stdout.write(`# crash harness: ${kills} kills survived: ${line}\n`);
        for (const o of OPS) assert.ok(stats[o].kills > 0, `${o} was never killed`);
    });
});
