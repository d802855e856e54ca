/**
 * The CLI as another user sees it. Tests that drop to an unprivileged user (setpriv) to check
 * permission errors need a `dist/cli.js` that user can reach; a checkout under a 0700 folder
 * (`mktemp -d`, a home directory) is not. Then the built CLI and the native modules it needs
 * (scripts/runtimeModules.cjs, the set the .vsix ships) are copied once per process into a
 * world-readable temporary folder, removed at exit.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { repoRoot } from "./imports";

let copy: string | undefined;

/** A path to the built CLI that `uid` can run: the checkout's own when it can read it. */
export function cliForUser(uid: number): string {
    const own = join(repoRoot, "dist", "cli.js");
    if (spawnSync("setpriv", [`--reuid=${uid}`, `--regid=${uid}`, "--clear-groups", "test", "-r", own]).status === 0) return own;
    if (copy === undefined) {
        const dir = mkdtempSync(join(tmpdir(), "layerscope-cli-"));
        process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
        chmodSync(dir, 0o755);
        cpSync(join(repoRoot, "dist"), join(dir, "dist"), { recursive: true, filter: (p) => !p.includes("/node_modules") });
        const { copyExternals } = require(join(repoRoot, "scripts", "runtimeModules.cjs")) as {
            copyExternals: (distDir: string, fromDir: string, nodeModules: string) => unknown;
        };
        copyExternals(join(dir, "dist"), repoRoot, join(dir, "node_modules"));
        copy = join(dir, "dist", "cli.js");
    }
    return copy;
}
