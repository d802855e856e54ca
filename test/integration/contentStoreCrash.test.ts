/**
 * The content store across processes: a writer SIGKILLed at random moments (mid-write, while
 * committing, before it even has the lock) never leaves a partial file under blobs/ or meta/,
 * and the next run commits; a killed lock holder does not wedge the store; a live writer in
 * another process keeps its ref; concurrent label updates from several processes all land.
 * Set LAYERSCOPE_CRASH_SEED to replay a run.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { ContentStore, LOCKED_CODE } from "../../src/engine/content";
import type { Digest } from "../../src/engine/digest/hashSink";
import { isEngineError } from "../../src/engine/errors";
import { CRASH_LEASE, crashBlobChunk } from "../helpers/contentStoreChild";
import { Rng } from "../helpers/rng";

const CHILD = join(__dirname, "..", "helpers", "contentStoreChild.js");
const MIB = 48;
const work = mkdtempSync(join(tmpdir(), "layerscope-crash-"));
after(() => rmSync(work, { recursive: true, force: true }));

/** A child process whose stdout lines can be awaited. */
class Child {
    readonly proc: ChildProcess;
    readonly lines: string[] = [];
    readonly exited: Promise<number | null>;
    private waiters: (() => void)[] = [];
    stderr = "";

    constructor(args: string[]) {
        this.proc = spawn(process.execPath, [CHILD, ...args], {
            stdio: ["ignore", "pipe", "pipe"],
        });
        let buf = "";
        this.proc.stdout!.on("data", (d: Buffer) => {
            buf += d.toString();
            const parts = buf.split("\n");
            buf = parts.pop()!;
            this.lines.push(...parts);
            for (const w of this.waiters.splice(0)) w();
        });
        this.proc.stderr!.on("data", (d: Buffer) => (this.stderr += d.toString()));
        this.exited = new Promise((resolve) => this.proc.on("exit", (code) => resolve(code)));
        void this.exited.then(() => this.waiters.splice(0).forEach((w) => w()));
    }

    /** Resolves with the first line matching `re`, or undefined if the child exits first. */
    async waitFor(re: RegExp): Promise<string | undefined> {
        let exited = false;
        void this.exited.then(() => (exited = true));
        for (;;) {
            const hit = this.lines.find((l) => re.test(l));
            if (hit !== undefined || exited) return hit;
            await new Promise<void>((resolve) => this.waiters.push(resolve));
            await new Promise((resolve) => setImmediate(resolve));
        }
    }

    async kill(): Promise<void> {
        this.proc.kill("SIGKILL");
        await this.exited;
    }
}

function crashDigest(): Digest {
    const h = createHash("sha256");
    for (let i = 0; i < MIB; i++) h.update(crashBlobChunk(i));
    return `sha256:${h.digest("hex")}`;
}

/** Every file under `dir` (none when a child was killed before creating it). */
function files(dir: string): string[] {
    if (!existsSync(dir)) return [];
    return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
        e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)],
    );
}

/** Every visible blob is complete and read-only; every metadata file is whole JSON. */
function assertNothingPartial(root: string): void {
    for (const f of files(join(root, "blobs"))) {
        const hex = createHash("sha256").update(readFileSync(f)).digest("hex");
        assert.equal(`${f.slice(-64)}`, hex, `${f} does not hash to its name`);
        assert.equal(statSync(f).mode & 0o777, 0o444, `${f} is writable`);
    }
    for (const f of files(join(root, "meta"))) {
        assert.match(f, /\.json$/, `${f} is not a metadata file`);
        assert.doesNotThrow(() => JSON.parse(readFileSync(f, "utf8")), `${f} is torn`);
    }
}

describe("content store: crashes and other processes", () => {
    const seed = Number(process.env.LAYERSCOPE_CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));

    it(`killedWriterLeavesNoPartialBlob (seed ${seed})`, { timeout: 120_000 }, async () => {
        const rng = new Rng(seed);
        const state = join(work, "crash", ".layerscope");
        const want = crashDigest();
        for (let round = 0; round < 8; round++) {
            const child = new Child(["write", state, "layer", String(MIB)]);
            const moment = rng.pick(["early", "progress", "progress", "committing"] as const);
            if (moment === "early") {
                await new Promise((r) => setTimeout(r, rng.int(0, 120)));
            } else if (moment === "progress") {
                await child.waitFor(new RegExp(`^progress ${rng.int(0, MIB - 1)}$`));
                await new Promise((r) => setTimeout(r, rng.int(0, 10)));
            } else {
                await child.waitFor(/^committing$/);
                await new Promise((r) => setTimeout(r, rng.int(0, 40))); // fsync, then the publish steps
            }
            await child.kill();
            assert.equal(child.stderr, "", `round ${round} (${moment}) failed on its own`);
            assertNothingPartial(state);
            if (round % 3 === 2) {
                const store = await ContentStore.open(state);
                assert.ok((await store.listIngests()).every((s) => !s.active));
                await store.cleanupIngests();
                assert.deepEqual(await store.listIngests(), []);
            }
        }
        const last = new Child(["write", state, "layer", String(MIB)]);
        assert.equal(await last.exited, 0, last.stderr);
        assert.match(last.lines.at(-1)!, new RegExp(`^committed ${want} (true|false)$`));
        const store = await ContentStore.open(state);
        assert.deepEqual((await store.info(want))?.labels, { "test/origin": "crash-child" });
        assert.deepEqual(await store.listLeaseResources(CRASH_LEASE), [
            { type: "content", digest: want },
        ]);
        assert.deepEqual(await store.listIngests(), []);
        assert.deepEqual((await store.gc()).removed, []);
        assert.deepEqual(readdirSync(join(state, "tmp")), []);
        assertNothingPartial(state);
    });

    it("killedLockHolderDoesNotWedgeTheStore", { timeout: 30_000 }, async () => {
        const state = join(work, "lock", ".layerscope");
        const store = await ContentStore.open(state, { lockTimeoutMs: 300 });
        const w = await store.writer("x");
        await w.write(Buffer.from("x"));
        const { digest } = await w.commit();
        const holder = new Child(["hold-lock", state]);
        assert.equal(await holder.waitFor(/^locked$/), "locked", holder.stderr);
        await assert.rejects(store.updateLabels(digest, { a: "1" }), (e: unknown) =>
            isEngineError(e, LOCKED_CODE),
        );
        await holder.kill();
        assert.equal((await store.updateLabels(digest, { a: "2" })).labels.a, "2");
    });

    it("liveWriterInAnotherProcessKeepsItsRef", { timeout: 30_000 }, async () => {
        const state = join(work, "ref", ".layerscope");
        const store = await ContentStore.open(state);
        const other = new Child(["pause", state, "shared-ref"]);
        assert.equal(await other.waitFor(/^paused$/), "paused", other.stderr);
        await assert.rejects(store.writer("shared-ref"), (e: unknown) =>
            isEngineError(e, LOCKED_CODE),
        );
        assert.equal((await store.gc()).ingestsRemoved, 0);
        assert.deepEqual(
            (await store.listIngests()).map((s) => [s.ref, s.active]),
            [["shared-ref", true]],
        );
        await other.kill();
        const w = await store.writer("shared-ref");
        await w.write(Buffer.from("mine"));
        assert.equal((await w.commit()).size, 4);
    });

    it("concurrentLabelUpdatesFromProcessesAreNotLost", { timeout: 60_000 }, async () => {
        const state = join(work, "labels", ".layerscope");
        const store = await ContentStore.open(state);
        const w = await store.writer("blob");
        await w.write(Buffer.from("labelled"));
        const { digest } = await w.commit();
        const children = ["p", "q", "r"].map((p) => new Child(["labels", state, digest, p, "15"]));
        for (const c of children) assert.equal(await c.exited, 0, c.stderr);
        const labels = (await store.info(digest))!.labels;
        assert.equal(Object.keys(labels).length, 45);
        assertNothingPartial(state);
    });
});
