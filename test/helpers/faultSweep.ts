/**
 * The part of the disk-fault sweeps (test/integration/diskFull.test.ts: ENOSPC on a filled tmpfs;
 * diskIoError.test.ts: EIO from a shrunk loop device) that does not depend on the fault: the CLI
 * runners, the three-snapshot workspace with the digests of runs that never met a fault, a fresh
 * store per case on the faulty mount, and the checks after each faulted run. A test file brings
 * the mount, the fault (set up around the run) and what its error message must say.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { ReadOnlyGuard } from "./readOnlyGuard";
import { Rng } from "./rng";
import { blobDigests, leftovers, storeProblems } from "./storeInvariants";
import { WorkspaceKit } from "./workspaceKit";

const cli = join(__dirname, "..", "..", "..", "dist", "cli.js");

export const SWEEP_OPS = ["compute", "convert", "import"] as const;
export type SweepOp = (typeof SWEEP_OPS)[number];

export interface RunResult {
    code: number;
    stdout: string;
    stderr: string;
}

/** Runs the built CLI; never throws on a failed command. */
export function run(args: string[]): RunResult {
    const r = spawnSync(process.execPath, [cli, ...args], { encoding: "utf8" });
    return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Runs the built CLI and asserts it succeeded; returns its stdout. */
export function ok(args: string[]): string {
    const r = run(args);
    assert.equal(r.code, 0, `layerscope ${args.join(" ")}: ${r.stderr}`);
    return r.stdout;
}

/** `n` incompressible bytes, the same for the same salt. */
export function noise(n: number, salt: number): Buffer {
    const rng = new Rng(salt);
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i += 4) b.writeUInt32LE(rng.next(), i);
    return b;
}

/** The identities a --json run reports, per ref (variants sorted): what a fault must not change. */
export function digestsOf(json: string): unknown {
    const out = JSON.parse(json) as { refs: Array<{ id: string; diffID: string | null; chainID: string | null; blob: { digest: string } | null; variants: Array<{ digest: string }> }> };
    return out.refs.map((r) => ({ id: r.id, diffID: r.diffID, chainID: r.chainID, blob: r.blob?.digest ?? null, variants: r.variants.map((v) => v.digest).sort() }));
}

/** Every blob in the store → the sha256 of its bytes as they are now. */
function blobHashes(state: string): Map<string, string> {
    return new Map(blobDigests(state).map((d) => [d, createHash("sha256").update(readFileSync(join(state, "blobs", "sha256", d.slice(7)))).digest("hex")]));
}

export interface FaultSweepOptions {
    /** Scratch space off the faulty mount (reference store, OCI layout). */
    readonly work: string;
    /** The faulty filesystem; each case's store (and import's workspace) lives on it. */
    readonly mnt: string;
    /** Written to base's etc/os-release ("ID=<osId>"). */
    readonly osId: string;
    /** Clears what the fault left on the mount besides the case (a filler, lost+found). */
    readonly reset: () => void;
}

/** A fresh store for one case: the command to run and where it writes. */
export interface Prepared {
    readonly argv: string[];
    readonly state: string;
    readonly ws: string;
}

/** How many runs of an op failed under the fault and how many finished. */
export interface Tally {
    failed: number;
    passed: number;
}

export class FaultSweep {
    readonly kit = new WorkspaceKit();
    readonly tried: Partial<Record<SweepOp, Tally>> = {};
    private readonly layout: string;
    private readonly want: Partial<Record<SweepOp, unknown>> = {};
    /** The user's inputs (the workspace with its snapshot dirs, the OCI layout): read, never written. */
    private inputs: ReadOnlyGuard | undefined;

    constructor(private readonly o: FaultSweepOptions) {
        this.layout = join(o.work, "layout");
    }

    /**
     * base → app and an unrelated "other", with the digests compute, convert (zstd) and import
     * (app exported as an OCI layout) give in a store off the faulty mount.
     */
    makeFixture(): void {
        const { kit, o } = this;
        kit.snapshot("base", { from: null, write: { "data/a.bin": noise(96 << 10, 1), "etc/os-release": `ID=${o.osId}\n` } });
        kit.snapshot("app", { from: "base", write: { "app/b.bin": noise(64 << 10, 2) } });
        kit.snapshot("other", { from: null, write: { "opt/d.bin": noise(64 << 10, 3) } });
        kit.refs([
            { id: "base", snapshot: "snapshots/base" },
            { id: "app", parent: "base", snapshot: "snapshots/app" },
            { id: "other", snapshot: "snapshots/other" },
        ]);
        const ref = join(o.work, "ref-state");
        ok(["compute", kit.dir, "--ref", "other", "--state", ref]);
        this.want.compute = digestsOf(ok(["compute", kit.dir, "--ref", "app", "--state", ref, "--json"]));
        this.want.convert = digestsOf(ok(["convert", kit.dir, "--ref", "app", "--compression", "zstd", "--state", ref, "--json"]));
        ok(["export", kit.dir, "--ref", "app", "--oci", this.layout, "--state", ref]);
        this.want.import = digestsOf(ok(["import", this.layout, join(o.work, "ref-import"), "--id", "img", "--json"]));
        this.inputs = new ReadOnlyGuard([kit.dir, this.layout]);
    }

    /** A store on the mount holding "other" (and for convert, app's blobs): what must survive. */
    prepare(op: SweepOp): Prepared {
        const { kit } = this;
        const dir = join(this.o.mnt, "case");
        rmSync(dir, { recursive: true, force: true });
        this.o.reset();
        const state = join(dir, "state");
        ok(["compute", kit.dir, "--ref", "other", "--state", state]);
        if (op === "convert") ok(["compute", kit.dir, "--ref", "app", "--state", state]);
        switch (op) {
            case "compute":
                return { argv: ["compute", kit.dir, "--ref", "app", "--state", state, "--json"], state, ws: kit.dir };
            case "convert":
                return { argv: ["convert", kit.dir, "--ref", "app", "--compression", "zstd", "--state", state, "--json"], state, ws: kit.dir };
            case "import": {
                const ws = join(dir, "ws");
                return { argv: ["import", this.layout, ws, "--id", "img", "--state", state, "--json"], state, ws };
            }
        }
    }

    /**
     * One case: a fresh store, `op` run under the fault by `faulted` (which sets the fault up,
     * runs argv and takes the fault away), then the checks. A finished run gives the digests of
     * a run that never met a fault; a failed one exits 1 with the message `failure` asserts,
     * naming a path on the mount, no stack trace. Either way the store is sound, every blob that
     * was there before is whole, verify passes, and with the fault gone the next run finishes
     * with the reference digests and leaves nothing over. Nothing in the user's snapshot dirs,
     * layerscope.json or the OCI layout changed, through the fault or the runs after it.
     */
    runCase(op: SweepOp, where: string, faulted: (argv: string[]) => RunResult, failure: (r: RunResult) => void): void {
        const tally = (this.tried[op] ??= { failed: 0, passed: 0 });
        const { argv, state, ws } = this.prepare(op);
        const before = blobHashes(state);
        const r = faulted(argv);
        if (r.code === 0) {
            tally.passed++;
            assert.deepEqual(digestsOf(r.stdout), this.want[op], where);
        } else {
            tally.failed++;
            assert.equal(r.code, 1, `${where}: ${r.stderr}`);
            failure(r);
            assert.ok(r.stderr.includes(this.o.mnt), `${where}: the error names the path: ${r.stderr}`);
            assert.doesNotMatch(r.stderr, /\n\s+at /, `${where}: no stack trace`);
        }
        assert.deepEqual(storeProblems(state), [], where);
        const afterRun = blobHashes(state);
        for (const [d, h] of before) assert.equal(afterRun.get(d), h, `${where}: blob ${d} was there before`);
        if (existsSync(join(ws, "layerscope.json"))) {
            const v = run(["verify", ws, "--state", state, "--json"]);
            assert.equal(v.code, 0, `${where}: verify: ${v.stdout}${v.stderr}`);
        }
        // The fault gone (space freed, device healed): the next run finishes as if nothing had happened.
        if (r.code !== 0) {
            const again = op === "import" && existsSync(join(ws, "layerscope.json")) ? ok(["compute", ws, "--state", state, "--json"]) : ok(argv);
            assert.deepEqual(digestsOf(again), this.want[op], `${where}: the next run`);
        }
        assert.deepEqual(leftovers(state), [], `${where}: left over`);
        assert.ok(this.inputs, "makeFixture() runs before the cases");
        this.inputs.check(where);
    }

    /** The sweep of `op` met both outcomes; `both` says what they are, `extra` goes in the message. */
    assertBothOutcomes(op: SweepOp, both: string, extra: Record<string, unknown> = {}): void {
        const t = this.tried[op] ?? { failed: 0, passed: 0 };
        assert.ok(t.failed > 0 && t.passed > 0, `${op}: the sweep covers both ${both} (${JSON.stringify({ ...t, ...extra })})`);
    }

    dispose(): void {
        this.kit.dispose();
    }
}
