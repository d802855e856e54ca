/**
 * The contract inside the extension host between the source model (open snapshot sources, their
 * engines, the operations on them) and its two views: the Refs tree and the ref-graph webview.
 *
 * NOTE: the model owns every engine and every long operation; views only read reports, listen to
 * events and run commands. A view never opens an engine of its own.
 */
import type * as vscode from "vscode";
import type { CompressionType, GzipImpl, RefReport, SizeReport } from "../../engine";
import type { VerificationRecord } from "./verifications";

/** How a source was found: a layerscope.json workspace, a containerd root, a buildkitd root, a Docker data-root. */
export type SourceKind = "workspace" | "containerd" | "buildkit" | "docker";

export interface SourceInfo {
    /** Stable for the session: the absolute, resolved root path. */
    readonly id: string;
    readonly kind: SourceKind;
    /** Short name for the UI (folder name, with the parent when ambiguous). */
    readonly label: string;
    readonly root: string;
    /** Set when the source could not be opened; the tree shows it with this message. */
    readonly error?: string;
}

/** What a compute or convert asks for. Unset fields come from the user's settings. */
export interface CompressionRequest {
    readonly compression?: CompressionType;
    readonly level?: number;
    readonly force?: boolean;
    readonly gzipImpl?: GzipImpl;
}

/** The argument every ref-scoped `layerscope.*` command accepts (palette: undefined → a picker). */
export interface RefTarget extends CompressionRequest {
    readonly source: string;
    readonly ref: string;
}

export type OperationKind = "compute" | "convert" | "verify" | "gc";

/** Live progress of a running operation, per ref (the engine's ProgressEvent, with its source). */
export interface OperationEvent {
    readonly operation: OperationKind;
    readonly source: string;
    readonly ref: string;
    /** "start" and "end" bracket the operation; the others are the engine's phases. */
    readonly phase: "start" | "diff" | "convert" | "reused" | "done" | "end";
    readonly detail?: string;
    /** On "end": the message when the operation failed or was canceled. */
    readonly error?: string;
    /** Milliseconds since "start", on "done" and "end". */
    readonly elapsedMs?: number;
}

export interface LayerscopeModel {
    readonly onDidChangeSources: vscode.Event<void>;
    /** After a compute/convert/gc changed what reports say; refs undefined = all of the source. */
    readonly onDidChangeRefs: vscode.Event<{ readonly source: string; readonly refs?: readonly string[] }>;
    readonly onOperation: vscode.Event<OperationEvent>;

    sources(): readonly SourceInfo[];
    /** Ref ids in declaration order, without computing anything (cheap: the tree is lazy). */
    refIds(source: string): Promise<readonly string[]>;
    report(source: string, ref: string): Promise<RefReport>;
    /** Every ref of the source (the graph); bounded concurrency inside. */
    reports(source: string): Promise<readonly RefReport[]>;
    /** Milliseconds the last compute/convert of each variant took, keyed by blob digest. */
    timing(source: string, digest: string): number | undefined;
    /** The latest verification of a ref (Verify, a root's image check, Verify Image by chainID). */
    verification(source: string, ref: { readonly id: string; readonly chainID: string | null }): VerificationRecord | undefined;
    /** The sizes of the ref's layer chain (reads every layer: blobs when all have one, else the snapshots). */
    sizes(source: string, ref: string, signal?: AbortSignal): Promise<SizeReport>;
}
