/**
 * The ref-graph webview's HTML: a strict CSP (no inline script or style, scripts only with this
 * load's nonce, styles and fonts only from the extension's own files) and no data at all: the
 * graph arrives by message after the webview says "ready".
 */
import { randomBytes } from "node:crypto";
import * as vscode from "vscode";

export const GRAPH_VIEW_TYPE = "layerscope.graph";

/** Folders the webview may load from: the bundles and the icons, nothing else. */
export function localResourceRoots(extensionUri: vscode.Uri): vscode.Uri[] {
    return [vscode.Uri.joinPath(extensionUri, "dist"), vscode.Uri.joinPath(extensionUri, "media")];
}

export function webviewOptions(extensionUri: vscode.Uri): vscode.WebviewOptions {
    return { enableScripts: true, enableCommandUris: false, localResourceRoots: localResourceRoots(extensionUri) };
}

/**
 * NOTE: style-src carries the nonce too, for the toolkit (FAST): the <style> elements it adds
 * itself are stamped with the nonce it reads from <meta property="csp-nonce">. No
 * 'unsafe-inline' anywhere (see webview/components.ts).
 */
export function graphHtml(webview: vscode.Webview, extensionUri: vscode.Uri): string {
    const nonce = randomBytes(16).toString("base64");
    const script = webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, "dist", "webview.js"));
    const style = webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, "dist", "webview.css"));
    const csp = [
        "default-src 'none'",
        `img-src ${webview.cspSource} data:`,
        `font-src ${webview.cspSource}`,
        `style-src ${webview.cspSource} 'nonce-${nonce}'`,
        `script-src 'nonce-${nonce}'`,
    ].join("; ");
    return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta property="csp-nonce" content="${nonce}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${style.toString()}">
<title>Layerscope Ref Graph</title>
</head>
<body data-ready="false">
<div id="app"></div>
<script type="module" nonce="${nonce}" src="${script.toString()}"></script>
</body>
</html>`;
}
