/**
 * containerd and BuildKit metadata read from the committed real databases (no daemon, no root):
 * value encodings, snapshotter kinds/ids/parents, meta.db images, content labels, leases and
 * containers, and a containerd root laid out around them whose content blobs are missing, which
 * must give refs plus a per-image problem, not an error.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { detectSource, isEngineError, openSourceEngine, RootEngine } from "../../src/engine";
import { readContainerdMeta } from "../../src/engine/roots/containerdMeta";
import { goTime, uvarint, varint } from "../../src/engine/roots/encoding";
import { readSnapshotterDb } from "../../src/engine/roots/snapshotterDb";
import { fixtureDb } from "../helpers/boltDump";

let dir: string;
before(() => {
    dir = mkdtempSync(path.join(tmpdir(), "roots-fixture-"));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const CHAIN1 = "sha256:8c2592ff033e14a33cf4e064be9febddf93449fb9fc78704ae39186ef9464ac9";
const CHAIN2 = "sha256:f2d386bad67327a81fffaec16cb4fe8bd0f6b8e7fd8c57d1b8f7eb32387ed10a";
const CHAIN3 = "sha256:797efac949632982722d875b3035815296c53e3329d26ba0523bf57cd4f822c9";

describe("containerd value encodings", () => {
    it("decodes Go varints and time.MarshalBinary as containerd writes them", () => {
        assert.equal(uvarint(Buffer.from([0x01])), 1);
        assert.equal(uvarint(Buffer.from([0x80, 0x01])), 128);
        assert.equal(uvarint(Buffer.from([0x80])), null, "truncated");
        assert.equal(uvarint(Buffer.from([0x01, 0x02])), null, "trailing bytes");
        assert.equal(varint(Buffer.from("80c0fa01", "hex")), 2052096);
        assert.equal(varint(Buffer.from([0x28])), 20);
        assert.equal(varint(Buffer.from([0x01])), -1);
        assert.equal(goTime(Buffer.from("010000000ee29cbb5b1e085569ffff", "hex")), "2026-11-28T12:08:59.503862633Z");
        assert.equal(goTime(Buffer.from("0100", "hex")), null);
    });
});

describe("containerd databases from a real root", () => {
    it("the overlayfs snapshotter: ids, kinds and parents as ctr showed them", () => {
        const snaps = readSnapshotterDb(fixtureDb("containerd-overlayfs", dir));
        const byKey = new Map([...snaps.values()].map((s) => [s.key.split("/").slice(2).join("/"), s]));
        assert.equal(byKey.get(CHAIN1)!.kind, "committed");
        assert.equal(byKey.get(CHAIN1)!.parent, null);
        assert.equal(byKey.get("c1")!.kind, "active");
        assert.equal(byKey.get("mnt")!.kind, "active");
        assert.equal(byKey.get("view-1")!.kind, "view");
        assert.match(byKey.get(CHAIN2)!.parent!, /^test\/\d+\/sha256:8c25/);
        assert.equal(byKey.get(CHAIN1)!.labels["containerd.io/snapshot/example"], "passed-to-backend");
        assert.deepEqual(new Set([...snaps.values()].map((s) => s.id)).size, snaps.size, "ids are unique");
    });

    it("meta.db: namespaces, images, content labels, snapshot joins, containers and leases", () => {
        const meta = readContainerdMeta(fixtureDb("containerd-meta", dir));
        assert.equal(meta.version, 3);
        const ns = meta.namespaces.find((n) => n.name === "test")!;
        assert.deepEqual(ns.images.map((i) => i.name).sort(), ["docker.io/test/app:1", "docker.io/test/app:2", "docker.io/test/base:1"]);
        assert.equal(ns.images.find((i) => i.name === "docker.io/test/app:2")!.labels["example.com/fixture"], "yes");
        const layers = [...ns.content.values()].filter((c) => c.labels["containerd.io/uncompressed"]);
        assert.equal(layers.length, 3);
        const over = ns.snapshots.get("overlayfs")!;
        assert.equal(over.get(CHAIN3)!.parent, CHAIN2);
        assert.equal(over.get("c1")!.parent, CHAIN3);
        assert.match(over.get("c1")!.name, /^test\/\d+\/c1$/);
        assert.deepEqual(ns.containers.map((c) => [c.id, c.snapshotter, c.snapshotKey]), [["c1", "overlayfs", "c1"]]);
        assert.deepEqual(ns.leases.find((l) => l.id === "mnt")!.snapshots, { overlayfs: ["mnt"] });
    });
});

describe("a containerd root around the real databases", () => {
    it("becomes refs with parents and kinds; images whose blobs are gone are problems, not errors", async () => {
        const root = path.join(dir, "root");
        const meta = path.join(root, "io.containerd.metadata.v1.bolt");
        mkdirSync(meta, { recursive: true });
        const sn = path.join(root, "io.containerd.snapshotter.v1.overlayfs");
        mkdirSync(sn, { recursive: true });
        const { renameSync } = await import("node:fs");
        renameSync(fixtureDb("containerd-meta", dir), path.join(meta, "meta.db"));
        renameSync(fixtureDb("containerd-overlayfs", dir), path.join(sn, "metadata.db"));
        const snaps = readSnapshotterDb(path.join(sn, "metadata.db"));
        for (const s of snaps.values()) mkdirSync(path.join(sn, "snapshots", String(s.id), "fs"), { recursive: true });
        assert.equal(detectSource(root), "containerd");
        const engine = await openSourceEngine(root, { stateDir: path.join(dir, "state") });
        assert.ok(engine instanceof RootEngine);
        assert.equal(engine.summary.snapshotter, "overlayfs");
        assert.deepEqual(engine.layerIds("c1"), [CHAIN1, CHAIN2, CHAIN3, "c1"]);
        assert.equal(engine.snapshotInfo("view-1")!.kind, "view");
        assert.equal(engine.snapshotInfo("mnt")!.kind, "active");
        assert.equal(engine.summary.images.length, 3);
        assert.ok(engine.summary.images.every((i) => i.problem !== null && /does not exist/.test(i.problem)));
        await assert.rejects(engine.verifyImage("test/app:2"), (e: unknown) => isEngineError(e, "FailedPrecondition"));
        await assert.rejects(openSourceEngine(root, { snapshotter: "native" }), (e: unknown) => isEngineError(e, "NotFound"));
        await assert.rejects(openSourceEngine(root, { stateDir: path.join(root, "state") }), (e: unknown) => isEngineError(e, "InvalidArgument"));
    });

    it("a directory that is no source is InvalidArgument; a missing one NotFound", async () => {
        const empty = path.join(dir, "empty");
        mkdirSync(empty);
        assert.equal(detectSource(empty), null);
        await assert.rejects(openSourceEngine(empty), (e: unknown) => isEngineError(e, "InvalidArgument"));
        assert.throws(() => detectSource(path.join(dir, "nope")), (e: unknown) => isEngineError(e, "NotFound"));
    });
});
