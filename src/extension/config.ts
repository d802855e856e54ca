/** The `layerscope.*` settings read from VS Code (fresh at each call). */
import * as vscode from "vscode";
import { parseSettings, type Settings } from "./model/settings";

export function readSettings(): Settings {
    const c = vscode.workspace.getConfiguration("layerscope");
    return parseSettings((key) => c.get(key));
}

/** Settings whose change means reopening engines (the others are read per operation). */
export const ENGINE_SETTINGS = ["layerscope.stateLocation", "layerscope.whiteoutTime", "layerscope.concurrency"];
