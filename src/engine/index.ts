/**
 * The engine's one public entry. The CLI and the extension import only from here.
 * Nothing under src/engine imports `vscode`.
 */
export { EngineError, isEngineError, type ErrorCode } from "./errors";
export { writeDiff, type WriteDiffOptions, type DiffResult } from "./diff/writeDiff";
export { parseWhiteoutTime, WHITEOUT_EPOCH, type WhiteoutTime } from "./archive/whiteoutTime";
export { describeNameProfile, type NameProfile } from "./archive/nameLookup";
export { chainID, chainIDs } from "./identity/chainID";
export type { Digest } from "./digest/hashSink";
export type { ByteSink } from "./archive/tarStream";
export { atomicFileSink, type AtomicFileSink } from "./fs/atomicFile";
export { openWorkspaceEngine, WorkspaceEngine, type RefReport, type RefSummary, type BlobReport, type VerifyReport, type GcReport } from "./cache/workspaceEngine";
export type { ComputeOptions, ProgressEvent } from "./cache/blobChain";
export { parseCompressionType, compressFile, isBuildkitComparable, type CompressionConfig, type CompressionType, type GzipImpl, type CompressedBlob } from "./compression";
export { importImage, type ImportOptions, type ImportReport, type ImportedLayer, type ImportProgress } from "./image/importImage";
export { parsePlatform, formatPlatform, hostPlatform } from "./image/platform";
export type { Platform } from "./image/imageTypes";
export { exportOci, type ExportOptions, type ExportReport, type ExportedLayer } from "./image/exportOci";
export { verifyImage, type VerifyImageOptions, type ImageVerification, type LayerVerification, type LayerVerdict } from "./image/verifyImage";
export {
    detectSource,
    openSourceEngine,
    defaultRootStateDir,
    RootEngine,
    loadContainerdRoot,
    type SourceKind,
    type OpenSourceOptions,
    type SnapshotInfo,
    type RootRefReport,
    type RootSummary,
    type RootImageSummary,
    type BuildkitRecordInfo,
    type ImageVerifyReport,
    type LayerCheck,
    type OriginalLayer,
    type ContainerdRoot,
} from "./roots";
export { BoltDB, type BoltTx, type Bucket as BoltBucket, type BoltEntry } from "./bbolt";
export {
    openLayerContents,
    encodeLayerPath,
    decodeLayerPath,
    cleanLayerPath,
    type LayerContents,
    type LayerEntry,
    type LayerEntryType,
    type LayerChange,
    type LayerView,
    type ContentsOrigin,
    type ContentsSourceChoice,
    type BlobOrigin,
    type IndexedBlob,
    type ReadRange,
    type OpenContentsOptions,
    computeLayerSizes,
    type SizeOptions,
    type SizeReport,
    type LayerSizes,
    type DirectorySizes,
    type ChangeTallies,
    type Tally,
    type DiveFigures,
    type DiveInefficiency,
    openImageSource,
    ImageSource,
    type ImageInfo,
    type ImageLayerInfo,
    type OpenImageOptions,
} from "./contents";
