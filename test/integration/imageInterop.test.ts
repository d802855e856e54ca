/**
 * Images end to end through the CLI: import (OCI layout, OCI archive, docker save archive; native
 * and overlayfs snapshots), verify-image, export; round trips through skopeo and umoci (Debian),
 * layers written by containerd's own writer (the oracle), by GNU tar (make-image.sh) and by
 * umoci; and hostile images, each refused with its own code, nothing written outside the target.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { after, before, describe, it } from "node:test";
import { isEngineError } from "../../src/engine/errors";
import { compareTrees } from "../../src/engine/image/compareTrees";
import { importImage } from "../../src/engine/image/importImage";
import * as fsb from "../helpers/fsbuild";
import { sha256, writeLayout } from "../helpers/ociLayout";
import { tarOf } from "../helpers/tarBuilder";

const root = join(__dirname, "..", "..", "..");
const cli = join(root, "dist", "cli.js");
const work = fs.mkdtempSync(join(tmpdir(), "layerscope-images-"));
after(() => fs.rmSync(work, { recursive: true, force: true }));
const isRoot = process.getuid?.() === 0;
const oracle = process.env.LAYERSCOPE_ORACLE;
const has = (cmd: string): boolean => spawnSync("sh", ["-c", 'command -v "$0"', cmd]).status === 0;
const MAKE_IMAGE = join(root, "..", "..", "shared", "realstate", "make-image.sh");
const makeImage = fs.existsSync(MAKE_IMAGE) ? MAKE_IMAGE : "/work/shared/realstate/make-image.sh";

function run(...args: string[]): { status: number | null; json: any; stdout: string; stderr: string } {
    const r = spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", maxBuffer: 1 << 28 });
    let json: unknown = null;
    try {
        json = JSON.parse(r.stdout);
    } catch {
        /* not JSON */
    }
    return { status: r.status, json, stdout: r.stdout, stderr: r.stderr };
}

function ok(...args: string[]): any {
    const r = run(...args);
    assert.equal(r.status, 0, `layerscope ${args.join(" ")}: ${r.stderr}${r.stdout.slice(0, 2000)}`);
    return r.json;
}

/** fsbuild calls that create missing parent directories first. */
const mk = <A extends unknown[]>(f: (p: string, ...a: A) => void, at = 0) => (p: string, ...a: A): void => {
    fs.mkdirSync(join(at === 0 ? p : String(a[at - 1]), ".."), { recursive: true });
    f(p, ...a);
};
const writeFile = mk(fsb.writeFile);
const mkfifo = mk(fsb.mkfifo);
const mknod = mk(fsb.mknod);

/** A three-layer native workspace with the entry kinds layers carry (owners/devices when root). */
function richWorkspace(dir: string): void {
    const s = (n: string): string => join(dir, "snapshots", n);
    fs.mkdirSync(s("base"), { recursive: true });
    writeFile(join(s("base"), "etc/os-release"), "ID=test\n", { mode: 0o644 });
    writeFile(join(s("base"), "bin/tool"), fsb.patternBytes(300_000), { mode: 0o755 });
    fsb.symlink("tool", join(s("base"), "bin/alias"));
    fsb.hardlink(join(s("base"), "bin/tool"), join(s("base"), "bin/tool-hard"));
    writeFile(join(s("base"), "usr/share/doc/README"), "docs\n");
    writeFile(join(s("base"), "usr/share/doc/old/notes"), "old\n");
    mkfifo(join(s("base"), "run/fifo"));
    if (isRoot) {
        writeFile(join(s("base"), "bin/ping"), "ping\n", { mode: 0o4755, uid: 0, gid: 0 });
        fsb.setXattr(join(s("base"), "bin/ping"), "security.capability", fsb.CAP_NET_BIND_SERVICE);
        writeFile(join(s("base"), "home/user/.profile"), "x\n", { uid: 1000, gid: 1000 });
        mknod(join(s("base"), "dev/null"), "c", 1, 3);
    }
    fsb.normalizeMtimes(s("base"), fsb.T0);
    fs.mkdirSync(s("app"));
    fsb.copyTree(s("base"), s("app"));
    writeFile(join(s("app"), "app/server.js"), "v1\n");
    fs.rmSync(join(s("app"), "etc/os-release"));
    fs.rmSync(join(s("app"), "usr/share/doc/old"), { recursive: true });
    fsb.normalizeMtimes(s("app"), fsb.T1);
    fs.mkdirSync(s("config"));
    fsb.copyTree(s("app"), s("config"));
    fs.rmSync(join(s("config"), "usr/share/doc"), { recursive: true });
    writeFile(join(s("config"), "usr/share/doc/NEW"), "new\n");
    fsb.normalizeMtimes(s("config"), fsb.T1); // a directory whose only change is its mtime is in no layer (continuity)
    fs.writeFileSync(
        join(dir, "layerscope.json"),
        JSON.stringify({
            snapshotter: "native",
            refs: [
                { id: "base", snapshot: "snapshots/base", description: "base layer" },
                { id: "app", parent: "base", snapshot: "snapshots/app", description: "RUN install app" },
                { id: "config", parent: "app", snapshot: "snapshots/config" },
            ],
        }),
    );
}

const ws = join(work, "rich");
before(() => richWorkspace(ws));

describe("export and re-import: layers our writer made", () => {
    it("exports a layout skopeo and umoci accept; re-import gives the same diffIDs; verify-image is identical byte for byte", async () => {
        const refs = ok("compute", ws, "--ref", "config", "--json");
        const layout = join(work, "exp-gzip");
        const exp = ok("export", ws, "--ref", "config", "--oci", layout, "--tag", "v1", "--json");
        assert.equal(exp.layers.length, 3);
        assert.deepEqual(exp.layers.map((l: any) => l.diffID), refs.refs.filter((r: any) => r.diffID).map((r: any) => r.diffID));
        const index = JSON.parse(fs.readFileSync(join(layout, "index.json"), "utf8"));
        assert.equal(index.manifests[0].annotations["org.opencontainers.image.ref.name"], "v1");
        const config = JSON.parse(fs.readFileSync(join(layout, "blobs/sha256", exp.config.digest.slice(7)), "utf8"));
        assert.deepEqual(config.rootfs.diff_ids, exp.layers.map((l: any) => l.diffID));
        assert.deepEqual(config.history.map((h: any) => h.created_by), ["base layer", "RUN install app", "layerscope ref config"]);

        const back = ok("import", layout, join(work, "reimport"), "--json");
        assert.deepEqual(back.layers.map((l: any) => l.diffID), exp.layers.map((l: any) => l.diffID));
        assert.equal(back.refs[2].chainID, exp.chainID);
        assert.deepEqual(compareTrees(join(ws, "snapshots/config"), join(work, "reimport", back.layers[2].snapshot)), []);

        const v = ok("verify-image", layout, "--json");
        assert.equal(v.ok, true);
        for (const l of v.layers) {
            assert.equal(l.verdict, "identical", JSON.stringify(l));
            assert.ok(l.diffID.match && l.chainID.match && l.blob.match);
        }
    });

    it("skopeo inspect, skopeo copy (every digest checked) and umoci unpack accept the layout; the unpacked rootfs is the ref's view", { skip: !(has("skopeo") && has("umoci")) && "needs skopeo and umoci (apt-get install skopeo umoci)" }, () => {
        const layout = join(work, "exp-gzip");
        const inspect = JSON.parse(execFileSync("skopeo", ["inspect", `oci:${layout}:v1`], { encoding: "utf8" }));
        assert.equal(inspect.Layers.length, 3);
        execFileSync("skopeo", ["--insecure-policy", "copy", "-q", `oci:${layout}:v1`, `dir:${join(work, "skopeo-dir")}`]);
        const bundle = join(work, "bundle");
        execFileSync("umoci", ["unpack", "--image", `${layout}:v1`, bundle], { stdio: "ignore" });
        assert.deepEqual(compareTrees(join(ws, "snapshots/config"), join(bundle, "rootfs")), []);
    });

    for (const compression of ["zstd", "estargz", "uncompressed"]) {
        it(`exports the ${compression} variant with its annotations and verifies it`, () => {
            const layout = join(work, `exp-${compression}`);
            const exp = ok("export", ws, "--ref", "config", "--oci", layout, "--compression", compression, "--json");
            for (const l of exp.layers) {
                if (compression === "estargz") assert.ok(l.descriptor.annotations["containerd.io/snapshot/stargz/toc.digest"]);
                if (compression === "zstd") assert.equal(l.descriptor.mediaType, "application/vnd.oci.image.layer.v1.tar+zstd");
            }
            const v = ok("verify-image", layout, "--json");
            assert.equal(v.ok, true);
            for (const l of v.layers) assert.equal(l.verdict, "identical", JSON.stringify(l));
        });
    }

    it("overlayfs and native imports read back through the differ to the same diffIDs", { skip: !isRoot && "overlayfs whiteouts need root" }, () => {
        const layout = join(work, "exp-gzip");
        ok("import", layout, join(work, "ov"), "--snapshotter", "overlayfs", "--json");
        const a = ok("verify", join(work, "ov"), "--json");
        const b = ok("verify", join(work, "reimport"), "--json");
        const tars = (r: any): string[] => r.checks.filter((c: any) => c.what.startsWith("layer tar")).map((c: any) => c.actual);
        assert.deepEqual(tars(a), tars(b));
        assert.equal(a.ok, true);
    });
});

describe("images from other writers", () => {
    const img = join(work, "mk");
    before(() => {
        if (fs.existsSync(makeImage)) execFileSync("bash", [makeImage, img], { stdio: "ignore" });
    });

    it("make-image.sh (GNU tar): every layer is \"same files, different tar writer\", exit 0, traits named", { skip: !fs.existsSync(makeImage) && "no make-image.sh" }, () => {
        const v = ok("verify-image", join(img, "oci"), "--name", "app-2", "--json");
        assert.equal(v.ok, true);
        assert.deepEqual(v.layers.map((l: any) => l.verdict), Array(3).fill("same files, different tar writer"));
        const traits = v.layers.flatMap((l: any) => l.writerTraits).join("\n");
        assert.match(traits, /10 KiB records/);
        assert.match(traits, /xattrs containerd's writer does not carry.*user\.demo/);
        assert.match(traits, /only in the image's tar: "opq\/\.wh\.\.wh\.\.opq"/);
        assert.equal(v.layers[1].profile.whiteoutTime, "1704067200");
        assert.equal(v.layers[0].profile.nameLookup, "none");
    });

    it("OCI layout, OCI archive and docker save archive import to the same snapshots and chain", { skip: !(fs.existsSync(makeImage) && has("skopeo")) && "needs make-image.sh and skopeo" }, () => {
        const docker = join(work, "mk-docker.tar");
        execFileSync("skopeo", ["--insecure-policy", "copy", "-q", `oci:${join(img, "oci")}:app-2`, `docker-archive:${docker}:test/app:2`]);
        const a = ok("import", join(img, "oci"), join(work, "mk-a"), "--name", "app-2", "--json");
        const b = ok("import", join(img, "image.oci.tar"), join(work, "mk-b"), "--name", "docker.io/test/app:2", "--json");
        const c = ok("import", docker, join(work, "mk-c"), "--json");
        assert.equal(c.kind, "docker-archive");
        for (const r of [b, c]) {
            assert.deepEqual(r.refs.map((x: any) => x.chainID), a.refs.map((x: any) => x.chainID));
            assert.deepEqual(compareTrees(join(work, "mk-a", a.layers[2].snapshot), join(r.workspace, r.layers[2].snapshot)), []);
        }
        const env = fs.readFileSync(join(img, "layers.env"), "utf8");
        assert.ok(env.includes(a.refs[2].chainID.slice(7)) || env.includes(a.refs[2].chainID), "chain IDs are make-image.sh's");
        const refs = ok("refs", join(work, "mk-a"), "--json");
        assert.equal(refs.refs[2].blob.digest, a.layers[2].blob.digest, "the original blob is the ref's blob");
    });

    it("umoci-built layers: verify as \"same files, different tar writer\", naming umoci's root-directory entry", { skip: !has("umoci") && "needs umoci" }, () => {
        const layout = join(work, "umoci");
        execFileSync("umoci", ["init", "--layout", layout]);
        execFileSync("umoci", ["new", "--image", `${layout}:t`]);
        const bundle = join(work, "umoci-bundle");
        execFileSync("umoci", ["unpack", "--image", `${layout}:t`, bundle], { stdio: "ignore" });
        writeFile(join(bundle, "rootfs/etc/motd"), "hello\n");
        fsb.symlink("motd", join(bundle, "rootfs/etc/motd.link"));
        execFileSync("umoci", ["repack", "--image", `${layout}:t`, bundle], { stdio: "ignore" });
        fs.rmSync(join(bundle, "rootfs/etc/motd"));
        execFileSync("umoci", ["repack", "--image", `${layout}:t`, bundle], { stdio: "ignore" });
        const v = ok("verify-image", layout, "--json");
        assert.equal(v.ok, true);
        assert.ok(v.layers.length > 0);
        for (const l of v.layers) {
            assert.equal(l.verdict, "same files, different tar writer", JSON.stringify(l));
            assert.ok(l.writerTraits.some((t: string) => t.includes("the root directory itself")), JSON.stringify(l.writerTraits));
        }
    });

    it("layers containerd's writer made (the oracle) import and verify identical; our apply equals containerd's", { skip: !oracle && "LAYERSCOPE_ORACLE not set" }, () => {
        const layout = join(work, "oracle-img");
        const empty = join(work, "oracle-empty");
        fs.mkdirSync(empty, { recursive: true });
        const snaps = ["base", "app", "config"].map((n) => join(ws, "snapshots", n));
        const layers = snaps.map((upper, i) => {
            const tar = join(work, `oracle-${i}.tar`);
            const d = JSON.parse(execFileSync(oracle!, ["diff", "--whiteout-time", "0", i === 0 ? empty : snaps[i - 1]!, upper, tar], { encoding: "utf8" }));
            const blob = join(work, `oracle-${i}.tar.gz`);
            execFileSync(oracle!, ["compress", "gzip", tar, blob]);
            return { blob: fs.readFileSync(blob), mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", diffID: d.diffID as string };
        });
        writeLayout(layout, layers);
        const v = ok("verify-image", layout, "--json");
        for (const l of v.layers) assert.equal(l.verdict, "identical", JSON.stringify(l));
        // Apply with containerd itself and with us: the same trees.
        const theirs = join(work, "oracle-applied");
        fs.mkdirSync(theirs);
        for (const [i] of layers.entries()) execFileSync(oracle!, ["apply", join(work, `oracle-${i}.tar.gz`), theirs]);
        const imp = ok("import", layout, join(work, "oracle-ws"), "--json");
        assert.deepEqual(compareTrees(theirs, join(work, "oracle-ws", imp.layers[2].snapshot)), []);
    });
});

describe("a writer that looked user and group names up (containerd < 1.6.20, containerd#8220)", () => {
    const go = has("go") ? "go" : null;
    it("verify-image replays the names read from the layer: \"identical after inference\", the names in the profile", { skip: (!oracle && "LAYERSCOPE_ORACLE not set") || (!go && "needs Go (golang-go) to build test/fixtures/tools/tar-names.go") }, () => {
        const tool = join(work, "tar-names");
        execFileSync("go", ["build", "-o", tool, join(root, "test", "fixtures", "tools", "tar-names.go")], { env: { ...process.env, GO111MODULE: "off", GOFLAGS: "", CGO_ENABLED: "0" } });
        const empty = join(work, "names-empty");
        fs.mkdirSync(empty, { recursive: true });
        const snaps = ["base", "app", "config"].map((n) => join(ws, "snapshots", n));
        // Names as a host's user database would give them; 1000's is longer than USTAR's 32 bytes (a PAX uname record).
        const longName = "a-user-name-from-an-ldap-directory-41ch";
        const names = ["-u", "0=root", "-g", "0=root", "-u", `1000=${longName}`, "-g", "1000=staff"];
        const layers = snaps.map((upper, i) => {
            const plain = join(work, `names-${i}.tar`);
            execFileSync(oracle!, ["diff", "--whiteout-time", "0", i === 0 ? empty : snaps[i - 1]!, upper, plain]);
            // The rewrite is faithful: without names it gives back the oracle's bytes.
            assert.ok(execFileSync(tool, [], { input: fs.readFileSync(plain), maxBuffer: 1 << 28 }).equals(fs.readFileSync(plain)), "tar-names without names changes nothing");
            const named = execFileSync(tool, names, { input: fs.readFileSync(plain), maxBuffer: 1 << 28 });
            assert.ok(!named.equals(fs.readFileSync(plain)));
            const tar = join(work, `names-${i}.named.tar`);
            fs.writeFileSync(tar, named);
            const blob = join(work, `names-${i}.tar.gz`);
            execFileSync(oracle!, ["compress", "gzip", tar, blob]);
            return { blob: fs.readFileSync(blob), mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", diffID: sha256(named) };
        });
        const layout = join(work, "names-img");
        writeLayout(layout, layers);
        const v = ok("verify-image", layout, "--json");
        assert.equal(v.ok, true);
        for (const l of v.layers) {
            assert.equal(l.verdict, "identical after inference", JSON.stringify(l));
            assert.equal(l.diffID.match, true);
            assert.equal(l.blob.match, true);
            assert.equal(l.profile.nameLookup, "looked up");
            assert.equal(l.profile.names.users["0"], "root");
            assert.match(l.explanation[0], /identical after inference: .*uid 0 → "root"/);
        }
        if (isRoot) {
            assert.equal(v.layers[0].profile.names.users["1000"], longName);
            assert.equal(v.layers[0].profile.names.groups["1000"], "staff");
        }
    });
});

describe("eStargz layers made by stargz-snapshotter (the oracle's estargz-lossless, as BuildKit writes them)", () => {
    const TOC = "containerd.io/snapshot/stargz/toc.digest";
    const SIZE = "io.containers.estargz.uncompressed-size";
    const layers: Array<{ blob: Buffer; diffID: string; toc: string; size: number }> = [];
    before(() => {
        if (!oracle) return;
        const empty = join(work, "esgz-empty");
        fs.mkdirSync(empty, { recursive: true });
        const snaps = ["base", "app"].map((n) => join(ws, "snapshots", n));
        for (const [i, upper] of snaps.entries()) {
            const tar = join(work, `esgz-${i}.tar`);
            execFileSync(oracle, ["diff", "--whiteout-time", "0", i === 0 ? empty : snaps[i - 1]!, upper, tar]);
            const out = JSON.parse(execFileSync(oracle, ["compress", "estargz-lossless", tar, `${tar}.esgz`], { encoding: "utf8" }));
            layers.push({ blob: fs.readFileSync(`${tar}.esgz`), diffID: out.diffID, toc: out.tocDigest, size: out.uncompressedSize });
        }
    });

    it("import reads the TOC digest and uncompressed size from a blob whose descriptor has none; export as eStargz reuses the blob with them", { skip: !oracle && "LAYERSCOPE_ORACLE not set" }, () => {
        const layout = join(work, "esgz-bare");
        writeLayout(layout, layers.map((l) => ({ blob: l.blob, diffID: l.diffID, mediaType: "application/vnd.oci.image.layer.v1.tar+gzip" })));
        const imp = ok("import", layout, join(work, "esgz-ws"), "--json");
        for (const [i, l] of imp.layers.entries()) {
            assert.equal(l.blob.compression, "estargz");
            assert.deepEqual(l.annotations, { [TOC]: layers[i]!.toc, [SIZE]: String(layers[i]!.size) }, `layer ${i}`);
        }
        // The refs' variants carry them (the graph's details and the tree read them from here).
        const refs = ok("refs", join(work, "esgz-ws"), "--json").refs as Array<{ id: string; blob: { digest: string; annotations: Record<string, string> } }>;
        for (const [i, l] of imp.layers.entries()) {
            const r = refs.find((x) => x.id === l.ref)!;
            assert.equal(r.blob.annotations[TOC], layers[i]!.toc);
            assert.equal(r.blob.annotations[SIZE], String(layers[i]!.size));
        }
        const out = join(work, "esgz-export");
        ok("export", join(work, "esgz-ws"), "--ref", imp.top, "--oci", out, "--compression", "estargz", "--json");
        const index = JSON.parse(fs.readFileSync(join(out, "index.json"), "utf8"));
        const manifest = JSON.parse(fs.readFileSync(join(out, "blobs", "sha256", index.manifests[0].digest.slice(7)), "utf8"));
        assert.deepEqual(
            manifest.layers.map((d: { digest: string; annotations?: Record<string, string> }) => [d.digest, d.annotations?.[TOC], d.annotations?.[SIZE]]),
            layers.map((l) => [sha256(l.blob), l.toc, String(l.size)]),
            "the imported blobs, not new conversions, with their annotations",
        );
        // The oracle (estargz.Open + VerifyTOC) accepts the exported blobs against the exported TOC digest.
        for (const d of manifest.layers) execFileSync(oracle!, ["verify-estargz", "--toc-digest", d.annotations[TOC], join(out, "blobs", "sha256", d.digest.slice(7))]);
    });

    it("a descriptor whose TOC digest or uncompressed size the blob contradicts is refused, nothing imported", { skip: !oracle && "LAYERSCOPE_ORACLE not set" }, async () => {
        for (const [name, annotations, reason] of [
            ["esgz-badtoc", { [TOC]: `sha256:${"0".repeat(64)}` }, "toc-digest-mismatch"],
            ["esgz-badsize", { [SIZE]: "12" }, "estargz-size-mismatch"],
        ] as const) {
            const layout = join(work, name);
            writeLayout(layout, [{ blob: layers[0]!.blob, diffID: layers[0]!.diffID, mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", annotations }]);
            const target = join(work, `${name}-ws`);
            await assert.rejects(importImage(layout, target), (err) => isEngineError(err) && err.code === "Corrupt" && (err.data as { reason?: string }).reason === reason);
            assert.ok(!fs.existsSync(join(target, "layerscope.json")), "no workspace file written");
        }
    });
});

describe("multi-platform indexes", () => {
    it("picks the host's platform by default, another with --platform, and names the ones there are when none fits", () => {
        const dir = join(work, "multi");
        const mkLayer = (text: string) => {
            const tar = tarOf([{ name: "arch", data: Buffer.from(text) }]);
            return { blob: gzipSync(tar), diffID: sha256(tar), mediaType: "application/vnd.oci.image.layer.v1.tar+gzip" };
        };
        const host = process.arch === "x64" ? "amd64" : process.arch;
        const other = host === "arm64" ? "amd64" : "arm64";
        writeLayout(join(dir, "a"), [mkLayer(host)], { arch: host });
        writeLayout(join(dir, "b"), [mkLayer(other)], { arch: other });
        fs.mkdirSync(join(dir, "img", "blobs", "sha256"), { recursive: true });
        const manifests = [];
        for (const [sub, arch] of [["a", host], ["b", other]] as const) {
            for (const f of fs.readdirSync(join(dir, sub, "blobs", "sha256"))) fs.copyFileSync(join(dir, sub, "blobs", "sha256", f), join(dir, "img", "blobs", "sha256", f));
            const m = JSON.parse(fs.readFileSync(join(dir, sub, "index.json"), "utf8")).manifests[0];
            manifests.push({ ...m, annotations: undefined, platform: { os: "linux", architecture: arch } });
        }
        const child = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests }));
        fs.writeFileSync(join(dir, "img", "blobs", "sha256", sha256(child).slice(7)), child);
        fs.writeFileSync(join(dir, "img", "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
        fs.writeFileSync(
            join(dir, "img", "index.json"),
            JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: "application/vnd.oci.image.index.v1+json", digest: sha256(child), size: child.length, annotations: { "org.opencontainers.image.ref.name": "multi" } }] }),
        );
        const a = ok("import", join(dir, "img"), join(dir, "ws-host"), "--json");
        assert.equal(a.platform, `linux/${host}`);
        assert.equal(fs.readFileSync(join(dir, "ws-host", a.layers[0].snapshot, "arch"), "utf8"), host);
        const b = ok("import", join(dir, "img"), join(dir, "ws-other"), "--platform", `linux/${other}`, "--json");
        assert.equal(fs.readFileSync(join(dir, "ws-other", b.layers[0].snapshot, "arch"), "utf8"), other);
        const r = run("import", join(dir, "img"), join(dir, "ws-none"), "--platform", "linux/s390x");
        assert.equal(r.status, 1);
        assert.match(r.stderr, /no image for platform linux\/s390x .*linux\/(amd64|arm64)/);
    });
});

describe("hostile images", () => {
    const gz = (entries: Parameters<typeof tarOf>[0]): { blob: Buffer; diffID: string } => {
        const tar = tarOf(entries);
        return { blob: gzipSync(tar), diffID: sha256(tar) };
    };
    const good = gz([{ name: "etc/", type: "5", mode: 0o755 }, { name: "etc/a", data: Buffer.from("a") }]);
    const GZ = "application/vnd.oci.image.layer.v1.tar+gzip";
    let n = 0;

    async function expectRefused(layout: string, code: string, reason: string): Promise<void> {
        const target = join(work, `hostile-ws-${n++}`);
        const outside = join(work, `hostile-outside-${n}`);
        fs.mkdirSync(outside);
        const r = run("import", layout, target);
        assert.equal(r.status, 1, r.stderr);
        assert.match(r.stderr, /^layerscope import: /);
        await assert.rejects(importImage(layout, `${target}-engine`), (err: any) => {
            assert.ok(isEngineError(err), String(err));
            assert.equal(err.code, code, err.message);
            assert.equal(err.data.reason, reason, err.message);
            return true;
        });
        for (const t of [target, `${target}-engine`]) {
            if (!fs.existsSync(t)) continue;
            assert.equal(fs.existsSync(join(t, "layerscope.json")), false, "no workspace file written");
            const snaps = fs.existsSync(join(t, "snapshots")) ? fs.readdirSync(join(t, "snapshots")) : [];
            assert.deepEqual(snaps, [], "no snapshot, whole or half, left behind");
        }
        assert.deepEqual(fs.readdirSync(outside), []);
    }

    const cases: { name: string; make: (dir: string) => void; code: string; reason: string }[] = [
        { name: "a blob whose bytes do not match its digest", code: "Corrupt", reason: "digest-mismatch", make: (d) => writeLayout(d, [{ ...good, mediaType: GZ, digest: sha256(Buffer.from("other")) }]) },
        { name: "a blob larger than its descriptor", code: "Corrupt", reason: "size-mismatch", make: (d) => writeLayout(d, [{ ...good, mediaType: GZ, size: 10 }]) },
        { name: "a layer that does not decompress to its diffID", code: "Corrupt", reason: "diffid-mismatch", make: (d) => writeLayout(d, [{ ...good, mediaType: GZ }], { diffIDs: [sha256(Buffer.from("x"))] }) },
        {
            name: "a missing blob",
            code: "NotFound",
            reason: "missing-blob",
            make: (d) => {
                writeLayout(d, [{ ...good, mediaType: GZ }]);
                fs.rmSync(join(d, "blobs/sha256", sha256(good.blob).slice(7)));
            },
        },
        { name: "a layer with ../ names", code: "UnsafePath", reason: "path-traversal", make: (d) => writeLayout(d, [{ ...gz([{ name: "../../evil", data: Buffer.from("x") }]), mediaType: GZ }]) },
        {
            name: "a layer escaping through a symlink in the second layer",
            code: "UnsafePath",
            reason: "symlink-escape",
            make: (d) => writeLayout(d, [{ ...gz([{ name: "up", type: "2", linkname: "../../../.." }]), mediaType: GZ }, { ...gz([{ name: "up/evil", data: Buffer.from("x") }]), mediaType: GZ }]),
        },
        {
            name: "a docker archive whose manifest.json names ../ files",
            code: "UnsafePath",
            reason: "path-traversal",
            make: (d) => {
                fs.mkdirSync(d);
                fs.writeFileSync(join(d, "manifest.json"), JSON.stringify([{ Config: "c.json", Layers: ["../../etc/passwd"] }]));
                fs.writeFileSync(join(d, "c.json"), JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [good.diffID] } }));
            },
        },
        {
            name: "a gzip-compressed archive",
            code: "Unsupported",
            reason: "compressed-archive",
            make: (d) => fs.writeFileSync(d, gzipSync(tarOf([{ name: "index.json", data: Buffer.from("{}") }]))),
        },
    ];

    for (const c of cases) {
        it(`refuses ${c.name} (${c.code}/${c.reason})`, async () => {
            const layout = join(work, `hostile-${c.reason}-${n++}`);
            c.make(layout);
            await expectRefused(layout, c.code, c.reason);
        });
    }

    it("a second import of the same refs is refused (AlreadyExists) and changes nothing", () => {
        const layout = join(work, "twice");
        writeLayout(layout, [{ ...good, mediaType: GZ }]);
        const target = join(work, "twice-ws");
        ok("import", layout, target, "--json");
        const before = fs.readFileSync(join(target, "layerscope.json"), "utf8");
        const r = run("import", layout, target);
        assert.equal(r.status, 1);
        assert.match(r.stderr, /already has a ref/);
        assert.equal(fs.readFileSync(join(target, "layerscope.json"), "utf8"), before);
        ok("import", layout, target, "--id", "again", "--json");
        assert.equal(JSON.parse(fs.readFileSync(join(target, "layerscope.json"), "utf8")).refs.length, 2);
    });
});
