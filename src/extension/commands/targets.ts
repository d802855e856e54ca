/**
 * How a ref-scoped command learns its ref: a tree node (context menu), a RefTarget (the graph,
 * other code; validated), or nothing (palette: pickers).
 */
import { EngineError } from "../../engine";
import type { RefTarget } from "../model/hostApi";
import { parseRefTarget } from "../model/refTarget";
import type { SourceModel } from "../model/sourceModel";
import type { TreeNode } from "../tree/treeData";
import { pickRef, pickSource } from "./pickers";

export interface ResolvedTarget {
    readonly target: RefTarget;
    /** The tree node the command was run on, if any. */
    readonly node?: TreeNode;
    /** How the command was invoked: menus and palette get toasts; code gets a rejection too. */
    readonly via: "tree" | "code" | "palette";
}

const NODE_TYPES = new Set(["ref", "parent", "variants", "variant", "id"]);

function isTreeNode(arg: unknown): arg is Extract<TreeNode, { ref: string }> {
    return typeof arg === "object" && arg !== null && NODE_TYPES.has((arg as { type?: unknown }).type as string) && typeof (arg as { ref?: unknown }).ref === "string";
}

export async function resolveTarget(model: SourceModel, arg: unknown, title: string): Promise<ResolvedTarget> {
    if (isTreeNode(arg)) return { target: { source: arg.source, ref: arg.ref }, node: arg, via: "tree" };
    if (arg !== undefined && arg !== null) {
        const target = parseRefTarget(arg);
        if (!model.sources().some((s) => s.id === target.source)) {
            throw new EngineError("NotFound", `no snapshot source ${JSON.stringify(target.source)} is open`, { source: target.source });
        }
        return { target, via: "code" };
    }
    const source = await pickSource(model, title);
    const ref = await pickRef(model, source.id, title);
    return { target: { source: source.id, ref }, via: "palette" };
}
