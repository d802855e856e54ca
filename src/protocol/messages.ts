/**
 * The messages between the extension host and the ref-graph webview. Both sides check every
 * message on arrival with the guards in ./guards.ts before switching on `type`.
 *
 * NOTE: the webview speaks first ("ready"); the host posts nothing before it, since a message
 * sent to a webview whose script has not loaded yet is lost.
 */
import type {
    SizesView,
    CompressionView,
    GraphView,
    ProgressView,
    RefDetailsView,
    RefNodeView,
} from "./viewModel";

/** What the webview keeps in getState/setState; the serializer revives the panel from it. */
export interface PersistedState {
    readonly source: string;
    /** "" when nothing is selected. */
    readonly selected: string;
    readonly search: string;
    /** The view transform: pan offset in CSS pixels and zoom factor. */
    readonly panX: number;
    readonly panY: number;
    readonly zoom: number;
    readonly compression: CompressionView;
    /** -1: the engine's default level for the compression. */
    readonly level: number;
    readonly force: boolean;
}

export type OperationCommand = "compute" | "convert";

/**
 * A ref's layer contents, each run by the host as the command of that name: browse its layer's
 * files or its merged view in the Layer Files view, or open every change of its layer.
 */
export const CONTENTS_ACTIONS = ["browseLayer", "browseMerged", "openAllChanges"] as const;
export type ContentsAction = (typeof CONTENTS_ACTIONS)[number];

export type WebviewToHost =
    | { readonly type: "ready" }
    /** Ask for the details of a ref; the host answers with "details". */
    | { readonly type: "select"; readonly ref: string }
    /** Run `layerscope.computeBlobChain` or `layerscope.convertCompression`; answered by "reply". */
    | {
          readonly type: "run";
          readonly id: number;
          readonly command: OperationCommand;
          readonly ref: string;
          readonly compression: CompressionView;
          readonly level: number;
          readonly force: boolean;
      }
    /** Reveal the ref in the Refs tree / copy a value: small conveniences run by the host. */
    | { readonly type: "copy"; readonly text: string }
    /** Browse the ref's layer files or merged view, or open its layer's changes (no reply: the host shows them). */
    | { readonly type: "contents"; readonly action: ContentsAction; readonly ref: string }
    /** The sizes of the ref's layer chain; answered by "sizes" or "sizesFailed". */
    | { readonly type: "sizes"; readonly ref: string };

export type HostToWebview =
    /** The whole graph (first load, or a change to the whole source). */
    | { readonly type: "graph"; readonly graph: GraphView }
    /** Some nodes changed (after a compute or convert). */
    | { readonly type: "nodes"; readonly source: string; readonly nodes: readonly RefNodeView[] }
    | { readonly type: "details"; readonly source: string; readonly details: RefDetailsView }
    | { readonly type: "progress"; readonly source: string; readonly progress: ProgressView }
    /** Select and centre this ref (Show in Graph). */
    | { readonly type: "focus"; readonly ref: string }
    | { readonly type: "reply"; readonly id: number; readonly ok: boolean; readonly error: string }
    /** The source could not be read; the webview shows the message instead of a graph. */
    | { readonly type: "failure"; readonly message: string }
    /** Select and centre this ref, and read its sizes (Show Layer Sizes). */
    | { readonly type: "readSizes"; readonly ref: string }
    | { readonly type: "sizes"; readonly source: string; readonly sizes: SizesView }
    | { readonly type: "sizesFailed"; readonly source: string; readonly ref: string; readonly message: string };
