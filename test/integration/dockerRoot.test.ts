/**
 * A real Docker 20.10 data-root with its built-in BuildKit, made by dockerd itself
 * (test/fixtures/realstate/tools/make-docker-root.sh, as root), read in place: BuildKit's
 * records as refs whose parent chains agree with the image configs Docker reports, `verify
 * --image` reassembling Docker's original tars (tar-split) to their diffIDs and naming the
 * writer, and not one byte of the root changed. Skips without root, dockerd, Debian's docker
 * client or a static busybox.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { detectSource } from "../../src/engine";
import { SourceModel } from "../../src/extension/model/sourceModel";
import { FakeHost } from "../helpers/modelHost";
import { ReadOnlyGuard } from "../helpers/readOnlyGuard";

const repo = join(__dirname, "..", "..", "..");
const cli = join(repo, "dist", "cli.js");
const tools = join(repo, "test", "fixtures", "realstate", "tools");

function has(cmd: string): boolean {
    return spawnSync("sh", ["-c", `command -v ${cmd}`]).status === 0;
}
const skip =
    process.getuid?.() !== 0
        ? "needs root (CI runs as root)"
        : !has("dockerd") || !has("/usr/bin/docker") || !has("getfattr")
          ? "needs dockerd and Debian's docker client (apt-get install docker.io attr)"
          : spawnSync("sh", ["-c", "file -L /bin/busybox | grep -q statically"]).status !== 0
            ? "needs a static busybox (apt-get install busybox-static)"
            : null;

let work = "";
let root = "";
let images: Array<{ name: string; id: string; layers: string[] }> = [];
/** Checks the root after every command run(). */
let guard: ReadOnlyGuard | undefined;

function run(args: string[]): { code: number; stdout: string; stderr: string } {
    const r = spawnSync(process.execPath, [cli, ...args, "--state", join(work, "state")], { encoding: "utf8" });
    guard?.check(`layerscope ${args.join(" ")}`);
    return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

describe("Docker data-root with BuildKit, read in place", { skip: skip || undefined }, () => {
    let withLoaded = false;
    before(() => {
        work = mkdtempSync(join(tmpdir(), "layerscope-docker-"));
        chmodSync(work, 0o755);
        withLoaded = has("skopeo") && spawnSync("bash", [join(tools, "make-image.sh"), join(work, "img")]).status === 0;
        const env = { ...process.env, ...(withLoaded ? { OUT_IMG: `${join(work, "img", "oci")}:app-2` } : {}) };
        const r = spawnSync("bash", [join(tools, "make-docker-root.sh"), join(work, "out")], { encoding: "utf8", env });
        assert.equal(r.status, 0, `make-docker-root.sh failed: ${r.stderr}`);
        root = r.stdout.trim().split("\n").pop()!;
        images = readFileSync(join(work, "out", "docker", "images.txt"), "utf8")
            .trim()
            .split("\n")
            .map((l) => {
                const [name, id, layers] = l.split(" ");
                return { name: name!, id: id!, layers: layers!.split(",").filter(Boolean) };
            });
        guard = new ReadOnlyGuard([root]);
    });
    after(() => {
        if (work) rmSync(work, { recursive: true, force: true });
    });

    it("lists BuildKit's records and Docker's images; record parents lead down the image's chain", () => {
        assert.equal(detectSource(root), "docker");
        const r = run(["refs", root, "--json"]);
        assert.equal(r.code, 0, r.stderr);
        const out = JSON.parse(r.stdout) as {
            source: string;
            images: Array<{ name: string; target: string; diffIDs: string[]; chainIDs: string[] }>;
            refs: Array<{ id: string; layers: string[]; description: string | null; snapshotInfo: { kind: string; buildkit?: { chainID: string | null; description: string | null } } }>;
        };
        assert.equal(out.source, "docker");
        for (const img of images) {
            const mine = out.images.find((i) => i.name === img.name)!;
            assert.equal(mine.target, img.id);
            assert.deepEqual(mine.diffIDs, img.layers);
        }
        const byId = new Map(out.refs.map((x) => [x.id, x]));
        for (const name of ["test/bk:1", "test/bk:2"]) {
            const img = out.images.find((i) => i.name === name)!;
            const top = img.chainIDs.at(-1)!;
            // A BuildKit record whose snapshot is the image's top layer: its cache.parent chain,
            // mapped to chain IDs, is the image's chain.
            const rec = out.refs.find((x) => x.snapshotInfo.buildkit?.chainID === top);
            assert.ok(rec, `a BuildKit record for ${name}`);
            const chain = rec.layers.map((id) => byId.get(id)!.snapshotInfo.buildkit?.chainID ?? id);
            assert.deepEqual(chain, img.chainIDs);
            assert.ok(rec.description, "records carry BuildKit's description");
        }
        assert.ok(out.refs.some((x) => /^mount \/ from exec /.test(x.description ?? "")));
    });

    it("verify --image: Docker's original tars reassemble to their diffIDs; the writer is named; names replayed; content matches", () => {
        const r = run(["verify", root, "--image", "test/bk:1", "--json"]);
        const rep = JSON.parse(r.stdout) as {
            ok: boolean;
            layers: Array<{ ok: boolean; names: { users: Record<string, string> } | null; original: { writer: string; decompressesToDiffID: boolean; contentMatches: boolean; differences: string[] } | null }>;
        };
        assert.equal(r.code, rep.ok ? 0 : 1);
        assert.equal(rep.layers.length, images.find((i) => i.name === "test/bk:1")!.layers.length);
        for (const l of rep.layers.filter((x) => !x.ok)) {
            assert.equal(l.original!.decompressesToDiffID, true);
            assert.match(l.original!.writer, /looks up user and group names/);
            assert.match(l.original!.writer, /moby pkg\/archive/, "the file-type bits in its mode fields name Docker's writer");
            // The names Docker's writer looked up on the build host are read and replayed.
            assert.equal(l.names?.users["0"], "root", JSON.stringify(l.names));
            // Every layer's content matches, RUN layers included: the `etc` only Docker's tar has
            // is the directory a RUN's mount stubs left copied up in the upperdir.
            assert.equal(l.original!.contentMatches, true, JSON.stringify(l.original));
        }
        const runs = rep.layers.filter((x) => x.original?.differences.some((d) => d.startsWith("etc: only in the original")));
        assert.ok(runs.length >= 2, "the two RUN layers after /etc exists carry a copied-up etc");
        for (const l of runs) {
            const etc = l.original!.differences.find((d) => d.startsWith("etc: only in the original"))!;
            assert.match(etc, /same type, mode and owner as in the layer below/);
            assert.match(etc, /trusted\.overlay\.origin/);
        }
        if (withLoaded) {
            const app = JSON.parse(run(["verify", root, "--image", "test/app:2", "--json"]).stdout) as { layers: Array<{ ok: boolean; original: { writer: string; contentMatches: boolean } }> };
            for (const l of app.layers) {
                assert.equal(l.ok, false);
                assert.match(l.original.writer, /GNU tar/);
                assert.equal(l.original.contentMatches, true);
            }
        }
    });

    it("in the extension's model: Verify with an image puts each layer's verdict on its ref (the graph's badges)", async () => {
        const host = new FakeHost([root]);
        host.raw = { stateLocation: "global" };
        try {
            const model = new SourceModel(host);
            await model.refresh();
            assert.ok(model.rootImages(root).includes("test/bk:1"));
            const report = await model.verifyRootImage(root, "test/bk:1").done;
            assert.equal(report.layers.length, images.find((i) => i.name === "test/bk:1")!.layers.length);
            for (const l of report.layers) {
                const v = model.verification(root, { id: l.ref!, chainID: l.chainID })!;
                // Docker's writer (moby pkg/archive) differs from containerd's in its headers only.
                assert.equal(v.state, l.ok ? "verified" : "different-writer", `${l.ref}: ${v.verdict}`);
                assert.match(v.check, /Verify Image Layers \(test\/bk:1\)/);
                assert.equal(v.nameLookup, 'uid 0 → "root"; gid 0 → "root"');
                if (!l.ok) assert.match(v.writerTraits[0]!, /moby pkg\/archive/);
            }
        } finally {
            host.dispose();
        }
    });

    it("compute, convert, verify, refs and gc with the state outside change nothing in the root", () => {
        const refs = JSON.parse(run(["refs", root, "--json"]).stdout) as { refs: Array<{ id: string; kind: string; layers: string[] }> };
        const top = refs.refs.filter((r) => r.layers.length > 0).sort((a, b) => b.layers.length - a.layers.length)[0];
        assert.ok(top, "the root has a ref with layers");
        for (const args of [
            ["compute", root, "--ref", top.id, "--json"],
            ["convert", root, "--ref", top.id, "--compression", "zstd", "--json"],
            ["verify", root, "--json"],
            ["refs", root, "--json"],
            ["gc", root, "--json"],
        ]) {
            const r = run(args);
            assert.equal(r.code, 0, `${args.join(" ")}: ${r.stderr}`);
        }
    });

    it("leaves every byte, mode, mtime and xattr of the data-root as it was", () => {
        guard!.check("every command above and the engine calls between them");
        assert.ok(guard!.checked >= 5, `the root was checked after each of ${guard!.checked} commands`);
    });
});
