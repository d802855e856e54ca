/**
 * The OCI image-spec v1.1 documents Layerscope reads and writes (descriptor, index, manifest,
 * config), the Docker schema2 equivalents it accepts, and their checks at the door: every field
 * the engine uses is validated before use, anything else is kept as it is.
 */
import type { Digest } from "../digest/hashSink";
import { EngineError } from "../errors";

export const MediaTypeImageIndex = "application/vnd.oci.image.index.v1+json";
export const MediaTypeImageManifest = "application/vnd.oci.image.manifest.v1+json";
export const MediaTypeImageConfig = "application/vnd.oci.image.config.v1+json";
export const MediaTypeDockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json";
export const MediaTypeDockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
export const MediaTypeDockerConfig = "application/vnd.docker.container.image.v1+json";
export const AnnotationRefName = "org.opencontainers.image.ref.name";
/** containerd's annotation for the full image name in an OCI archive (`ctr images export`). */
export const AnnotationImageName = "io.containerd.image.name";

export interface Platform {
    readonly os: string;
    readonly architecture: string;
    readonly variant?: string;
}

export interface Descriptor {
    readonly mediaType: string;
    readonly digest: Digest;
    readonly size: number;
    readonly annotations?: Readonly<Record<string, string>>;
    readonly platform?: Platform;
}

export interface ImageIndex {
    readonly schemaVersion: number;
    readonly mediaType?: string;
    readonly manifests: readonly Descriptor[];
}

export interface ImageManifest {
    readonly schemaVersion: number;
    readonly mediaType?: string;
    readonly config: Descriptor;
    readonly layers: readonly Descriptor[];
}

export interface HistoryEntry {
    readonly created?: string;
    readonly created_by?: string;
    readonly comment?: string;
    readonly empty_layer?: boolean;
}

export interface ImageConfig {
    readonly os: string;
    readonly architecture: string;
    readonly variant?: string;
    readonly rootfs: { readonly type: string; readonly diff_ids: readonly Digest[] };
    readonly history?: readonly HistoryEntry[];
    readonly [key: string]: unknown;
}

const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;
/** Manifests, indexes and configs are small; anything larger is not one (containerd: 4 MiB). */
export const MAX_JSON_BYTES = 8 * 1024 * 1024;

export function corrupt(what: string, message: string, reason: string, data: Record<string, unknown> = {}): EngineError {
    return new EngineError("Corrupt", `${what}: ${message}`, { path: what, reason, ...data });
}

export function checkDigestString(v: unknown, what: string): Digest {
    if (typeof v !== "string" || !DIGEST_RE.test(v)) {
        if (typeof v === "string" && /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/.test(v) && !v.startsWith("sha256:")) {
            throw new EngineError("Unsupported", `${what}: digest ${v} uses an algorithm other than sha256`, { path: what, reason: "digest-algorithm" });
        }
        throw corrupt(what, `${JSON.stringify(v)} is not a sha256 digest`, "bad-digest");
    }
    return v as Digest;
}

function isObject(v: unknown): v is Record<string, unknown> {
    return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function parseJson(bytes: Buffer, what: string): Record<string, unknown> {
    let doc: unknown;
    try {
        doc = JSON.parse(bytes.toString("utf8"));
    } catch (err) {
        throw corrupt(what, `not valid JSON (${(err as Error).message})`, "bad-json");
    }
    if (!isObject(doc)) throw corrupt(what, "must be a JSON object", "bad-json");
    return doc;
}

function checkAnnotations(v: unknown, what: string): Record<string, string> | undefined {
    if (v === undefined || v === null) return undefined;
    if (!isObject(v) || Object.values(v).some((x) => typeof x !== "string")) {
        throw corrupt(what, "annotations must map strings to strings", "bad-descriptor");
    }
    return v as Record<string, string>;
}

export function checkPlatform(v: unknown, what: string): Platform | undefined {
    if (v === undefined || v === null) return undefined;
    if (!isObject(v) || typeof v.os !== "string" || typeof v.architecture !== "string") {
        throw corrupt(what, "platform needs string os and architecture", "bad-descriptor");
    }
    return { os: v.os, architecture: v.architecture, ...(typeof v.variant === "string" && v.variant ? { variant: v.variant } : {}) };
}

export function checkDescriptor(v: unknown, what: string): Descriptor {
    if (!isObject(v)) throw corrupt(what, "a descriptor must be an object", "bad-descriptor");
    if (typeof v.mediaType !== "string" || v.mediaType === "") throw corrupt(what, "descriptor has no mediaType", "bad-descriptor");
    const size = v.size;
    if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) {
        throw corrupt(what, `descriptor size ${JSON.stringify(size)} is not a non-negative integer`, "bad-descriptor");
    }
    const annotations = checkAnnotations(v.annotations, what);
    const platform = checkPlatform(v.platform, what);
    return {
        mediaType: v.mediaType,
        digest: checkDigestString(v.digest, what),
        size,
        ...(annotations ? { annotations } : {}),
        ...(platform ? { platform } : {}),
    };
}

const MANIFEST_TYPES: ReadonlySet<string> = new Set([MediaTypeImageManifest, MediaTypeDockerManifest]);
const INDEX_TYPES: ReadonlySet<string> = new Set([MediaTypeImageIndex, MediaTypeDockerManifestList]);
export const CONFIG_MEDIA_TYPES: ReadonlySet<string> = new Set([MediaTypeImageConfig, MediaTypeDockerConfig]);

export const isManifestMediaType = (t: string): boolean => MANIFEST_TYPES.has(t);
export const isIndexMediaType = (t: string): boolean => INDEX_TYPES.has(t);

/**
 * A document's own `mediaType` (optional in OCI) must be the one its descriptor named: a
 * manifest served where an index was expected (or the reverse) is refused, not guessed at.
 */
export function checkDocMediaType(doc: Record<string, unknown>, desc: Descriptor | null, what: string): void {
    if (doc.mediaType === undefined) return;
    if (typeof doc.mediaType !== "string") throw corrupt(what, "mediaType must be a string", "bad-media-type");
    if (desc && doc.mediaType !== desc.mediaType) {
        throw corrupt(what, `says it is ${doc.mediaType}, its descriptor says ${desc.mediaType}`, "media-type-mismatch");
    }
}

export function checkIndex(doc: Record<string, unknown>, what: string): ImageIndex {
    if (doc.schemaVersion !== 2) throw corrupt(what, `schemaVersion must be 2, not ${JSON.stringify(doc.schemaVersion)}`, "bad-index");
    if (!Array.isArray(doc.manifests)) throw corrupt(what, "manifests must be an array", "bad-index");
    return {
        schemaVersion: 2,
        ...(typeof doc.mediaType === "string" ? { mediaType: doc.mediaType } : {}),
        manifests: doc.manifests.map((m, i) => checkDescriptor(m, `${what} manifests[${i}]`)),
    };
}

export function checkManifest(doc: Record<string, unknown>, what: string): ImageManifest {
    if (doc.schemaVersion !== 2) throw corrupt(what, `schemaVersion must be 2, not ${JSON.stringify(doc.schemaVersion)}`, "bad-manifest");
    if (!Array.isArray(doc.layers)) throw corrupt(what, "layers must be an array", "bad-manifest");
    return {
        schemaVersion: 2,
        ...(typeof doc.mediaType === "string" ? { mediaType: doc.mediaType } : {}),
        config: checkDescriptor(doc.config, `${what} config`),
        layers: doc.layers.map((l, i) => checkDescriptor(l, `${what} layers[${i}]`)),
    };
}

export function checkConfig(doc: Record<string, unknown>, what: string): ImageConfig {
    const rootfs = doc.rootfs;
    if (!isObject(rootfs) || rootfs.type !== "layers" || !Array.isArray(rootfs.diff_ids)) {
        throw corrupt(what, 'rootfs must be { "type": "layers", "diff_ids": [...] }', "bad-config");
    }
    const diffIds = rootfs.diff_ids.map((d, i) => checkDigestString(d, `${what} rootfs.diff_ids[${i}]`));
    // history is optional and only described: entries that are not objects read as empty, and a
    // history that is not an array is dropped (the spread below must not carry it through).
    let history: HistoryEntry[] | undefined;
    if (Array.isArray(doc.history)) {
        history = doc.history.map((h) => (isObject(h) ? (h as HistoryEntry) : {}));
    }
    const { history: _given, ...rest } = doc;
    return {
        ...rest,
        os: typeof doc.os === "string" ? doc.os : "",
        architecture: typeof doc.architecture === "string" ? doc.architecture : "",
        ...(typeof doc.variant === "string" ? { variant: doc.variant } : {}),
        rootfs: { type: "layers", diff_ids: diffIds },
        ...(history ? { history } : {}),
    };
}

/** The created_by of each non-empty history entry, in layer order (null where there is none). */
export function layerHistory(config: ImageConfig, layers: number): (string | null)[] {
    const out: (string | null)[] = [];
    for (const h of config.history ?? []) {
        if (h.empty_layer) continue;
        out.push(typeof h.created_by === "string" && h.created_by ? h.created_by : typeof h.comment === "string" && h.comment ? h.comment : null);
    }
    while (out.length < layers) out.push(null);
    return out.slice(0, layers);
}
