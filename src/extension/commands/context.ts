/** What every command handler reaches: the model, the tree, the log. */
import type * as vscode from "vscode";
import type { Log } from "../log";
import type { SourceModel } from "../model/sourceModel";
import type { RefsTreeProvider } from "../tree/refsTree";

export interface CommandContext {
    readonly model: SourceModel;
    readonly tree: RefsTreeProvider;
    readonly view: vscode.TreeView<import("../tree/treeData").TreeNode>;
    readonly log: Log;
}
