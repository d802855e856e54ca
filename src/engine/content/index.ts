/**
 * The content store: containerd's local content store (`content/local`) plus the labels, leases
 * and garbage collection containerd's metadata layer keeps in bolt (`metadata/content.go`,
 * `metadata/leases.go`, `metadata/gc.go`), over one state directory.
 */
export {
    ContentStore,
    type Info,
    type OpenOptions,
    type ReaderAt,
    type WriterOptions,
} from "./contentStore";
export { ContentWriter, type CommitOptions, type CommitResult } from "./contentWriter";
export type { GcOptions, GcResult } from "./gc";
export type { ExpectedContent, IngestStatus } from "./ingests";
export {
    LABEL_GC_EXPIRE,
    LABEL_GC_FLAT,
    LABEL_GC_REF_CONTENT,
    LABEL_GC_ROOT,
    type LabelUpdate,
    type Labels,
} from "./labels";
export type { CreateLeaseOptions, Lease, LeaseResource } from "./leases";
export { isDigest } from "./layout";
export { LOCKED_CODE } from "./storeLock";
