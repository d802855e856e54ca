/** Open Ref Graph and Show in Graph: the graph webview (src/extension/graph) for a source or a ref. */
import type { GraphController } from "../graph";
import type { CommandContext } from "./context";
import { pickSource } from "./pickers";
import { resolveTarget } from "./targets";

type Entry = { readonly title: string; readonly run: (ctx: CommandContext, ...args: unknown[]) => Promise<unknown> };

export function graphCommands(graph: GraphController): Record<string, Entry> {
    return {
        "layerscope.openGraph": {
            title: "Open Ref Graph",
            run: async (ctx, arg) => {
                const source = sourceOf(arg) ?? (await pickSource(ctx.model, "Open Ref Graph")).id;
                await graph.show(source);
            },
        },
        "layerscope.showInGraph": {
            title: "Show in Graph",
            run: async (ctx, arg) => {
                const { target } = await resolveTarget(ctx.model, arg, "Show in Graph");
                await graph.show(target.source, target.ref);
            },
        },
        "layerscope.showSizes": {
            title: "Show Layer Sizes",
            run: async (ctx, arg) => {
                const { target } = await resolveTarget(ctx.model, arg, "Show Layer Sizes");
                await graph.show(target.source, target.ref, { sizes: true });
            },
        },
    };
}

/** A source node, any ref-scoped node, or {source}: its source; nothing → undefined (picker). */
function sourceOf(arg: unknown): string | undefined {
    if (typeof arg !== "object" || arg === null) return undefined;
    const s = (arg as { source?: unknown }).source;
    return typeof s === "string" ? s : undefined;
}
