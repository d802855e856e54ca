/**
 * The compression and chain cases of `npm run bench`:
 *
 *   gzip       layerscope compress --compression gzip (Go-exact)   vs oracle `compress gzip`
 *   gzip-fast  … --gzip-impl fast (zlib on every core)             vs oracle `compress gzip`
 *   zstd       … --compression zstd (libzstd frames in parallel)   vs oracle `compress zstd`
 *   estargz    … --compression estargz (Go-exact members)          vs `compress estargz-lossless`
 *   chain      layerscope compute of an 8-layer chain (gzip), all at once vs one layer at a time
 *   big        (opt-in) every compression of a ~5 GB tar, one run each: peak RSS must stay flat
 *
 * all on the ~700 MB layer tar (compressInput.mjs), with `gzip -6 | sha256sum` and
 * `zstd -3 | sha256sum` as references. Every layerscope process runs with loopDelayHook.cjs
 * preloaded, so its rows also carry the longest event-loop stall of the main thread.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { CHAIN_LAYERS } from "./compressInput.mjs";
import { timed, timedPipeline } from "./measure.mjs";

const hook = path.join(path.dirname(fileURLToPath(import.meta.url)), "loopDelayHook.cjs");
let seq = 0;

/** Runs the layerscope CLI under GNU time with the event-loop hook; adds `loopMaxMs`. */
export async function runLayerscope(cfg, args, tmp) {
    const loopFile = path.join(tmp, `loop-${process.pid}-${++seq}.json`);
    process.env.LAYERSCOPE_BENCH_LOOP_OUT = loopFile;
    try {
        const r = await timed(cfg.wrap([process.execPath, "--require", hook, cfg.cli, ...args]), tmp);
        const loop = JSON.parse(fs.readFileSync(loopFile, "utf8"));
        return { ...r, loopMaxMs: loop.maxMs };
    } finally {
        delete process.env.LAYERSCOPE_BENCH_LOOP_OUT;
        fs.rmSync(loopFile, { force: true });
    }
}

const lastJson = (stdout) => JSON.parse(stdout.trim().split("\n").pop());

function compressRunner(cfg, tar, flags) {
    return async (tmp) => {
        const r = await runLayerscope(cfg, ["compress", tar, ...flags, "--json"], tmp);
        const j = lastJson(r.stdout);
        return { ...r, diffID: j.digest, size: j.size };
    };
}

function oracleRunner(cfg, tar, mode) {
    return async (tmp) => {
        const r = await timed(cfg.wrap([cfg.oracle, "compress", mode, tar, "/dev/null"]), tmp);
        const j = lastJson(r.stdout);
        return { ...r, diffID: j.digest, size: j.size };
    };
}

function referenceRunner(cfg, tar, argv) {
    return async (tmp) => {
        const r = await timedPipeline(cfg.wrap([...argv, tar]), cfg.wrap(["sha256sum"]), tmp);
        return { ...r, diffID: `sha256:${r.stdout.trim().split(/\s+/)[0]}`, size: NaN };
    };
}

/**
 * The compression cases. `vs` names the case whose oracle row is the reference (gzip-fast is
 * measured against Go's gzip); `target` is the largest allowed ratio to it.
 */
export function compressCases(cfg, tar) {
    const o = cfg.oracle;
    const gzip6 = referenceRunner(cfg, tar.path, ["gzip", "-6", "-c"]);
    const zstd3 = referenceRunner(cfg, tar.path, ["zstd", "-3", "-q", "-c"]);
    return [
        {
            id: "gzip",
            kind: "compress",
            target: 1.5,
            exact: true,
            run: {
                layerscope: compressRunner(cfg, tar.path, ["--compression", "gzip"]),
                ...(o ? { oracle: oracleRunner(cfg, tar.path, "gzip") } : {}),
                "gzip -6": gzip6,
            },
        },
        {
            id: "gzip-fast",
            kind: "compress",
            vs: "gzip",
            target: 0.55,
            run: {
                layerscope: compressRunner(cfg, tar.path, ["--compression", "gzip", "--gzip-impl", "fast"]),
            },
        },
        {
            id: "zstd",
            kind: "compress",
            target: 0.25,
            run: {
                layerscope: compressRunner(cfg, tar.path, ["--compression", "zstd"]),
                ...(o ? { oracle: oracleRunner(cfg, tar.path, "zstd") } : {}),
                "zstd -3": zstd3,
            },
        },
        {
            id: "estargz",
            kind: "compress",
            target: 0.4,
            exact: true,
            run: {
                layerscope: compressRunner(cfg, tar.path, ["--compression", "estargz"]),
                ...(o ? { oracle: oracleRunner(cfg, tar.path, "estargz-lossless") } : {}),
            },
        },
    ];
}

/**
 * The chain case: `compute --ref l7` (BuildKit's computeBlobChain of the top ref: layers in parallel)
 * against computing l0, l1, … l7 one `compute --ref` at a time (each finds its parents' blobs
 * already stored). A fresh state directory per run; the blobChainID of l7 must agree.
 */
export function chainCase(cfg, chain) {
    const compute = async (tmp, refs) => {
        const state = fs.mkdtempSync(path.join(tmp, "state-"));
        try {
            const samples = [];
            for (const ref of refs) {
                const args = ["compute", chain.path, "--state", state, "--json"];
                samples.push(await runLayerscope(cfg, ref ? [...args, "--ref", ref] : args, tmp));
            }
            const last = lastJson(samples.at(-1).stdout);
            const top = (last.refs ?? [last]).find((r) => r.id === `l${CHAIN_LAYERS - 1}`) ?? last;
            return {
                wall: samples.reduce((a, s) => a + s.wall, 0),
                cpu: samples.reduce((a, s) => a + s.cpu, 0),
                rssKiB: Math.max(...samples.map((s) => s.rssKiB)),
                loopMaxMs: Math.max(...samples.map((s) => s.loopMaxMs)),
                parts: samples.flatMap((s) => s.parts),
                diffID: top.blobChainID ?? top.chainID,
                size: chain.bytes,
            };
        } finally {
            fs.rmSync(state, { recursive: true, force: true });
        }
    };
    const oneByOne = Array.from({ length: CHAIN_LAYERS }, (_, i) => `l${i}`);
    return {
        id: "chain",
        kind: "chain",
        target: 1.7,
        run: {
            // `compute --ref l7` is computeBlobChain of the top ref: its layers in parallel.
            // (Without --ref the CLI computes every ref in turn, i.e. one by one.)
            "layerscope chain": (tmp) => compute(tmp, [`l${CHAIN_LAYERS - 1}`]),
            "layerscope 1-by-1": (tmp) => compute(tmp, oneByOne),
        },
    };
}

/** The memory case: every compression of the ~5 GB tar, layerscope only (peak RSS, loop). */
export function bigCase(cfg, big) {
    const run = (flags) => compressRunner(cfg, big.path, flags);
    return {
        id: "big",
        kind: "big",
        target: null,
        runs: 1,
        run: {
            "layerscope gzip": run(["--compression", "gzip"]),
            "layerscope gzip-fast": run(["--compression", "gzip", "--gzip-impl", "fast"]),
            "layerscope zstd": run(["--compression", "zstd"]),
            "layerscope estargz": run(["--compression", "estargz"]),
        },
    };
}
