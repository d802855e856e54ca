/**
 * Load: 50 concurrent compute/convert requests on overlapping refs in one process make each blob
 * and each variant exactly once (BuildKit's flightcontrol: one computation per key), and two
 * processes running 50 each on one store corrupt nothing (store lock + ingest ownership +
 * rename-into-place, documented in src/engine/content/storeLock.ts and contentWriter.ts). Both
 * end with the digests of the same requests run one after another, `verify` passes, no partial
 * blob, no leftover ingest. LAYERSCOPE_LOAD_REQUESTS changes the 50.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { openWorkspaceEngine } from "../../src/engine/index";
import { type LoadRequest, loadRequests, runLoad } from "../helpers/loadRequests";
import { Rng } from "../helpers/rng";
import { blobDigests, leftovers, storeProblems } from "../helpers/storeInvariants";
import { WorkspaceKit } from "../helpers/workspaceKit";

const N = Number(process.env.LAYERSCOPE_LOAD_REQUESTS ?? 50);
const REFS = ["base", "app", "cfg", "other", "merged"];
const CHILD = join(__dirname, "..", "helpers", "loadRequests.js");

function noise(n: number, salt: number): Buffer {
    const rng = new Rng(salt);
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i += 4) b.writeUInt32LE(rng.next(), i);
    return b;
}

/** Every digest a ref shows: diffID, chain IDs, main blob, variants. */
async function snapshotOf(ws: string, state: string): Promise<unknown> {
    const engine = await openWorkspaceEngine(ws, { stateDir: state });
    return Promise.all(
        engine.refIds().map(async (id) => {
            const r = await engine.report(id);
            return { id, diffID: r.diffID, chainID: r.chainID, blobChainID: r.blobChainID, blob: r.blob?.digest ?? null, variants: r.variants.map((v) => `${v.mediaType} ${v.digest}`).sort() };
        }),
    );
}

async function assertSound(ws: string, state: string, expected: unknown): Promise<void> {
    assert.deepEqual(storeProblems(state), []);
    assert.deepEqual(leftovers(state), []);
    assert.deepEqual(await snapshotOf(ws, state), expected);
    const engine = await openWorkspaceEngine(ws, { stateDir: state });
    const v = await engine.verify(undefined);
    assert.ok(v.ok, JSON.stringify(v.checks.filter((c) => !c.ok)));
}

/** What the requests need made: each layer of each asked ref once, each (layer, type) once. */
function expectedWork(ws: string, requests: readonly LoadRequest[], layersOf: (id: string) => string[]): { diff: Record<string, number>; convert: Record<string, number> } {
    void ws;
    const diff: Record<string, number> = {};
    const convert: Record<string, number> = {};
    for (const r of requests) {
        for (const l of layersOf(r.ref)) {
            diff[l] = 1;
            if (r.kind === "convert") convert[`${l} ${r.type}`] = 1;
        }
    }
    return { diff, convert };
}

describe(`${N} concurrent compute/convert requests`, () => {
    const kit = new WorkspaceKit();
    const work = mkdtempSync(join(tmpdir(), "layerscope-load-"));
    const requests = loadRequests(REFS, N, 7);
    let expected: unknown;
    let layersOf: (id: string) => string[] = () => [];
    after(() => {
        kit.dispose();
        rmSync(work, { recursive: true, force: true });
    });

    before(async () => {
        kit.snapshot("base", { from: null, write: { "data/a.bin": noise(256 << 10, 1), "etc/os-release": "ID=load\n" } });
        kit.snapshot("app", { from: "base", write: { "app/b.bin": noise(128 << 10, 2) } });
        kit.snapshot("cfg", { from: "app", write: { "app/c.txt": "c\n".repeat(5000) }, remove: ["etc/os-release"] });
        kit.snapshot("other", { from: null, write: { "opt/d.bin": noise(128 << 10, 3) } });
        kit.refs([
            { id: "base", snapshot: "snapshots/base" },
            { id: "app", parent: "base", snapshot: "snapshots/app" },
            { id: "cfg", parent: "app", snapshot: "snapshots/cfg" },
            { id: "other", snapshot: "snapshots/other" },
            { id: "merged", merge: ["cfg", "other"] },
        ]);
        // The same requests one after another: the digests every concurrent run must end with.
        const seq = join(work, "sequential");
        const engine = await openWorkspaceEngine(kit.dir, { stateDir: seq });
        layersOf = (id) => engine.layerIds(id);
        for (const r of requests) await runLoad(kit.dir, seq, [r]);
        expected = await snapshotOf(kit.dir, seq);
    });

    it("in one process: each blob and each variant is made once, and the results are the sequential ones", async () => {
        const state = join(work, "one-process");
        const counts = await runLoad(kit.dir, state, requests);
        assert.deepEqual(counts.failures, []);
        const want = expectedWork(kit.dir, requests, layersOf);
        assert.deepEqual(counts.diff, want.diff, "blobs made (no duplicated diff)");
        assert.deepEqual(counts.convert, want.convert, "variants made (no duplicated conversion)");
        await assertSound(kit.dir, state, expected);
        process.stdout.write(`# load, one process: ${N} requests, ${Object.keys(counts.diff).length} blobs and ${Object.keys(counts.convert).length} variants made once each, ${blobDigests(state).length} blobs in the store\n`);
    });

    it("from two processes on one store: no failure, no corruption, the sequential results", async () => {
        const state = join(work, "two-processes");
        const child = (seed: number): Promise<{ diff: Record<string, number>; convert: Record<string, number>; failures: string[] }> =>
            new Promise((resolve, reject) => {
                const p = spawn(process.execPath, [CHILD, kit.dir, state, String(N), String(seed), REFS.join(",")], { stdio: ["ignore", "pipe", "pipe"] });
                let out = "";
                let err = "";
                p.stdout.on("data", (d: Buffer) => (out += d.toString()));
                p.stderr.on("data", (d: Buffer) => (err += d.toString()));
                p.on("exit", (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`child exited ${code}: ${err}`))));
            });
        // Seeds 7 and 8: the first process runs the sequential reference's requests, the second others.
        const [a, b] = await Promise.all([child(7), child(8)]);
        assert.deepEqual(a.failures, []);
        assert.deepEqual(b.failures, []);
        const other = loadRequests(REFS, N, 8);
        const union = expectedWork(kit.dir, [...requests, ...other], layersOf);
        // Within each process, still once per blob; across them a blob is made at most twice
        // (the ingest lock makes the second process wait and reuse it, so usually once).
        for (const c of [a, b]) for (const n of [...Object.values(c.diff), ...Object.values(c.convert)]) assert.equal(n, 1);
        const made = (k: "diff" | "convert"): number => Object.values(a[k]).length + Object.values(b[k]).length;
        for (const layer of Object.keys(union.diff)) assert.ok((a.diff[layer] ?? 0) + (b.diff[layer] ?? 0) <= 2, `${layer} made at most once per process`);
        const seqOther = join(work, "sequential-other");
        for (const r of [...requests, ...other]) await runLoad(kit.dir, seqOther, [r]);
        await assertSound(kit.dir, state, await snapshotOf(kit.dir, seqOther));
        process.stdout.write(
            `# load, two processes: ${2 * N} requests, blobs made ${made("diff")} times for ${Object.keys(union.diff).length} layers, variants ${made("convert")} times for ${Object.keys(union.convert).length}\n`,
        );
    });
});
