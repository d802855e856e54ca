/**
 * The ref-graph webview: one panel per snapshot source, revived after a reload by its serializer.
 * The host's commands `layerscope.openGraph` and `layerscope.showInGraph` call `show`.
 */
import * as vscode from "vscode";
import { isPersistedState } from "../../protocol/guards";
import type { LayerscopeModel } from "../model/hostApi";
import { GRAPH_VIEW_TYPE, webviewOptions } from "./graphHtml";
import { GraphPanel } from "./graphPanel";

export interface GraphController extends vscode.Disposable {
    /** Opens (or reveals) the graph of a source; with focusRef, selects and centres that ref (and with `sizes`, reads its sizes). */
    show(source: string, focusRef?: string, opts?: { readonly sizes?: boolean }): Promise<void>;
}

export function createGraphController(context: vscode.ExtensionContext, model: LayerscopeModel, log: vscode.OutputChannel): GraphController {
    const panels = new Map<string, GraphPanel>();

    const adopt = (panel: vscode.WebviewPanel, source: string): GraphPanel => {
        const gp = new GraphPanel(panel, source, context.extensionUri, model, log, () => {
            if (panels.get(source) === gp) panels.delete(source);
        });
        panels.set(source, gp);
        return gp;
    };

    const serializer = vscode.window.registerWebviewPanelSerializer(GRAPH_VIEW_TYPE, {
        async deserializeWebviewPanel(panel: vscode.WebviewPanel, state: unknown): Promise<void> {
            // The state is whatever the webview last saved: check it like any message.
            if (!isPersistedState(state) || panels.has(state.source)) {
                log.appendLine("[graph] closing a restored graph panel without a usable saved state");
                panel.dispose();
                return;
            }
            adopt(panel, state.source);
        },
    });

    return {
        async show(source: string, focusRef?: string, opts: { readonly sizes?: boolean } = {}): Promise<void> {
            let gp = panels.get(source);
            if (gp) {
                gp.panel.reveal(undefined, false);
            } else {
                const panel = vscode.window.createWebviewPanel(GRAPH_VIEW_TYPE, "Ref Graph", vscode.ViewColumn.Active, webviewOptions(context.extensionUri));
                gp = adopt(panel, source);
            }
            gp.focus(focusRef, opts.sizes ?? false);
        },
        dispose(): void {
            serializer.dispose();
            for (const gp of [...panels.values()]) gp.dispose();
            panels.clear();
        },
    };
}
