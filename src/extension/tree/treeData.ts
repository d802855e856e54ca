/**
 * The Refs tree as plain data: nodes, their children and how each row reads. No `vscode`
 * import; refsTree.ts turns rows into TreeItems. Rows of refs come from the engine's in-memory
 * summary (no I/O, so a source with thousands of refs lists at once); a ref's report is read
 * only when the ref is expanded.
 */
import type { BlobReport, RefReport, RefSummary, SnapshotInfo } from "../../engine";
import type { SourceInfo } from "../model/hostApi";
import { formatBytes, formatMs, shortDigest, shortMediaType } from "./format";

export interface SourceNode { readonly type: "source"; readonly source: string }
/** Structurally a RefTarget: commands accept it as one. */
export interface RefNode { readonly type: "ref"; readonly source: string; readonly ref: string }
export interface ParentNode { readonly type: "parent"; readonly source: string; readonly ref: string; readonly parent: string | null; readonly role: string; readonly index: number }
export interface VariantsNode { readonly type: "variants"; readonly source: string; readonly ref: string; readonly variants: readonly BlobReport[]; readonly main: string | null }
export interface VariantNode { readonly type: "variant"; readonly source: string; readonly ref: string; readonly blob: BlobReport; readonly main: boolean }
export type IdName = "diffID" | "chainID" | "blobChainID" | "BuildKit chainID" | "BuildKit blobChainID";
export interface IdNode { readonly type: "id"; readonly source: string; readonly ref: string; readonly name: IdName; readonly value: string | null }
export interface MessageNode { readonly type: "message"; readonly source: string; readonly key: string; readonly message: string; readonly severity: "error" | "info" }
export type TreeNode = SourceNode | RefNode | ParentNode | VariantsNode | VariantNode | IdNode | MessageNode;

/** A row as VS Code will show it; `icon` names a codicon, `color` a theme colour id. */
export interface Row {
    readonly id: string;
    readonly label: string;
    readonly description?: string;
    readonly tooltip?: string;
    readonly icon?: { readonly id: string; readonly color?: string };
    readonly contextValue?: string;
    readonly collapsible: "none" | "collapsed" | "expanded";
    readonly command?: { readonly command: string; readonly title: string; readonly arguments: readonly unknown[] };
}

/** What the tree reads from the source model. */
export interface TreeSourceModel {
    /** Settles once the sources are known (the first listing waits, instead of showing none). */
    settled(): Promise<void>;
    sources(): readonly SourceInfo[];
    refIds(source: string): Promise<readonly string[]>;
    summary(source: string, ref: string): RefSummary | undefined;
    /** The snapshot a ref of a containerd or Docker root stands for; null for workspace refs. */
    snapshotInfo(source: string, ref: string): SnapshotInfo | null;
    report(source: string, ref: string): Promise<RefReport>;
    busyRefs(source: string): ReadonlySet<string>;
    timing(source: string, digest: string): number | undefined;
    isRemembered(source: string): boolean;
}

export const KIND_ICONS: Readonly<Record<string, string>> = {
    BaseLayer: "primitive-square",
    Layer: "layers",
    Merge: "git-merge",
    Diff: "diff",
};

const SOURCE_KINDS: Readonly<Record<SourceInfo["kind"], string>> = {
    workspace: "snapshot workspace (layerscope.json)",
    containerd: "containerd root (read only; Layerscope's state is kept outside it)",
    buildkit: "buildkitd root: BuildKit's records over its containerd snapshots (read only; Layerscope's state is kept outside it)",
    docker: "Docker data-root with its BuildKit (read only; Layerscope's state is kept outside it)",
};

export const REVEAL_REF_COMMAND = "layerscope.revealRef";
export const COPY_VALUE_COMMAND = "layerscope.copyValue";

export class RefsTreeData {
    private readonly sourceNodes = new Map<string, SourceNode>();
    private readonly refNodes = new Map<string, RefNode>();
    /** Declared ref ids per source, from the last listing (a parent row reveals only these). */
    private readonly declared = new Map<string, ReadonlySet<string>>();

    constructor(private readonly model: TreeSourceModel) {}

    /** The one node object per source (VS Code matches tree elements by identity). */
    sourceNode(source: string): SourceNode {
        let n = this.sourceNodes.get(source);
        if (!n) this.sourceNodes.set(source, (n = { type: "source", source }));
        return n;
    }

    refNode(source: string, ref: string): RefNode {
        const key = `${source}\0${ref}`;
        let n = this.refNodes.get(key);
        if (!n) this.refNodes.set(key, (n = { type: "ref", source, ref }));
        return n;
    }

    /** The ref nodes handed out so far for a source (the ones a change event can name). */
    knownRefNode(source: string, ref: string): RefNode | undefined {
        return this.refNodes.get(`${source}\0${ref}`);
    }

    /** Drops nodes of sources that are gone. */
    prune(): void {
        const live = new Set(this.model.sources().map((s) => s.id));
        for (const [k, n] of this.sourceNodes) if (!live.has(n.source)) this.sourceNodes.delete(k);
        for (const [k, n] of this.refNodes) if (!live.has(n.source)) this.refNodes.delete(k);
        for (const k of this.declared.keys()) if (!live.has(k)) this.declared.delete(k);
    }

    async children(node?: TreeNode): Promise<TreeNode[]> {
        if (!node) {
            await this.model.settled();
            return this.model.sources().map((s) => this.sourceNode(s.id));
        }
        switch (node.type) {
            case "source": {
                const info = this.info(node.source);
                if (!info) return [];
                if (info.error) return [{ type: "message", source: node.source, key: "error", message: info.error, severity: "error" }];
                const ids = await this.model.refIds(node.source);
                this.declared.set(node.source, new Set(ids));
                if (ids.length === 0) return [{ type: "message", source: node.source, key: "empty", message: "layerscope.json declares no refs", severity: "info" }];
                return ids.map((id) => this.refNode(node.source, id));
            }
            case "ref":
                return refChildren(node.source, node.ref, await this.model.report(node.source, node.ref));
            case "variants":
                return node.variants.map((blob) => ({ type: "variant", source: node.source, ref: node.ref, blob, main: blob.digest === node.main }));
            default:
                return [];
        }
    }

    parent(node: TreeNode): TreeNode | undefined {
        switch (node.type) {
            case "source":
                return undefined;
            case "ref":
            case "message":
                return this.sourceNode(node.source);
            case "variant":
                return undefined; // not revealed programmatically
            default:
                return this.refNode(node.source, node.ref);
        }
    }

    row(node: TreeNode): Row {
        switch (node.type) {
            case "source":
                return sourceRow(this.info(node.source) ?? { id: node.source, kind: "workspace", label: node.source, root: node.source, error: "closed" }, this.model.isRemembered(node.source));
            case "ref":
                return refRow(node, this.model.summary(node.source, node.ref), this.model.busyRefs(node.source).has(node.ref), this.model.snapshotInfo(node.source, node.ref));
            case "parent":
                return parentRow(node, node.parent !== null && (this.declared.get(node.source)?.has(node.parent) ?? false));
            case "variants":
                return {
                    id: rowId("variants", node.source, node.ref),
                    label: "Variants",
                    description: `${node.variants.length}`,
                    icon: { id: "files" },
                    contextValue: "variants",
                    collapsible: "expanded",
                };
            case "variant":
                return variantRow(node, this.model.timing(node.source, node.blob.digest));
            case "id":
                return idRow(node);
            case "message":
                return {
                    id: rowId("message", node.source, node.key),
                    label: node.message,
                    tooltip: node.message,
                    icon: node.severity === "error" ? { id: "error", color: "errorForeground" } : { id: "info" },
                    contextValue: `message.${node.severity}`,
                    collapsible: "none",
                };
        }
    }

    private info(source: string): SourceInfo | undefined {
        return this.model.sources().find((s) => s.id === source);
    }
}

/**
 * A row's id: its kind, then its parts, as JSON, so no two rows share one whatever the parts hold
 * (ref ids from a containerd database may contain any byte, a ref may be named "variants").
 */
export function rowId(kind: string, ...parts: readonly (string | number)[]): string {
    return JSON.stringify([kind, ...parts]);
}

export function sourceRow(info: SourceInfo, remembered: boolean): Row {
    return {
        id: rowId("source", info.id),
        label: info.label,
        description: info.error ? "could not be opened" : info.root,
        tooltip: info.error ? `${info.root}\n\n${info.error}` : `${info.root}\n${SOURCE_KINDS[info.kind]}`,
        icon: info.error ? { id: "error", color: "errorForeground" } : { id: info.kind === "workspace" ? "folder-library" : "server-environment" },
        contextValue: `source.${info.error ? "error" : "ok"}${remembered ? ".remembered" : ""}`,
        collapsible: "expanded",
    };
}

export function refRow(node: RefNode, s: RefSummary | undefined, busy: boolean, snap: SnapshotInfo | null = null): Row {
    const kind = s?.kind ?? "Unknown";
    const lines = [`${node.ref} — ${kind}`];
    if (s?.description) lines.push(s.description);
    if (snap) lines.push(`${snap.snapshotter} snapshot ${snap.key} (${snap.kind}${snap.namespace ? `, namespace ${snap.namespace}` : ""})`, snap.dir);
    // An active or view snapshot may still change: say so next to its digest.
    const state = snap && snap.kind !== "committed" ? ` · ${snap.kind}` : "";
    lines.push(`diffID: ${s?.diffID ?? "not computed"}`);
    lines.push(s?.blob ? `blob: ${s.blob}${s.mediaType ? ` (${s.mediaType})` : ""}` : "blob: none yet (Compute Blob Chain…)");
    return {
        id: rowId("ref", node.source, node.ref),
        label: node.ref,
        description: `${s?.diffID ? shortDigest(s.diffID) : "no blob"}${state}`,
        tooltip: lines.join("\n"),
        icon: busy ? { id: "sync~spin" } : { id: KIND_ICONS[kind] ?? "question" },
        contextValue: `ref.${kind}.${s?.blob ? "blob" : "noblob"}`,
        collapsible: "collapsed",
    };
}

/** The tooltip once the ref's report is read (hover): adds chain IDs and variants. */
export function refTooltip(r: RefReport): string {
    const lines = [`${r.id} — ${r.kind}`];
    if (r.description) lines.push(r.description);
    if (r.layers.length) lines.push(`layers: ${r.layers.join(" → ")}`);
    lines.push(`diffID: ${r.diffID ?? "not computed"}`, `chainID: ${r.chainID ?? "not computed"}`, `blobChainID: ${r.blobChainID ?? "not computed"}`);
    if (r.buildkit) lines.push(`BuildKit records chainID ${r.buildkit.chainID || "(none)"}, blobChainID ${r.buildkit.blobChainID || "(none)"}`);
    for (const v of r.variants) lines.push(`${v.digest === r.blob?.digest ? "blob" : "variant"}: ${v.mediaType} ${shortDigest(v.digest)} ${formatBytes(v.size)}`);
    return lines.join("\n");
}

/** A ref's children: its parents, its variants, its chain IDs. */
export function refChildren(source: string, ref: string, r: RefReport): TreeNode[] {
    const out: TreeNode[] = [];
    const parent = (p: string | null, role: string): void => {
        out.push({ type: "parent", source, ref, parent: p, role, index: out.length });
    };
    if (r.parents.parent !== undefined) parent(r.parents.parent, "parent");
    r.parents.merge?.forEach((p, i) => parent(p, `merge input ${i + 1}`));
    if (r.parents.diff) {
        parent(r.parents.diff.lower, "diff lower");
        parent(r.parents.diff.upper, "diff upper");
    }
    if (r.variants.length > 0) {
        out.push({ type: "variants", source, ref, variants: r.variants, main: r.blob?.digest ?? null });
    } else {
        const reused = r.kind === "Diff" && r.layers.length === 1 && r.layers[0] !== r.id ? r.layers[0] : null;
        const why = r.kind === "Merge"
            ? "a Merge has no blob of its own; its layers do"
            : reused
              ? `reuses the blob of ${reused} (a Diff of a layer and its parent)`
              : "no blob yet: Compute Blob Chain… makes one";
        out.push({ type: "message", source, key: `${ref}\0noblob`, message: why, severity: "info" });
    }
    const id = (name: IdName, value: string | null): void => {
        out.push({ type: "id", source, ref, name, value });
    };
    id("diffID", r.diffID);
    id("chainID", r.chainID);
    id("blobChainID", r.blobChainID);
    if (r.buildkit) {
        id("BuildKit chainID", r.buildkit.chainID || null);
        id("BuildKit blobChainID", r.buildkit.blobChainID || null);
    }
    return out;
}

export function parentRow(node: ParentNode, revealable: boolean): Row {
    const label = node.parent ?? "(none)";
    return {
        id: rowId("parent", node.source, node.ref, node.index),
        label,
        description: revealable ? node.role : `${node.role}${node.parent ? " (internal ref)" : ""}`,
        tooltip: node.parent ? `${node.role}: ${node.parent}${revealable ? "\nClick to reveal it" : "\nMade by the loader; not declared in layerscope.json"}` : `${node.role}: none (scratch)`,
        icon: { id: "arrow-small-up" },
        contextValue: "parent",
        collapsible: "none",
        ...(revealable && node.parent ? { command: { command: REVEAL_REF_COMMAND, title: "Reveal", arguments: [{ source: node.source, ref: node.parent }] } } : {}),
    };
}

export function variantRow(node: VariantNode, timingMs: number | undefined): Row {
    const b = node.blob;
    const comparable = b.buildkitComparable ? "BuildKit-comparable" : "not BuildKit-comparable";
    const lines = [b.mediaType, b.digest, `${b.size.toLocaleString("en-US")} bytes`, comparable + (b.buildkitComparable ? "" : ": BuildKit would write different compressed bytes for this layer")];
    if (node.main) lines.push("the ref's main blob (the first one made)");
    if (timingMs !== undefined) lines.push(`made in ${formatMs(timingMs)}`);
    for (const [k, v] of Object.entries(b.annotations)) lines.push(`${k}: ${v}`);
    lines.push(b.path);
    return {
        id: rowId("variant", node.source, node.ref, b.digest),
        label: shortMediaType(b.mediaType),
        description: `${shortDigest(b.digest)} · ${formatBytes(b.size)} · ${comparable}${node.main ? " · main" : ""}`,
        tooltip: lines.join("\n"),
        icon: { id: b.buildkitComparable ? "pass" : "circle-slash" },
        contextValue: `variant.${b.buildkitComparable ? "comparable" : "notComparable"}`,
        collapsible: "none",
    };
}

export function idRow(node: IdNode): Row {
    return {
        id: rowId("id", node.source, node.ref, node.name),
        label: node.name,
        description: node.value ?? "not computed",
        tooltip: node.value ? `${node.name}: ${node.value}\nClick to copy` : `${node.name}: not computed yet (Compute Blob Chain…)`,
        icon: { id: "symbol-key" },
        contextValue: `id.${node.value ? "set" : "unset"}`,
        collapsible: "none",
        ...(node.value ? { command: { command: COPY_VALUE_COMMAND, title: "Copy", arguments: [node.name, node.value] } } : {}),
    };
}
