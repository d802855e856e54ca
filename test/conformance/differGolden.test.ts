/**
 * Golden-vector conformance of the differ: for every case of test/fixtures/differCases.ts the
 * trees are rebuilt here (as root), diffed by the engine, and the whole tar must equal the bytes
 * containerd 1.6.20 `archive.WriteDiff` wrote (test/fixtures/golden, made by regen.sh; no Go is
 * needed here). Overlay cases also diff their upperdir in overlay mode against the same bytes.
 * Then the CLI once, and its error paths.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Writable } from "node:stream";
import { after, test } from "node:test";
import { isEngineError, parseWhiteoutTime, writeDiff } from "../../src/engine/index";
import {
    CaseDirs, DifferCase, buildCase, checkOverlayCase, differCases, findCase,
} from "../fixtures/differCases";
import {
    GoldenMeta, GoldenVariant, goldenDir, readGoldenMeta, readGoldenTar,
} from "../fixtures/goldenMeta";
import { mkdir, writeFile } from "../helpers/fsbuild";
import { describeFirstDifference } from "../helpers/tarInspect";

const NEEDS_ROOT = process.getuid?.() === 0
    ? false
    : "needs root (chown, mknod, security.* and trusted.* xattrs); CI runs the tests as root";

const REPO = path.resolve(goldenDir(), "..", "..", "..");
const CLI = path.join(REPO, "dist", "cli.js");
const CLI_CASE = "modify-mixed";
const CLI_OVERLAY_CASE = "overlay-whiteouts";

let scratchRoot: string | undefined;

function scratch(): string {
    scratchRoot ??= fs.mkdtempSync(path.join(os.tmpdir(), "layerscope-differ-golden-"));
    return scratchRoot;
}

after(() => {
    if (scratchRoot !== undefined) {
        fs.rmSync(scratchRoot, { recursive: true, force: true });
    }
});

/** Builds a case once per test run (several tests use the same trees). */
const built = new Map<string, CaseDirs>();

function trees(c: DifferCase): CaseDirs {
    let dirs = built.get(c.name);
    if (dirs === undefined) {
        dirs = buildCase(c, scratch());
        built.set(c.name, dirs);
    }
    return dirs;
}

function golden(name: string): GoldenMeta {
    const meta = readGoldenMeta(name);
    assert.ok(meta, `no golden for case ${name}: run test/fixtures/golden/regen.sh (as root)`);
    return meta;
}

function sha256(b: Buffer): string {
    return `sha256:${createHash("sha256").update(b).digest("hex")}`;
}

/** The golden tar of one variant, checked against its recorded diffID. */
function goldenTar(v: GoldenVariant): Buffer {
    const tar = readGoldenTar(v);
    assert.equal(sha256(tar), v.diffID, `golden ${v.tar} does not hash to its diffID: regenerate`);
    return tar;
}

function assertSameTar(expected: Buffer, actual: Buffer, what: string): void {
    const diff = describeFirstDifference(expected, actual);
    if (diff !== undefined) {
        assert.fail(`${what}: the layer tar differs from the golden\n${diff}`);
    }
}

async function diffBytes(
    lower: string, upper: string, overlay: boolean, whiteoutTime: string,
): Promise<{ bytes: Buffer; diffID: string; size: number }> {
    const chunks: Buffer[] = [];
    const output = new Writable({
        write(chunk: Buffer, _enc, cb) {
            chunks.push(Buffer.from(chunk));
            cb();
        },
    });
    const r = await writeDiff({
        lower, upper, overlay, whiteoutTime: parseWhiteoutTime(whiteoutTime), output,
    });
    return { bytes: Buffer.concat(chunks), diffID: r.diffID, size: r.size };
}

async function expectGolden(
    v: GoldenVariant, lower: string, upper: string, overlay: boolean,
): Promise<void> {
    const expected = goldenTar(v);
    const got = await diffBytes(lower, upper, overlay, v.whiteoutTime);
    const what = `${overlay ? "overlay" : "two-tree"} diff, whiteout time ${v.whiteoutTime}`;
    assertSameTar(expected, got.bytes, what);
    assert.equal(got.diffID, v.diffID, "returned diffID");
    assert.equal(got.size, v.size, "returned size");
}

for (const c of differCases) {
    test(`differGolden ${c.name}`, { skip: NEEDS_ROOT }, async (t) => {
        const meta = golden(c.name);
        const overlay = c.upperdir !== undefined;
        assert.equal(meta.overlay, overlay, "golden is stale (overlay flag): regenerate");
        if (c.expect?.diffID !== undefined) {
            assert.equal(meta.diffID, c.expect.diffID, "golden diffID vs the spec vector");
        }
        if (c.expect?.size !== undefined) {
            assert.equal(meta.size, c.expect.size, "golden size vs the spec vector");
        }
        const dirs = trees(c);
        const variants = [meta, ...meta.variants];
        for (const v of variants) {
            await t.test(`two trees, whiteout time ${v.whiteoutTime}`, () =>
                expectGolden(v, dirs.lower, dirs.upper, false));
        }
        if (dirs.upperdir === undefined) {
            return;
        }
        const upperdir = dirs.upperdir;
        await t.test("upperdir merged over LOWER equals UPPER", () => {
            assert.deepEqual(checkOverlayCase(dirs), []);
        });
        for (const v of variants) {
            await t.test(`overlay upperdir, whiteout time ${v.whiteoutTime}`, () =>
                expectGolden(v, dirs.lower, upperdir, true));
        }
    });
}

test("differGolden every golden file belongs to a case", () => {
    const names = new Set(differCases.map((c) => c.name));
    const stale = fs.readdirSync(goldenDir())
        .filter((f) => f.endsWith(".json") && f !== "oracle-version.json")
        .map((f) => f.slice(0, -".json".length))
        .filter((n) => !names.has(n));
    assert.deepEqual(stale, [], "goldens without a case: run regen.sh to delete them");
});

test("differGolden writeDiff without output returns the diffID", { skip: NEEDS_ROOT }, async () => {
    const c = findCase(CLI_CASE)!;
    const meta = golden(c.name);
    const dirs = trees(c);
    const whiteoutTime = parseWhiteoutTime(meta.whiteoutTime);
    const r = await writeDiff({ lower: dirs.lower, upper: dirs.upper, whiteoutTime });
    assert.equal(r.diffID, meta.diffID);
    assert.equal(r.size, meta.size);
});

function runCli(args: string[]): { status: number | null; stdout: string; stderr: string } {
    assert.ok(fs.existsSync(CLI), `${CLI} is missing: run npm run build`);
    const r = spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", timeout: 120_000 });
    if (r.error) {
        throw r.error;
    }
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

for (const [name, overlayFlag] of [[CLI_CASE, false], [CLI_OVERLAY_CASE, true]] as const) {
    const title = `differGolden CLI diff --json ${overlayFlag ? "--overlay " : ""}(${name})`;
    test(title, { skip: NEEDS_ROOT }, () => {
        const c = findCase(name)!;
        const meta = golden(name);
        const dirs = trees(c);
        const upper = overlayFlag ? dirs.upperdir! : dirs.upper;
        const out = path.join(scratch(), `${name}-cli${overlayFlag ? "-overlay" : ""}.tar`);
        const args = [
            "diff", dirs.lower, upper, "--whiteout-time", meta.whiteoutTime, "--out", out, "--json",
        ];
        const r = runCli(overlayFlag ? [...args, "--overlay"] : args);
        assert.equal(r.status, 0, `exit status; stderr: ${r.stderr}`);
        const printed = JSON.parse(r.stdout) as { diffID: unknown; size: unknown };
        assert.equal(printed.diffID, meta.diffID);
        assert.equal(printed.size, meta.size);
        assertSameTar(goldenTar(meta), fs.readFileSync(out), "CLI --out file");
    });
}

/** The non-empty lines of a stderr text. */
function stderrLines(stderr: string): string[] {
    return stderr.split("\n").filter((l) => l.length > 0);
}

test("differGolden CLI missing directory: non-zero exit, one stderr line naming it", () => {
    const existing = fs.mkdtempSync(path.join(scratch(), "existing-"));
    for (const which of ["lower", "upper"] as const) {
        const missing = path.join(scratch(), `no-such-${which}-dir`);
        const args = which === "lower" ? [missing, existing] : [existing, missing];
        const r = runCli(["diff", ...args, "--json"]);
        assert.notEqual(r.status, 0, `${which}: exit status`);
        assert.notEqual(r.status, null, `${which}: killed instead of exiting`);
        const lines = stderrLines(r.stderr);
        assert.equal(lines.length, 1, `${which}: want exactly one stderr line, got:\n${r.stderr}`);
        assert.ok(lines[0]!.includes(missing), `${which}: stderr does not name ${missing}`);
    }
});

/** An upperdir whose directory `moved` carries trusted.overlay.redirect (redirect_dir). */
function redirectTrees(): { lower: string; upperdir: string; dir: string } {
    const base = fs.mkdtempSync(path.join(scratch(), "redirect-"));
    const lower = path.join(base, "lower");
    const upperdir = path.join(base, "upperdir");
    mkdir(path.join(lower, "orig"));
    writeFile(path.join(lower, "orig", "f"), "f\n");
    const dir = path.join(upperdir, "moved-by-redirect");
    mkdir(dir, { xattrs: { "trusted.overlay.redirect": "/orig" } });
    writeFile(path.join(dir, "g"), "g\n");
    return { lower, upperdir, dir };
}

test("differGolden CLI --overlay with redirect_dir fails naming it", { skip: NEEDS_ROOT }, () => {
    const t = redirectTrees();
    const r = runCli(["diff", t.lower, t.upperdir, "--overlay", "--json"]);
    assert.notEqual(r.status, 0, "exit status");
    assert.notEqual(r.status, null, "killed instead of exiting");
    assert.match(r.stderr, /moved-by-redirect/, `stderr does not name the directory: ${r.stderr}`);
});

test("differGolden writeDiff overlay rejects redirect_dir", { skip: NEEDS_ROOT }, async () => {
    const t = redirectTrees();
    await assert.rejects(
        writeDiff({ lower: t.lower, upper: t.upperdir, overlay: true }),
        (err: unknown) => isEngineError(err),
    );
});
