/**
 * Bad input gets one specific error and loses nothing: unreadable entries, files that change
 * while they are read, and a failed --out leave no partial tar behind.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { appendFileSync, chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { writeDiff } from "../../src/engine";
import { DirTree } from "../../src/engine/fs/dirTree";
import type { FileStat } from "../../src/engine/fs/fileStat";
import type { FileReader } from "../../src/engine/fs/tree";
import { cliForUser } from "../helpers/cliForUser";

const cli = join(__dirname, "..", "..", "..", "dist", "cli.js");
const work = mkdtempSync(join(tmpdir(), "layerscope-errors-"));
after(() => rmSync(work, { recursive: true, force: true }));

function tree(name: string, files: Record<string, string>): string {
    const dir = join(work, name);
    mkdirSync(dir, { recursive: true });
    for (const [p, content] of Object.entries(files)) {
        mkdirSync(join(dir, p, ".."), { recursive: true });
        writeFileSync(join(dir, p), content);
    }
    return dir;
}

function runCli(args: string[], asNobody = false): { status: number | null; stdout: string; stderr: string } {
    const cmd = asNobody ? "setpriv" : process.execPath;
    const argv = asNobody ? ["--reuid=65534", "--regid=65534", "--clear-groups", process.execPath, cliForUser(65534), ...args] : [cli, ...args];
    const r = spawnSync(cmd, argv, { encoding: "utf8" });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A DirTree whose files change between the walk and the read. */
class MutatingTree extends DirTree {
    constructor(
        root: string,
        private readonly mutate: (abs: string) => void,
    ) {
        super(root);
    }

    override openFile(rel: Buffer, expect: FileStat): FileReader {
        this.mutate(this.abs(rel).toString());
        return super.openFile(rel, expect);
    }
}

describe("differ errors", () => {
    const isRoot = process.getuid?.() === 0;

    it("names an unreadable file and exits 1 with one line on stderr", { skip: !isRoot && "needs root to drop to nobody" }, () => {
        const lower = tree("unreadable-lower", {});
        const upper = tree("unreadable-upper", { "ok.txt": "ok\n", "secret.txt": "s\n" });
        chmodSync(join(upper, "secret.txt"), 0o600);
        chmodSync(work, 0o755);
        const r = runCli(["diff", lower, upper, "--json"], true);
        assert.equal(r.status, 1);
        assert.equal(r.stdout, "");
        assert.equal(r.stderr.trim().split("\n").length, 1);
        assert.match(r.stderr, /secret\.txt: permission denied/);
    });

    it("names an unreadable directory", { skip: !isRoot && "needs root to drop to nobody" }, () => {
        const lower = tree("unlistable-lower", {});
        const upper = tree("unlistable-upper", { "sub/x": "x\n" });
        chmodSync(join(upper, "sub"), 0o700);
        const r = runCli(["diff", lower, upper, "--json"], true);
        assert.equal(r.status, 1);
        assert.match(r.stderr, /unlistable-upper\/sub: permission denied \(while listing a directory\)/);
    });

    for (const [how, mutate] of [
        ["grew", (p: string) => appendFileSync(p, "more")],
        ["shrank", (p: string) => truncateSync(p, 1)],
        ["was replaced", (p: string) => (rmSync(p), writeFileSync(p, "new content!"))],
    ] as const) {
        it(`refuses a file that ${how} while read (ChangedWhileReading)`, async () => {
            const lower = tree(`changing-${how}-lower`, {});
            const upper = tree(`changing-${how}-upper`, { "f.txt": "original content\n" });
            await assert.rejects(
                writeDiff({ lower, upper: new MutatingTree(upper, mutate) }),
                (err: { code?: string; data?: { path?: string } }) => err.code === "ChangedWhileReading" && /f\.txt$/.test(err.data?.path ?? ""),
            );
        });
    }

    it("leaves no partial --out file when the diff fails", () => {
        const lower = tree("partial-lower", {});
        const upper = tree("partial-upper", { "a.txt": "a\n" });
        const outDir = join(work, "partial-out");
        mkdirSync(outDir);
        const r = runCli(["diff", lower, join(work, "does-not-exist"), "--out", join(outDir, "layer.tar")]);
        assert.equal(r.status, 1);
        assert.deepEqual(readdirSync(outDir), []);
        const ok = runCli(["diff", lower, upper, "--out", join(outDir, "layer.tar"), "--json"]);
        assert.equal(ok.status, 0, ok.stderr);
        assert.deepEqual(readdirSync(outDir), ["layer.tar"]);
    });

    it("rejects bad arguments with exit 2 and one line", () => {
        for (const args of [["diff", "only-one"], ["diff", "a", "b", "--bogus"], ["diff", "a", "b", "--whiteout-time"], ["nope"]]) {
            const r = runCli(args);
            assert.equal(r.status, 2, args.join(" "));
            assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
        }
    });
});
