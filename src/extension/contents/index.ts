/**
 * Layer contents in the editor: the `layerscope:` file system, the Layer Files view with its
 * decorations, and their commands. `activateContents` wires them; the caller registers the
 * returned commands with the others (one error boundary per command).
 */
import * as vscode from "vscode";
import type { SourceModel } from "../model/sourceModel";
import { contentsCommands } from "./contentsCommands";
import { ContentsService, DEFAULT_MAX_OPEN_BYTES } from "./contentsService";
import { LayerFileSystem } from "./layerFileSystem";
import { LayerDecorations, LayerFilesTreeProvider } from "./layerFilesTree";
import { LAYER_SCHEME } from "./layerUri";

export const LAYER_FILES_VIEW = "layerscope.layerFiles";

/** layerscope.maxOpenFileSize (MiB) in bytes; a bad value falls back to the default. */
function maxOpenBytes(): number {
    const mib = vscode.workspace.getConfiguration("layerscope").get<unknown>("maxOpenFileSize");
    return typeof mib === "number" && Number.isFinite(mib) && mib > 0 ? Math.floor(mib * 1024 * 1024) : DEFAULT_MAX_OPEN_BYTES;
}

export function activateContents(model: SourceModel): { readonly disposables: vscode.Disposable[]; readonly commands: ReturnType<typeof contentsCommands> } {
    const service = new ContentsService(model);
    const fs = new LayerFileSystem(service, maxOpenBytes);
    const tree = new LayerFilesTreeProvider(service);
    const view = vscode.window.createTreeView(LAYER_FILES_VIEW, { treeDataProvider: tree, showCollapseAll: true });
    const disposables: vscode.Disposable[] = [
        { dispose: () => service.dispose() },
        fs,
        tree,
        view,
        vscode.workspace.registerFileSystemProvider(LAYER_SCHEME, fs, { isReadonly: true, isCaseSensitive: true }),
        vscode.window.registerFileDecorationProvider(new LayerDecorations(service)),
        model.onDidChangeSources(() => tree.prune(new Set(model.sources().filter((s) => !s.error).map((s) => s.id)))),
    ];
    return { disposables, commands: contentsCommands({ service, tree, view }) };
}
