/**
 * The Layer Files view as plain data (no `vscode` import; layerFilesTree.ts maps rows to
 * TreeItems): the layers and views being browsed, their directories read lazily through the
 * ContentsService, and how each row reads (change, size, link target, owner and mode).
 */
import type { LayerEntry } from "../../engine";
import { formatBytes } from "../tree/format";
import { rowId } from "../tree/treeData";
import type { ContentsService } from "./contentsService";
import { type LayerLocation, type LayerView, sourceKey } from "./layerUri";

export type BrowseView = Exclude<LayerView, "absent">;

/** A layer or view opened with Browse Layer Files / Browse Merged View. */
export interface BrowseRootNode {
    readonly type: "browse";
    /** The source's id (its root path). */
    readonly source: string;
    readonly sourceLabel: string;
    readonly ref: string;
    readonly view: BrowseView;
}

export interface EntryNode {
    readonly type: "entry";
    readonly root: BrowseRootNode;
    readonly entry: LayerEntry;
}

export interface FilesMessageNode {
    readonly type: "message";
    readonly key: string;
    readonly message: string;
    readonly severity: "error" | "info";
}

export type FilesNode = BrowseRootNode | EntryNode | FilesMessageNode;

export interface FilesRow {
    readonly id: string;
    readonly label: string;
    readonly description: string;
    readonly tooltip: string;
    /** A codicon, when the row has no resource icon (browse roots, messages). */
    readonly icon?: { readonly id: string; readonly color?: string };
    /** The row's file or folder: VS Code then takes its icon from the file icon theme. */
    readonly location?: LayerLocation;
    readonly kind: "file" | "folder" | "other";
    readonly contextValue: string;
    readonly collapsible: "none" | "collapsed" | "expanded";
    readonly command?: { readonly command: string; readonly title: string; readonly arguments: readonly unknown[] };
}

export const OPEN_FILE_COMMAND = "layerscope.openLayerFile";
export const OPEN_CHANGES_COMMAND = "layerscope.openLayerChanges";

export const VIEW_TITLES: Readonly<Record<BrowseView, string>> = { layer: "layer files", merged: "merged view" };

export class LayerFilesData {
    private roots: BrowseRootNode[] = [];

    constructor(private readonly service: ContentsService) {}

    /** Adds a root (or returns the one already there for that source, ref and view). */
    add(root: Omit<BrowseRootNode, "type">): BrowseRootNode {
        const found = this.roots.find((r) => r.source === root.source && r.ref === root.ref && r.view === root.view);
        if (found) return found;
        const node: BrowseRootNode = { type: "browse", ...root };
        this.roots = [node, ...this.roots];
        return node;
    }

    remove(node: BrowseRootNode): void {
        this.roots = this.roots.filter((r) => r !== node);
    }

    /** Drops the roots of sources that are gone. */
    prune(live: ReadonlySet<string>): boolean {
        const before = this.roots.length;
        this.roots = this.roots.filter((r) => live.has(r.source));
        return this.roots.length !== before;
    }

    list(): readonly BrowseRootNode[] {
        return this.roots;
    }

    async children(node?: FilesNode): Promise<FilesNode[]> {
        if (!node) return [...this.roots];
        if (node.type === "message") return [];
        const root = node.type === "browse" ? node : node.root;
        const dir = node.type === "browse" ? "/" : node.entry.path;
        if (node.type === "entry" && (node.entry.type !== "dir" || node.entry.change === "deleted")) return [];
        const entries = await this.service.list(locationOf(root, dir));
        const out = (entries as LayerEntry[]).map((entry): EntryNode => ({ type: "entry", root, entry }));
        // Folders first, as the Explorer lists them; names keep the engine's byte order.
        out.sort((a, b) => Number(b.entry.type === "dir") - Number(a.entry.type === "dir"));
        if (out.length === 0 && node.type === "browse") {
            return [{ type: "message", key: rowId("empty", root.source, root.ref, root.view), message: root.view === "layer" ? "this layer changes nothing" : "this view is empty", severity: "info" }];
        }
        return out;
    }

    row(node: FilesNode): FilesRow {
        switch (node.type) {
            case "browse":
                return browseRow(node);
            case "entry":
                return entryRow(node);
            case "message":
                return {
                    id: node.key,
                    label: node.message,
                    description: "",
                    tooltip: node.message,
                    icon: node.severity === "error" ? { id: "error", color: "errorForeground" } : { id: "info" },
                    kind: "other",
                    contextValue: `layerMessage.${node.severity}`,
                    collapsible: "none",
                };
        }
    }
}

export function locationOf(root: BrowseRootNode, path: string): LayerLocation {
    return { source: sourceKey(root.source), ref: root.ref, view: root.view, path };
}

/** Row ids as the Refs tree makes them (`rowId`): unambiguous whatever a ref id or path holds. */
function rootId(root: BrowseRootNode): string {
    return rowId("root", root.source, root.ref, root.view);
}

function browseRow(root: BrowseRootNode): FilesRow {
    const what = root.view === "layer"
        ? "what this ref's layer tar holds: added and modified files, deletions (whiteouts), opaque directories"
        : "the whole root filesystem of the ref: its layer chain applied in order";
    return {
        id: rootId(root),
        label: root.ref,
        description: `${VIEW_TITLES[root.view]} · ${root.sourceLabel}`,
        tooltip: `${root.ref} — ${VIEW_TITLES[root.view]}\n${what}\nsource: ${root.source}`,
        icon: { id: root.view === "layer" ? "layers" : "layers-active" },
        location: locationOf(root, "/"),
        kind: "other",
        contextValue: `layerRoot.${root.view}`,
        collapsible: "expanded",
    };
}

const CHANGE_WORDS = { added: "added", modified: "modified", unchanged: "", deleted: "deleted" } as const;

/** What the row says after the name: the change (layer view), then the size or link target. */
export function entryDescription(e: LayerEntry): string {
    const parts: string[] = [];
    if (e.change && CHANGE_WORDS[e.change]) parts.push(CHANGE_WORDS[e.change]);
    if (e.opaque) parts.push("opaque");
    switch (e.type) {
        case "file":
            if (e.change !== "deleted") parts.push(formatBytes(e.size));
            break;
        case "hardlink":
            parts.push(`hard link to ${e.linkTarget ?? "?"}`);
            break;
        case "symlink":
            parts.push(`→ ${e.linkTarget ?? "?"}`);
            break;
        case "char":
        case "block":
            parts.push(`${e.type} device ${e.device ? `${e.device.major},${e.device.minor}` : ""}`.trim());
            break;
        case "fifo":
        case "socket":
            parts.push(e.type);
            break;
        default:
            break;
    }
    return parts.join(" · ");
}

function entryRow(node: EntryNode): FilesRow {
    const e = node.entry;
    const deleted = e.change === "deleted" || e.type === "whiteout";
    const changed = node.root.view === "layer" && (e.change === "added" || e.change === "modified" || deleted) && e.type !== "dir";
    // A symbolic link opens its target (looked up in the ref's merged view).
    const readable = !deleted && (e.type === "file" || e.type === "hardlink" || e.type === "symlink");
    const command = deleted
        ? { command: OPEN_CHANGES_COMMAND, title: "Open Changes", arguments: [node] }
        : readable
          ? { command: OPEN_FILE_COMMAND, title: "Open File", arguments: [node] }
          : undefined;
    return {
        id: rowId("entry", node.root.source, node.root.ref, node.root.view, e.path),
        label: e.name,
        description: entryDescription(e),
        tooltip: entryTooltip(e),
        location: locationOf(node.root, e.path),
        kind: e.type === "dir" ? "folder" : "file",
        contextValue: `layerEntry.${e.type}.${e.change ?? "merged"}${changed ? ".changed" : ""}${readable ? ".readable" : ""}`,
        // A deleted directory has nothing below it in this layer (its old files: Open All Changes).
        collapsible: e.type === "dir" && !deleted ? "collapsed" : "none",
        ...(command ? { command } : {}),
    };
}

/** Path, type, change, size, mode, owner, mtime, link target, xattr names, link count. */
export function entryTooltip(e: LayerEntry): string {
    const lines = [e.path, `${e.type}${e.change ? ` · ${e.change}${e.opaque ? " · opaque directory" : ""}` : ""}`];
    if (e.change === "deleted" || e.type === "whiteout") {
        lines.push("deleted by this layer (a whiteout in its tar)");
    } else {
        if (e.type === "file" || e.type === "hardlink") lines.push(`${e.size.toLocaleString("en-US")} bytes (uncompressed)`);
        lines.push(`mode ${modeString(e)} (${e.mode.toString(8).padStart(4, "0")}) · uid ${e.uid} · gid ${e.gid}`);
        lines.push(`modified ${new Date(e.mtimeMs).toISOString()}`);
    }
    if (e.linkTarget !== null) lines.push(`${e.type === "hardlink" ? "hard link to" : "symbolic link to"} ${e.linkTarget}`);
    if (e.xattrs.length) lines.push(`xattrs: ${e.xattrs.join(", ")}`);
    if (e.nlink > 1) lines.push(`${e.nlink} links`);
    return lines.join("\n");
}

const TYPE_CHARS: Readonly<Record<LayerEntry["type"], string>> = {
    file: "-", hardlink: "-", dir: "d", symlink: "l", char: "c", block: "b", fifo: "p", socket: "s", whiteout: "-",
};

/** "drwxr-xr-x", with s/S, t/T for the setuid, setgid and sticky bits (as `ls -l`). */
export function modeString(e: Pick<LayerEntry, "type" | "mode">): string {
    const m = e.mode;
    const bit = (mask: number, c: string): string => (m & mask ? c : "-");
    const special = (x: number, s: number, lower: string, upper: string): string => (m & s ? (m & x ? lower : upper) : m & x ? "x" : "-");
    return TYPE_CHARS[e.type]
        + bit(0o400, "r") + bit(0o200, "w") + special(0o100, 0o4000, "s", "S")
        + bit(0o040, "r") + bit(0o020, "w") + special(0o010, 0o2000, "s", "S")
        + bit(0o004, "r") + bit(0o002, "w") + special(0o001, 0o1000, "t", "T");
}
