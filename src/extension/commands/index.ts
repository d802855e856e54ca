/**
 * The command table: every `layerscope.*` command, its title for messages, its handler. One
 * registration loop, one error boundary per command (log.ts `guarded`).
 */
import * as vscode from "vscode";
import { guarded } from "../log";
import { COPY_VALUE_COMMAND, REVEAL_REF_COMMAND } from "../tree/treeData";
import type { CommandContext } from "./context";
import * as img from "./imageCommands";
import * as ref from "./refCommands";
import * as src from "./sourceCommands";

type Handler = (ctx: CommandContext, ...args: unknown[]) => Promise<unknown>;

export const COMMANDS: Readonly<Record<string, { readonly title: string; readonly run: Handler }>> = {
    "layerscope.computeBlobChain": { title: "Compute Blob Chain", run: (c, a) => ref.computeBlobChain(c, a) },
    "layerscope.convertCompression": { title: "Convert Compression", run: (c, a) => ref.convertCompression(c, a) },
    "layerscope.verify": { title: "Verify", run: (c, a) => ref.verify(c, a) },
    "layerscope.copyDiffID": { title: "Copy diffID", run: (c, a) => ref.copyId(c, a, "diffID") },
    "layerscope.copyChainID": { title: "Copy chainID", run: (c, a) => ref.copyId(c, a, "chainID") },
    "layerscope.copyBlobDigest": { title: "Copy Blob Digest", run: (c, a) => ref.copyBlobDigest(c, a) },
    "layerscope.revealBlob": { title: "Reveal Blob File", run: (c, a) => ref.revealBlob(c, a) },
    [COPY_VALUE_COMMAND]: { title: "Copy", run: (c, name, value) => ref.copyValue(c, name, value) },
    [REVEAL_REF_COMMAND]: { title: "Reveal Ref", run: (c, a) => ref.revealRef(c, a) },
    "layerscope.openSource": { title: "Open Snapshot Source", run: (c, a) => src.openSource(c, a) },
    "layerscope.closeSource": { title: "Close Snapshot Source", run: (c, a) => src.closeSource(c, a) },
    "layerscope.refresh": { title: "Refresh", run: (c) => src.refresh(c) },
    "layerscope.gc": { title: "Garbage-Collect Store", run: (c, a) => src.gc(c, a) },
    "layerscope.importImage": { title: "Import Image", run: (c, a, b) => img.importImageCommand(c, a, b) },
    "layerscope.verifyImage": { title: "Verify Image", run: (c, a) => img.verifyImageCommand(c, a) },
    "layerscope.exportOci": { title: "Export as OCI Layout", run: (c, a, b) => img.exportOciCommand(c, a, b) },
};

/**
 * An argument from code (the graph, a test): a plain object that is not a tree node. Such a
 * caller also gets the rejection, after the user has been told.
 */
function fromCode(arg: unknown): boolean {
    return typeof arg === "object" && arg !== null && !("type" in arg) && !(arg instanceof vscode.Uri);
}

export function registerCommands(ctx: CommandContext, extra: Readonly<Record<string, { readonly title: string; readonly run: Handler }>> = {}): vscode.Disposable[] {
    return Object.entries({ ...COMMANDS, ...extra }).map(([id, cmd]) =>
        vscode.commands.registerCommand(id, (...args: unknown[]) => guarded(ctx.log, id, cmd.title, async () => {
            await ctx.model.settled(); // a command that activated the extension waits for the sources
            return cmd.run(ctx, ...args);
        }, fromCode(args[0]))),
    );
}
