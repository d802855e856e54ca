/**
 * Runtime checks of every message crossing the host↔webview boundary, field by field: both
 * sides treat what arrives as untrusted (a webview is a web page; a host may be a newer or older
 * build after a reload). A message with an unknown `type`, a missing or extra-typed field, a
 * non-finite number or an unknown enum value is rejected as a whole.
 */
import { CONTENTS_ACTIONS, type HostToWebview, type PersistedState, type WebviewToHost } from "./messages";
import {
    COMPRESSIONS,
    EDGE_ROLES,
    REF_KINDS,
    VERIFICATION_STATES,
    type DerivationStepView,
    type DerivationView,
    type GraphView,
    type ParentView,
    type ProgressView,
    type RefDetailsView,
    type RefNodeView,
    type VariantView,
    type VerificationView,
    type ChangeCountView,
    type ChangeSizesView,
    type DirSizesView,
    type LayerSizesView,
    type SizesView,
    type InefficiencyView,
} from "./viewModel";

type Check<T> = (x: unknown) => x is T;
type Rec = Record<string, unknown>;

function isRec(x: unknown): x is Rec {
    return typeof x === "object" && x !== null && !Array.isArray(x);
}

const str: Check<string> = (x): x is string => typeof x === "string";
const num: Check<number> = (x): x is number => typeof x === "number" && Number.isFinite(x);
const int: Check<number> = (x): x is number => Number.isSafeInteger(x);
const bool: Check<boolean> = (x): x is boolean => typeof x === "boolean";

function oneOf<T extends string>(values: readonly T[]): Check<T> {
    return (x): x is T => typeof x === "string" && (values as readonly string[]).includes(x);
}

function arrayOf<T>(item: Check<T>): Check<readonly T[]> {
    return (x): x is readonly T[] => Array.isArray(x) && x.every(item);
}

const own = (x: Rec, k: string): boolean => Object.prototype.hasOwnProperty.call(x, k);

/**
 * An object whose listed fields are its own and all pass their checks (other fields are
 * ignored). Own: a field inherited from a prototype is not data that crossed the boundary.
 */
function shape<T>(fields: { readonly [K in keyof T]-?: Check<T[K]> }): Check<T> {
    return (x): x is T => {
        if (!isRec(x)) return false;
        for (const [k, check] of Object.entries(fields) as [string, Check<unknown>][]) {
            if (!own(x, k) || !check(x[k])) return false;
        }
        return true;
    };
}

export const isCompression = oneOf(COMPRESSIONS);

const isParent = shape<ParentView>({ ref: str, role: oneOf(EDGE_ROLES), index: int });

export const isRefNodeView = shape<RefNodeView>({
    id: str,
    kind: oneOf(REF_KINDS),
    description: str,
    parents: arrayOf(isParent),
    diffID: str,
    chainID: str,
    blobChainID: str,
    blob: str,
    digests: arrayOf(str),
    verification: oneOf(VERIFICATION_STATES),
    verdict: str,
});

const isVerification = shape<VerificationView>({
    state: oneOf(VERIFICATION_STATES),
    verdict: str,
    check: str,
    at: (x): x is number => num(x) && x >= 0,
    explanation: arrayOf(str),
    whiteoutTime: str,
    nameLookup: str,
    writerTraits: arrayOf(str),
});

const isStep = shape<DerivationStepView>({
    layer: str,
    formula: str,
    input: str,
    hash: oneOf(["sha256", "none"] as const),
    result: str,
});

const isDerivation = shape<DerivationView>({
    value: str,
    steps: arrayOf(isStep),
    check: oneOf(["match", "mismatch", "incomplete"] as const),
});

const isVariant = shape<VariantView>({
    digest: str,
    mediaType: str,
    compression: oneOf([...COMPRESSIONS, "unknown"] as const),
    size: num,
    uncompressedSize: num,
    uncompressedDigest: str,
    timeMs: num,
    comparable: oneOf(["buildkit", "not-comparable"] as const),
    role: oneOf(["main", "variant"] as const),
    path: str,
});

export const isRefDetailsView = shape<RefDetailsView>({
    id: str,
    kind: oneOf(REF_KINDS),
    description: str,
    snapshot: str,
    layers: arrayOf(str),
    diffID: str,
    chainID: isDerivation,
    blobChainID: isDerivation,
    buildkit: shape({ chainID: str, blobChainID: str, reason: str }),
    variants: arrayOf(isVariant),
    verification: isVerification,
});

export const isGraphView = shape<GraphView>({ source: str, label: str, nodes: arrayOf(isRefNodeView) });

const isProgress = shape<ProgressView>({
    ref: str,
    operation: oneOf(["compute", "convert", "verify", "gc"] as const),
    phase: oneOf(["start", "diff", "convert", "reused", "done", "end"] as const),
    detail: str,
    error: str,
    elapsedMs: num,
});

/** A count or byte size: a whole number ≥ 0; `orUnknown` also takes -1. */
const size = (x: unknown): x is number => int(x) && x >= 0;
const sizeOrUnknown = (x: unknown): x is number => int(x) && x >= -1;

const isCount = shape<ChangeCountView>({ count: size, bytes: size });
const isChanges = shape<ChangeSizesView>({ added: isCount, modified: isCount, deleted: isCount });
const isDirSizes = shape<DirSizesView>({ path: str, changes: isChanges });
const isLayerSizes = shape<LayerSizesView>({
    ref: str,
    index: size,
    blobBytes: sizeOrUnknown,
    compression: str,
    tarBytes: sizeOrUnknown,
    changes: isChanges,
    shadowed: isCount,
    dirs: arrayOf(isDirSizes),
    dirCount: size,
});
const isInefficiency = shape<InefficiencyView>({ path: str, layers: arrayOf(size), cumulativeBytes: size });

export const isSizesView = shape<SizesView>({
    ref: str,
    layers: arrayOf(isLayerSizes),
    compressedBytes: sizeOrUnknown,
    contentBytes: size,
    shadowed: isCount,
    efficiency: (x): x is number => num(x) && x >= 0 && x <= 1,
    wastedBytes: size,
    userBytes: size,
    inefficiencies: arrayOf(isInefficiency),
    inefficiencyCount: size,
    origin: oneOf(["blob", "snapshot"] as const),
});

export const isPersistedState = shape<PersistedState>({
    source: str,
    selected: str,
    search: str,
    panX: num,
    panY: num,
    zoom: (x): x is number => num(x) && x > 0,
    compression: isCompression,
    level: int,
    force: bool,
});

type Variant<U, T extends string> = Extract<U, { readonly type: T }>;
/** Per message type, the check of its other fields (`type` is checked by the table lookup). */
type Table<U extends { type: string }> = { readonly [T in U["type"]]: Check<Omit<Variant<U, T>, "type">> };

function union<U extends { type: string }>(table: Table<U>): Check<U> {
    return (x): x is U => {
        if (!isRec(x) || !own(x, "type") || typeof x.type !== "string" || !own(table, x.type)) {
            return false;
        }
        return (table as Record<string, Check<unknown>>)[x.type]!(x);
    };
}

/** A level as BuildKit takes it: -1 (the default) or 0..22 (zstd's highest). */
const isLevel = (x: unknown): x is number => int(x) && x >= -1 && x <= 22;

export const isWebviewToHost: Check<WebviewToHost> = union<WebviewToHost>({
    ready: shape<Omit<Variant<WebviewToHost, "ready">, "type">>({}),
    select: shape<Omit<Variant<WebviewToHost, "select">, "type">>({ ref: str }),
    run: shape<Omit<Variant<WebviewToHost, "run">, "type">>({
        id: (x): x is number => int(x) && x >= 0,
        command: oneOf(["compute", "convert"] as const),
        ref: (x): x is string => str(x) && x.length > 0,
        compression: isCompression,
        level: isLevel,
        force: bool,
    }),
    copy: shape<Omit<Variant<WebviewToHost, "copy">, "type">>({ text: (x): x is string => str(x) && x.length <= 4096 }),
    contents: shape<Omit<Variant<WebviewToHost, "contents">, "type">>({
        action: oneOf(CONTENTS_ACTIONS),
        ref: (x): x is string => str(x) && x.length > 0 && x.length <= 4096,
    }),
    sizes: shape<Omit<Variant<WebviewToHost, "sizes">, "type">>({ ref: (x): x is string => str(x) && x.length > 0 && x.length <= 4096 }),
});

export const isHostToWebview: Check<HostToWebview> = union<HostToWebview>({
    graph: shape<Omit<Variant<HostToWebview, "graph">, "type">>({ graph: isGraphView }),
    nodes: shape<Omit<Variant<HostToWebview, "nodes">, "type">>({ source: str, nodes: arrayOf(isRefNodeView) }),
    details: shape<Omit<Variant<HostToWebview, "details">, "type">>({ source: str, details: isRefDetailsView }),
    progress: shape<Omit<Variant<HostToWebview, "progress">, "type">>({ source: str, progress: isProgress }),
    focus: shape<Omit<Variant<HostToWebview, "focus">, "type">>({ ref: str }),
    reply: shape<Omit<Variant<HostToWebview, "reply">, "type">>({ id: int, ok: bool, error: str }),
    failure: shape<Omit<Variant<HostToWebview, "failure">, "type">>({ message: str }),
    readSizes: shape<Omit<Variant<HostToWebview, "readSizes">, "type">>({ ref: str }),
    sizes: shape<Omit<Variant<HostToWebview, "sizes">, "type">>({ source: str, sizes: isSizesView }),
    sizesFailed: shape<Omit<Variant<HostToWebview, "sizesFailed">, "type">>({ source: str, ref: str, message: str }),
});
