/**
 * A compute killed with SIGKILL at any moment leaves no partial blob visible, and the next run
 * completes and verifies (BuildKit relies on containerd's ingest + rename for the same).
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { randomBytes } from "node:crypto";
import { WorkspaceKit } from "../helpers/workspaceKit";

const cli = join(__dirname, "..", "..", "..", "dist", "cli.js");

function blobsAreWhole(state: string): void {
    const dir = join(state, "blobs", "sha256");
    if (!existsSync(dir)) return;
    for (const hex of readdirSync(dir)) {
        const got = createHash("sha256").update(readFileSync(join(dir, hex))).digest("hex");
        assert.equal(got, hex, `blob ${hex} is whole`);
    }
}

describe("compute killed mid-way", () => {
    const kit = new WorkspaceKit();
    after(() => kit.dispose());
    // ~96 MiB of poorly compressible data so gzip takes a while
    const big = randomBytes(1 << 20);
    const files: Record<string, Buffer> = {};
    for (let i = 0; i < 96; i++) files[`data/f${i}.bin`] = Buffer.concat([Buffer.from(String(i)), big]);
    kit.snapshot("base", { from: null, write: files });
    kit.snapshot("app", { from: "base", write: { "app.txt": "app\n" } });
    kit.refs([
        { id: "base", snapshot: "snapshots/base" },
        { id: "app", parent: "base", snapshot: "snapshots/app" },
    ]);
    const state = join(kit.dir, ".layerscope");

    it("leaves only whole blobs after each kill, and the next run completes", async () => {
        for (const delayMs of [40, 150, 300, 600, 900]) {
            const child = spawn(process.execPath, [cli, "compute", kit.dir, "--compression", "gzip"], { stdio: "ignore" });
            await new Promise((r) => setTimeout(r, delayMs));
            child.kill("SIGKILL");
            await new Promise((r) => child.once("exit", r));
            blobsAreWhole(state);
        }
        const done = spawnSync(process.execPath, [cli, "compute", kit.dir, "--json"], { encoding: "utf8" });
        assert.equal(done.status, 0, done.stderr);
        const out = JSON.parse(done.stdout) as { refs: { id: string; blob: { digest: string } | null }[] };
        assert.ok(out.refs.every((r) => r.blob), "every layer has its blob");
        blobsAreWhole(state);
        const verify = spawnSync(process.execPath, [cli, "verify", kit.dir, "--json"], { encoding: "utf8" });
        assert.equal(verify.status, 0, verify.stdout + verify.stderr);
        const gc = spawnSync(process.execPath, [cli, "gc", kit.dir, "--json"], { encoding: "utf8" });
        assert.equal(gc.status, 0, gc.stderr);
        assert.equal(readdirSync(join(state, "ingest")).length, 0, "stale ingests are cleaned");
    });
});
