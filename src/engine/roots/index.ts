/** Snapshot roots read in place: containerd roots, standalone buildkitd roots, Docker data-roots. See source.ts. */
export { detectSource, openSourceEngine, type SourceKind, type OpenSourceOptions } from "./source";
export {
    defaultRootStateDir,
    RootEngine,
    type SnapshotInfo,
    type BuildkitRecordInfo,
    type RootRefReport,
    type RootSummary,
    type RootImageSummary,
} from "./rootEngine";
export type { ImageVerifyReport, LayerCheck, OriginalLayer } from "./imageVerify";
export { loadContainerdRoot, type ContainerdRoot, type ContainerdSnapshot, type ContainerdImage } from "./containerd";
