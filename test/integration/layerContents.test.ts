/**
 * openLayerContents over a native workspace, from the snapshots and from the blobs in every
 * compression: the merged view against the snapshot directory it came from, the layer view
 * against the layer tar the differ writes (whiteouts as deletions, hard links, symlinks, devices,
 * fifos, non-UTF-8 names), ranged reads, and specific errors.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
    type CompressionType,
    decodeLayerPath,
    encodeLayerPath,
    openLayerContents,
    openWorkspaceEngine,
    type LayerContents,
    type LayerEntry,
    type WorkspaceEngine,
} from "../../src/engine";
import { readContents, shaOf, tarExpectations, walkContents, walkDisk } from "../helpers/contentsOracle";
import * as fsb from "../helpers/fsbuild";
import { WorkspaceKit } from "../helpers/workspaceKit";

const ROOT = process.getuid?.() === 0;
const T2 = fsb.T1 + 1000;
const BIG = 2_500_000;
const WEIRD = Buffer.concat([Buffer.from("caf"), Buffer.of(0xe9), Buffer.from(" 100%.txt")]); // latin1 é: not UTF-8

function buildWorkspace(): WorkspaceKit {
    const kit = new WorkspaceKit();
    const base = join(kit.dir, "snapshots/base");
    const app = join(kit.dir, "snapshots/app");
    fsb.mkdir(base);
    fsb.writeFiles(base, {
        "etc/os-release": "ID=test\n",
        "bin/sh": "#!shell\n",
        "usr/share/doc/README": "docs\n",
        "usr/share/doc/LICENSE": "license\n",
        "usr/lib/libc.so": "libc\n",
        "data/big.bin": fsb.patternBytes(BIG),
        "keep/stays.txt": "stays\n",
    });
    fsb.symlink("usr/lib", join(base, "lib"));
    fsb.hardlink(join(base, "bin/sh"), join(base, "bin/bash"));
    fsb.mkdir(join(base, "weird"));
    fsb.writeFile(Buffer.concat([Buffer.from(join(base, "weird")), Buffer.from("/"), WEIRD]), "not utf-8\n");
    fsb.mkfifo(join(base, "run.fifo"));
    if (ROOT) {
        fsb.mknod(join(base, "null"), "c", 1, 3);
        fsb.setXattr(join(base, "bin/sh"), "security.capability", fsb.CAP_NET_BIND_SERVICE);
    }
    fsb.normalizeMtimes(base, fsb.T0);
    fsb.mkdir(app);
    fsb.copyTree(base, app);
    fsb.rewriteFile(join(app, "etc/os-release"), "ID=app\n");
    fsb.writeFiles(app, { "app/server.js": "v1\n", "app/tools/a.txt": "a\n" });
    fsb.hardlink(join(app, "app/server.js"), join(app, "app/server-link.js"));
    fsb.remove(join(app, "usr/share/doc"));
    fsb.remove(join(app, "bin/bash"));
    fsb.remove(join(app, "lib"));
    fsb.mkdir(join(app, "lib")); // a symlink replaced by a directory
    fsb.writeFile(join(app, "lib/new.so"), "new\n");
    fsb.writeFile(Buffer.concat([Buffer.from(join(app, "weird")), Buffer.from("/"), WEIRD, Buffer.from("-2")]), "second\n");
    fsb.normalizeMtimes(app, fsb.T1);
    // Only UTF-8 names: its eStargz blob is read through the TOC (Go's JSON cannot spell others).
    const cfg = join(kit.dir, "snapshots/cfg");
    fsb.mkdir(cfg);
    fsb.copyTree(app, cfg);
    fsb.rewriteFile(join(cfg, "app/server.js"), "v2, longer\n"); // and its hard link with it
    fsb.remove(join(cfg, "keep/stays.txt"));
    fsb.writeFiles(cfg, { "etc/cfg.d/a.conf": "a=1\n" });
    fsb.normalizeMtimes(cfg, T2);
    for (const name of [WEIRD, Buffer.concat([WEIRD, Buffer.from("-2")])]) {
        fsb.setMtime(Buffer.concat([Buffer.from(join(cfg, "weird/")), name]), fsb.T1); // unchanged: not in cfg's layer
    }
    fsb.setMtime(join(cfg, "weird"), fsb.T1);
    kit.refs([
        { id: "base", snapshot: "snapshots/base" },
        { id: "app", parent: "base", snapshot: "snapshots/app" },
        { id: "cfg", parent: "app", snapshot: "snapshots/cfg" },
        { id: "m", merge: ["base", "app"] },
    ]);
    return kit;
}

let kit: WorkspaceKit;
let engine: WorkspaceEngine;
let appTar: Buffer;
let cfgTar: Buffer;
const tarsByRef = new Map<string, Buffer>();
let baseTar: Buffer;

before(async () => {
    kit = buildWorkspace();
    engine = await openWorkspaceEngine(kit.dir);
    await engine.computeBlobChain("cfg", { createIfNeeded: true, compression: { type: "uncompressed" } });
    for (const type of ["gzip", "zstd", "estargz"] as const) {
        await engine.computeBlobChain("cfg", { createIfNeeded: true, compression: { type, force: true } });
    }
    baseTar = await tarOf("base");
    appTar = await tarOf("app");
    cfgTar = await tarOf("cfg");
    tarsByRef.set("base", baseTar).set("app", appTar).set("cfg", cfgTar);
});
after(() => kit?.dispose());

/** The layer tar the differ wrote: the uncompressed blob itself. */
async function tarOf(ref: string): Promise<Buffer> {
    const r = await engine.report(ref);
    const v = r.variants.find((d) => d.mediaType === "application/vnd.oci.image.layer.v1.tar");
    assert.ok(v, `${ref} has an uncompressed blob`);
    return readFileSync(v.path);
}

type Way = { source: "snapshot" } | { source: "blob"; compression: CompressionType };
const WAYS: Way[] = [
    { source: "snapshot" },
    ...(["uncompressed", "gzip", "zstd", "estargz"] as const).map((compression) => ({ source: "blob" as const, compression })),
];
const wayName = (w: Way): string => (w.source === "snapshot" ? "snapshots" : `${w.compression} blob`);

function open(refId: string, view: "layer" | "merged", way: Way): Promise<LayerContents> {
    return openLayerContents(engine, refId, { view, source: way.source, ...(way.source === "blob" ? { compression: way.compression } : {}) });
}

const CHAINS: Record<string, string[]> = { base: ["base"], app: ["base", "app"], cfg: ["base", "app", "cfg"] };

/**
 * The merged view equals the snapshot directory: every path, its metadata, link targets,
 * content. From blobs, an entry's metadata is what the topmost layer tar holding it recorded
 * (a directory whose only change is its mtime is in no tar: its older mtime stays, as in an image).
 */
async function assertMergedMatchesDisk(c: LayerContents, snapshot: string, fromBlob: boolean): Promise<void> {
    const disk = walkDisk(join(kit.dir, "snapshots", snapshot));
    const chain = CHAINS[snapshot]!;
    const tars = chain.map((r) => tarExpectations(tarsByRef.get(r)!));
    const disks = chain.map((r) => walkDisk(join(kit.dir, "snapshots", r)));
    const seen = await walkContents(c);
    assert.deepEqual([...seen.keys()].sort(), [...disk.keys()].sort());
    for (const [p, top] of disk) {
        const e = seen.get(p)!;
        const what = `${snapshot}:${p}`;
        let d = top;
        if (fromBlob) {
            const k = tars.map((t) => t.has(p) && !t.get(p)!.deleted).lastIndexOf(true);
            assert.ok(k >= 0, `${what}: in some layer tar`);
            d = disks[k]!.get(p)!;
        }
        assert.equal(e.change, null, what);
        if (e.type === "hardlink") {
            assert.ok(fromBlob, `${what}: hard link entries come from tars`);
            const target = disk.get(decodeLayerPath(e.linkTarget!).toString("latin1"));
            assert.equal(target?.ino, top.ino, `${what}: links to the same inode`);
        } else {
            assert.equal(e.type, d.type, what);
        }
        assert.equal(e.mode, d.mode, what);
        assert.equal(e.uid, d.uid, what);
        assert.equal(e.gid, d.gid, what);
        // Tars keep whole seconds (containerd writes no PAX times).
        assert.equal(e.mtimeNs / 1_000_000_000n, d.mtimeNs / 1_000_000_000n, what);
        if (!fromBlob) assert.equal(e.mtimeNs, d.mtimeNs, what);
        if (d.type === "file") {
            assert.equal(e.size, d.size, what);
            assert.equal(shaOf(await readContents(c, e.path)), top.sha, `${what}: content`);
        }
        if (d.type === "symlink") assert.deepEqual(decodeLayerPath(e.linkTarget!), d.target, what);
        if (d.type === "char") assert.deepEqual(e.device, { major: Number(d.rdev >> 8n) & 0xfff, minor: Number(d.rdev & 0xffn) }, what);
    }
}

/** The layer view holds exactly the tar's entries; whiteouts are deletions; added vs modified by the lower tree. */
async function assertLayerMatchesTar(c: LayerContents, tar: Buffer, lower: string | null, fromBlob: boolean): Promise<void> {
    const expected = tarExpectations(tar);
    const seen = await walkContents(c);
    assert.deepEqual([...seen.keys()].sort(), [...expected.keys()].sort());
    const lowerDisk = lower ? walkDisk(join(kit.dir, "snapshots", lower)) : new Map();
    for (const [p, x] of expected) {
        const e = seen.get(p)!;
        const what = `${c.refId}:${encodeLayerPath(Buffer.from(p, "latin1"))}`;
        if (x.deleted) {
            assert.equal(e.change, "deleted", what);
            assert.equal(e.type, lowerDisk.get(p)?.type ?? "whiteout", `${what}: a deletion shows what it deletes`);
            await assert.rejects(readContents(c, e.path), { code: "NotFound" });
            continue;
        }
        const type = x.type === "hardlink" && !fromBlob ? "file" : x.type;
        assert.equal(e.type, type, what);
        const l = lowerDisk.get(p);
        if (!l) assert.equal(e.change, "added", what);
        else assert.ok(e.change === "modified" || (e.type === "dir" && e.change === "unchanged"), `${what}: ${e.change}`);
        if (x.sha) assert.equal(shaOf(await readContents(c, e.path)), x.sha, `${what}: content`);
        if (x.type === "hardlink" && fromBlob) assert.equal(e.linkTarget, encodeLayerPath(Buffer.from(`/${x.linkname}`, "latin1")), what);
    }
}

describe("openLayerContents", () => {
    for (const way of WAYS) {
        it(`merged view from ${wayName(way)} equals the snapshot directory (base and app)`, async () => {
            for (const ref of ["base", "app", "cfg"]) {
                const c = await open(ref, "merged", way);
                assert.equal(c.origin.kind, way.source);
                if (c.origin.kind === "blob" && way.source === "blob") {
                    assert.ok(c.origin.blobs.every((b) => b.compression === way.compression));
                    // eStargz: the TOC where it can name every entry, the tar where a name is not UTF-8.
                    const expected = c.origin.blobs.map((b) => (way.compression === "estargz" && b.refId === "cfg" ? "toc" : "tar"));
                    assert.deepEqual(c.origin.blobs.map((b) => b.indexedFrom), expected);
                }
                await assertMergedMatchesDisk(c, ref, way.source === "blob");
                await c.close();
            }
        });

        it(`layer view from ${wayName(way)} holds what the layer tar holds`, async () => {
            const base = await open("base", "layer", way);
            assert.equal(base.lowerRefId, null);
            await assertLayerMatchesTar(base, baseTar, null, way.source === "blob");
            const app = await open("app", "layer", way);
            assert.equal(app.lowerRefId, "base");
            await assertLayerMatchesTar(app, appTar, "base", way.source === "blob");
            const del = await app.stat("/usr/share/doc");
            assert.equal(del.change, "deleted");
            assert.equal(del.type, "dir");
            assert.equal((await app.stat("/lib")).type, "dir");
            assert.equal((await app.stat("/lib")).change, "modified", "a symlink replaced by a directory");
            assert.equal((await app.stat("/etc/os-release")).change, "modified");
            assert.equal((await app.stat("/app/server.js")).change, "added");
            const cfg = await open("cfg", "layer", way);
            await assertLayerMatchesTar(cfg, cfgTar, "app", way.source === "blob");
            assert.equal((await cfg.stat("/keep/stays.txt")).change, "deleted");
            // The tar holds the pair as a file and a link to it (in walk order: server-link.js first).
            assert.equal((await cfg.stat("/app/server.js")).type, way.source === "blob" ? "hardlink" : "file");
            assert.equal((await cfg.stat("/app/server.js")).linkTarget, way.source === "blob" ? "/app/server-link.js" : null);
            assert.equal((await readContents(cfg, "/app/server-link.js")).toString(), "v2, longer\n");
        });
    }

    it("the merged view of a Merge stacks its layers", async () => {
        for (const way of [WAYS[0]!, WAYS[2]!]) {
            const c = await open("m", "merged", way);
            await assertMergedMatchesDisk(c, "app", way.source === "blob");
        }
        await assert.rejects(openLayerContents(engine, "m", { view: "layer" }), { code: "InvalidArgument" });
    });

    it("diffs a changed file: the lower ref's merged view has the old bytes", async () => {
        for (const way of WAYS) {
            const layer = await open("app", "layer", way);
            const before = await open(layer.lowerRefId!, "merged", way);
            assert.equal((await readContents(before, "/etc/os-release")).toString(), "ID=test\n");
            assert.equal((await readContents(layer, "/etc/os-release")).toString(), "ID=app\n");
        }
    });

    it("reads byte ranges of a large file in every source", async () => {
        const big = fsb.patternBytes(BIG);
        for (const way of WAYS) {
            const c = await open("app", "merged", way);
            for (const [start, end] of [[0, 10], [1_048_570, 1_048_600], [BIG - 7, BIG], [BIG - 7, BIG + 100], [5, 5], [2_000_000, undefined]] as const) {
                const got = await readContents(c, "/data/big.bin", { start, end });
                assert.deepEqual(got, big.subarray(start, end), `${wayName(way)} [${start}, ${end})`);
            }
        }
    });

    it("names that are not UTF-8 round-trip through encodeLayerPath", async () => {
        for (const way of WAYS) {
            const c = await open("app", "merged", way);
            const names = (await c.list("/weird")).map((e: LayerEntry) => e.name);
            assert.deepEqual(names, ["caf%E9 100%25.txt", "caf%E9 100%25.txt-2"]);
            assert.equal((await readContents(c, "/weird/caf%E9 100%25.txt")).toString(), "not utf-8\n");
            const raw = Buffer.concat([Buffer.from("/weird/"), WEIRD]);
            assert.equal((await readContents(c, raw)).toString(), "not utf-8\n");
        }
    });

    it("refuses bad paths and reads of non-files with specific errors", async () => {
        const c = await open("app", "merged", WAYS[1]!);
        await assert.rejects(c.stat("/etc/../../etc/passwd"), { code: "UnsafePath" });
        await assert.rejects(c.stat("/nope"), { code: "NotFound" });
        await assert.rejects(c.list("/etc/os-release"), { code: "InvalidArgument" });
        await assert.rejects(readContents(c, "/etc"), { code: "InvalidArgument" });
        await assert.rejects(readContents(c, "/run.fifo"), { code: "InvalidArgument" });
        await assert.rejects(c.stat("/bad%zz"), { code: "InvalidArgument" });
        await assert.rejects(openLayerContents(engine, "nope", { view: "merged" }), { code: "NotFound" });
    });

    it("source blob without blobs is FailedPrecondition; auto falls back to the snapshots", async () => {
        const k = buildWorkspace();
        try {
            const e = await openWorkspaceEngine(k.dir);
            await assert.rejects(openLayerContents(e, "app", { view: "layer", source: "blob" }), { code: "FailedPrecondition" });
            const c = await openLayerContents(e, "app", { view: "layer" });
            assert.equal(c.origin.kind, "snapshot");
            await e.computeBlobChain("base", { createIfNeeded: true });
            const b = await openLayerContents(e, "base", { view: "merged" });
            assert.equal(b.origin.kind, "blob");
        } finally {
            k.dispose();
        }
    });
});

describe("encodeLayerPath", () => {
    it("is reversible for any bytes and keeps valid UTF-8 as is", () => {
        assert.equal(encodeLayerPath(Buffer.from("/usr/share/日本語")), "/usr/share/日本語");
        assert.equal(encodeLayerPath(Buffer.from("100%")), "100%25");
        assert.equal(encodeLayerPath(Buffer.of(0xc0, 0x80, 0xed, 0xa0, 0x80, 0xf4, 0x90, 0x80, 0x80, 0xff)), "%C0%80%ED%A0%80%F4%90%80%80%FF");
        let seed = 7;
        for (let i = 0; i < 2000; i++) {
            const b = Buffer.alloc(i % 23);
            for (let j = 0; j < b.length; j++) b[j] = (seed = (seed * 1103515245 + 12345) & 0x7fffffff) % 256;
            const s = encodeLayerPath(b);
            assert.deepEqual(decodeLayerPath(s), b);
            assert.ok(Buffer.from(s, "utf8").toString("utf8") === s);
        }
    });
});
