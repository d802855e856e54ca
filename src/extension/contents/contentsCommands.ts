/**
 * The layer-contents commands: Browse Layer Files, Browse Merged View, Open File, Open Changes,
 * Open All Changes, Save File As…, Open in Explorer, Close. Each takes a Refs-tree node, a
 * Layer Files node, a `layerscope:` Uri (editor title, Explorer), a checked object from code
 * (the graph), or nothing (pickers).
 */
import * as path from "node:path";
import * as vscode from "vscode";
import { EngineError, type LayerEntry } from "../../engine";
import type { CommandContext } from "../commands/context";
import { PickCanceled } from "../commands/pickers";
import { resolveTarget } from "../commands/targets";
import { formatBytes } from "../tree/format";
import type { ContentsService } from "./contentsService";
import { changePair, layerChanges } from "./layerDiff";
import { fromUri, toUri } from "./layerFileSystem";
import { type BrowseRootNode, type BrowseView, type EntryNode, VIEW_TITLES } from "./layerFilesData";
import type { LayerFilesTreeProvider } from "./layerFilesTree";
import { baseName, LAYER_SCHEME, type LayerLocation, normalizeInnerPath } from "./layerUri";
import { showInfo, withProgressNotification } from "../notify";
import { displayText, statusText } from "../../display/displayText";

type Entry = { readonly title: string; readonly run: (ctx: CommandContext, ...args: unknown[]) => Promise<unknown> };

export interface ContentsUi {
    readonly service: ContentsService;
    readonly tree: LayerFilesTreeProvider;
    readonly view: vscode.TreeView<import("./layerFilesData").FilesNode>;
}

/** Most files Open All Changes puts in one multi-diff editor. */
const MAX_CHANGES = 200;

export function contentsCommands(ui: ContentsUi): Record<string, Entry> {
    return {
        "layerscope.browseLayer": { title: "Browse Layer Files", run: (ctx, arg) => browse(ctx, ui, arg, "layer") },
        "layerscope.browseMerged": { title: "Browse Merged View", run: (ctx, arg) => browse(ctx, ui, arg, "merged") },
        "layerscope.openLayerFile": { title: "Open File", run: (ctx, arg) => openFile(ctx, ui, arg) },
        "layerscope.openLayerChanges": { title: "Open Changes", run: (ctx, arg) => openChanges(ctx, ui, arg) },
        "layerscope.openAllLayerChanges": { title: "Open All Changes", run: (ctx, arg) => openAllChanges(ctx, ui, arg) },
        "layerscope.saveLayerFileAs": { title: "Save File As", run: (ctx, arg) => saveAs(ctx, ui, arg) },
        "layerscope.addLayerToExplorer": { title: "Open in Explorer", run: (ctx, arg) => addToExplorer(ctx, ui, arg) },
        "layerscope.closeLayerBrowser": { title: "Close", run: async (_ctx, arg) => (isBrowseRoot(arg) ? ui.tree.remove(arg) : undefined) },
    };
}

/** Browse Layer Files / Browse Merged View: the ref's files as a root of the Layer Files view. */
async function browse(ctx: CommandContext, ui: ContentsUi, arg: unknown, view: BrowseView): Promise<LayerLocation> {
    const title = view === "layer" ? "Browse Layer Files" : "Browse Merged View";
    const { target } = await resolveTarget(ctx.model, arg, title);
    const loc = ui.service.location(target.source, target.ref, view);
    // Open it now: a ref that cannot be read (a Merge's layer view, a missing snapshot) fails here, once.
    await ui.service.stat(loc);
    const label = ctx.model.sources().find((s) => s.id === target.source)?.label ?? path.basename(target.source);
    const node = ui.tree.add({ source: target.source, sourceLabel: label, ref: target.ref, view });
    await vscode.commands.executeCommand("layerscope.layerFiles.focus");
    await ui.view.reveal(node, { select: true, focus: true, expand: true });
    return loc;
}

/** Open File: the file read-only in a normal editor (the language comes from its name). */
async function openFile(_ctx: CommandContext, ui: ContentsUi, arg: unknown): Promise<void> {
    const loc = await locationArg(ui, arg, "Open File");
    await vscode.commands.executeCommand("vscode.open", toUri(loc), { preview: false } satisfies vscode.TextDocumentShowOptions);
}

/** Open Changes: the diff editor, the lower ref's merged view against the layer's copy. */
async function openChanges(_ctx: CommandContext, ui: ContentsUi, arg: unknown): Promise<void> {
    const { source, ref, path: p, entry } = await changeArg(ui, arg);
    const pair = await changePair(ui.service, source, ref, p, entry);
    await vscode.commands.executeCommand("vscode.diff", toUri(pair.left), toUri(pair.right), displayText(pair.title), { preview: false } satisfies vscode.TextDocumentShowOptions);
}

/**
 * Open All Changes: every file the layer adds, modifies or deletes (below the chosen folder) in
 * one multi-diff editor, largest first.
 */
async function openAllChanges(ctx: CommandContext, ui: ContentsUi, arg: unknown): Promise<void> {
    let source: string;
    let ref: string;
    let dir = "/";
    if (isBrowseRoot(arg)) ({ source, ref } = arg);
    else if (isEntryNode(arg)) ({ source, ref } = arg.root), (dir = arg.entry.path);
    else ({ source, ref } = (await resolveTarget(ctx.model, arg, "Open All Changes")).target);
    const pairs = await layerChanges(ui.service, source, ref, dir);
    if (pairs.length === 0) {
        void showInfo(`Layerscope: ${ref}'s layer changes no file${dir === "/" ? "" : ` under ${dir}`}`);
        return;
    }
    const shown = pairs.slice(0, MAX_CHANGES);
    const resources = shown.map((p): [vscode.Uri, vscode.Uri, vscode.Uri] => [toUri(p.right.view === "absent" ? p.left : p.right), toUri(p.left), toUri(p.right)]);
    const more = pairs.length > shown.length ? ` (the ${shown.length} largest of ${pairs.length})` : "";
    await vscode.commands.executeCommand("vscode.changes", displayText(`${ref}: layer changes${dir === "/" ? "" : ` in ${dir}`}${more}`), resources);
}

/** Save File As…: streams the file to a file the user picks (any size; never via the snapshots). */
async function saveAs(_ctx: CommandContext, ui: ContentsUi, arg: unknown): Promise<string> {
    const loc = await locationArg(ui, arg, "Save File As");
    const entry = await ui.service.stat(loc);
    const name = baseName(loc.path) || "file";
    const home = vscode.workspace.workspaceFolders?.find((f) => f.uri.scheme === "file")?.uri;
    const picked = await vscode.window.showSaveDialog({
        title: `Layerscope: save ${displayText(`${loc.ref}:${loc.path}`)}${entry.type !== "absent" ? ` (${formatBytes(entry.size)})` : ""} as`,
        saveLabel: "Save",
        ...(home ? { defaultUri: vscode.Uri.joinPath(home, safeFileName(name)) } : {}),
    });
    if (!picked) throw new PickCanceled();
    if (picked.scheme !== "file") {
        throw new EngineError("InvalidArgument", `Save File As writes to this machine's file system; ${picked.toString()} is not a local file`);
    }
    const dest = picked.fsPath;
    const bytes = await withProgressNotification(
        `Layerscope: saving ${name} to ${dest}`,
        true,
        async (_report, token) => {
            const abort = new AbortController();
            const sub = token.onCancellationRequested(() => abort.abort());
            try {
                return await ui.service.saveAs(loc, dest, abort.signal);
            } finally {
                sub.dispose();
            }
        },
    );
    vscode.window.setStatusBarMessage(statusText(`Layerscope: saved ${formatBytes(bytes)} to ${dest}`), 6000);
    return dest;
}

/** Open in Explorer: the browsed layer or view as a workspace folder of this window. */
async function addToExplorer(ctx: CommandContext, ui: ContentsUi, arg: unknown): Promise<void> {
    let loc: LayerLocation;
    if (isBrowseRoot(arg)) loc = ui.service.location(arg.source, arg.ref, arg.view);
    else {
        const { target } = await resolveTarget(ctx.model, arg, "Open in Explorer");
        loc = ui.service.location(target.source, target.ref, "merged");
    }
    await ui.service.stat(loc);
    const uri = toUri(loc);
    const folders = vscode.workspace.workspaceFolders ?? [];
    if (!folders.some((f) => f.uri.toString() === uri.toString())) {
        const name = `${loc.ref} (${VIEW_TITLES[loc.view === "layer" ? "layer" : "merged"]})`;
        // Appended after the existing folders: the first folder (and the extension host) stays.
        if (!vscode.workspace.updateWorkspaceFolders(folders.length, 0, { uri, name })) {
            throw new EngineError("FailedPrecondition", "VS Code did not add the folder (another change to the workspace folders is in progress); try again");
        }
    }
    await vscode.commands.executeCommand("workbench.view.explorer");
}

// ------------------------------------------------------------------------------ arguments

function isBrowseRoot(arg: unknown): arg is BrowseRootNode {
    return typeof arg === "object" && arg !== null && (arg as { type?: unknown }).type === "browse";
}

function isEntryNode(arg: unknown): arg is EntryNode {
    return typeof arg === "object" && arg !== null && (arg as { type?: unknown }).type === "entry" && isBrowseRoot((arg as { root?: unknown }).root);
}

/** A file's location: a Layer Files row, a `layerscope:` Uri, the active editor's file. */
async function locationArg(ui: ContentsUi, arg: unknown, title: string): Promise<LayerLocation> {
    if (isEntryNode(arg)) return ui.service.location(arg.root.source, arg.root.ref, arg.root.view, arg.entry.path);
    if (arg instanceof vscode.Uri) return layerLocation(arg);
    if (arg === undefined) {
        const active = vscode.window.activeTextEditor?.document.uri;
        if (active?.scheme === LAYER_SCHEME) return layerLocation(active);
        throw new EngineError("InvalidArgument", `${title}: pick a file in the Layer Files view, or run it with a file of a layer open in the editor`);
    }
    return parseFileArg(ui, arg);
}

function layerLocation(uri: vscode.Uri): LayerLocation {
    if (uri.scheme !== LAYER_SCHEME) throw new EngineError("InvalidArgument", `${uri.toString()} is not a file of a layer (layerscope: URI)`);
    const loc = fromUri(uri);
    if (loc.view === "absent") throw new EngineError("InvalidArgument", `${uri.path}: this side of the diff has no file`);
    return loc;
}

/** {source, ref, path[, view]} from code (the graph); checked field by field. */
function parseFileArg(ui: ContentsUi, arg: unknown): LayerLocation {
    if (typeof arg !== "object" || arg === null) throw new EngineError("InvalidArgument", "a file argument must be {source, ref, path}");
    const o = arg as Record<string, unknown>;
    const { source, ref, path: p, view } = o;
    if (typeof source !== "string" || typeof ref !== "string" || typeof p !== "string" || !source || !ref) {
        throw new EngineError("InvalidArgument", "a file argument must be {source, ref, path} with non-empty strings");
    }
    if (view !== undefined && view !== "layer" && view !== "merged") throw new EngineError("InvalidArgument", 'a file argument\'s view must be "layer" or "merged"');
    return ui.service.location(source, ref, (view as BrowseView | undefined) ?? "layer", normalizeInnerPath(p));
}

async function changeArg(ui: ContentsUi, arg: unknown): Promise<{ source: string; ref: string; path: string; entry?: LayerEntry }> {
    if (isEntryNode(arg)) {
        if (arg.root.view !== "layer") {
            return { source: arg.root.source, ref: arg.root.ref, path: arg.entry.path };
        }
        return { source: arg.root.source, ref: arg.root.ref, path: arg.entry.path, entry: arg.entry };
    }
    const loc = await locationArg(ui, arg, "Open Changes");
    return { source: ui.service.source(loc.source).id, ref: loc.ref, path: loc.path };
}

/** A name from a layer as a file name here: %XX-escaped bytes stay escaped, "/" cannot occur. */
function safeFileName(name: string): string {
    return name.replace(/[\\:*?"<>|]/g, "_") || "file";
}
