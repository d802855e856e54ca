/**
 * The content store against containerd's rules: ingest, verify and commit (local/writer.go),
 * "already exists" as success, one writer per ref, labels with empty values dropped
 * (boltutil.WriteLabels), leases, and gc roots and edges (metadata/gc.go) including flat leases.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
    cpSync,
    mkdirSync,
    mkdtempSync,
    readFileSync,
    readdirSync,
    rmSync,
    statSync,
    utimesSync,
    writeFileSync,
    writeSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { ContentStore, LABEL_GC_ROOT, LOCKED_CODE } from "../../src/engine/content";
import type { Digest } from "../../src/engine/digest/hashSink";
import { writeDiff } from "../../src/engine/diff/writeDiff";
import { type ErrorCode, isEngineError } from "../../src/engine/errors";

const work = mkdtempSync(join(tmpdir(), "layerscope-content-"));
after(() => rmSync(work, { recursive: true, force: true }));
let n = 0;

async function freshStore(): Promise<ContentStore> {
    return ContentStore.open(join(work, `s${n++}`, ".layerscope"), { lockTimeoutMs: 300 });
}

function sha(...parts: (string | Buffer)[]): Digest {
    const h = createHash("sha256");
    for (const p of parts) h.update(p);
    return `sha256:${h.digest("hex")}`;
}

async function rejectsWith(p: Promise<unknown>, code: ErrorCode): Promise<void> {
    await assert.rejects(p, (err: unknown) => {
        assert.ok(isEngineError(err), `expected an EngineError, got ${String(err)}`);
        assert.equal(err.code, code);
        return true;
    });
}

async function put(
    store: ContentStore,
    data: string,
    labels: Record<string, string> = {},
    lease?: string,
): Promise<Digest> {
    const w = await store.writer(`put-${data}`, lease ? { lease } : {});
    await w.write(Buffer.from(data));
    return (await w.commit({ labels })).digest;
}

/** A pid that is certainly not running: a child that has already exited. */
function deadPid(): number {
    return spawnSync(process.execPath, ["-e", ""]).pid!;
}

describe("content store: ingest and commit", () => {
    it("commitVerifiesAndPublishesReadOnly", async () => {
        const store = await freshStore();
        const w = await store.writer("layer-1", { expected: { size: 11 } });
        await w.write(Buffer.from("hello "));
        await w.write(Buffer.from("world"));
        const r = await w.commit({
            expectedDigest: sha("hello world"),
            labels: { a: "1", empty: "" },
        });
        assert.deepEqual(r, { digest: sha("hello world"), size: 11, existed: false });
        assert.equal(statSync(store.blobPath(r.digest)).mode & 0o777, 0o444);
        const info = await store.info(r.digest);
        assert.equal(info?.size, 11);
        assert.deepEqual(info?.labels, { a: "1" });
        assert.deepEqual(await store.listIngests(), []);
        assert.deepEqual(readdirSync(join(store.root, "tmp")), []);
    });

    it("readsBackByStreamAndAtOffset", async () => {
        const store = await freshStore();
        const d = await put(store, "0123456789");
        const chunks: Buffer[] = [];
        for await (const c of await store.readStream(d, { start: 2, end: 5 }))
            chunks.push(c as Buffer);
        assert.equal(Buffer.concat(chunks).toString(), "2345");
        const ra = await store.openReader(d);
        const buf = Buffer.alloc(3);
        assert.equal(await ra.read(buf, 0, 3, 7), 3);
        assert.equal(buf.toString(), "789");
        assert.equal(ra.size, 10);
        await ra.close();
        assert.equal(await store.exists(sha("nope")), false);
        assert.equal(await store.info(sha("nope")), null);
        await rejectsWith(store.readStream(sha("nope")), "NotFound");
    });

    it("overlappingWritesKeepTheirOrder", async () => {
        const store = await freshStore();
        const w = await store.writer("overlap");
        const parts = Array.from({ length: 50 }, (_, i) => Buffer.alloc(1000 + i, i));
        await Promise.all(parts.map((p) => w.write(p)));
        const r = await w.commit();
        assert.equal(r.digest, sha(...parts));
    });

    it("digestOrSizeMismatchIsFailedPreconditionAndLeavesNothing", async () => {
        const store = await freshStore();
        const w1 = await store.writer("bad-digest");
        await w1.write(Buffer.from("abc"));
        await rejectsWith(w1.commit({ expectedDigest: sha("abd") }), "FailedPrecondition");
        const w2 = await store.writer("bad-size", { expected: { size: 4 } });
        await w2.write(Buffer.from("abc"));
        await rejectsWith(w2.commit(), "FailedPrecondition");
        assert.equal(await store.exists(sha("abc")), false);
        assert.deepEqual(await store.listIngests(), []);
        await rejectsWith(w2.commit(), "FailedPrecondition"); // closed
    });

    it("alreadyExistsIsSuccessAndKeepsLabels", async () => {
        const store = await freshStore();
        const d = await put(store, "same", { keep: "old" });
        const w = await store.writer("again");
        await w.write(Buffer.from("same"));
        const r = await w.commit({ labels: { keep: "new", extra: "x" } });
        assert.equal(r.existed, true);
        assert.deepEqual((await store.info(d))?.labels, { keep: "old" });
        await store.createLease("l1");
        await rejectsWith(
            store.writer("expect", { expected: { digest: d }, lease: "l1" }),
            "AlreadyExists",
        );
        assert.deepEqual(await store.listLeaseResources("l1"), [{ type: "content", digest: d }]);
    });

    it("oneWriterPerRef", async () => {
        const store = await freshStore();
        const w = await store.writer("busy");
        await rejectsWith(store.writer("busy"), LOCKED_CODE);
        const other = await ContentStore.open(store.root);
        await rejectsWith(other.writer("busy"), LOCKED_CODE);
        await w.abort();
        await w.abort();
        const again = await store.writer("busy");
        await again.write(Buffer.from("x"));
        assert.equal((await again.commit()).digest, sha("x"));
        await rejectsWith(store.writer(""), "InvalidArgument");
        await rejectsWith(
            store.writer("r", { expected: { digest: "sha256:xyz" as Digest } }),
            "InvalidArgument",
        );
    });

    it("fdWritesFromAnotherWriterAreHashedFromDisk", async () => {
        const store = await freshStore();
        const w = await store.writer("fd");
        writeSync(w.fd, Buffer.from("via fd"));
        assert.equal((await w.commit({ expectedDigest: sha("via fd") })).digest, sha("via fd"));

        const lower = join(work, "lower");
        const upper = join(work, "upper");
        mkdirSync(lower, { recursive: true });
        mkdirSync(upper, { recursive: true });
        writeFileSync(join(upper, "f.txt"), "layer file\n");
        const tw = await store.writer("diff");
        const diff = await writeDiff({ lower, upper, output: tw });
        const r = await tw.commit({ expectedDigest: diff.diffID, expectedSize: diff.size });
        assert.equal(r.digest, diff.diffID);
    });
});

describe("content store: labels", () => {
    it("updateLabelsSetsAndDeletesNamedKeysOnly", async () => {
        const store = await freshStore();
        const d = await put(store, "lbl", { a: "1", b: "2", c: "3" });
        const info = await store.updateLabels(d, { a: "10", b: null, c: "", d: "4" });
        assert.deepEqual(info.labels, { a: "10", d: "4" });
        assert.deepEqual((await store.info(d))?.labels, { a: "10", d: "4" });
        const proto = await store.updateLabels(
            d,
            JSON.parse('{"__proto__": "p"}') as Record<string, string>,
        );
        assert.equal(
            Object.getOwnPropertyDescriptor((await store.info(d))!.labels, "__proto__")?.value,
            "p",
        );
        assert.equal(Object.keys(proto.labels).length, 3);
        await rejectsWith(store.updateLabels(sha("missing"), { a: "1" }), "NotFound");
        await rejectsWith(store.updateLabels(d, { big: "x".repeat(5000) }), "InvalidArgument");
        await rejectsWith(store.updateLabels("sha256:bad" as Digest, {}), "InvalidArgument");
    });
});

describe("content store: leases", () => {
    it("leaseLifecycle", async () => {
        const store = await freshStore();
        const lease = await store.createLease("rec-1", { labels: { owner: "me", none: "" } });
        assert.deepEqual(lease.labels, { owner: "me" });
        await rejectsWith(store.createLease("rec-1"), "AlreadyExists");
        await rejectsWith(store.createLease("../evil"), "InvalidArgument");
        const flat = await store.createLease("rec-1-view", { flat: true });
        assert.ok(flat.labels["containerd.io/gc.flat"]);
        const d = sha("not stored yet");
        await store.addLeaseResource("rec-1", { type: "content", digest: d });
        await store.addLeaseResource("rec-1", { type: "content", digest: d });
        await store.addLeaseResource("rec-1", {
            type: "snapshot",
            snapshotter: "native",
            key: "snap-1",
        });
        assert.equal((await store.listLeaseResources("rec-1")).length, 2);
        await store.removeLeaseResource("rec-1", { type: "content", digest: d });
        await store.removeLeaseResource("rec-1", { type: "content", digest: d });
        assert.deepEqual(await store.listLeaseResources("rec-1"), [
            { type: "snapshot", snapshotter: "native", key: "snap-1" },
        ]);
        await rejectsWith(
            store.addLeaseResource("nope", { type: "content", digest: d }),
            "NotFound",
        );
        await rejectsWith(
            store.addLeaseResource("rec-1", { type: "content", digest: "md5:1" as Digest }),
            "InvalidArgument",
        );
        assert.deepEqual(
            (await store.listLeases()).map((l) => l.id),
            ["rec-1", "rec-1-view"],
        );
        await store.deleteLease("rec-1");
        await rejectsWith(store.deleteLease("rec-1"), "NotFound");
        await rejectsWith(store.writer("w", { lease: "rec-1" }), "NotFound");
    });
});

describe("content store: gc", () => {
    it("gcRemovesOnlyUnreachable", async () => {
        const store = await freshStore();
        await store.createLease("keep");
        const leased = await put(store, "leased", {}, "keep");
        const root = await put(store, "root", { [LABEL_GC_ROOT]: "1" });
        const junk = await put(store, "junk");
        const dry = await store.gc({ dryRun: true });
        assert.deepEqual(dry.removed, [junk]);
        assert.equal(await store.exists(junk), true);
        const r = await store.gc();
        assert.deepEqual(r.removed, [junk]);
        assert.equal(r.bytes, 4);
        assert.equal(await store.exists(leased), true);
        assert.equal(await store.exists(root), true);
        assert.equal(await store.exists(junk), false);
        assert.deepEqual(readdirSync(join(store.root, "meta", "labels", "sha256")).length, 2);
    });

    it("flatLeaseDoesNotFollowGcRefLabels", async () => {
        const store = await freshStore();
        const c = await put(store, "c");
        const b = await put(store, "b", { "containerd.io/gc.ref.content.blob-c": c });
        const a = await put(store, "a", {
            "containerd.io/gc.ref.content.blob-b": b,
            "containerd.io/gc.ref.content.self": sha("a"),
        });
        await store.createLease("rec", { flat: true });
        await store.addLeaseResource("rec", { type: "content", digest: a });
        assert.deepEqual((await store.gc({ dryRun: true })).removed, [b, c].sort());

        await store.createLease("rec-variants");
        await store.addLeaseResource("rec-variants", { type: "content", digest: a });
        assert.deepEqual((await store.gc()).removed, []); // a reached normally too: a -> b -> c

        await store.deleteLease("rec-variants");
        assert.deepEqual((await store.gc()).removed, [b, c].sort());
        assert.equal(await store.exists(a), true);
    });

    it("expiredLeaseIsNotARootAndIsRemoved", async () => {
        const store = await freshStore();
        await store.createLease("tmp", { expiration: -1000 });
        const d = await put(store, "temp", {}, "tmp");
        const r = await store.gc();
        assert.deepEqual(r.removed, [d]);
        assert.deepEqual(r.leasesRemoved, ["tmp"]);
        assert.deepEqual(await store.listLeases(), []);
    });

    it("gcKeepsWhatAnActiveWriterExpects", async () => {
        const store = await freshStore();
        const expected = sha("soon");
        const w = await store.writer("slow", { expected: { digest: expected } });
        await put(store, "soon"); // committed by someone else, unleased
        const r = await store.gc();
        assert.deepEqual(r.removed, []);
        assert.equal(r.ingestsRemoved, 0);
        await w.write(Buffer.from("soon"));
        assert.equal((await w.commit()).existed, true);
        assert.deepEqual((await store.gc()).removed, [expected]);
    });
});

describe("content store: stale ingests and locks", () => {
    /** The ingest a writer killed mid-write leaves: partial data, an owner that is gone. */
    async function plantDeadIngest(store: ContentStore, ref: string): Promise<void> {
        const w = await store.writer(ref);
        await w.write(Buffer.from("partial"));
        const before = new Set(readdirSync(join(store.root, "ingest")));
        const name = [...before].find(
            (n) => readFileSync(join(store.root, "ingest", n, "ref"), "utf8") === ref,
        )!;
        const saved = join(work, `saved-${n++}`);
        cpSync(join(store.root, "ingest", name), saved, { recursive: true });
        await w.abort();
        cpSync(saved, join(store.root, "ingest", name), { recursive: true });
        writeFileSync(
            join(store.root, "ingest", name, "owner"),
            JSON.stringify({ pid: deadPid(), nonce: "dead", at: "" }),
        );
    }

    it("cleanupIngestsRemovesDeadOwnersOnly", async () => {
        const store = await freshStore();
        await plantDeadIngest(store, "dead-ref");
        const live = await store.writer("live-ref");
        const st = await store.listIngests();
        assert.deepEqual(
            st.map((s) => [s.ref, s.active, s.offset]),
            [
                ["dead-ref", false, 7],
                ["live-ref", true, 0],
            ].sort(),
        );
        assert.equal(await store.cleanupIngests({ olderThan: 60_000 }), 0);
        assert.equal(await store.cleanupIngests(), 1);
        assert.deepEqual(
            (await store.listIngests()).map((s) => s.ref),
            ["live-ref"],
        );
        await live.abort();
    });

    it("writerTakesOverADeadIngestAndGcRemovesOthers", async () => {
        const store = await freshStore();
        await plantDeadIngest(store, "take-over");
        const w = await store.writer("take-over");
        await w.write(Buffer.from("fresh"));
        assert.equal((await w.commit()).digest, sha("fresh"));
        await plantDeadIngest(store, "left-behind");
        assert.equal((await store.gc()).ingestsRemoved, 1);
    });

    it("staleStoreLockIsBrokenLiveOneTimesOut", async () => {
        const store = await freshStore();
        const d = await put(store, "locked");
        const lockFile = join(store.root, "lock");
        writeFileSync(lockFile, JSON.stringify({ pid: deadPid(), nonce: "gone", at: "" }));
        await store.updateLabels(d, { a: "1" });
        writeFileSync(lockFile, ""); // a holder killed before writing its record...
        const old = new Date(Date.now() - 60_000);
        utimesSync(lockFile, old, old); // ...long ago
        await store.updateLabels(d, { a: "2" });
        writeFileSync(lockFile, JSON.stringify({ pid: 1, nonce: "init", at: "" })); // pid 1 is alive
        await rejectsWith(store.updateLabels(d, { a: "3" }), LOCKED_CODE);
        rmSync(lockFile);
        assert.equal((await store.updateLabels(d, { a: "4" })).labels.a, "4");
    });
});
