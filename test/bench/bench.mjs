#!/usr/bin/env node
/**
 * `npm run bench`: layerscope's differ against containerd's (the oracle) and GNU tar on a
 * multi-GB synthetic tree. Plain Node ESM; runs the built CLI (dist/cli.js).
 *
 * Cases (input built once, see buildInput.mjs):
 *   base     diff EMPTY LOWER               the whole tree as a base layer
 *   changes  diff LOWER UPPER               ~5% of the entries changed, two full trees
 *   overlay  diff --overlay LOWER UPPERDIR  the same change as an overlayfs upperdir
 * Tools: layerscope (all cases), oracle `diff` (base, changes; it has no overlay differ), and
 * `tar --format=posix -C LOWER -cf - . | sha256sum` (base) as a reference.
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
 *   LAYERSCOPE_BENCH_CASES comma-separated subset of base,changes,overlay (default all)
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
import { fileURLToPath } from "node:url";
import { ensureInput, fmtBytes } from "./buildInput.mjs";
import { ensureGnuTime, median, timed, timedPipeline } from "./measure.mjs";
import { printTable } from "./report.mjs";

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
    const cases = (process.env.LAYERSCOPE_BENCH_CASES || "base,changes,overlay")
        .split(",")
        .map((s) => s.trim());
    return {
        benchDir: path.resolve(process.env.LAYERSCOPE_BENCH_DIR || path.join(repo, ".bench")),
        gb: num("LAYERSCOPE_BENCH_GB", 3),
        runs: Math.round(num("LAYERSCOPE_BENCH_RUNS", 3)),
        seed: 20240601,
        cases,
        cli: path.resolve(process.env.LAYERSCOPE_BENCH_CLI || path.join(repo, "dist", "cli.js")),
        oracle: findOracle(),
        nice: niceLevel(),
    };
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
            timed(
                nice([
                    process.execPath,
                    cfg.cli,
                    "diff",
                    "--whiteout-time",
                    "0",
                    ...(c.overlay ? ["--overlay"] : []),
                    c.lower,
                    c.upper,
                    "--json",
                ]),
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

async function measureTool(run, c, tool, cfg, tmp) {
    log(`bench: ${c.id} / ${tool}: warm-up`);
    const warm = await run(c, tmp);
    const samples = [];
    for (let i = 0; i < cfg.runs; i++) {
        const s = await run(c, tmp);
        log(
            `bench: ${c.id} / ${tool}: run ${i + 1}/${cfg.runs}: ${s.wall.toFixed(2)} s, ${(s.rssKiB / 1024).toFixed(0)} MiB`,
        );
        samples.push(s);
    }
    const diffIDs = new Set([warm, ...samples].map((s) => s.diffID));
    const wall = median(samples.map((s) => s.wall));
    const size = samples[0].size;
    return {
        case: c.id,
        tool,
        runs: cfg.runs,
        wallSeconds: samples.map((s) => round(s.wall, 3)),
        medianSeconds: round(wall, 3),
        medianCpuSeconds: round(median(samples.map((s) => s.cpu)), 2),
        peakRssMiB: round(Math.max(...samples.map((s) => s.rssKiB)) / 1024, 1),
        outputBytes: size,
        mibPerSecond: round(size / (1 << 20) / wall, 1),
        diffID: samples[0].diffID,
        stable: diffIDs.size === 1,
        processes: samples[0].parts.length > 1 ? samples.map((s) => s.parts) : undefined,
    };
}

const round = (x, d) => Math.round(x * 10 ** d) / 10 ** d;

/** diffID checks: layerscope vs the oracle on the same case; overlay vs the changes case. */
function checks(results, refs) {
    const get = (c, t) => refs.find((r) => r.case === c && r.tool === t);
    const out = [];
    for (const r of results.filter((x) => x.tool === "layerscope")) {
        const ref =
            r.case === "overlay"
                ? (get("changes", "oracle") ?? get("changes", "layerscope"))
                : get(r.case, "oracle");
        const against = ref ? `${ref.tool} on ${ref.case}` : null;
        const verdict = !ref
            ? "NO ORACLE"
            : ref.diffID === r.diffID && ref.outputBytes === r.outputBytes
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
    for (const r of results.filter((x) => !x.stable)) {
        out.push({
            case: r.case,
            verdict: "UNSTABLE",
            against: `${r.tool}: diffID differs between runs`,
        });
    }
    return out;
}

async function main() {
    const cfg = config();
    const loadBefore = os.loadavg()[0];
    if (!fs.existsSync(cfg.cli)) {
        throw new Error(`${cfg.cli} is missing: build it first (npm run build:cli)`);
    }
    ensureGnuTime(log);
    fs.mkdirSync(cfg.benchDir, { recursive: true });
    const tmp = fs.mkdtempSync(path.join(cfg.benchDir, "tmp-"));
    try {
        const input = ensureInput({ benchDir: cfg.benchDir, gb: cfg.gb, seed: cfg.seed, log });
        const p = input.paths;
        const allCases = [
            {
                id: "base",
                lower: p.empty,
                upper: p.lower,
                tools: ["layerscope", "oracle", "tar|sha256sum"],
            },
            { id: "changes", lower: p.lower, upper: p.upper, tools: ["layerscope", "oracle"] },
            {
                id: "overlay",
                lower: p.lower,
                upper: p.upperdir,
                overlay: true,
                tools: ["layerscope"],
            },
        ];
        const cases = allCases.filter((c) => cfg.cases.includes(c.id));
        if (!cfg.oracle) {
            log(
                "bench: no oracle binary found; oracle rows are omitted (build: ORACLE_OUT=... bash ../shared/oracle/build.sh)",
            );
        }
        const runners = toolRunners(cfg);
        const sha = nodeSha256MiBps(cfg);
        log(`bench: node sha256 (OpenSSL, 1 MiB chunks in memory): ${sha} MiB/s`);

        const results = [];
        for (const c of cases) {
            for (const tool of c.tools) {
                if (tool === "oracle" && !cfg.oracle) {
                    continue;
                }
                results.push(await measureTool(runners[tool], c, tool, cfg, tmp));
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
            const changes = allCases.find((c) => c.id === "changes");
            refs.push({ case: "changes", tool: "oracle", ...(await runners.oracle(changes, tmp)) });
            refs.at(-1).outputBytes = refs.at(-1).size;
        }
        const verdicts = checks(results, refs);
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
            input: { ...input, paths: undefined, location: p },
            reference: { nodeSha256MiBps: sha },
            results,
            checks: verdicts,
        };
        const resultsPath = path.join(cfg.benchDir, "results.json");
        fs.writeFileSync(resultsPath, `${JSON.stringify(report, null, 2)}\n`);
        printTable(report, (line) => process.stdout.write(`${line}\n`));
        process.stdout.write(
            `\ninput: ${fmtBytes(input.lower.bytes)} in ${input.lower.files} files; results: ${resultsPath}\n`,
        );
        if (verdicts.some((v) => v.verdict === "MISMATCH" || v.verdict === "UNSTABLE")) {
            process.exitCode = 1;
        }
    } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
    }
}

main().catch((err) => {
    log(`bench: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
});
