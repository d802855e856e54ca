/**
 * The read-only guarantee over workspaces: every command that reads snapshot directories (refs,
 * compute, convert, verify, export, gc, chain, diff, ls, size) and every command that reads an
 * image or a tar (import, verify-image, ls, size, compress) leaves its inputs exactly as they were — contents, modes,
 * owners, mtimes, ctimes, xattrs (readOnlyGuard.ts), checked after each command. A random
 * workspace (randomWorkspace.ts: symlinks, hard links, devices, fifos, xattrs, whiteouts and
 * opaque directories in overlayfs upperdirs, Merge and Diff refs), native and overlayfs. With
 * the state outside, the whole workspace is guarded; with the default state (WORKSPACE/
 * .layerscope) the snapshots and layerscope.json are. containerd and Docker roots: the same
 * guard runs after every command in containerdRoot.test.ts and dockerRoot.test.ts.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { randomWorkspace, writeWorkspace } from "../helpers/randomWorkspace";
import { ReadOnlyGuard } from "../helpers/readOnlyGuard";
import { standardWorkspace } from "../helpers/workspaceKit";

const cli = join(__dirname, "..", "..", "..", "dist", "cli.js");

function run(guard: ReadOnlyGuard, args: string[]): string {
    const r = spawnSync(process.execPath, [cli, ...args], { encoding: "utf8" });
    assert.equal(r.status, 0, `layerscope ${args.join(" ")}: ${r.stderr}`);
    guard.check(`layerscope ${args.join(" ")}`);
    return r.stdout;
}

/** The ref with the longest layer chain. */
function topRef(refsJson: string): string {
    const out = JSON.parse(refsJson) as { refs: Array<{ id: string; layers: string[] }> };
    return out.refs.filter((r) => r.layers.length > 0).sort((a, b) => b.layers.length - a.layers.length)[0]!.id;
}

const work = mkdtempSync(join(tmpdir(), "layerscope-readonly-"));
after(() => rmSync(work, { recursive: true, force: true }));

/** The first seed whose workspace also has overlayfs upperdirs. */
const seeds = [11, 12, 13, 14, 15, 16, 17, 18].filter((s) => randomWorkspace(s).overlay).slice(0, 1);

describe("read-only commands leave snapshot dirs, images and tars as they were", () => {
    let commands = 0;
    after(() => process.stdout.write(`# read-only guarantee: ${commands} command runs checked\n`));

    it("the guard itself sees a chmod, an xattr, a rewrite of the same bytes with the old mtime, a new file", () => {
        const dir = mkdtempSync(join(work, "guard-"));
        writeFileSync(join(dir, "f"), "x");
        const t = statSync(join(dir, "f")).mtime;
        const edits: Array<() => void> = [
            () => chmodSync(join(dir, "f"), 0o600),
            () => spawnSync("setfattr", ["-n", "user.test", "-v", "1", join(dir, "f")]),
            () => {
                writeFileSync(join(dir, "f"), "x");
                utimesSync(join(dir, "f"), t, t);
            },
            () => writeFileSync(join(dir, "g"), ""),
        ];
        for (const edit of edits) {
            const guard = new ReadOnlyGuard([dir]);
            edit();
            assert.throws(() => guard.check("an edit"), /changed|added/);
        }
    });

    for (const seed of seeds) {
        for (const snapshotter of ["native", "overlayfs"] as const) {
            it(`random workspace ${seed}, ${snapshotter}`, () => {
                const ws = join(work, `ws-${seed}-${snapshotter}`);
                writeWorkspace(randomWorkspace(seed), ws, snapshotter);
                const state = join(work, `state-${seed}-${snapshotter}`);
                const oci = join(work, `oci-${seed}-${snapshotter}`);

                // State outside: not one byte of the workspace may change.
                const whole = new ReadOnlyGuard([ws]);
                const top = topRef(run(whole, ["refs", ws, "--state", state, "--json"]));
                run(whole, ["compute", ws, "--state", state, "--json"]);
                run(whole, ["convert", ws, "--ref", top, "--compression", "estargz", "--state", state, "--json"]);
                run(whole, ["verify", ws, "--state", state, "--json"]);
                run(whole, ["export", ws, "--ref", top, "--oci", oci, "--state", state, "--json"]);
                run(whole, ["gc", ws, "--state", state, "--json"]);
                const snaps = readdirSync(join(ws, "snapshots")).sort().map((n) => join(ws, "snapshots", n));
                if (snapshotter === "native") {
                    run(whole, ["chain", ...snaps.slice(0, 3), "--json"]);
                    run(whole, ["diff", snaps[0]!, snaps[1]!, "--out", join(work, `diff-${seed}.tar`), "--json"]);
                } else {
                    run(whole, ["diff", snaps[0]!, snaps[1]!, "--overlay", "--out", join(work, `diff-${seed}.tar`), "--json"]);
                }

                // Default state (WORKSPACE/.layerscope): the snapshots and layerscope.json stay.
                const inputs = new ReadOnlyGuard([join(ws, "snapshots"), join(ws, "layerscope.json")]);
                run(inputs, ["refs", ws, "--json"]);
                run(inputs, ["compute", ws, "--compression", "zstd", "--json"]);
                run(inputs, ["convert", ws, "--ref", top, "--compression", "gzip", "--json"]);
                run(inputs, ["verify", ws, "--json"]);
                run(inputs, ["gc", ws, "--json"]);
                run(inputs, ["ls", ws, "--ref", top, "--merged", "--recursive", "--json"]);
                run(inputs, ["ls", ws, "--ref", top, "--merged", "--recursive", "--source", "snapshot", "--json"]);
                run(inputs, ["size", ws, "--json"]);

                commands += whole.checked + inputs.checked;
            });
        }
    }

    it("an image and a tar as inputs: import, verify-image, compress", () => {
        const kit = standardWorkspace();
        after(() => kit.dispose());
        const oci = join(work, "oci-standard");
        const tar = join(work, "layer.tar");
        const setup = spawnSync(process.execPath, [cli, "export", kit.dir, "--ref", "config", "--oci", oci, "--state", join(work, "state-standard")], { encoding: "utf8" });
        assert.equal(setup.status, 0, setup.stderr);
        const diff = spawnSync(process.execPath, [cli, "diff", join(kit.dir, "snapshots", "base"), join(kit.dir, "snapshots", "app"), "--out", tar], { encoding: "utf8" });
        assert.equal(diff.status, 0, diff.stderr);
        const sources = new ReadOnlyGuard([oci, tar]);
        run(sources, ["import", oci, join(work, "imported"), "--json"]);
        run(sources, ["verify-image", oci, "--json"]);
        run(sources, ["ls", oci, "--recursive", "--json"]);
        run(sources, ["size", oci, "--json"]);
        run(sources, ["compress", tar, "--compression", "estargz", "--out", `${tar}.gz`, "--json"]);
        commands += sources.checked;
    });
});
