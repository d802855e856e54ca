/**
 * The VS Code side: activation wires the source model, the Refs tree and the command table.
 * The only place (with its siblings under src/extension) that imports `vscode`.
 */
import * as vscode from "vscode";
import { writeDiff } from "../engine";
import { registerCommands } from "./commands";
import type { CommandContext } from "./commands/context";
import { graphCommands } from "./commands/graphCommands";
import { ENGINE_SETTINGS, readSettings } from "./config";
import { activateContents } from "./contents";
import { recordE2eEvents } from "./e2eEvents";
import { createGraphController } from "./graph";
import { guarded, Log } from "./log";
import { SourceModel } from "./model/sourceModel";
import { RefsTreeProvider } from "./tree/refsTree";
import { showInfo, withProgressNotification } from "./notify";

const REMEMBERED_KEY = "layerscope.sources";

export function activate(context: vscode.ExtensionContext): { readonly model: SourceModel } {
    const log = new Log();
    const model = new SourceModel({
        folders: () => (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === "file").map((f) => f.uri.fsPath),
        remembered: () => context.workspaceState.get<string[]>(REMEMBERED_KEY, []),
        remember: async (roots) => context.workspaceState.update(REMEMBERED_KEY, [...roots]),
        settings: readSettings,
        globalStorage: context.globalStorageUri.fsPath,
    });
    const tree = new RefsTreeProvider(model);
    const view = vscode.window.createTreeView("layerscope.refs", { treeDataProvider: tree, showCollapseAll: true });
    const ctx: CommandContext = { model, tree, view, log };
    const graph = createGraphController(context, model, log.channel);
    const contents = activateContents(model);
    const refreshQuietly = (reopen: boolean): void => {
        void guarded(log, "layerscope.refresh", "Refresh", () => model.refresh({ reopen }));
    };
    const watcher = vscode.workspace.createFileSystemWatcher("**/layerscope.json");
    context.subscriptions.push(
        log,
        model,
        tree,
        view,
        watcher,
        graph,
        ...contents.disposables,
        ...registerCommands(ctx, { ...graphCommands(graph), ...contents.commands }),
        vscode.commands.registerCommand("layerscope.diffFolders", () => guarded(log, "layerscope.diffFolders", "Compute Layer Diff", () => diffFolders(log))),
        vscode.workspace.onDidChangeWorkspaceFolders(() => refreshQuietly(false)),
        vscode.workspace.onDidChangeConfiguration((e) => {
            if (ENGINE_SETTINGS.some((s) => e.affectsConfiguration(s))) refreshQuietly(false);
        }),
        watcher.onDidCreate(() => refreshQuietly(false)),
        watcher.onDidDelete(() => refreshQuietly(false)),
        watcher.onDidChange(() => refreshQuietly(true)),
    );
    const e2e = recordE2eEvents(model, log);
    if (e2e) context.subscriptions.push(e2e);
    refreshQuietly(false);
    return { model };
}

export function deactivate(): void {
    // Disposables registered in activate() are released by VS Code.
}

async function pickFolder(title: string): Promise<string | undefined> {
    const picked = await vscode.window.showOpenDialog({ title, canSelectFolders: true, canSelectFiles: false, canSelectMany: false });
    return picked?.[0]?.fsPath;
}

async function diffFolders(log: Log): Promise<void> {
    const lower = await pickFolder("Layerscope: lower snapshot (the parent layer's root; may be an empty folder)");
    if (!lower) return;
    const upper = await pickFolder("Layerscope: upper snapshot (a full root filesystem, or an overlayfs upperdir)");
    if (!upper) return;
    const mode = await vscode.window.showQuickPick(
        [
            { label: "Two full trees", description: "as containerd's walking differ", overlay: false },
            { label: "Overlayfs upperdir", description: "upper holds only the layer's changes, with whiteouts", overlay: true },
        ],
        { title: "Layerscope: what is the upper folder?" },
    );
    if (!mode) return;
    const result = await withProgressNotification(
        "Layerscope: computing the layer diff",
        true,
        async (_report, token) => {
            const abort = new AbortController();
            const sub = token.onCancellationRequested(() => abort.abort());
            try {
                return await writeDiff({ lower, upper, overlay: mode.overlay, signal: abort.signal });
            } finally {
                sub.dispose();
            }
        },
    );
    log.line(`diff ${lower} -> ${upper}${mode.overlay ? " (overlay)" : ""}: ${result.diffID} (${result.size} bytes)`);
    const pick = await showInfo(
        `Layer diffID ${result.diffID.slice(0, 19)}… (${result.size.toLocaleString()} bytes uncompressed)`,
        "Copy diffID",
    );
    if (pick) {
        await vscode.env.clipboard.writeText(result.diffID);
    }
}
