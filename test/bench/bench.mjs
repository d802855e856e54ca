#!/usr/bin/env node
/**
 * `npm run bench`: layerscope against containerd/BuildKit's Go code (the oracle) and GNU tools on
 * the same inputs. Plain Node ESM; runs the built CLI (dist/cli.js).
 *
 * Cases (inputs built once, see buildInput.mjs and compressInput.mjs):
 *   base       diff EMPTY LOWER               the whole multi-GB tree as a base layer
 *   changes    diff LOWER UPPER               ~5% of the entries changed, two full trees
 *   overlay    diff --overlay LOWER UPPERDIR  the same change as an overlayfs upperdir
 *   gzip, gzip-fast, zstd, estargz            compress a ~700 MB layer tar (compressCases.mjs)
 *   chain      compute an 8-layer chain at once vs one layer at a time
 *   graph      layout and first paint of a 2,000-ref graph (graphLayout.mjs, when present)
 *   big        (opt-in, not in the default set) every compression of a ~5 GB tar, once each:
 *              peak RSS on a 5 GB layer
 *   image      (opt-in) import, export and verify-image of the chain as a gzip OCI layout, with
 *              `umoci unpack` and `skopeo copy` as references (imageCases.mjs)
 * Tools: layerscope (all cases), the oracle (`diff` for base and changes, it has no overlay
 * differ; `compress` for the compression cases), and references: `tar --format=posix | sha256sum`
 * (base), `gzip -6` (gzip), `zstd -3` (zstd).
 *
 * Every measurement is warm: nothing is dropped from the page cache (the input fits in RAM), and
 * each tool runs once untimed before its N timed runs. Reported: median wall time, MiB/s of tar
 * output, peak RSS (GNU time), CPU seconds, ratio to the oracle, and whether the diffIDs match.
 * Layer bytes are hashed but not written anywhere (layerscope without --out; the oracle writes
 * its copy to /dev/null).
 *
 * Environment:
 *   LAYERSCOPE_BENCH_DIR   cache dir (default .bench/ at the repo root); results in results.json
 *   LAYERSCOPE_BENCH_GB    input size in GiB (default 3)
 *   LAYERSCOPE_BENCH_RUNS  timed runs per tool and case (default 3)
 *   LAYERSCOPE_BENCH_CASES comma-separated subset of base,changes,overlay,gzip,gzip-fast,zstd,
 *                          estargz,chain,graph (default all; e.g. "gzip-fast,zstd" for a quick run)
 *                          and big (opt-in: ~5 GB tar, every compression once, for peak RSS)
 *                          and image (opt-in: import / export / verify-image of an 8-layer image)
 *   LAYERSCOPE_BENCH_CLI   the layerscope CLI to run (default dist/cli.js; e.g. another build)
 *   LAYERSCOPE_BENCH_NICE  run every measured command under `nice -n N` (e.g. -10, as root) to
 *                          keep other work on a shared machine from skewing the timings
 *   LAYERSCOPE_ORACLE      oracle binary (default ~/.cache/layerscope-oracle/oracle, then
 *                          ../shared/oracle/bin/oracle); without one the oracle rows are omitted
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { ensureInput, fmtBytes } from "./buildInput.mjs";
import { bigCase, chainCase, compressCases, runLayerscope } from "./compressCases.mjs";
import { ensureBigTar, ensureChain, ensureLayerTar } from "./compressInput.mjs";
import { ensureImage, imageCase } from "./imageCases.mjs";
import { ensureGnuTime, median, timed, timedPipeline } from "./measure.mjs";
import { printTable } from "./report.mjs";

const ALL_CASES = [
    "base",
    "changes",
    "overlay",
    "gzip",
    "gzip-fast",
    "zstd",
    "estargz",
    "chain",
    "graph",
];
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const log = (line) => process.stderr.write(`${line}\n`);

function config() {
    const num = (name, dflt) => {
        const v = process.env[name];
        if (v === undefined || v === "") {
            return dflt;
        }
        const n = Number(v);
        if (!Number.isFinite(n) || n <= 0) {
            throw new Error(`${name}=${v}: want a positive number`);
        }
        return n;
    };
    const cases = (process.env.LAYERSCOPE_BENCH_CASES || ALL_CASES.join(","))
        .split(",")
        .map((s) => s.trim());
    const c = {
        benchDir: path.resolve(process.env.LAYERSCOPE_BENCH_DIR || path.join(repo, ".bench")),
        gb: num("LAYERSCOPE_BENCH_GB", 3),
        runs: Math.round(num("LAYERSCOPE_BENCH_RUNS", 3)),
        seed: 20240601,
        cases,
        cli: path.resolve(process.env.LAYERSCOPE_BENCH_CLI || path.join(repo, "dist", "cli.js")),
        oracle: findOracle(),
        nice: niceLevel(),
    };
    const wrap = (argv) => (c.nice === null ? argv : ["nice", "-n", String(c.nice), ...argv]);
    return { ...c, wrap };
}

function niceLevel() {
    const v = process.env.LAYERSCOPE_BENCH_NICE;
    if (v === undefined || v === "") {
        return null;
    }
    if (!/^-?\d+$/.test(v.trim())) {
        throw new Error(`LAYERSCOPE_BENCH_NICE=${v}: want an integer niceness (-20..19)`);
    }
    return Number(v);
}

function findOracle() {
    const candidates = process.env.LAYERSCOPE_ORACLE
        ? [process.env.LAYERSCOPE_ORACLE]
        : [
              path.join(
                  process.env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache"),
                  "layerscope-oracle",
                  "oracle",
              ),
              path.join(repo, "..", "shared", "oracle", "bin", "oracle"),
          ];
    for (const c of candidates) {
        try {
            fs.accessSync(c, fs.constants.X_OK);
            return c;
        } catch {
            // try the next one
        }
    }
    return null;
}

/** How each tool is run on a case; `diff` parses its {"diffID","size"}. */
function toolRunners(cfg) {
    const layerDiff = (stdout) => {
        const j = JSON.parse(stdout.trim().split("\n").pop());
        return { diffID: j.diffID, size: j.size };
    };
    const nice = (argv) => (cfg.nice === null ? argv : ["nice", "-n", String(cfg.nice), ...argv]);
    return {
        layerscope: (c, tmp) =>
            runLayerscope(
                cfg,
                [
                    "diff",
                    "--whiteout-time",
                    "0",
                    ...(c.overlay ? ["--overlay"] : []),
                    c.lower,
                    c.upper,
                    "--json",
                ],
                tmp,
            ).then((r) => ({ ...r, ...layerDiff(r.stdout) })),
        oracle: (c, tmp) =>
            timed(
                nice([cfg.oracle, "diff", "--whiteout-time", "0", c.lower, c.upper, "/dev/null"]),
                tmp,
            ).then((r) => ({ ...r, ...layerDiff(r.stdout) })),
        "tar|sha256sum": (c, tmp) =>
            timedPipeline(
                nice(["tar", "--format=posix", "--totals", "-C", c.upper, "-cf", "-", "."]),
                nice(["sha256sum"]),
                tmp,
            ).then((r) => ({
                ...r,
                diffID: `sha256:${r.stdout.trim().split(/\s+/)[0]}`,
                size: Number(/Total bytes written: (\d+)/.exec(r.stderr)?.[1] ?? NaN),
            })),
    };
}

/** The commit the CLI was built from, as far as the repo can tell ("+dirty" when edited). */
function gitDescribe() {
    try {
        const head = execFileSync("git", ["-C", repo, "rev-parse", "--short", "HEAD"], {
            encoding: "utf8",
        }).trim();
        const dirty = execFileSync("git", ["-C", repo, "status", "--porcelain", "--", "src"], {
            encoding: "utf8",
        }).trim();
        return dirty ? `${head}+dirty` : head;
    } catch {
        return null;
    }
}

/** Raw sha256 throughput of this Node (OpenSSL), hashing 1 MiB chunks from memory. */
function nodeSha256MiBps(cfg) {
    const script = `
        const { createHash } = require("node:crypto");
        const chunk = Buffer.alloc(1 << 20, 0x5a);
        let best = 0;
        for (let round = 0; round < 2; round++) {
            const h = createHash("sha256");
            const t0 = process.hrtime.bigint();
            for (let i = 0; i < 2048; i++) h.update(chunk);
            h.digest();
            best = Math.max(best, 2048 / (Number(process.hrtime.bigint() - t0) / 1e9));
        }
        console.log(best.toFixed(0));`;
    const argv = [process.execPath, "-e", script];
    const [cmd, ...args] = cfg.nice === null ? argv : ["nice", "-n", String(cfg.nice), ...argv];
    return Number(execFileSync(cmd, args, { encoding: "utf8" }).trim());
}

async function measureTool(c, tool, cfg, tmp) {
    const run = c.run[tool];
    // The big case runs once, without a warm-up: it is there for peak RSS, not time.
    const runs = c.runs ?? cfg.runs;
    let warm = null;
    if (c.runs === undefined) {
        log(`bench: ${c.id} / ${tool}: warm-up`);
        warm = await run(tmp);
    }
    const samples = [];
    for (let i = 0; i < runs; i++) {
        const s = await run(tmp);
        log(
            `bench: ${c.id} / ${tool}: run ${i + 1}/${runs}: ${s.wall.toFixed(2)} s, ${(s.rssKiB / 1024).toFixed(0)} MiB`,
        );
        samples.push(s);
    }
    const diffIDs = new Set([...(warm ? [warm] : []), ...samples].map((s) => s.diffID));
    const wall = median(samples.map((s) => s.wall));
    const size = samples[0].size;
    return {
        case: c.id,
        tool,
        runs,
        wallSeconds: samples.map((s) => round(s.wall, 3)),
        medianSeconds: round(wall, 3),
        medianCpuSeconds: round(median(samples.map((s) => s.cpu)), 2),
        peakRssMiB: round(Math.max(...samples.map((s) => s.rssKiB)) / 1024, 1),
        outputBytes: size,
        mibPerSecond: round(size / (1 << 20) / wall, 1),
        diffID: samples[0].diffID,
        stable: diffIDs.size === 1,
        loopMaxMs: samples[0].loopMaxMs === undefined ? undefined : round(Math.max(...samples.map((s) => s.loopMaxMs)), 1),
        processes: samples[0].parts.length > 1 ? samples.map((s) => s.parts) : undefined,
    };
}

const round = (x, d) => Math.round(x * 10 ** d) / 10 ** d;

/**
 * Byte checks: a diff's diffID and size against the oracle's on the same case (overlay against
 * the changes case); a gzip or eStargz blob digest against the oracle's (BuildKit's bytes);
 * the chain's blobChainID computed both ways. zstd and gzip-fast are not BuildKit's bytes.
 */
function checks(results, refs, cases) {
    const get = (c, t) => refs.find((r) => r.case === c && r.tool === t);
    const out = [];
    for (const r of results.filter((x) => x.tool === "layerscope")) {
        const c = cases.find((x) => x.id === r.case);
        if (c.kind === "compress" && !c.exact) {
            out.push({ case: r.case, verdict: "NOT COMPARABLE", against: null, layerscope: r.diffID });
            continue;
        }
        const ref =
            r.case === "overlay"
                ? (get("changes", "oracle") ?? get("changes", "layerscope"))
                : get(r.case, "oracle");
        const against = ref ? `${ref.tool} on ${ref.case}` : null;
        const sameSize = c.kind === "compress" || ref?.outputBytes === r.outputBytes;
        const verdict = !ref
            ? "NO ORACLE"
            : ref.diffID === r.diffID && sameSize
              ? "MATCH"
              : "MISMATCH";
        out.push({
            case: r.case,
            verdict,
            against,
            layerscope: r.diffID,
            reference: ref?.diffID ?? null,
        });
    }
    const chain = results.filter((x) => x.case === "chain");
    if (chain.length === 2) {
        out.push({
            case: "chain",
            verdict: chain[0].diffID === chain[1].diffID ? "MATCH" : "MISMATCH",
            against: "blobChainID of l7, both ways",
            layerscope: chain[0].diffID,
            reference: chain[1].diffID,
        });
    }
    for (const r of results.filter((x) => !x.stable)) {
        out.push({
            case: r.case,
            verdict: "UNSTABLE",
            against: `${r.tool}: output differs between runs`,
        });
    }
    return out;
}

/** The diff cases on the multi-GB tree. */
function diffCases(cfg, p) {
    const runners = toolRunners(cfg);
    const bind = (c, tools) => ({
        ...c,
        kind: "diff",
        target: 0.4,
        run: Object.fromEntries(tools.map((t) => [t, (tmp) => runners[t](c, tmp)])),
    });
    const oracle = cfg.oracle ? ["oracle"] : [];
    return [
        bind({ id: "base", lower: p.empty, upper: p.lower }, ["layerscope", ...oracle, "tar|sha256sum"]),
        bind({ id: "changes", lower: p.lower, upper: p.upper }, ["layerscope", ...oracle]),
        bind({ id: "overlay", lower: p.lower, upper: p.upperdir, overlay: true }, ["layerscope"]),
    ];
}

/** graphLayout.mjs (the graph engineer's) when it exists: its exported benchGraphLayout(). */
async function graphRow() {
    const file = path.join(path.dirname(fileURLToPath(import.meta.url)), "graphLayout.mjs");
    if (!fs.existsSync(file)) {
        return { missing: `${path.relative(repo, file)} does not exist yet` };
    }
    const mod = await import(pathToFileURL(file).href);
    return { result: await mod.benchGraphLayout() };
}

async function main() {
    const cfg = config();
    const loadBefore = os.loadavg()[0];
    const uptimeBefore = uptime();
    if (!fs.existsSync(cfg.cli)) {
        throw new Error(`${cfg.cli} is missing: build it first (npm run build:cli)`);
    }
    ensureGnuTime(log);
    fs.mkdirSync(cfg.benchDir, { recursive: true });
    const tmp = fs.mkdtempSync(path.join(cfg.benchDir, "tmp-"));
    try {
        const input = ensureInput({ benchDir: cfg.benchDir, gb: cfg.gb, seed: cfg.seed, log });
        const p = input.paths;
        const want = (id) => cfg.cases.includes(id);
        const cases = diffCases(cfg, p).filter((c) => want(c.id));
        let tar = null;
        let chain = null;
        if (["gzip", "gzip-fast", "zstd", "estargz"].some(want)) {
            tar = ensureLayerTar({ benchDir: cfg.benchDir, paths: p, cli: cfg.cli, log });
            cases.push(...compressCases(cfg, tar).filter((c) => want(c.id)));
        }
        if (want("chain") || want("image")) {
            chain = ensureChain({ benchDir: cfg.benchDir, paths: p, log });
            if (want("chain")) cases.push(chainCase(cfg, chain));
        }
        if (want("image")) {
            const image = ensureImage({ benchDir: cfg.benchDir, chain, cli: cfg.cli, log });
            cases.push(imageCase(cfg, image, chain));
            input.image = image;
        }
        if (want("big")) {
            const big = ensureBigTar({ benchDir: cfg.benchDir, paths: p, log });
            cases.push(bigCase(cfg, big));
            input.bigTar = big;
        }
        // gzip-fast is measured against Go's gzip: its oracle row is measured even when the
        // gzip case itself is not selected.
        if (want("gzip-fast") && !want("gzip") && cfg.oracle) {
            const ref = compressCases(cfg, tar).find((c) => c.id === "gzip");
            cases.push({ ...ref, run: { oracle: ref.run.oracle } });
        }
        if (!cfg.oracle) {
            log(
                "bench: no oracle binary found; oracle rows are omitted (build: ORACLE_OUT=... bash ../shared/oracle/build.sh)",
            );
        }
        const sha = nodeSha256MiBps(cfg);
        log(`bench: node sha256 (OpenSSL, 1 MiB chunks in memory): ${sha} MiB/s`);

        const results = [];
        for (const c of cases) {
            for (const tool of Object.keys(c.run)) {
                results.push(await measureTool(c, tool, cfg, tmp));
            }
        }
        // The overlay case is checked against the oracle on the equivalent two-tree change; when
        // that case was not measured, its oracle diffID is taken once, untimed.
        const refs = [...results];
        const overlayRan = results.some((r) => r.case === "overlay");
        if (
            overlayRan &&
            cfg.oracle &&
            !results.some((r) => r.case === "changes" && r.tool === "oracle")
        ) {
            log("bench: oracle diffID of the changes case (untimed, to check the overlay case)");
            const changes = diffCases(cfg, p).find((c) => c.id === "changes");
            refs.push({ case: "changes", tool: "oracle", ...(await changes.run.oracle(tmp)) });
            refs.at(-1).outputBytes = refs.at(-1).size;
        }
        const verdicts = checks(results, refs, cases);
        const graph = want("graph") ? await graphRow() : null;
        const report = {
            generatedAt: new Date().toISOString(),
            machine: {
                cpus: os.cpus().length,
                cpuModel: os.cpus()[0]?.model,
                memGiB: round(os.totalmem() / 2 ** 30, 1),
                kernel: os.release(),
                node: process.version,
                oracle: cfg.oracle,
                loadavg1mBefore: round(loadBefore, 2),
                loadavg1mAfter: round(os.loadavg()[0], 2),
                uptimeBefore,
                uptimeAfter: uptime(),
            },
            layerscope: {
                cli: cfg.cli,
                commit: process.env.LAYERSCOPE_BENCH_CLI ? null : gitDescribe(),
            },
            config: {
                nice: cfg.nice,
                gb: cfg.gb,
                runs: cfg.runs,
                seed: cfg.seed,
                cases: cfg.cases,
                warm: true,
                warmupRuns: 1,
            },
            input: { ...input, paths: undefined, location: p, layerTar: tar, chain },
            reference: { nodeSha256MiBps: sha },
            cases: cases.map((c) => ({ id: c.id, kind: c.kind, target: c.target, vs: c.vs ?? null, ...(c.refs ? { refs: c.refs } : {}) })),
            results,
            checks: verdicts,
            graph,
        };
        const resultsPath = path.join(cfg.benchDir, "results.json");
        fs.writeFileSync(resultsPath, `${JSON.stringify(report, null, 2)}\n`);
        printTable(report, (line) => process.stdout.write(`${line}\n`));
        process.stdout.write(
            `\ninput: ${fmtBytes(input.lower.bytes)} in ${input.lower.files} files${tar ? `; layer tar ${fmtBytes(tar.size)}` : ""}${chain ? `; chain ${fmtBytes(chain.bytes)} in 8 layers` : ""}; results: ${resultsPath}\n`,
        );
        if (verdicts.some((v) => v.verdict === "MISMATCH" || v.verdict === "UNSTABLE")) {
            process.exitCode = 1;
        }
    } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
    }
}

function uptime() {
    try {
        return execFileSync("uptime", { encoding: "utf8" }).trim();
    } catch {
        return null;
    }
}

main().catch((err) => {
    log(`bench: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
});
