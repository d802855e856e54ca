/**
 * execFileOffThread (src/engine/util/execOffThread.ts): output, failures shaped like
 * promisify(execFile)'s (code, stderr), and concurrent calls each answered with their own result.
 */
import assert from "node:assert/strict";
import { readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { execFileOffThread, type ExecOffThreadError } from "../../src/engine/util/execOffThread";

describe("execFileOffThread", () => {
    it("resolves with the child's output; arguments are not parsed by a shell", async () => {
        const r = await execFileOffThread("printf", ["%s|", "a b", "$HOME", "; echo x"]);
        assert.equal(r.stdout, "a b|$HOME|; echo x|");
    });

    it("rejects as execFile does: exit code and stderr", async () => {
        await assert.rejects(execFileOffThread("cp", ["--", "/nonexistent-layerscope-src", "/tmp/x"]), (e: ExecOffThreadError) => {
            assert.equal(e.code, 1);
            assert.match(e.stderr, /nonexistent-layerscope-src/);
            return true;
        });
        await assert.rejects(execFileOffThread("/nonexistent-layerscope-binary", []), (e: ExecOffThreadError) => e.code === "ENOENT");
    });

    it("concurrent calls each get their own answer", async () => {
        const rs = await Promise.all(Array.from({ length: 8 }, (_, i) => execFileOffThread("sh", ["-c", `sleep 0.0${8 - i}; echo ${i}`])));
        assert.deepEqual(rs.map((r) => r.stdout), ["0\n", "1\n", "2\n", "3\n", "4\n", "5\n", "6\n", "7\n"]);
    });

    it("an abort kills the child and rejects with AbortError once it has exited", async () => {
        const pidFile = join(tmpdir(), `layerscope-exec-abort-${process.pid}`);
        const ac = new AbortController();
        const p = execFileOffThread("sh", ["-c", 'echo $$ > "$0"; exec sleep 30', pidFile], { signal: ac.signal });
        let pid = 0;
        for (let i = 0; i < 500 && !pid; i++) {
            await new Promise((r) => setTimeout(r, 10));
            try {
                pid = Number(readFileSync(pidFile, "utf8").trim());
            } catch {
                /* not yet */
            }
        }
        rmSync(pidFile, { force: true });
        assert.ok(pid > 0, "the child started");
        ac.abort();
        await assert.rejects(p, (e: ExecOffThreadError) => e.name === "AbortError" && e.code === "ABORT_ERR");
        assert.throws(() => process.kill(pid, 0), /ESRCH/, "the child is gone");
        const pre = new AbortController();
        pre.abort();
        await assert.rejects(execFileOffThread("true", [], { signal: pre.signal }), (e: ExecOffThreadError) => e.code === "ABORT_ERR");
        assert.equal((await execFileOffThread("echo", ["still works"])).stdout, "still works\n");
    });
});
