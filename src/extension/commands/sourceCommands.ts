/** Source-scoped commands: open or close a source, refresh, garbage-collect a store. */
import * as vscode from "vscode";
import { EngineError, type GcReport } from "../../engine";
import type { CommandContext } from "./context";
import { PickCanceled, pickSource } from "./pickers";
import { withProgress } from "./progress";
import { sourceLabel } from "./refCommands";
import { formatBytes } from "../tree/format";
import { showInfo } from "../notify";

/**
 * Open Snapshot Source…: a folder with layerscope.json, a containerd root or a Docker data-root
 * (a path or Uri argument skips the dialog).
 */
export async function openSource(ctx: CommandContext, arg: unknown): Promise<string> {
    let dir: string | undefined;
    if (typeof arg === "string") dir = arg;
    else if (arg instanceof vscode.Uri) dir = arg.fsPath;
    else {
        const picked = await vscode.window.showOpenDialog({ title: "Layerscope: open a snapshot source (a folder with layerscope.json, a containerd root or a Docker data-root)", canSelectFolders: true, canSelectFiles: false, canSelectMany: false, openLabel: "Open Source" });
        dir = picked?.[0]?.fsPath;
    }
    if (!dir) throw new PickCanceled();
    const info = await ctx.model.addSource(dir);
    ctx.log.line(`opened source ${info.root}${info.error ? `: ${info.error}` : ""}`);
    ctx.tree.flush(); // the new source's row must be announced before it is revealed
    await ctx.view.reveal(ctx.tree.data.sourceNode(info.id), { select: true, focus: false, expand: true });
    if (info.error) throw new EngineError("FailedPrecondition", `${info.label} could not be opened: ${info.error}`, { source: info.id });
    return info.id;
}

/** Close Snapshot Source: forget a source added with Open Snapshot Source…. */
export async function closeSource(ctx: CommandContext, arg: unknown): Promise<void> {
    const source = sourceArg(arg) ?? (await pickSource(ctx.model, "Close Snapshot Source")).id;
    if (!ctx.model.isRemembered(source)) {
        throw new EngineError("FailedPrecondition", `${sourceLabel(ctx, source)} is in an open folder; it is listed as long as the folder is open`, { source });
    }
    await ctx.model.removeSource(source);
}

export async function refresh(ctx: CommandContext): Promise<void> {
    await ctx.model.refresh({ reopen: true });
    const broken = ctx.model.sources().filter((s) => s.error);
    ctx.log.line(`refreshed: ${ctx.model.sources().length} source(s)${broken.length ? `, ${broken.length} could not be opened` : ""}`);
    for (const s of broken) ctx.log.line(`  ${s.root}: ${s.error}`);
}

/** Garbage-Collect Store: remove blobs no ref or lease holds, and stale ingests. */
export async function gc(ctx: CommandContext, arg: unknown): Promise<GcReport> {
    const source = sourceArg(arg) ?? (await pickSource(ctx.model, "Garbage-Collect Store")).id;
    const label = sourceLabel(ctx, source);
    const op = ctx.model.gc(source);
    const r = await withProgress(op, `garbage-collecting the store of ${label}`, undefined, false);
    if (op.joined) return r;
    ctx.log.block(`gc ${label}: ${r.removed.length} blob(s), ${formatBytes(r.bytes)} freed`, [
        ...r.removed.map((d) => `removed ${d}`),
        ...r.leasesRemoved.map((l) => `lease removed ${l}`),
        ...(r.ingestsRemoved ? [`${r.ingestsRemoved} stale ingest(s) removed`] : []),
    ]);
    void showInfo(`Layerscope: ${label}: ${r.removed.length} unreferenced blob(s) removed, ${formatBytes(r.bytes)} freed`);
    return r;
}

function sourceArg(arg: unknown): string | undefined {
    if (typeof arg !== "object" || arg === null) return undefined;
    const s = (arg as { source?: unknown }).source;
    if (typeof s !== "string") throw new EngineError("InvalidArgument", "the argument must name a source: {source}");
    return s;
}
