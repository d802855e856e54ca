/**
 * Differential test of the blob-chain engine against the containerd oracle on seeded random
 * snapshot workspaces (test/helpers/randomWorkspace.ts): chains of snapshots, an independent
 * base, Merges and Diffs of every shape, written as a native workspace and, when the seed's
 * trees allow it, as overlayfs upperdirs too.
 *
 * For each seed every ref is computed in one compression (uncompressed, gzip, zstd, eStargz,
 * rotating with the seed; through the CLI or concurrently in process, alternating), then some
 * refs are forced into each other compression (seeds 1-8 cover every compression both ways).
 * Then:
 * - every ref's kind and layer chain are BuildKit's (modelled independently in the helper);
 * - every layer's diffID is the oracle's `diff --whiteout-time 0` of the corresponding full
 *   views (a Layer: its parent's rootfs and its own; a Diff with a blob of its own: its lower's
 *   and upper's views, an empty dir for a null upper), Merge and Diff views materialised from the
 *   engine and themselves checked against the oracle's `apply` of the layer chain's blobs; for
 *   an eStargz main blob the recorded tar diffID, and the decompressed blob's prefix;
 * - every report's chainID is the oracle's `chainid` over its layers' diffIDs, its blobChainID
 *   `chainid` over `chainid(blob, diffID)` of each layer;
 * - every blob (main and variants) has its digest and size; tar blobs are the layer tar; gzip
 *   and zstd blobs decompress with Debian's `gzip -dc` / `zstd -dc` to their
 *   `containerd.io/uncompressed`; eStargz blobs carry the three annotations, are the layer tar
 *   then a TOC tar, pass `oracle verify-estargz --toc-digest` exactly when Go's own eStargz of
 *   the tar does, and have Go's TOC; gzip and eStargz blobs marked `buildkitComparable` are
 *   byte for byte the oracle's `compress` of the layer tar at the level they were made with;
 *   forced refs got a variant per layer, and no main blob changed (blobChecks.ts);
 * - `layerscope verify` passes; the overlayfs workspace reports exactly what the native one does.
 *
 *   LAYERSCOPE_ORACLE=/path/to/oracle   required, else the test is skipped
 *   LAYERSCOPE_WS_SEEDS=8                how many seeds (from LAYERSCOPE_WS_SEED_START, default 1)
 *   LAYERSCOPE_WS_SEED=1234              run just this seed
 *   LAYERSCOPE_WS_KEEP=1                 keep every temp dir (a failing seed's is always kept)
 *
 * Runs as root (mknod, chown, trusted.* xattrs) and needs dist/cli.js (`npm run build`).
 */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import {
    type CompressionConfig,
    type CompressionType,
    openWorkspaceEngine,
    type RefReport,
    type WorkspaceEngine,
} from "../../src/engine/index";
import { viewVersusApplied } from "../helpers/appliedView";
import { type ExpectedLayer, BlobChecks, UNCOMPRESSED, blobKind } from "../helpers/blobChecks";
import { LayerOracle } from "../helpers/layerOracle";
import {
    type ModelRef,
    type RandomWorkspace,
    describeWorkspace,
    modelRefs,
    randomWorkspace,
    writeWorkspace,
} from "../helpers/randomWorkspace";
import { Rng } from "../helpers/rng";
import { parseTar } from "../helpers/tarEntries";
import { describeDir, materializeView } from "../helpers/viewTools";

const ORACLE = process.env.LAYERSCOPE_ORACLE;
const KEEP = process.env.LAYERSCOPE_WS_KEEP === "1";
const CLI = path.join(__dirname, "..", "..", "..", "dist", "cli.js");
const TYPES: readonly CompressionType[] = ["uncompressed", "gzip", "zstd", "estargz"];

function seeds(): number[] {
    const one = process.env.LAYERSCOPE_WS_SEED;
    if (one !== undefined && one !== "") {
        return [Number.parseInt(one, 10)];
    }
    const count = Number.parseInt(process.env.LAYERSCOPE_WS_SEEDS ?? "8", 10);
    const start = Number.parseInt(process.env.LAYERSCOPE_WS_SEED_START ?? "1", 10);
    return Array.from({ length: count }, (_, i) => start + i);
}

interface Plan {
    readonly main: CompressionConfig;
    readonly forced: ReadonlyArray<{ readonly ref: string; readonly comp: CompressionConfig }>;
    readonly viaCli: boolean;
}

/** One compression per seed (rotating), a level now and then, 1-2 forced refs per other type. */
function planFor(seed: number, ids: readonly string[]): Plan {
    const rng = new Rng((seed * 7919 + 17) >>> 0);
    const type = TYPES[seed % TYPES.length]!;
    const levels: Record<CompressionType, number[]> = {
        uncompressed: [],
        gzip: [1, 9],
        estargz: [1, 9],
        zstd: [1, 9, 19],
    };
    const level = levels[type].length > 0 && rng.chance(0.3) ? rng.pick(levels[type]) : undefined;
    const forced = TYPES.filter((t) => t !== type).flatMap((t) =>
        Array.from({ length: rng.int(1, 2) }, () => ({ ref: rng.pick(ids), comp: { type: t, force: true } })),
    );
    return { main: { type, level }, forced, viaCli: Math.floor(seed / TYPES.length) % 2 === 0 };
}

function cli(...args: string[]): { status: number | null; json: unknown; stderr: string } {
    const r = spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", maxBuffer: 1 << 28 });
    let json: unknown = null;
    try {
        json = JSON.parse(r.stdout);
    } catch {
        // not JSON: the status and stderr say why
    }
    return { status: r.status, json, stderr: r.stderr };
}

function compArgs(c: CompressionConfig): string[] {
    const level = c.level === undefined ? [] : ["--level", String(c.level)];
    return ["--compression", c.type, ...level, ...(c.force ? ["--force"] : [])];
}

/** The native workspace as computed: its engine and every declared id's report. */
interface Native {
    readonly engine: WorkspaceEngine;
    readonly reports: ReadonlyMap<string, RefReport>;
}

/** The checks of one seed; problems are collected, not thrown, so a run reports all of them. */
class SeedCheck {
    readonly problems: string[] = [];
    private readonly model: Map<string, ModelRef>;
    private readonly expected = new Map<string, ExpectedLayer>();
    private readonly viewDirs = new Map<string, string>();
    private readonly empty: string;
    private readonly blobs: BlobChecks;

    constructor(
        readonly oracle: LayerOracle,
        readonly ws: RandomWorkspace,
        readonly dir: string,
    ) {
        this.model = modelRefs(ws.refs);
        this.blobs = new BlobChecks(oracle, (label, text) => this.problem(label, text));
        this.empty = path.join(dir, "empty");
        fs.mkdirSync(this.empty);
        fs.mkdirSync(path.join(dir, "oracle"));
    }

    problem(label: string, text: string): void {
        this.problems.push(`[${label}] ${text}`);
    }

    /** Runs `fn`; an exception is a problem of `label`. */
    async guard<T>(label: string, fn: () => T | Promise<T>): Promise<T | undefined> {
        try {
            return await fn();
        } catch (err) {
            this.problem(label, `threw: ${(err as Error).stack ?? String(err)}`);
            return undefined;
        }
    }

    ids(): string[] {
        return this.ws.refs.map((r) => r.id);
    }

    /** Every ref computed as planned; the main blobs each ref reported right after. */
    async compute(wsDir: string, plan: Plan, label: string): Promise<Map<string, string | null>> {
        const mainBlobs = new Map<string, string | null>();
        if (plan.viaCli) {
            const r = cli("compute", wsDir, ...compArgs(plan.main), "--json");
            if (r.status !== 0) {
                this.problem(label, `compute ${compArgs(plan.main).join(" ")} exited ${r.status}: ${r.stderr}`);
                return mainBlobs;
            }
            for (const ref of (r.json as { refs: RefReport[] }).refs) {
                mainBlobs.set(ref.id, ref.blob?.digest ?? null);
            }
            for (const f of plan.forced) {
                const args = ["--ref", f.ref, ...compArgs(f.comp)];
                const rf = cli("compute", wsDir, ...args, "--json");
                if (rf.status !== 0) {
                    this.problem(label, `compute ${args.join(" ")} exited ${rf.status}: ${rf.stderr}`);
                }
            }
            return mainBlobs;
        }
        const engine = await openWorkspaceEngine(wsDir);
        const ids = this.ids();
        const compute = (id: string, compression: CompressionConfig): Promise<void> =>
            engine.computeBlobChain(id, { createIfNeeded: true, compression });
        await Promise.all(ids.map((id) => compute(id, plan.main)));
        for (const id of ids) {
            mainBlobs.set(id, (await engine.report(id)).blob?.digest ?? null);
        }
        await Promise.all(plan.forced.map((f) => compute(f.ref, f.comp)));
        return mainBlobs;
    }

    /** The reports of every declared id (layers are declared ids too). */
    async reports(engine: WorkspaceEngine): Promise<Map<string, RefReport>> {
        const out = new Map<string, RefReport>();
        for (const id of this.ids()) {
            out.set(id, await engine.report(id));
        }
        return out;
    }

    checkModel(reports: ReadonlyMap<string, RefReport>, label: string): void {
        for (const [id, r] of reports) {
            const m = this.model.get(id)!;
            if (r.kind !== m.kind || r.layers.join(",") !== m.layers.join(",")) {
                this.problem(label, `${id}: kind ${r.kind} layers [${r.layers}], BuildKit: ${m.kind} [${m.layers}]`);
            }
        }
    }

    snapshotDir(id: string): string {
        return path.join(this.dir, "native", "snapshots", id);
    }

    /**
     * A ref's full rootfs as a real directory: a native snapshot as written from the model, any
     * other ref's view materialised from the engine (and checked against the oracle's apply).
     */
    viewDir(id: string, n: Native): Promise<string> {
        const m = this.model.get(id)!;
        if (m.kind === "BaseLayer" || m.kind === "Layer") {
            return Promise.resolve(this.snapshotDir(m.id));
        }
        return this.materialized(id, n);
    }

    private async materialized(id: string, n: Native): Promise<string> {
        const known = this.viewDirs.get(id);
        if (known) {
            return known;
        }
        const dst = path.join(this.dir, "views", id);
        materializeView(await n.engine.workspace.views.view(n.engine.workspace.get(id)), dst);
        this.viewDirs.set(id, dst);
        await this.guard(`native view ${id}`, () => this.checkView(id, dst, n));
        return dst;
    }

    /**
     * The view must be what containerd's `apply` of the ref's layer blobs makes, as far as tars
     * can carry it (appliedView.ts), applied onto the snapshot whose chain is the longest prefix
     * of the ref's: a snapshot's rootfs is its directory, holding changes the differ cannot see
     * (same size and mtime). A view with a name starting with `.wh.` is not compared: such a
     * name cannot travel in a tar at all (it is a whiteout there).
     */
    private async checkView(id: string, dst: string, n: Native): Promise<void> {
        const view = describeDir(dst);
        if ([...view.keys()].some((p) => path.posix.basename(p).startsWith(".wh."))) {
            return;
        }
        const applied = path.join(this.dir, "applied", id);
        fs.mkdirSync(path.dirname(applied), { recursive: true });
        const layers = n.reports.get(id)!.layers;
        let start = 0;
        for (let j = layers.length - 1; j >= 0 && start === 0; j--) {
            const m = this.model.get(layers[j]!)!;
            if ((m.kind === "BaseLayer" || m.kind === "Layer") && m.layers.join(",") === layers.slice(0, j + 1).join(",")) {
                const cp = spawnSync("cp", ["-a", this.snapshotDir(m.id), applied]);
                assert.equal(cp.status, 0, `cp -a ${this.snapshotDir(m.id)}: ${cp.stderr}`);
                start = j + 1;
            }
        }
        fs.mkdirSync(applied, { recursive: true });
        const links = new Set<string>();
        for (const l of layers.slice(start)) {
            this.oracle.apply(n.reports.get(l)!.blob!.path, applied);
            const tar = parseTar(fs.readFileSync((await this.expectedLayer(l, n)).tar));
            tar.entries.filter((e) => e.typeflag === "1").forEach((e) => links.add(`/${e.name}`));
        }
        const diff = viewVersusApplied(view, describeDir(applied), links);
        if (diff.length > 0) {
            this.problem(
                `native view ${id}`,
                `the engine's view differs from the oracle's apply of [${layers}] (want = applied):\n    ` +
                    diff.slice(0, 12).join("\n    "),
            );
        }
    }

    /** The oracle's layer tar for layer `id` of the native workspace. */
    async expectedLayer(id: string, n: Native): Promise<ExpectedLayer> {
        const known = this.expected.get(id);
        if (known) {
            return known;
        }
        const m = this.model.get(id)!;
        let lower: string;
        let upper: string;
        if (m.kind === "BaseLayer") {
            [lower, upper] = [this.empty, this.snapshotDir(id)];
        } else if (m.kind === "Layer") {
            [lower, upper] = [await this.viewDir(m.layerParent!.id, n), this.snapshotDir(id)];
        } else if (m.ownDiff) {
            const { lower: lo, upper: up } = m.ownDiff;
            lower = await this.viewDir(lo, n);
            upper = up === null ? this.empty : await this.viewDir(up, n);
        } else {
            throw new Error(`${id} is no layer (${m.kind})`);
        }
        const tar = path.join(this.dir, "oracle", `${id}.tar`);
        const want = { ...this.oracle.diff(lower, upper, tar), tar };
        this.expected.set(id, want);
        return want;
    }

    /** diffIDs of every layer, then every blob of it. */
    async checkLayers(n: Native, plan: Plan, label: string): Promise<void> {
        const layers = new Set([...n.reports.values()].flatMap((r) => r.layers));
        for (const id of layers) {
            await this.guard(`${label} layer ${id}`, async () => {
                const r = n.reports.get(id)!;
                const want = await this.expectedLayer(id, n);
                if (!r.blob) {
                    this.problem(label, `layer ${id} has no blob`);
                    return;
                }
                const kind = blobKind(r.blob);
                if (kind !== plan.main.type) {
                    this.problem(label, `layer ${id}: main blob is ${kind}, computed as ${plan.main.type}`);
                }
                if (kind === "estargz") {
                    const tarDiffID = n.engine.chain.meta.get(id).tarDiffID;
                    if (tarDiffID !== want.diffID) {
                        this.problem(label, `layer ${id}: recorded tar diffID ${tarDiffID}, oracle ${want.diffID}`);
                    }
                } else if (r.diffID !== want.diffID) {
                    this.problem(label, `layer ${id}: diffID ${r.diffID}, oracle ${want.diffID} (${want.tar})`);
                }
                if (r.blob.annotations[UNCOMPRESSED] !== r.diffID) {
                    this.problem(label, `layer ${id}: ${UNCOMPRESSED} ${r.blob.annotations[UNCOMPRESSED]} != diffID ${r.diffID}`);
                }
                if (r.variants[0]?.digest !== r.blob.digest) {
                    this.problem(label, `layer ${id}: the main blob is not the first variant`);
                }
                for (const v of r.variants) {
                    // The main blob was made as planned; variants only by the forced computes.
                    const level = v.digest === r.blob.digest ? plan.main.level : undefined;
                    this.blobs.check(`${label} layer ${id} blob ${v.digest.slice(7, 19)} (${blobKind(v)})`, v, want, level);
                }
            });
        }
    }

    /** chainID and blobChainID of every report, by the oracle's chainid over its layers. */
    checkChains(reports: ReadonlyMap<string, RefReport>, label: string): void {
        for (const [id, r] of reports) {
            const layers = r.layers.map((l) => reports.get(l)!);
            if (layers.some((l) => !l.diffID || !l.blob)) {
                this.problem(label, `${id}: a layer of [${r.layers}] has no diffID or blob`);
                continue;
            }
            const chainID = this.oracle.chainID(layers.map((l) => l.diffID!));
            const blobIDs = layers.map((l) => this.oracle.chainID([l.blob!.digest, l.diffID!]));
            const blobChainID = this.oracle.chainID(blobIDs);
            if (r.chainID !== chainID) {
                this.problem(label, `${id}: chainID ${r.chainID}, oracle ${chainID} over [${r.layers}]`);
            }
            if (r.blobChainID !== blobChainID) {
                this.problem(label, `${id}: blobChainID ${r.blobChainID}, oracle ${blobChainID} over [${r.layers}]`);
            }
        }
    }

    /** Forced refs got a variant per layer; no main blob changed. */
    checkVariants(
        reports: ReadonlyMap<string, RefReport>,
        plan: Plan,
        mainBlobs: ReadonlyMap<string, string | null>,
        label: string,
    ): void {
        for (const [id, digest] of mainBlobs) {
            if ((reports.get(id)?.blob?.digest ?? null) !== digest) {
                this.problem(label, `${id}: main blob ${digest} became ${reports.get(id)?.blob?.digest}`);
            }
        }
        for (const f of plan.forced) {
            for (const l of reports.get(f.ref)!.layers) {
                if (!reports.get(l)!.variants.some((v) => blobKind(v) === f.comp.type)) {
                    this.problem(label, `forced ${f.comp.type} on ${f.ref}: layer ${l} has no such variant`);
                }
            }
        }
    }

    checkVerify(wsDir: string, label: string): void {
        const r = cli("verify", wsDir, "--json");
        const json = r.json as { ok?: boolean; checks?: Array<{ ok: boolean; ref: string; what: string }> } | null;
        if (r.status !== 0 || json?.ok !== true) {
            const bad = (json?.checks ?? []).filter((c) => !c.ok).map((c) => `${c.ref}: ${c.what}`);
            this.problem(label, `layerscope verify exited ${r.status}: ${r.stderr} ${bad.join("; ")}`);
        }
    }

    /** The overlayfs workspace must report exactly what the native one does. */
    compareReports(native: ReadonlyMap<string, RefReport>, overlay: ReadonlyMap<string, RefReport>): void {
        const facts = (r: RefReport): string =>
            JSON.stringify({
                kind: r.kind,
                layers: r.layers,
                diffID: r.diffID,
                chainID: r.chainID,
                blobChainID: r.blobChainID,
                blob: r.blob && { digest: r.blob.digest, mediaType: r.blob.mediaType, annotations: r.blob.annotations },
                variants: r.variants.map((v) => v.digest).sort(),
            });
        for (const [id, n] of native) {
            const a = facts(n);
            const b = facts(overlay.get(id)!);
            if (a !== b) {
                this.problem("overlayfs", `${id} differs from native:\n    native  ${a}\n    overlay ${b}`);
            }
        }
    }
}

async function runSeed(oracle: LayerOracle, seed: number): Promise<void> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `layerscope-ws-${seed}-`));
    let keep = KEEP;
    try {
        const ws = randomWorkspace(seed);
        fs.writeFileSync(path.join(dir, "workspace.txt"), describeWorkspace(ws).join("\n") + "\n");
        const check = new SeedCheck(oracle, ws, dir);
        const plan = planFor(seed, check.ids());
        const native = path.join(dir, "native");
        writeWorkspace(ws, native, "native");
        const compute = (dir: string, label: string): Promise<Map<string, string | null> | undefined> =>
            check.guard(`${label} compute`, () => check.compute(dir, plan, label));
        const nativeMain = (await compute(native, "native")) ?? new Map<string, string | null>();
        const engine = await openWorkspaceEngine(native);
        const reports = await check.reports(engine);
        check.checkModel(reports, "native");
        await check.checkLayers({ engine, reports }, plan, "native");
        check.checkChains(reports, "native");
        check.checkVariants(reports, plan, nativeMain, "native");
        check.checkVerify(native, "native");
        if (ws.overlay) {
            const overlay = path.join(dir, "overlay");
            writeWorkspace(ws, overlay, "overlayfs");
            await compute(overlay, "overlayfs");
            const oreports = await check.reports(await openWorkspaceEngine(overlay));
            check.compareReports(reports, oreports);
            check.checkVerify(overlay, "overlayfs");
        }
        if (check.problems.length === 0) {
            return;
        }
        keep = true;
        fs.writeFileSync(path.join(dir, "problems.txt"), check.problems.join("\n") + "\n");
        const how = [
            `${plan.main.type}${plan.main.level === undefined ? "" : ` level ${plan.main.level}`}`,
            plan.viaCli ? "CLI" : "in process",
            ws.overlay ? "native + overlayfs" : "native",
        ].join(", ");
        assert.fail(
            [
                `seed ${seed} (${how}): ${check.problems.length} problem(s); kept ${dir}`,
                `rerun: LAYERSCOPE_WS_SEED=${seed} LAYERSCOPE_ORACLE=${oracle.binary} ` +
                    "node --test out/test/conformance/workspaceOracle.test.js",
                ...check.problems.slice(0, 40),
            ].join("\n"),
        );
    } catch (err) {
        keep = true;
        throw err;
    } finally {
        if (!keep) {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    }
}

test("computeBlobChain matches containerd on random workspaces (native and overlayfs)", async (t) => {
    if (ORACLE === undefined || ORACLE === "") {
        t.skip("set LAYERSCOPE_ORACLE=… (bash ../shared/oracle/build.sh) to run");
        return;
    }
    assert.ok(fs.existsSync(ORACLE), `LAYERSCOPE_ORACLE=${ORACLE} does not exist`);
    assert.ok(fs.existsSync(CLI), `${CLI} is missing (npm run build)`);
    assert.equal(process.getuid?.(), 0, "the random workspaces need root (mknod, chown, trusted.* xattrs)");
    const oracle = new LayerOracle(ORACLE);
    for (const seed of seeds()) {
        await t.test(`seed ${seed}`, () => runSeed(oracle, seed));
    }
});
