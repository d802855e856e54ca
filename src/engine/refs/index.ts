/**
 * The ref model (BuildKit `cache/refs.go`, `cache/manager.go`) over a snapshot workspace, and the
 * views and blob inputs the blob-chain engine diffs.
 */
export { Ref, isTypeWindows, type RefKind, type LayerType, type RefInit, type DiffParents } from "./ref";
export { cmMerge, cmDiff, type NewRefOptions } from "./manager";
export { Workspace, loadWorkspace, buildWorkspace, WORKSPACE_FILE, type WorkspaceRef } from "./workspace";
export {
    parseWorkspaceFile,
    validateWorkspaceFile,
    type WorkspaceFile,
    type RefSpec,
    type DiffSpec,
    type Snapshotter,
} from "./workspaceFile";
export { LAYERSCOPE_SCHEMA } from "./layerscopeSchema";
export { STATE_DIR } from "./snapshotDir";
export { RefViews } from "./views";
export type { BlobInputs } from "./blobInputs";
// The trees views are made of, for callers that stack or inspect layers themselves.
export { MergedTree } from "../fs/mergedTree";
export { ChangeSetTree } from "../fs/changeSetTree";
export { EmptyTree } from "../fs/emptyTree";
