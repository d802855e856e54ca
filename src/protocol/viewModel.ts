/**
 * The data the ref-graph webview shows: plain DTOs of strings and numbers (and arrays of them),
 * so they survive postMessage, getState/setState and the panel serializer unchanged. Built by
 * src/extension/graph/toViewModel.ts, the one file that knows the engine's types too.
 */

/** BuildKit's four ref kinds (refs.go `kind()`). */
export const REF_KINDS = ["BaseLayer", "Layer", "Merge", "Diff"] as const;
export type RefKindView = (typeof REF_KINDS)[number];

/** How a ref depends on another: its layer parent, the n-th merge input, or a diff side. */
export const EDGE_ROLES = ["parent", "merge", "lower", "upper"] as const;
export type EdgeRole = (typeof EDGE_ROLES)[number];

/** The compressions a compute or convert can ask for (the `#compression` select). */
export const COMPRESSIONS = ["uncompressed", "gzip", "zstd", "estargz"] as const;
export type CompressionView = (typeof COMPRESSIONS)[number];

/**
 * The latest verification of a ref, as a badge: every stored digest recomputed and equal, or the
 * verdict of an image check ("same content, different compressor", "same files, different tar
 * writer", "content differs"), or none yet.
 */
export const VERIFICATION_STATES = ["verified", "different-compressor", "different-writer", "content-differs", "unverified"] as const;
export type VerificationState = (typeof VERIFICATION_STATES)[number];

/** The latest verification of a ref, for the details panel. */
export interface VerificationView {
    readonly state: VerificationState;
    /** The verdict in the check's own words ("identical after inference", …); "" when unverified. */
    readonly verdict: string;
    /** Which check: "Verify", "Verify Image Layers (NAME)", "Verify Image (PATH)"; "" when unverified. */
    readonly check: string;
    /** When it ran, ms since the Unix epoch; 0 when unverified. */
    readonly at: number;
    /** Plain sentences: what was compared and why anything differs. */
    readonly explanation: readonly string[];
    /** The whiteout time used for the recompute and where it came from; "" when not known. */
    readonly whiteoutTime: string;
    /** The user/group names replayed ("uid 0 → \"root\"; …"), "none", or "" when not known. */
    readonly nameLookup: string;
    /** The original tar writer and the traits where it differs from containerd's. */
    readonly writerTraits: readonly string[];
}

export interface ParentView {
    readonly ref: string;
    readonly role: EdgeRole;
    /** Position among the merge inputs (0 for the other roles). */
    readonly index: number;
}

/** One node of the graph: enough to draw it, search it and label its edges. */
export interface RefNodeView {
    readonly id: string;
    readonly kind: RefKindView;
    /** "" when the ref has none. */
    readonly description: string;
    readonly parents: readonly ParentView[];
    /** "" until the blob chain is computed. */
    readonly diffID: string;
    readonly chainID: string;
    readonly blobChainID: string;
    /** The main blob's digest, "" while there is none. */
    readonly blob: string;
    /** Every variant's digest (search by digest finds any of them). */
    readonly digests: readonly string[];
    /** The badge: the latest verification's state and verdict ("" when unverified). */
    readonly verification: VerificationState;
    readonly verdict: string;
}

/** One hash step: `result = sha256(input)`, or `result = input` when `hash` is "none". */
export interface DerivationStepView {
    /** The layer this step adds (a ref id). */
    readonly layer: string;
    /** The formula in words, e.g. `sha256(chainID(base) + " " + diffID(app))`. */
    readonly formula: string;
    /** The exact string hashed (or copied, for the first layer's chainID). */
    readonly input: string;
    readonly hash: "sha256" | "none";
    readonly result: string;
}

/**
 * How an ID was derived, step by step, from the layer chain's diffIDs and blobs, and whether the
 * recomputation agrees with what the engine reports ("incomplete" while a layer lacks a blob).
 */
export interface DerivationView {
    readonly value: string;
    readonly steps: readonly DerivationStepView[];
    readonly check: "match" | "mismatch" | "incomplete";
}

export interface VariantView {
    readonly digest: string;
    readonly mediaType: string;
    readonly compression: CompressionView | "unknown";
    /** Compressed size in bytes. */
    readonly size: number;
    /** Size of the uncompressed layer tar; -1 when unknown. */
    readonly uncompressedSize: number;
    /** The uncompressed layer's digest (the diffID this blob decompresses to); "" if unknown. */
    readonly uncompressedDigest: string;
    /** Milliseconds the compute or convert that wrote it took; -1 when not timed this session. */
    readonly timeMs: number;
    /** Whether the bytes are BuildKit's: its digest is the one BuildKit would push. */
    readonly comparable: "buildkit" | "not-comparable";
    /** "main" for the ref's blob, "variant" for a conversion of it. */
    readonly role: "main" | "variant";
    readonly path: string;
}

/** BuildKit's recorded IDs when they differ from the image's, and why. */
export interface RecordedIDsView {
    readonly chainID: string;
    readonly blobChainID: string;
    readonly reason: string;
}

/** Everything the details panel shows for the selected ref. */
export interface RefDetailsView {
    readonly id: string;
    readonly kind: RefKindView;
    readonly description: string;
    /** The snapshot directory, "" for kinds without one (Merge, Diff) or when unknown. */
    readonly snapshot: string;
    /** The layer chain, bottom first. */
    readonly layers: readonly string[];
    readonly diffID: string;
    readonly chainID: DerivationView;
    readonly blobChainID: DerivationView;
    /** Empty strings when BuildKit's recorded IDs equal the image's. */
    readonly buildkit: RecordedIDsView;
    readonly variants: readonly VariantView[];
    readonly verification: VerificationView;
}

/** The whole graph of one snapshot source. */
export interface GraphView {
    readonly source: string;
    readonly label: string;
    readonly nodes: readonly RefNodeView[];
}

/** Live progress of an operation on one ref. */
export interface ProgressView {
    readonly ref: string;
    readonly operation: "compute" | "convert" | "verify" | "gc";
    readonly phase: "start" | "diff" | "convert" | "reused" | "done" | "end";
    readonly detail: string;
    /** Set on "end" when the operation failed or was canceled. */
    readonly error: string;
    readonly elapsedMs: number;
}

/** How many entries, and their bytes of content (uncompressed). */
export interface ChangeCountView {
    readonly count: number;
    readonly bytes: number;
}

/** A layer's (or a folder's) added, modified and deleted entries. */
export interface ChangeSizesView {
    readonly added: ChangeCountView;
    readonly modified: ChangeCountView;
    /** What the layer's whiteouts delete from the view below it (a folder: all it held). */
    readonly deleted: ChangeCountView;
}

/** A folder of a layer, with the changes below it. */
export interface DirSizesView {
    /** "/a/b", encodeLayerPath's form. */
    readonly path: string;
    readonly changes: ChangeSizesView;
}

/** One layer of a ref's chain. */
export interface LayerSizesView {
    readonly ref: string;
    /** Position in the chain, 0 = bottom. */
    readonly index: number;
    /** The blob's size in the store (compressed); -1 when the layer was read from its snapshot. */
    readonly blobBytes: number;
    /** The blob's compression ("" when read from the snapshot). */
    readonly compression: string;
    /** The layer tar's size (uncompressed); -1 when unknown. */
    readonly tarBytes: number;
    readonly changes: ChangeSizesView;
    /** What this layer adds or modifies that a later layer of the chain overwrites or deletes. */
    readonly shadowed: ChangeCountView;
    /** The folders with the most changed bytes, largest first (the first few). */
    readonly dirs: readonly DirSizesView[];
    /** How many folders the layer touches in all. */
    readonly dirCount: number;
}

/** A path more than one layer of the chain holds (dive's "inefficient files"). */
export interface InefficiencyView {
    readonly path: string;
    /** The chain positions (0 = bottom) of the layers that hold it. */
    readonly layers: readonly number[];
    /** Bytes of every copy (uncompressed), as dive sums them. */
    readonly cumulativeBytes: number;
}

/** Sizes of a ref's layer chain: the figures `layerscope size --json` reports. */
export interface SizesView {
    readonly ref: string;
    /** Bottom first. */
    readonly layers: readonly LayerSizesView[];
    /** Σ blob bytes (compressed); -1 unless every layer was read from a blob. */
    readonly compressedBytes: number;
    /** Σ file content the layers carry, added + modified (uncompressed). */
    readonly contentBytes: number;
    /** Σ of the layers' shadowed figures. */
    readonly shadowed: ChangeCountView;
    /** dive's efficiency score in [0, 1]: Σ per-path minimum / Σ per-path total. */
    readonly efficiency: number;
    /** dive's wasted bytes: every copy of every path two or more layers hold (uncompressed). */
    readonly wastedBytes: number;
    /** Content of every layer but the first (uncompressed): dive's "user" bytes. */
    readonly userBytes: number;
    /** Largest first (the first few). */
    readonly inefficiencies: readonly InefficiencyView[];
    /** How many paths two or more layers hold, in all. */
    readonly inefficiencyCount: number;
    /** Where the figures were read: the blobs, or the snapshot folders. */
    readonly origin: "blob" | "snapshot";
}
