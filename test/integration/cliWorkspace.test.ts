/**
 * The workspace commands end to end on the bundled sample: compute's JSON shape, refs, convert,
 * verify catching a tampered blob (exit 1), gc.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { randomBytes, textBytes } from "../helpers/compressionKit";
import { tarOf } from "../helpers/tarBuilder";

const root = join(__dirname, "..", "..", "..");
const cli = join(root, "dist", "cli.js");
const work = mkdtempSync(join(tmpdir(), "layerscope-cli-ws-"));
after(() => rmSync(work, { recursive: true, force: true }));

function run(...args: string[]): { status: number | null; json: any; stderr: string } {
    const r = spawnSync(process.execPath, [cli, ...args], { encoding: "utf8" });
    let json: unknown = null;
    try {
        json = JSON.parse(r.stdout);
    } catch {
        /* not JSON */
    }
    return { status: r.status, json, stderr: r.stderr };
}

describe("layerscope workspace commands on the sample", () => {
    const ws = join(work, "sample");
    spawnSync(process.execPath, [join(root, "test/fixtures/sample/materialize.mjs"), ws]);

    it("compute --ref prints the ref's chain in the documented shape", () => {
        const r = run("compute", ws, "--ref", "config", "--json");
        assert.equal(r.status, 0, r.stderr);
        assert.equal(r.json.ref, "config");
        assert.deepEqual(r.json.layers, ["base", "app", "config"]);
        assert.deepEqual(r.json.refs.map((x: { id: string }) => x.id), ["base", "app", "config"]);
        for (const ref of r.json.refs) {
            assert.deepEqual(
                Object.keys(ref).filter((k) => ["id", "kind", "layers", "diffID", "chainID", "blobChainID", "buildkit", "blob", "variants"].includes(k)).length,
                9,
            );
            assert.match(ref.diffID, /^sha256:[0-9a-f]{64}$/);
            assert.deepEqual(Object.keys(ref.blob).sort(), ["annotations", "buildkitComparable", "digest", "mediaType", "path", "size"]);
            assert.equal(ref.blob.buildkitComparable, true, "gzip from the Go-exact deflate");
            assert.ok(ref.blob.path.startsWith("/"), "absolute path");
            assert.equal(ref.variants[0].digest, ref.blob.digest, "the main blob is the first variant");
        }
    });

    it("compute without --ref covers every kind", () => {
        const r = run("compute", ws, "--json");
        assert.equal(r.status, 0, r.stderr);
        const kinds = new Set(r.json.refs.map((x: { kind: string }) => x.kind));
        assert.deepEqual([...kinds].sort(), ["BaseLayer", "Diff", "Layer", "Merge"]);
        const merge = r.json.refs.find((x: { kind: string }) => x.kind === "Merge");
        assert.equal(merge.blob, null);
        assert.match(merge.chainID, /^sha256:/);
    });

    it("convert adds a variant and keeps the original", () => {
        const r = run("convert", ws, "--ref", "app", "--compression", "zstd", "--json");
        assert.equal(r.status, 0, r.stderr);
        for (const ref of r.json.refs) {
            assert.deepEqual(ref.variants.map((v: { mediaType: string }) => v.mediaType).sort(), [
                "application/vnd.oci.image.layer.v1.tar+gzip",
                "application/vnd.oci.image.layer.v1.tar+zstd",
            ]);
        }
    });

    it("refs lists kinds and parents", () => {
        const r = run("refs", ws, "--json");
        assert.equal(r.status, 0, r.stderr);
        const app = r.json.refs.find((x: { id: string }) => x.id === "app");
        assert.deepEqual(app.parents, { parent: "base" });
    });

    it("verify passes, then exits 1 on a tampered blob and names it", () => {
        assert.equal(run("verify", ws, "--json").status, 0);
        const app = run("refs", ws, "--json").json.refs.find((x: { id: string }) => x.id === "app");
        chmodSync(app.blob.path, 0o644);
        writeFileSync(app.blob.path, "tampered");
        const r = run("verify", ws, "--json");
        assert.equal(r.status, 1);
        assert.ok(r.json.checks.some((c: { ok: boolean; what: string }) => !c.ok && c.what.includes(app.blob.digest)));
    });

    it("compress of a tar cut inside a large file, to eStargz: exit 1 with the cause, and the process ends", () => {
        const tar = join(work, "cut.tar");
        const whole = tarOf([
            { name: "a", data: randomBytes(3 << 20, 7) },
            { name: "b", data: textBytes(5 << 20) },
        ]);
        writeFileSync(tar, whole.subarray(0, whole.length - (2 << 20) - 1024));
        const r = spawnSync(process.execPath, [cli, "compress", tar, "--compression", "estargz"], { encoding: "utf8", timeout: 120_000 });
        // Before the fix the error was printed and a goflate worker, still held, kept the CLI alive.
        assert.equal(r.signal, null, "the CLI ended by itself");
        assert.equal(r.status, 1, r.stderr);
        assert.match(r.stderr, /^layerscope compress: .*unexpected EOF/);
    });

    it("compress reads the tar from a pipe as from a file, every compression; a directory is named as one", () => {
        const tar = join(work, "piped.tar");
        writeFileSync(tar, tarOf([
            { name: "a", data: randomBytes((2 << 20) + 3, 8) },
            { name: "b", data: textBytes(3 << 20) },
            { name: "c", data: Buffer.from("small") },
        ]));
        for (const c of ["uncompressed", "gzip", "zstd", "estargz"]) {
            const file = spawnSync(process.execPath, [cli, "compress", tar, "--compression", c, "--json"], { encoding: "utf8", timeout: 120_000 });
            assert.equal(file.status, 0, file.stderr);
            const piped = spawnSync("sh", ["-c", 'cat "$1" | "$2" "$3" compress /dev/stdin --compression "$4" --json', "sh", tar, process.execPath, cli, c], { encoding: "utf8", timeout: 120_000 });
            assert.equal(piped.status, 0, piped.stderr);
            assert.deepEqual(JSON.parse(piped.stdout), JSON.parse(file.stdout), c);
        }
        const dir = spawnSync(process.execPath, [cli, "compress", work, "--compression", "gzip"], { encoding: "utf8", timeout: 60_000 });
        assert.equal(dir.status, 1);
        assert.equal(dir.stderr.trim(), `layerscope compress: ${work}: is a directory where a file was expected (while reading the tar); give the path of a file`);
    });

    it("rejects an unknown ref and a bad compression with one line and exit codes 1 / 2", () => {
        const a = run("compute", ws, "--ref", "nope");
        assert.equal(a.status, 1);
        assert.match(a.stderr, /nope/);
        assert.equal(a.stderr.trim().split("\n").length, 1);
        const b = run("compute", ws, "--compression", "lz4");
        assert.equal(b.status, 1);
        assert.match(b.stderr, /lz4/);
    });
});
