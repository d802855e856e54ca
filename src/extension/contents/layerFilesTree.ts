/**
 * The Layer Files view (TreeDataProvider over LayerFilesData) and the file decorations of
 * `layerscope:` URIs: A/M/D badges in the change colours of the SCM view, on the tree's rows and
 * on editor tabs alike.
 */
import * as vscode from "vscode";
import { isEngineError } from "../../engine";
import type { ContentsService } from "./contentsService";
import { fromUri, toUri } from "./layerFileSystem";
import { type BrowseRootNode, type FilesNode, type FilesRow, LayerFilesData } from "./layerFilesData";
import { LAYER_SCHEME } from "./layerUri";
import { treeItemOf } from "../tree/refsTree";

export class LayerFilesTreeProvider implements vscode.TreeDataProvider<FilesNode>, vscode.Disposable {
    private readonly changed = new vscode.EventEmitter<FilesNode | undefined>();
    readonly onDidChangeTreeData = this.changed.event;
    readonly data: LayerFilesData;

    constructor(service: ContentsService) {
        this.data = new LayerFilesData(service);
    }

    /** Shows a layer or view as a root of the tree; returns its node (to reveal it). */
    add(root: Omit<BrowseRootNode, "type">): BrowseRootNode {
        const node = this.data.add(root);
        this.changed.fire(undefined);
        return node;
    }

    remove(node: BrowseRootNode): void {
        this.data.remove(node);
        this.changed.fire(undefined);
    }

    prune(live: ReadonlySet<string>): void {
        if (this.data.prune(live)) this.changed.fire(undefined);
    }

    getTreeItem(node: FilesNode): vscode.TreeItem {
        return toTreeItem(this.data.row(node));
    }

    async getChildren(node?: FilesNode): Promise<FilesNode[]> {
        try {
            return await this.data.children(node);
        } catch (err) {
            const message = err instanceof Error ? err.message : String(err);
            return [{ type: "message", key: `error\0${Math.random()}`, message, severity: "error" }];
        }
    }

    /** Only browse roots are revealed (they have no parent). */
    getParent(): FilesNode | undefined {
        return undefined;
    }

    dispose(): void {
        this.changed.dispose();
    }
}

function toTreeItem(row: FilesRow): vscode.TreeItem {
    const item = treeItemOf(row);
    if (row.location) item.resourceUri = toUri(row.location);
    if (!row.icon && row.kind === "file") item.iconPath = vscode.ThemeIcon.File;
    else if (!row.icon && row.kind === "folder") item.iconPath = vscode.ThemeIcon.Folder;
    return item;
}

const DECORATIONS = {
    added: { badge: "A", color: "gitDecoration.addedResourceForeground", tooltip: "Added by this layer" },
    modified: { badge: "M", color: "gitDecoration.modifiedResourceForeground", tooltip: "Modified by this layer" },
    deleted: { badge: "D", color: "gitDecoration.deletedResourceForeground", tooltip: "Deleted by this layer (whiteout)" },
} as const;

/** Badges for entries of a layer view: added, modified, deleted; an opaque directory is "O". */
export class LayerDecorations implements vscode.FileDecorationProvider {
    constructor(private readonly service: ContentsService) {}

    async provideFileDecoration(uri: vscode.Uri): Promise<vscode.FileDecoration | undefined> {
        if (uri.scheme !== LAYER_SCHEME) return undefined;
        try {
            const loc = fromUri(uri);
            if (loc.view !== "layer" || loc.path === "/") return undefined;
            const e = await this.service.stat(loc);
            if (e.type === "absent") return undefined;
            if (e.opaque) return new vscode.FileDecoration("O", "Opaque directory: nothing of the lower layers shows through it", new vscode.ThemeColor(DECORATIONS.modified.color));
            const change = e.type === "whiteout" ? "deleted" : e.change;
            if (change !== "added" && change !== "modified" && change !== "deleted") return undefined;
            const d = DECORATIONS[change];
            return new vscode.FileDecoration(d.badge, d.tooltip, new vscode.ThemeColor(d.color));
        } catch (err) {
            if (isEngineError(err)) return undefined;
            throw err;
        }
    }
}
