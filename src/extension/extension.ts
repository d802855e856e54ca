/**
 * The VS Code side: thin glue from commands to the engine. The only place that imports `vscode`.
 */
import * as vscode from "vscode";
import { isEngineError, writeDiff } from "../engine";

let log: vscode.OutputChannel | undefined;

function output(): vscode.OutputChannel {
    log ??= vscode.window.createOutputChannel("Layerscope");
    return log;
}

/** Runs a command body with one error boundary: one message for the user, details in the log. */
async function guarded(title: string, body: () => Promise<void>): Promise<void> {
    try {
        await body();
    } catch (err) {
        if (isEngineError(err, "Canceled")) {
            return;
        }
        const message = err instanceof Error ? err.message : String(err);
        output().appendLine(`[${new Date().toISOString()}] ${title} failed: ${err instanceof Error ? err.stack ?? message : message}`);
        void vscode.window.showErrorMessage(`Layerscope: ${message}`, "Show Log").then((pick) => {
            if (pick) {
                output().show(true);
            }
        });
    }
}

async function pickFolder(title: string): Promise<string | undefined> {
    const picked = await vscode.window.showOpenDialog({ title, canSelectFolders: true, canSelectFiles: false, canSelectMany: false });
    return picked?.[0]?.fsPath;
}

async function diffFolders(): Promise<void> {
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
    const result = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: "Layerscope: computing the layer diff", cancellable: true },
        async (_progress, token) => {
            const abort = new AbortController();
            const sub = token.onCancellationRequested(() => abort.abort());
            try {
                return await writeDiff({ lower, upper, overlay: mode.overlay, signal: abort.signal });
            } finally {
                sub.dispose();
            }
        },
    );
    output().appendLine(`diff ${lower} -> ${upper}${mode.overlay ? " (overlay)" : ""}: ${result.diffID} (${result.size} bytes)`);
    const pick = await vscode.window.showInformationMessage(
        `Layer diffID ${result.diffID.slice(0, 19)}… (${result.size.toLocaleString()} bytes uncompressed)`,
        "Copy diffID",
    );
    if (pick) {
        await vscode.env.clipboard.writeText(result.diffID);
    }
}

export function activate(context: vscode.ExtensionContext): void {
    context.subscriptions.push(
        vscode.commands.registerCommand("layerscope.diffFolders", () => guarded("Compute Layer Diff", diffFolders)),
        { dispose: () => log?.dispose() },
    );
}

export function deactivate(): void {
    // Disposables registered in activate() are released by VS Code.
}
