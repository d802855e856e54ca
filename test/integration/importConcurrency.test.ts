/**
 * Imports sharing one workspace: concurrent imports with different --id prefixes each keep their
 * refs (layerscope.json is re-read and merged under the store lock at commit); the rollback of a
 * dead import's journal never removes a snapshot layerscope.json names; a cancelled import kills
 * its parent copy (cp -a) and leaves no temporary directory.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { after, before, describe, it } from "node:test";
import { isEngineError } from "../../src/engine/errors";
import { buildSnapshot, importImage } from "../../src/engine/image/importImage";
import { sha256, writeLayout } from "../helpers/ociLayout";
import { tarOf } from "../helpers/tarBuilder";

const root = join(__dirname, "..", "..", "..");
const cli = join(root, "dist", "cli.js");
const work = fs.mkdtempSync(join(tmpdir(), "layerscope-importfix-"));
after(() => fs.rmSync(work, { recursive: true, force: true }));

function noise(n: number, seed: number): Buffer {
    const b = Buffer.alloc(n);
    let x = seed * 2654435761 + 1;
    for (let i = 0; i < n; i++) {
        x = (x * 1103515245 + 12345) >>> 0;
        b[i] = x >>> 24;
    }
    return b;
}

/** A three-layer gzip OCI layout, distinct per seed. */
function layout(dir: string, seed: number): void {
    const layers = [0, 1, 2].map((i) => {
        const tar = tarOf([
            { name: `d${i}/`, type: "5", mode: 0o755, mtime: 1_600_000_000 },
            { name: `d${i}/f${seed}.bin`, data: noise(256 << 10, seed * 10 + i), mode: 0o644, mtime: 1_600_000_000 },
        ]);
        return { blob: gzipSync(tar), mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", diffID: sha256(tar) };
    });
    writeLayout(dir, layers, { tag: `img${seed}` });
}

function cliAsync(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
        const c = spawn(process.execPath, [cli, ...args]);
        let stdout = "";
        let stderr = "";
        c.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
        c.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
        c.on("close", (status) => resolve({ status, stdout, stderr }));
    });
}

function ids(ws: string): string[] {
    return (JSON.parse(fs.readFileSync(join(ws, "layerscope.json"), "utf8")) as { refs: Array<{ id: string }> }).refs.map((r) => r.id).sort();
}

function verifyOk(ws: string): void {
    const r = spawnSync(process.execPath, [cli, "verify", ws, "--json"], { encoding: "utf8", maxBuffer: 1 << 26 });
    assert.equal(r.status, 0, `verify ${ws}: ${r.stderr}${r.stdout.slice(0, 2000)}`);
}

describe("imports sharing a workspace", () => {
    const layouts = [1, 2, 3, 4].map((s) => join(work, `layout${s}`));
    before(() => layouts.forEach((d, i) => layout(d, i + 1)));

    it("two concurrent imports in one process (both read layerscope.json before either commits) keep both sets of refs", async () => {
        const ws = join(work, "ws-inproc");
        await importImage(layouts[0]!, ws, { refPrefix: "base" });
        const [a, b] = await Promise.all([importImage(layouts[1]!, ws, { refPrefix: "a" }), importImage(layouts[2]!, ws, { refPrefix: "b" })]);
        assert.equal(a.refs.length, 3);
        assert.equal(b.refs.length, 3);
        assert.deepEqual(ids(ws), ["a-1", "a-2", "a-3", "b-1", "b-2", "b-3", "base-1", "base-2", "base-3"]);
        assert.deepEqual(fs.readdirSync(join(ws, ".layerscope", "imports")), [], "both journals ended");
        verifyOk(ws);
    });

    it("two CLI processes importing into one workspace at once: both sets of refs, verify passes", async () => {
        const ws = join(work, "ws-cli");
        const [a, b] = await Promise.all([cliAsync(["import", layouts[1]!, ws, "--id", "a", "--json"]), cliAsync(["import", layouts[2]!, ws, "--id", "b", "--json"])]);
        assert.equal(a.status, 0, a.stderr);
        assert.equal(b.status, 0, b.stderr);
        assert.deepEqual(ids(ws), ["a-1", "a-2", "a-3", "b-1", "b-2", "b-3"]);
        for (const id of ids(ws)) assert.ok(fs.statSync(join(ws, "snapshots", id)).isDirectory(), id);
        verifyOk(ws);
    });

    it("the journal of a dead import whose refs layerscope.json names rolls back nothing; an uncommitted one is removed", async () => {
        const ws = join(work, "ws-rollback");
        await importImage(layouts[1]!, ws, { refPrefix: "a" });
        const root = fs.realpathSync(ws);
        const journals = join(ws, ".layerscope", "imports");
        fs.mkdirSync(journals, { recursive: true });
        // A process that has exited, recorded before another boot: dead whatever the pid is now.
        const dead = { pid: spawnSync("true").pid ?? 999_999, start: "1", boot: "00000000-0000-0000-0000-000000000000", nonce: "0000000000000001" };
        // Killed after its commit, before endImport: its refs are named.
        fs.writeFileSync(join(journals, "committed.json"), JSON.stringify({ owner: dead, workspace: root, refs: ["a-1", "a-2", "a-3"] }));
        // Killed before its commit: its snapshot and build directory are not named.
        fs.mkdirSync(join(ws, "snapshots", "c-1", "x"), { recursive: true });
        fs.mkdirSync(join(ws, "snapshots", ".c-2.tmp-0123456789ab"), { recursive: true });
        fs.writeFileSync(join(journals, "killed.json"), JSON.stringify({ owner: { ...dead, nonce: "0000000000000002" }, workspace: root, refs: ["c-1", "c-2"] }));
        const before = fs.readdirSync(join(ws, "snapshots", "a-3")).sort();
        const g = spawnSync(process.execPath, [cli, "gc", ws, "--json"], { encoding: "utf8" });
        assert.equal(g.status, 0, g.stderr);
        assert.deepEqual(fs.readdirSync(join(ws, "snapshots")).sort(), ["a-1", "a-2", "a-3"]);
        assert.deepEqual(fs.readdirSync(join(ws, "snapshots", "a-3")).sort(), before);
        assert.deepEqual(fs.readdirSync(journals), []);
        assert.deepEqual(ids(ws), ["a-1", "a-2", "a-3"]);
        verifyOk(ws);
    });

    it("a dead import's journal in a workspace whose snapshots/ is a symlink removes nothing through it", async () => {
        // A workspace can come from anywhere, journal included.
        const ws = join(work, "ws-symlinked");
        const outside = join(work, "outside-snapshots");
        fs.mkdirSync(join(outside, "c-1"), { recursive: true });
        fs.writeFileSync(join(outside, "c-1", "keep"), "keep\n");
        fs.mkdirSync(join(ws, ".layerscope", "imports"), { recursive: true });
        fs.symlinkSync(outside, join(ws, "snapshots"));
        fs.writeFileSync(join(ws, "layerscope.json"), JSON.stringify({ snapshotter: "native", refs: [] }));
        const dead = { pid: spawnSync("true").pid ?? 999_999, start: "1", boot: "00000000-0000-0000-0000-000000000000", nonce: "0000000000000003" };
        fs.writeFileSync(join(ws, ".layerscope", "imports", "killed.json"), JSON.stringify({ owner: dead, workspace: fs.realpathSync(ws), refs: ["c-1"] }));
        const g = spawnSync(process.execPath, [cli, "gc", ws, "--json"], { encoding: "utf8" });
        assert.equal(g.status, 0, g.stderr);
        assert.equal(fs.readFileSync(join(outside, "c-1", "keep"), "utf8"), "keep\n");
    });

    it("a ref another process committed under one of our ids meanwhile: refused, its refs and snapshots kept, ours removed", async () => {
        const ws = join(work, "ws-clash");
        await importImage(layouts[0]!, ws, { refPrefix: "base" });
        const wsFile = join(ws, "layerscope.json");
        let wrote = false;
        await assert.rejects(
            importImage(layouts[1]!, ws, {
                refPrefix: "x",
                onProgress: (e) => {
                    // While x applies its last layer, someone names "x-2" (a hand edit, an older tool).
                    if (!wrote && e.layer === 2 && e.phase === "apply") {
                        wrote = true;
                        const doc = JSON.parse(fs.readFileSync(wsFile, "utf8"));
                        doc.refs.push({ id: "x-2", parent: "base-3", snapshot: "snapshots/base-3" });
                        fs.writeFileSync(wsFile, JSON.stringify(doc));
                    }
                },
            }),
            (e: unknown) => isEngineError(e) && e.code === "AlreadyExists" && /another process added a ref "x-2"/.test(e.message),
        );
        assert.ok(wrote);
        assert.deepEqual(ids(ws), ["base-1", "base-2", "base-3", "x-2"]);
        assert.deepEqual(fs.readdirSync(join(ws, "snapshots")).sort(), ["base-1", "base-2", "base-3"]);
    });
});

describe("cancelling an import's parent copy", () => {
    function cpChildrenOf(dir: string): number[] {
        const out: number[] = [];
        for (const p of fs.readdirSync("/proc").filter((n) => /^\d+$/.test(n))) {
            const cmd = (() => {
                try {
                    return fs.readFileSync(`/proc/${p}/cmdline`, "utf8");
                } catch {
                    return "";
                }
            })();
            if (cmd.startsWith("cp\0") && cmd.includes(dir)) out.push(Number(p));
        }
        return out;
    }

    it("an abort while cp -a runs kills cp, removes the temporary copy and rejects Canceled", async () => {
        const dir = join(work, "abort");
        const parent = join(dir, "parent");
        for (let d = 0; d < 40; d++) {
            fs.mkdirSync(join(parent, `d${d}`), { recursive: true });
            for (let f = 0; f < 250; f++) fs.writeFileSync(join(parent, `d${d}`, `f${f}`), `${d}/${f}\n`);
        }
        const final = join(dir, "child");
        const ac = new AbortController();
        let filled = false;
        let sawCp = false;
        const poll = setInterval(() => {
            // Abort once cp is running and has started writing the temporary directory.
            const tmp = fs.readdirSync(dir).find((n) => n.startsWith(".child.tmp-"));
            if (tmp && cpChildrenOf(join(dir, tmp)).length > 0) {
                sawCp = true;
                clearInterval(poll);
                ac.abort();
            }
        }, 2);
        await assert.rejects(
            buildSnapshot(
                final,
                parent,
                async () => {
                    filled = true;
                },
                ac.signal,
            ),
            (e: unknown) => isEngineError(e) && e.code === "Canceled",
        );
        clearInterval(poll);
        assert.ok(sawCp, "cp -a was seen running");
        assert.equal(filled, false, "the copy was interrupted, not finished");
        assert.deepEqual(fs.readdirSync(dir), ["parent"], "no temporary copy, no snapshot");
        assert.deepEqual(cpChildrenOf(dir), [], "no cp left running");
    });

    it("an already aborted signal copies nothing", async () => {
        const dir = join(work, "abort2");
        fs.mkdirSync(join(dir, "parent"), { recursive: true });
        fs.writeFileSync(join(dir, "parent", "f"), "x");
        const ac = new AbortController();
        ac.abort();
        await assert.rejects(
            buildSnapshot(join(dir, "child"), join(dir, "parent"), async () => undefined, ac.signal),
            (e: unknown) => isEngineError(e) && e.code === "Canceled",
        );
        assert.deepEqual(fs.readdirSync(dir), ["parent"]);
    });
});
