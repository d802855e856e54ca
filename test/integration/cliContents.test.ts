/**
 * ls, cat and size end to end: on the bundled sample workspace (from the snapshots, then from
 * gzip and eStargz blobs) and on an OCI archive; their JSON equals the engine's answers, cat
 * streams the exact bytes, errors are one line with exit 1 (2 for usage).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { after, describe, it } from "node:test";
import { computeLayerSizes, openLayerContents, openWorkspaceEngine } from "../../src/engine";
import { readContents, walkContents } from "../helpers/contentsOracle";
import { sha256, writeLayout } from "../helpers/ociLayout";
import { tarOf } from "../helpers/tarBuilder";

const root = join(__dirname, "..", "..", "..");
const cli = join(root, "dist", "cli.js");
const work = mkdtempSync(join(tmpdir(), "layerscope-cli-contents-"));
after(() => rmSync(work, { recursive: true, force: true }));

function run(...args: string[]): { status: number | null; stdout: Buffer; json: any; stderr: string } {
    const r = spawnSync(process.execPath, [cli, ...args], { maxBuffer: 1 << 26 });
    let json: unknown = null;
    try {
        json = JSON.parse(r.stdout.toString("utf8"));
    } catch {
        /* not JSON */
    }
    return { status: r.status, stdout: r.stdout, json, stderr: r.stderr.toString("utf8") };
}

describe("layerscope ls, cat, size", () => {
    const ws = join(work, "sample");
    spawnSync(process.execPath, [join(root, "test/fixtures/sample/materialize.mjs"), ws]);

    for (const compression of [null, "gzip", "estargz"]) {
        it(`on the sample workspace, ${compression ? `from ${compression} blobs` : "from the snapshots"}`, async () => {
            if (compression) assert.equal(run("compute", ws, "--ref", "config", "--compression", compression, "--force").status, 0);
            const pick = compression ? ["--source", "blob", "--compression", compression] : ["--source", "snapshot"];
            const engine = await openWorkspaceEngine(ws);
            for (const merged of [false, true]) {
                const r = run("ls", ws, "--ref", "config", ...(merged ? ["--merged"] : []), "--recursive", "--json", ...pick);
                assert.equal(r.status, 0, r.stderr);
                const c = await openLayerContents(engine, "config", { view: merged ? "merged" : "layer", source: compression ? "blob" : "snapshot", ...(compression ? { compression: compression as "gzip" } : {}) });
                const expected = [...(await walkContents(c)).values()].map((e) => [e.path, e.type, e.change, e.size]);
                assert.deepEqual(r.json.entries.map((e: any) => [e.path, e.type, e.change, e.size]), expected);
                assert.equal(r.json.origin.kind, compression ? "blob" : "snapshot");
                for (const e of r.json.entries.filter((x: any) => x.type === "file" && x.change !== "deleted")) {
                    const cat = run("cat", ws, "--ref", "config", ...(merged ? ["--merged"] : []), e.path, ...pick);
                    assert.equal(cat.status, 0, cat.stderr);
                    assert.deepEqual(cat.stdout, await readContents(c, e.path), e.path);
                }
            }
            const size = run("size", ws, "--ref", "config", "--json", ...pick);
            assert.equal(size.status, 0, size.stderr);
            const expected = await computeLayerSizes(engine, "config", { source: compression ? "blob" : "snapshot", ...(compression ? { compression: compression as "gzip" } : {}) });
            assert.deepEqual(size.json.reports, JSON.parse(JSON.stringify([expected])));
            const human = run("size", ws, "--ref", "config", ...pick);
            assert.equal(human.status, 0);
            assert.match(human.stdout.toString(), /dive: efficiency \d+\.\d%/);
        });
    }

    it("on an OCI archive: layers by index or digest prefix", () => {
        const layout = join(work, "layout");
        const tars = [tarOf([{ name: "etc/", type: "5" }, { name: "etc/a", data: Buffer.from("A0") }]), tarOf([{ name: "etc/", type: "5" }, { name: "etc/.wh.a", data: Buffer.alloc(0) }, { name: "etc/b", data: Buffer.from("B1") }])];
        writeLayout(layout, tars.map((t, i) => ({ blob: i ? gzipSync(t) : t, mediaType: `application/vnd.oci.image.layer.v1.tar${i ? "+gzip" : ""}`, diffID: sha256(t) })));
        const archive = join(work, "image.tar");
        spawnSync("tar", ["-C", layout, "-cf", archive, "."]);
        const top = run("ls", archive, "--merged", "/etc", "--json");
        assert.equal(top.status, 0, top.stderr);
        assert.deepEqual(top.json.entries.map((e: any) => e.name), ["b"]);
        assert.equal(top.json.ref, "1");
        const l1 = run("ls", archive, "--ref", sha256(tars[1]!).slice(7, 19), "/etc", "--json");
        assert.deepEqual(l1.json.entries.map((e: any) => [e.name, e.change]), [["a", "deleted"], ["b", "added"]]);
        assert.equal(run("cat", archive, "--ref", "0", "/etc/a").stdout.toString(), "A0");
        const size = run("size", archive, "--json");
        assert.equal(size.status, 0, size.stderr);
        assert.deepEqual(size.json.reports[0].layers.map((l: any) => [l.added.bytes, l.deleted.bytes, l.shadowed.bytes]), [[2, 0, 2], [2, 2, 0]]);
    });

    it("errors: one line, exit 1; usage errors exit 2", () => {
        const missing = run("cat", ws, "--ref", "config", "--merged", "/no/such");
        assert.equal(missing.status, 1);
        assert.equal(missing.stderr.trim().split("\n").length, 1);
        assert.match(missing.stderr, /no such entry/);
        assert.equal(run("cat", ws, "--ref", "config", "--merged", "/etc").status, 1, "a directory has no content");
        assert.equal(run("ls", ws, "--ref", "nope").status, 1);
        assert.equal(run("ls", ws, "--ref", "config", "/../x").status, 1);
        assert.equal(run("ls", ws).status, 2, "--ref is needed for a workspace");
        assert.equal(run("ls", ws, "--ref", "config", "--source", "tape").status, 2);
        assert.equal(run("cat", ws, "--ref", "config").status, 2);
    });
});
