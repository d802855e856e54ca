/**
 * What a layer holds, as a read-only file tree: the types of `openLayerContents`.
 *
 * - view "layer": one ref's own changes, what its layer tar holds. Deletions (whiteouts) are
 *   entries with change "deleted"; a directory the layer made opaque has `opaque: true`.
 * - view "merged": the root filesystem the ref's layer chain makes (OCI layer application).
 *
 * Paths are continuity's "/a/b" form. In strings they are `encodeLayerPath` strings (valid
 * UTF-8 as is, other bytes and '%' as %XX), so names that are not UTF-8 survive URIs and JSON;
 * `rawPath` has the bytes.
 */
import type { Readable } from "node:stream";
import type { CompressionType } from "../compression";
import type { Digest } from "../digest/hashSink";

export type LayerView = "layer" | "merged";

/** Where the entries are read from: "auto" = the blob when the store has one, else the snapshots. */
export type ContentsSourceChoice = "auto" | "blob" | "snapshot";

/**
 * `hardlink`: a tar link entry (served from a blob); its content is its target's. Snapshot
 * directories show hard links as files (`nlink` > 1). `whiteout`: a deletion in the layer view
 * of something the lower view does not have (or that could not be looked up).
 */
export type LayerEntryType = "file" | "dir" | "symlink" | "hardlink" | "char" | "block" | "fifo" | "socket" | "whiteout";

/**
 * In the layer view: added (not in the lower view), modified (in both: a file's or link's new
 * copy, or a directory whose metadata changed), unchanged (a directory the layer holds only as
 * the parent of a change), deleted (a whiteout). Null in the merged view.
 */
export type LayerChange = "added" | "modified" | "unchanged" | "deleted";

export interface LayerEntry {
    /** The last path component, encoded (encodeLayerPath); "" for the root. */
    readonly name: string;
    /** "/a/b", encoded. */
    readonly path: string;
    readonly rawPath: Buffer;
    readonly type: LayerEntryType;
    readonly change: LayerChange | null;
    /** The layer marks this directory opaque (`.wh..wh..opq`): nothing of the lower layers shows through it. */
    readonly opaque: boolean;
    /** Permission bits (0o7777). */
    readonly mode: number;
    readonly uid: number;
    readonly gid: number;
    /** Bytes of content (regular files and hard links; a symlink's target length; else 0). */
    readonly size: number;
    /** Modification time in nanoseconds since the Unix epoch, and in milliseconds. */
    readonly mtimeNs: bigint;
    readonly mtimeMs: number;
    /** A symlink's target, or a hard link's target path ("/a/b"), encoded; else null. */
    readonly linkTarget: string | null;
    /** Device numbers of char and block devices; else null. */
    readonly device: { readonly major: number; readonly minor: number } | null;
    /** Names of the extended attributes the layer records for it (sorted). */
    readonly xattrs: readonly string[];
    /** Link count: within the layer for a blob, on disk for a snapshot. */
    readonly nlink: number;
}

/** Where a LayerContents reads from. */
export type ContentsOrigin =
    | {
          readonly kind: "blob";
          /** One per layer, bottom first (one for the layer view). */
          readonly blobs: readonly IndexedBlob[];
      }
    | {
          readonly kind: "snapshot";
          /** The snapshot directories read, bottom first. */
          readonly dirs: readonly string[];
      };

export interface BlobOrigin {
    readonly refId: string;
    readonly digest: Digest;
    readonly mediaType: string;
    readonly compression: CompressionType;
    /** Compressed size in bytes. */
    readonly size: number;
    readonly path: string;
    /** Where the blob starts in `path` (a member of an image archive); 0 when absent. */
    readonly offset?: number;
    /** The blob descriptor's annotations (eStargz: its TOC digest, uncompressed size…). */
    readonly annotations?: Readonly<Record<string, string>>;
}

export interface IndexedBlob extends BlobOrigin {
    /** How its entries were listed: by reading the tar, or from the eStargz table of contents. */
    readonly indexedFrom: "tar" | "toc";
}

export interface ReadRange {
    /** First byte (default 0). */
    readonly start?: number;
    /** One past the last byte (default: the end of the file). */
    readonly end?: number;
    readonly signal?: AbortSignal;
}

export interface LayerContents {
    readonly refId: string;
    readonly view: LayerView;
    readonly origin: ContentsOrigin;
    /**
     * The ref whose merged view is this layer's "before" (its parent; a Diff's lower), or null
     * when the layer sits on nothing. Open it with view "merged" to diff a changed file.
     */
    readonly lowerRefId: string | null;
    /** The entry at `path`; NotFound when there is none. */
    stat(path: string | Buffer): Promise<LayerEntry>;
    /** A directory's children, sorted byte-wise by name; NotFound / InvalidArgument (not a directory). */
    list(dirPath: string | Buffer): Promise<LayerEntry[]>;
    /**
     * A regular file's content (a hard link's: its target's), streamed in chunks of at most
     * 1 MiB; `start`/`end` select a byte range. InvalidArgument for anything but a file or hard
     * link, NotFound for a deleted entry.
     */
    read(path: string | Buffer, range?: ReadRange): Readable;
    close(): Promise<void>;
}

export interface OpenContentsOptions {
    readonly view: LayerView;
    readonly source?: ContentsSourceChoice;
    /** With a blob source: read this compression's variant of each layer (default: the main blob). */
    readonly compression?: CompressionType;
    readonly signal?: AbortSignal;
}
