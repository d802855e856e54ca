/**
 * Differential test: our `writeDiff` against containerd 1.6.20's walking differ (the oracle
 * built from ../shared/oracle) on seeded random tree pairs (test/helpers/randomTrees.ts).
 *
 * For each seed: LOWER and UPPER are written to a temp dir, the oracle's `diff` and our
 * two-tree `writeDiff` must give the same diffID and size, for three whiteout times (0, a
 * fractional one, a large one). For "overlay" seeds our `writeDiff({ overlay: true })` on the
 * derived upperdir must give the oracle's two-tree result too. On a mismatch the temp dir is
 * kept and the first differing tar entry is printed.
 *
 *   LAYERSCOPE_ORACLE=/path/to/oracle   required, else the test is skipped
 *   LAYERSCOPE_DIFF_SEEDS=25            how many seeds (from LAYERSCOPE_DIFF_SEED_START, default 1)
 *   LAYERSCOPE_DIFF_SEED=1234           run just this seed
 *   LAYERSCOPE_DIFF_KEEP=1              keep every temp dir
 *   LAYERSCOPE_DIFF_SHRINK=1            on a mismatch, also shrink the pair (drops subtrees while
 *                                       it still fails) and print the minimal trees and both
 *                                       entry lists
 *
 * Runs as root only (mknod, chown to any id, trusted.* xattrs), with TMPDIR on a filesystem that
 * keeps user.* and trusted.* xattrs and nanosecond mtimes (ext4, xfs, btrfs).
 */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { finished } from "node:stream/promises";
import { test } from "node:test";
import { parseWhiteoutTime, writeDiff } from "../../src/engine/index";
import { type RandomPair, randomPair } from "../helpers/randomTrees";
import { type PairTrees, shrinkPair } from "../helpers/shrinkPair";
import { firstDifference, listEntries } from "../helpers/tarEntries";
import { describeTree, materializeTree } from "../helpers/treeModel";

const ORACLE = process.env.LAYERSCOPE_ORACLE;
const KEEP = process.env.LAYERSCOPE_DIFF_KEEP === "1";
const SHRINK = process.env.LAYERSCOPE_DIFF_SHRINK === "1";

/** Go rounds whiteout mtimes half up (.5) and writes PAX `mtime` past 8^11 - 1 (8589934591). */
const FRACTIONAL_TIMES = [
    "1700000000.5",
    "1700000000.4",
    "1700000000.999999999",
    "1234567890.000000001",
];
const LARGE_TIMES = ["8589934591.4", "8589934591.5", "9999999999.9", "100000000000"];

function whiteoutTimes(seed: number): string[] {
    return ["0", FRACTIONAL_TIMES[seed % 4]!, LARGE_TIMES[Math.floor(seed / 4) % 4]!];
}

function seeds(): number[] {
    const one = process.env.LAYERSCOPE_DIFF_SEED;
    if (one !== undefined && one !== "") {
        return [Number.parseInt(one, 10)];
    }
    const count = Number.parseInt(process.env.LAYERSCOPE_DIFF_SEEDS ?? "25", 10);
    const start = Number.parseInt(process.env.LAYERSCOPE_DIFF_SEED_START ?? "1", 10);
    return Array.from({ length: count }, (_, i) => start + i);
}

function isExecutable(p: string): boolean {
    try {
        fs.accessSync(p, fs.constants.X_OK);
        return fs.statSync(p).isFile();
    } catch {
        return false;
    }
}

interface DiffOutcome {
    diffID: string;
    size: number;
}

function runOracle(
    oracle: string,
    whiteoutTime: string,
    lower: string,
    upper: string,
    out: string,
): DiffOutcome {
    const r = spawnSync(oracle, ["diff", "--whiteout-time", whiteoutTime, lower, upper, out], {
        encoding: "utf8",
    });
    if (r.status !== 0) {
        throw new Error(`oracle diff failed (${r.status}): ${r.stdout}${r.stderr}`);
    }
    const res = JSON.parse(r.stdout) as { diffID: string; size: number };
    return { diffID: res.diffID, size: res.size };
}

async function runOurs(
    lower: string,
    upper: string,
    overlay: boolean,
    whiteoutTime: string,
    out: string,
): Promise<DiffOutcome> {
    const stream = fs.createWriteStream(out);
    try {
        const res = await writeDiff({
            lower,
            upper,
            overlay,
            whiteoutTime: parseWhiteoutTime(whiteoutTime),
            output: stream,
        });
        return { diffID: res.diffID, size: res.size };
    } finally {
        stream.end();
        await finished(stream).catch(() => undefined);
    }
}

function writeTrees(trees: PairTrees, dir: string, header: string[]): void {
    materializeTree(trees.lower, path.join(dir, "lower"));
    materializeTree(trees.upper, path.join(dir, "upper"));
    const text = [
        ...header,
        "## lower",
        ...describeTree(trees.lower),
        "## upper",
        ...describeTree(trees.upper),
    ];
    if (trees.upperdir) {
        materializeTree(trees.upperdir, path.join(dir, "upperdir"));
        text.push("## upperdir", ...describeTree(trees.upperdir));
    }
    fs.writeFileSync(path.join(dir, "trees.txt"), text.join("\n") + "\n");
}

type Variant = "two-tree" | "overlay";

interface Mismatch {
    readonly variant: Variant;
    readonly whiteoutTime: string;
    readonly text: string;
}

/** Runs ours on trees already written to `dir`; undefined when it agrees with `want`. */
async function compareOurs(
    dir: string,
    variant: Variant,
    wt: string,
    want: DiffOutcome,
    wantTar: string,
    tag: string,
): Promise<string | undefined> {
    const gotTar = path.join(dir, `ours-${variant}-${tag}.tar`);
    const upper = path.join(dir, variant === "overlay" ? "upperdir" : "upper");
    let got: DiffOutcome;
    try {
        got = await runOurs(path.join(dir, "lower"), upper, variant === "overlay", wt, gotTar);
    } catch (err) {
        const e = err as { code?: string; message?: string };
        return `writeDiff threw ${e.code ?? ""} ${e.message ?? String(err)}`;
    }
    if (got.diffID === want.diffID && got.size === want.size) {
        return undefined;
    }
    const diff =
        firstDifference(fs.readFileSync(wantTar), fs.readFileSync(gotTar)) ?? "tars equal on disk";
    return (
        `oracle ${want.diffID} (${want.size} B), ours ${got.diffID} (${got.size} B)\n` +
        `  ${path.basename(wantTar)} vs ${path.basename(gotTar)}; ${diff}`
    );
}

/** Runs one seed; returns every mismatch (empty when all agree). */
async function checkSeed(oracle: string, pair: RandomPair, dir: string): Promise<Mismatch[]> {
    writeTrees(pair, dir, [`seed ${pair.seed}, profile ${pair.profile}`, "## edits", ...pair.log]);
    const runs = whiteoutTimes(pair.seed).map((wt, i) => {
        const tar = path.join(dir, `oracle-${i}.tar`);
        return {
            wt,
            i,
            tar,
            want: runOracle(oracle, wt, path.join(dir, "lower"), path.join(dir, "upper"), tar),
        };
    });
    // Without whiteouts the time changes nothing: then one run of ours (a different time for
    // each seed) is enough, which keeps the suite fast.
    const same = runs.every((r) => r.want.diffID === runs[0]!.want.diffID);
    const checked = same ? [runs[pair.seed % runs.length]!] : runs;
    const variants: Variant[] = pair.upperdir ? ["two-tree", "overlay"] : ["two-tree"];
    const mismatches: Mismatch[] = [];
    for (const { wt, i, tar, want } of checked) {
        for (const variant of variants) {
            const text = await compareOurs(dir, variant, wt, want, tar, String(i));
            if (text !== undefined) {
                mismatches.push({ variant, whiteoutTime: wt, text });
            }
        }
    }
    return mismatches;
}

/**
 * Shrinks the pair for one mismatch and describes the result: the minimal trees and both
 * entry lists, written below `dir/min-<variant>/` too.
 */
async function shrinkMismatch(
    oracle: string,
    pair: RandomPair,
    dir: string,
    m: Mismatch,
): Promise<string> {
    const twoTreeOnly = m.variant === "two-tree";
    let n = 0;
    const evaluate = async (trees: PairTrees, keepIn?: string): Promise<string | undefined> => {
        const sub = keepIn ?? path.join(dir, `shrink-${n++}`);
        fs.mkdirSync(sub, { recursive: true });
        try {
            writeTrees(trees, sub, [
                `seed ${pair.seed} (shrunk, ${m.variant}, whiteout time ${m.whiteoutTime})`,
            ]);
            const wantTar = path.join(sub, "oracle.tar");
            const want = runOracle(
                oracle,
                m.whiteoutTime,
                path.join(sub, "lower"),
                path.join(sub, "upper"),
                wantTar,
            );
            return await compareOurs(sub, m.variant, m.whiteoutTime, want, wantTar, "min");
        } finally {
            if (keepIn === undefined) {
                fs.rmSync(sub, { recursive: true, force: true });
            }
        }
    };
    const start: PairTrees = {
        lower: pair.lower,
        upper: pair.upper,
        upperdir: twoTreeOnly ? null : pair.upperdir,
    };
    const min = await shrinkPair(start, async (t) => (await evaluate(t)) !== undefined, {
        twoTreeOnly,
    });
    const minDir = path.join(dir, `min-${m.variant}`);
    const text = (await evaluate(min, minDir)) ?? "(the shrunk pair no longer fails)";
    const lines = [
        `shrunk ${m.variant} mismatch (whiteout time ${m.whiteoutTime}), kept in ${minDir}:`,
        text,
    ];
    lines.push("  lower:", ...describeTree(min.lower).map((l) => `    ${l}`));
    lines.push("  upper:", ...describeTree(min.upper).map((l) => `    ${l}`));
    if (min.upperdir) {
        lines.push("  upperdir:", ...describeTree(min.upperdir).map((l) => `    ${l}`));
    }
    const oracleTar = path.join(minDir, "oracle.tar");
    const oursTar = path.join(minDir, `ours-${m.variant}-min.tar`);
    lines.push(
        "  oracle entries:",
        ...listEntries(fs.readFileSync(oracleTar)).map((l) => `    ${l}`),
    );
    if (fs.existsSync(oursTar)) {
        lines.push(
            "  our entries:",
            ...listEntries(fs.readFileSync(oursTar)).map((l) => `    ${l}`),
        );
    }
    return lines.join("\n");
}

/** Checks one seed in a fresh temp dir, kept (and named in the failure) when anything fails. */
async function runSeed(oracle: string, seed: number): Promise<void> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `layerscope-diff-${seed}-`));
    let keep = KEEP;
    try {
        const pair = randomPair(seed);
        const mismatches = await checkSeed(oracle, pair, dir);
        if (mismatches.length === 0) {
            return;
        }
        keep = true;
        const report = mismatches.map((m) => `${m.variant}, whiteout ${m.whiteoutTime}: ${m.text}`);
        if (SHRINK) {
            // One shrink per variant: the first mismatch of each.
            for (const variant of ["two-tree", "overlay"] as const) {
                const m = mismatches.find((x) => x.variant === variant);
                if (m) {
                    report.push(await shrinkMismatch(oracle, pair, dir, m));
                }
            }
        }
        const rerun =
            `rerun: LAYERSCOPE_DIFF_SEED=${seed} LAYERSCOPE_ORACLE=${oracle} ` +
            "node --test out/test/conformance/differOracle.test.js" +
            (SHRINK ? "" : "  (add LAYERSCOPE_DIFF_SHRINK=1 to shrink it)");
        const head = `seed ${seed} (${pair.profile}): ${mismatches.length} mismatch(es) in ${dir}`;
        assert.fail([head, rerun, ...report].join("\n"));
    } catch (err) {
        keep = true;
        throw err;
    } finally {
        if (!keep) {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    }
}

test("writeDiff matches containerd's differ on random trees (two-tree and overlay)", async (t) => {
    if (ORACLE === undefined || ORACLE === "") {
        t.skip("set LAYERSCOPE_ORACLE=… (bash ../shared/oracle/build.sh) to run");
        return;
    }
    assert.ok(isExecutable(ORACLE), `LAYERSCOPE_ORACLE=${ORACLE} is not an executable file`);
    assert.equal(process.getuid?.(), 0, "the random trees need root (mknod, chown, trusted.* xattrs)");
    for (const seed of seeds()) {
        await t.test(`seed ${seed}`, () => runSeed(ORACLE, seed));
    }
});
