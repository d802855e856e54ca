/**
 * Builds small native snapshot workspaces for blob-chain tests: each snapshot a full rootfs
 * derived from its parent by copying and editing, every mtime pinned.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as fsb from "./fsbuild";

export const T0 = 1700000000;

export interface SnapshotSpec {
    /** Snapshot to start from (its files are copied), or null for an empty rootfs. */
    readonly from: string | null;
    readonly write?: Record<string, string | Buffer>;
    readonly remove?: readonly string[];
}

export class WorkspaceKit {
    readonly dir = mkdtempSync(join(tmpdir(), "layerscope-ws-"));

    snapshot(name: string, spec: SnapshotSpec): string {
        const dir = join(this.dir, "snapshots", name);
        fsb.mkdir(dir);
        if (spec.from) fsb.copyTree(join(this.dir, "snapshots", spec.from), dir);
        for (const r of spec.remove ?? []) fsb.remove(join(dir, r));
        for (const [rel, content] of Object.entries(spec.write ?? {})) {
            const p = join(dir, rel);
            fsb.mkdir(join(p, ".."));
            rmSync(p, { force: true });
            fsb.writeFile(p, content);
        }
        fsb.normalizeMtimes(dir, T0);
        return `snapshots/${name}`;
    }

    /** Writes layerscope.json. */
    refs(refs: readonly object[], snapshotter: "native" | "overlayfs" = "native"): void {
        writeFileSync(join(this.dir, "layerscope.json"), JSON.stringify({ snapshotter, refs }, null, 2));
    }

    dispose(): void {
        rmSync(this.dir, { recursive: true, force: true });
    }
}

/** A base → app → config chain plus an unrelated "other" base, the shapes most tests need. */
export function standardWorkspace(extraRefs: readonly object[] = []): WorkspaceKit {
    const kit = new WorkspaceKit();
    kit.snapshot("base", { from: null, write: { "etc/os-release": "ID=test\n", "bin/sh": "#!shell\n", "usr/share/doc/README": "docs\n" } });
    kit.snapshot("app", { from: "base", write: { "app/server.js": "v1\n", "etc/hostname": "app\n" } });
    kit.snapshot("config", { from: "app", write: { "app/server.js": "v2\n", "app/.env": "PORT=80\n" }, remove: ["usr/share/doc"] });
    kit.snapshot("other", { from: null, write: { "opt/tool": "tool\n", "etc/os-release": "ID=other\n" } });
    kit.refs([
        { id: "base", snapshot: "snapshots/base" },
        { id: "app", parent: "base", snapshot: "snapshots/app" },
        { id: "config", parent: "app", snapshot: "snapshots/config" },
        { id: "other", snapshot: "snapshots/other" },
        ...extraRefs,
    ]);
    return kit;
}
