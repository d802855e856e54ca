/** The webview side of the VS Code API, typed; messages out are the protocol's only. */
import type { WebviewToHost } from "../src/protocol/messages";

interface VsCodeApi {
    postMessage(message: unknown): void;
    getState(): unknown;
    setState(state: unknown): void;
}

declare function acquireVsCodeApi(): VsCodeApi;

const api = acquireVsCodeApi();

export function post(message: WebviewToHost): void {
    api.postMessage(message);
}

export function loadState(): unknown {
    return api.getState();
}

export function saveState(state: unknown): void {
    api.setState(state);
}
