/**
 * The Refs view: VS Code's TreeDataProvider over RefsTreeData. Only maps rows to TreeItems and
 * model events to refreshes (batched, so a compute of many layers repaints a few times a second).
 */
import * as vscode from "vscode";
import type { SourceModel } from "../model/sourceModel";
import { type RefNode, RefsTreeData, refTooltip, type Row, type TreeNode } from "./treeData";
import { displayLines, displayText } from "../../display/displayText";

const REPAINT_MS = 100;

export class RefsTreeProvider implements vscode.TreeDataProvider<TreeNode>, vscode.Disposable {
    private readonly changed = new vscode.EventEmitter<TreeNode | TreeNode[] | undefined>();
    readonly onDidChangeTreeData = this.changed.event;
    readonly data: RefsTreeData;
    private readonly pending = new Set<TreeNode>();
    private pendingAll = false;
    private timer: NodeJS.Timeout | undefined;
    private readonly subscriptions: vscode.Disposable[] = [];

    constructor(private readonly model: SourceModel) {
        this.data = new RefsTreeData(model);
        model.onDidChangeSources(() => {
            this.data.prune();
            this.schedule(undefined);
        }, undefined, this.subscriptions);
        model.onDidChangeRefs((e) => {
            if (!e.refs) return this.schedule(this.data.sourceNode(e.source));
            for (const r of e.refs) {
                const n = this.data.knownRefNode(e.source, r);
                if (n) this.schedule(n);
            }
        }, undefined, this.subscriptions);
        model.onOperation((e) => {
            const n = this.data.knownRefNode(e.source, e.ref);
            if (n && (e.phase === "diff" || e.phase === "convert")) this.schedule(n);
        }, undefined, this.subscriptions);
    }

    private schedule(node: TreeNode | undefined): void {
        if (node) this.pending.add(node);
        else this.pendingAll = true;
        this.timer ??= setTimeout(() => this.flush(), REPAINT_MS);
    }

    /**
     * Tells VS Code now what changed since the last repaint. Before a reveal of a node the
     * model just added (Open Snapshot Source…): VS Code resolves a revealed element among the
     * children it knows, and waits only for refreshes already announced.
     */
    flush(): void {
        if (this.timer) clearTimeout(this.timer);
        this.timer = undefined;
        if (!this.pendingAll && this.pending.size === 0) return;
        const nodes = [...this.pending];
        this.pending.clear();
        const all = this.pendingAll;
        this.pendingAll = false;
        this.changed.fire(all ? undefined : nodes);
    }

    getTreeItem(node: TreeNode): vscode.TreeItem {
        const item = treeItemOf(this.data.row(node));
        // VS Code calls resolveTreeItem on hover only while the tooltip is unset.
        if (node.type === "ref") item.tooltip = undefined;
        return item;
    }

    async getChildren(node?: TreeNode): Promise<TreeNode[]> {
        try {
            return await this.data.children(node);
        } catch (err) {
            const message = err instanceof Error ? err.message : String(err);
            // One row per failed parent: its id holds the parent's.
            let parent: string | null = null;
            try {
                parent = node ? this.data.row(node).id : null;
            } catch {
                parent = JSON.stringify(node ?? null);
            }
            const key = JSON.stringify(["children-error", parent]);
            return [{ type: "message", source: node && "source" in node ? node.source : "", key, message, severity: "error" }];
        }
    }

    getParent(node: TreeNode): TreeNode | undefined {
        return this.data.parent(node);
    }

    /** On hover: the full tooltip of a ref, with chain IDs and variants from its report. */
    async resolveTreeItem(item: vscode.TreeItem, node: TreeNode): Promise<vscode.TreeItem> {
        if (node.type === "ref") {
            try {
                item.tooltip = displayLines(refTooltip(await this.model.report(node.source, node.ref)));
            } catch {
                const tooltip = this.data.row(node).tooltip;
                item.tooltip = tooltip === undefined ? undefined : displayLines(tooltip);
            }
        }
        return item;
    }

    refNode(source: string, ref: string): RefNode {
        return this.data.refNode(source, ref);
    }

    dispose(): void {
        if (this.timer) clearTimeout(this.timer);
        this.subscriptions.forEach((d) => d.dispose());
        this.changed.dispose();
    }
}

/** The fields a pure tree row (the Refs tree's, the Layer Files view's) gives its TreeItem. */
export type TreeRowBase = Pick<Row, "id" | "label" | "description" | "tooltip" | "icon" | "contextValue" | "collapsible" | "command">;

/**
 * A TreeItem from a pure row: label, state, id, texts, codicon and command. Labels,
 * descriptions and tooltips hold names from trees and databases: control and bidi characters
 * are shown as escapes (displayText.ts).
 */
export function treeItemOf(row: TreeRowBase): vscode.TreeItem {
    const state = {
        none: vscode.TreeItemCollapsibleState.None,
        collapsed: vscode.TreeItemCollapsibleState.Collapsed,
        expanded: vscode.TreeItemCollapsibleState.Expanded,
    }[row.collapsible];
    const item = new vscode.TreeItem(displayText(row.label), state);
    item.id = row.id;
    item.description = row.description === undefined ? undefined : displayText(row.description);
    item.tooltip = row.tooltip === undefined ? undefined : displayLines(row.tooltip);
    item.contextValue = row.contextValue;
    if (row.icon) item.iconPath = new vscode.ThemeIcon(row.icon.id, row.icon.color ? new vscode.ThemeColor(row.icon.color) : undefined);
    if (row.command) item.command = { command: row.command.command, title: row.command.title, arguments: [...row.command.arguments] };
    return item;
}
