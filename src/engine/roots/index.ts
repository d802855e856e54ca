/** Snapshot roots read in place: containerd roots (Docker data-roots detected). See source.ts. */
export {
    detectSource,
    openSourceEngine,
    defaultRootStateDir,
    RootEngine,
    type SourceKind,
    type OpenSourceOptions,
    type SnapshotInfo,
    type RootRefReport,
    type RootSummary,
} from "./source";
export type { ImageVerifyReport, LayerCheck, OriginalLayer } from "./imageVerify";
export { loadContainerdRoot, type ContainerdRoot, type ContainerdSnapshot, type ContainerdImage } from "./containerd";
