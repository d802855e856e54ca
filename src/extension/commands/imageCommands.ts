/**
 * Image commands: Import Image… (an OCI layout, OCI archive or docker save archive into a
 * snapshot workspace), Verify Image… (recompute every layer of an image and say why digests
 * differ) and Export as OCI Layout… (a ref's layer chain). Each with progress and Cancel.
 */
import * as path from "node:path";
import * as vscode from "vscode";
import { describeNameProfile, EngineError, exportOci, importImage, type ImportProgress, verifyImage } from "../../engine";
import type { CommandContext } from "./context";
import { PickCanceled, pickCompression } from "./pickers";
import { reportLines, sourceLabel } from "./refCommands";
import { resolveTarget } from "./targets";
import { showError, showInfo, withProgressNotification } from "../notify";
import { displayText } from "../../display/displayText";

/** Runs `body` under a cancellable progress notification; Cancel aborts its signal. */
function withAbort<T>(title: string, body: (signal: AbortSignal, report: (message: string, increment?: number) => void) => Promise<T>): Thenable<T> {
    return withProgressNotification(`Layerscope: ${title}`, true, async (report, token) => {
        const abort = new AbortController();
        const sub = token.onCancellationRequested(() => abort.abort());
        try {
            return await body(abort.signal, (message, increment) => report({ message, ...(increment ? { increment } : {}) }));
        } finally {
            sub.dispose();
        }
    });
}

function importMessage(p: ImportProgress): string {
    const what = { ingest: "reading the blob", apply: "applying", record: "recording" }[p.phase];
    return `layer ${p.layer}/${p.layers} (${p.ref}): ${what}`;
}

async function pickImage(arg: unknown, title: string): Promise<string> {
    if (typeof arg === "string") return arg;
    if (arg instanceof vscode.Uri) return arg.fsPath;
    const picked = await vscode.window.showOpenDialog({
        title: `Layerscope: ${title}: an OCI image layout (folder), an OCI archive or a docker save archive (.tar)`,
        canSelectFiles: true,
        canSelectFolders: true,
        canSelectMany: false,
        openLabel: "Choose Image",
    });
    if (!picked?.[0]) throw new PickCanceled();
    return picked[0].fsPath;
}

/** Import Image…: into an open workspace source, or a new folder that becomes one. */
export async function importImageCommand(ctx: CommandContext, arg: unknown, target?: unknown): Promise<unknown> {
    const image = await pickImage(arg, "Import Image");
    let workspace: string;
    if (typeof target === "string") {
        workspace = target;
    } else {
        const open = ctx.model.sources().filter((s) => !s.error && s.kind === "workspace");
        const pick = await vscode.window.showQuickPick(
            [...open.map((s) => ({ label: displayText(s.label), description: displayText(s.root), root: s.root as string | null })), { label: "New workspace folder…", description: "created with a layerscope.json", root: null }],
            { title: "Layerscope: Import Image into", placeHolder: "Snapshot workspace" },
        );
        if (!pick) throw new PickCanceled();
        if (pick.root) workspace = pick.root;
        else {
            const dir = await vscode.window.showOpenDialog({ title: "Layerscope: folder for the new workspace", canSelectFolders: true, canSelectFiles: false, canSelectMany: false, openLabel: "Import Here" });
            if (!dir?.[0]) throw new PickCanceled();
            workspace = dir[0].fsPath;
        }
    }
    if (ctx.model.isBusy(workspace)) throw new EngineError("FailedPrecondition", `${workspace} has operations running; import when they are done`, { path: workspace });
    const settings = ctx.model.settings();
    const report = await withAbort(`importing ${path.basename(image)}`, (signal, progress) =>
        importImage(image, workspace, {
            stateDir: settings.stateLocation === "global" ? ctx.model.stateDir(workspace, settings) : undefined,
            signal,
            onProgress: (p) => progress(importMessage(p), p.phase === "record" ? 100 / p.layers : undefined),
        }),
    );
    ctx.log.block(`import ${image} (${report.kind}, ${report.platform}) into ${report.workspace}: ${report.layers.length} layer(s), top ${report.top ?? "(none)"}`, report.refs.flatMap(reportLines));
    await (ctx.model.sources().some((s) => s.root === report.workspace) ? ctx.model.refresh({ reopen: true }) : ctx.model.addSource(report.workspace));
    void showInfo(`Layerscope: imported ${report.image ?? path.basename(image)} (${report.layers.length} layer(s)) as ${report.top ?? "no refs"}`);
    return { workspace: report.workspace, top: report.top };
}

/** Verify Image…: recompute every layer and explain each difference. */
export async function verifyImageCommand(ctx: CommandContext, arg: unknown): Promise<unknown> {
    const image = await pickImage(arg, "Verify Image");
    const r = await withAbort(`verifying ${path.basename(image)}`, (signal, progress) =>
        verifyImage(image, { signal, onProgress: (p) => progress(importMessage(p), p.phase === "record" ? 100 / p.layers : undefined) }),
    );
    const lines: string[] = [];
    const mark = (m: { match: boolean }): string => (m.match ? "match  " : "differs");
    for (const l of r.layers) {
        lines.push(`layer ${l.index}  ${l.verdict}`);
        lines.push(`  diffID   ${mark(l.diffID)}  image ${l.diffID.image}  recomputed ${l.diffID.recomputed}`);
        lines.push(`  chainID  ${mark(l.chainID)}  image ${l.chainID.image}  recomputed ${l.chainID.recomputed}`);
        lines.push(`  blob     ${mark(l.blob)}  (${l.blob.compression})  image ${l.blob.image}  recomputed ${l.blob.recomputed}`);
        lines.push(`  profile  whiteout time ${l.profile.whiteoutTime} (${l.profile.whiteoutTimeSource}); name lookup: ${l.profile.names ? describeNameProfile(l.profile.names) : l.profile.nameLookup}`);
        for (const e of l.explanation) lines.push(`  ${e}`);
        for (const d of l.contentDifferences) lines.push(`  differs: ${d}`);
    }
    ctx.log.block(`verify-image ${r.image ?? r.source} (${r.platform}): ${r.ok ? "content matches" : "content differs"}`, lines);
    ctx.model.recordImageVerification(r); // badges on every open ref with one of its chainIDs
    const verdicts = [...new Set(r.layers.map((l) => l.verdict))].join("; ");
    const message = `Layerscope: ${r.image ?? path.basename(image)}: ${r.layers.length} layer(s): ${verdicts || "no layers"}`;
    const show = r.ok ? showInfo(message, "Show Log") : showError(message, "Show Log");
    void show.then((pick) => pick && ctx.log.channel.show(true));
    return r;
}

/** Export as OCI Layout…: the ref's layer chain, in the default compression. */
export async function exportOciCommand(ctx: CommandContext, arg: unknown, outArg?: unknown): Promise<unknown> {
    const resolved = await resolveTarget(ctx.model, arg, "Export as OCI Layout");
    const t = resolved.via === "code" ? resolved.target : { ...resolved.target, ...(await pickCompression(ctx.model.settings(), `Export ${resolved.target.ref}`)) };
    const info = ctx.model.sources().find((s) => s.id === t.source);
    if (info?.kind !== "workspace") {
        throw new EngineError("Unsupported", `Export as OCI Layout works on snapshot workspaces (layerscope.json); ${sourceLabel(ctx, t.source)} is a ${info?.kind ?? "closed"} source`, { source: t.source });
    }
    let out: string;
    if (typeof outArg === "string") out = outArg;
    else {
        const dir = await vscode.window.showOpenDialog({ title: `Layerscope: folder for the OCI layout of ${displayText(t.ref)} (empty, or an existing layout to add to)`, canSelectFolders: true, canSelectFiles: false, canSelectMany: false, openLabel: "Export Here" });
        if (!dir?.[0]) throw new PickCanceled();
        out = dir[0].fsPath;
    }
    const settings = ctx.model.settings();
    const compression = ctx.model.resolveCompression(t, settings);
    const r = await withAbort(`exporting ${t.ref} as an OCI layout`, (signal) =>
        exportOci(info.root, t.ref, out, {
            compression,
            whiteoutTime: settings.whiteoutTime,
            stateDir: ctx.model.stateDir(info.root, settings),
            signal,
        }),
    );
    ctx.log.block(`export ${t.ref} -> ${r.layout} (tag ${r.tag}, ${r.platform})`, [
        `manifest  ${r.manifest.digest}`,
        `config    ${r.config.digest}`,
        ...(r.chainID ? [`chainID   ${r.chainID}`] : []),
        ...r.layers.map((l) => `${l.ref}  ${l.descriptor.digest}  ${l.descriptor.mediaType}  diffID ${l.diffID}`),
    ]);
    await ctx.model.refresh({ reopen: true }); // blobs computed or converted by the export
    void showInfo(`Layerscope: exported ${t.ref} (${r.layers.length} layer(s), ${compression.type}) to ${r.layout}`);
    return r;
}
