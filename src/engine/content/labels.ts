/**
 * Mirrors containerd `metadata/content.go` `Update` (field paths `labels.<key>`),
 * `metadata/boltutil/helpers.go` `WriteLabels` (empty values are dropped, never stored) and
 * `labels/validate.go` `Validate` (key plus value at most 4096 bytes): a blob's labels and
 * timestamps, kept in one small JSON file per blob instead of a bolt bucket.
 */
import type { Digest } from "../digest/hashSink";
import { EngineError } from "../errors";
import { readJson, writeJsonDurable } from "./durableFs";
import { type StoreLayout, isDigest } from "./layout";

export type Labels = Readonly<Record<string, string>>;

/** A label update: a string sets the label; `null` or `""` deletes it (as in containerd). */
export type LabelUpdate = Readonly<Record<string, string | null>>;

/** containerd's gc labels (`metadata/gc.go`). */
export const LABEL_GC_ROOT = "containerd.io/gc.root";
export const LABEL_GC_REF_CONTENT = "containerd.io/gc.ref.content";
export const LABEL_GC_FLAT = "containerd.io/gc.flat";
export const LABEL_GC_EXPIRE = "containerd.io/gc.expire";

const MAX_LABEL_SIZE = 4096;

export interface BlobRecord {
    readonly createdAt: string;
    readonly updatedAt: string;
    readonly labels: Labels;
}

/**
 * Validates sizes and drops empty values; keys come out sorted so files are deterministic.
 * NOTE: built with Map and Object.fromEntries, so a key such as "__proto__" stays a label.
 */
export function cleanLabels(input: LabelUpdate | Labels | undefined): Record<string, string> {
    return cleanEntries(Object.entries(input ?? {}));
}

function cleanEntries(
    entries: Iterable<[string, string | null | undefined]>,
): Record<string, string> {
    const out: [string, string][] = [];
    for (const [key, value] of entries) {
        if (value === null || value === undefined || value === "") {
            continue;
        }
        if (typeof value !== "string") {
            throw new EngineError(
                "InvalidArgument",
                `label ${JSON.stringify(key)} must have a string value`,
                {
                    label: key,
                },
            );
        }
        if (Buffer.byteLength(key) + Buffer.byteLength(value) > MAX_LABEL_SIZE) {
            const short = JSON.stringify(key.slice(0, 10));
            throw new EngineError(
                "InvalidArgument",
                `label ${short}…: key and value exceed ${MAX_LABEL_SIZE} bytes`,
                {
                    label: key,
                },
            );
        }
        out.push([key, value]);
    }
    out.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return Object.fromEntries(out);
}

/** `labels` with `update` applied: only the named keys change. */
export function applyLabelUpdate(labels: Labels, update: LabelUpdate): Record<string, string> {
    const merged = new Map<string, string | null>(Object.entries(labels));
    for (const [k, v] of Object.entries(update)) {
        merged.set(k, v);
    }
    return cleanEntries(merged);
}

function parseRecord(v: unknown, file: string): BlobRecord {
    const r = v as Partial<BlobRecord> | null;
    if (
        !r ||
        typeof r !== "object" ||
        typeof r.createdAt !== "string" ||
        typeof r.labels !== "object" ||
        r.labels === null
    ) {
        throw new EngineError(
            "Corrupt",
            `${file}: not a blob record; remove it to drop the blob's labels`,
            { path: file },
        );
    }
    return {
        createdAt: r.createdAt,
        updatedAt: typeof r.updatedAt === "string" ? r.updatedAt : r.createdAt,
        labels: r.labels,
    };
}

export async function readBlobRecord(
    layout: StoreLayout,
    dgst: Digest,
): Promise<BlobRecord | undefined> {
    const file = layout.labelsPath(dgst);
    const v = await readJson(file);
    return v === undefined ? undefined : parseRecord(v, file);
}

/** Caller holds the store lock. */
export async function writeBlobRecord(
    layout: StoreLayout,
    dgst: Digest,
    rec: BlobRecord,
): Promise<void> {
    await writeJsonDurable(layout.tmpPath("labels"), layout.labelsPath(dgst), rec);
}

/**
 * The digests a blob's labels point at (`sendLabelRefs`): keys `containerd.io/gc.ref.content`
 * exactly, or followed by '.' or '/' and any name. Values that are not digests are ignored.
 */
export function contentRefs(labels: Labels): Digest[] {
    const out: Digest[] = [];
    for (const [k, v] of Object.entries(labels)) {
        if (!k.startsWith(LABEL_GC_REF_CONTENT)) {
            continue;
        }
        const sep = k.charAt(LABEL_GC_REF_CONTENT.length);
        if ((sep === "" || sep === "." || sep === "/") && isDigest(v)) {
            out.push(v);
        }
    }
    return out;
}
