/**
 * `openLayerContents`: a ref's layer (its own changes) or its merged view, as a read-only tree
 * of entries with streaming reads, served from the blobs in the content store (any compression)
 * or from the snapshot directories (never written, never unpacked).
 *
 * Source "auto" takes blobs when every layer needed has one, else the snapshots. The layer view
 * classifies its entries against the lower view, read from the same kind of source.
 */
import type { WorkspaceEngine } from "../cache/workspaceEngine";
import type { BlobDescriptor } from "../cache/labels";
import { getBlobWithCompression } from "../cache/variants";
import { assertNever, EngineError } from "../errors";
import { EmptyTree } from "../fs/emptyTree";
import { MergedTree } from "../fs/mergedTree";
import type { TreeReader } from "../fs/tree";
import type { Ref } from "../refs";
import { BlobIndexCache, blobOrigin } from "./blobLayers";
import { TreeContents } from "./treeContents";
import type { BlobOrigin, IndexedBlob, LayerContents, OpenContentsOptions } from "./types";

const caches = new WeakMap<WorkspaceEngine, BlobIndexCache>();

export async function openLayerContents(engine: WorkspaceEngine, refId: string, opts: OpenContentsOptions): Promise<LayerContents> {
    const ref = engine.workspace.get(refId);
    const layer = opts.view === "layer" ? ownLayer(ref) : null;
    const lowerRef = lowerOf(layer ?? ref);
    const source = opts.source ?? "auto";
    const wanted = layer ? [layer] : ref.layerChain();
    const blobs = source === "snapshot" ? null : await blobsOf(engine, wanted, opts);
    if (source === "blob" && !blobs) {
        const missing = wanted.filter((r) => !engine.chain.meta.get(r.id).blob).map((r) => r.id);
        const what = opts.compression ? `a ${opts.compression} blob` : "a blob";
        throw new EngineError(
            "FailedPrecondition",
            `ref ${refId}: ${missing.length ? `layer(s) ${missing.join(", ")} have no blob` : `not every layer has ${what}`} in the content store; run compute${opts.compression ? ` (or convert --compression ${opts.compression})` : ""} first, or read the snapshots`,
            { ref: refId },
        );
    }
    const common = { refId, view: opts.view, lowerRefId: lowerRef?.id ?? null };
    if (blobs) {
        const cache = cacheOf(engine);
        const trees = await Promise.all(blobs.map((b) => cache.index(b, opts.signal)));
        const lower = lowerRef ? () => openLower(engine, lowerRef, opts) : () => Promise.resolve(new EmptyTree() as TreeReader);
        return new TreeContents({
            ...common,
            origin: { kind: "blob", blobs: blobs.map((b, i) => ({ ...b, indexedFrom: trees[i]!.indexedFrom })) },
            tree: layer ? trees[0]! : new MergedTree(trees, `merged view of ${refId}`, false),
            lower: layer ? lower : null,
        });
    }
    const views = engine.workspace.views;
    const dirs = wanted.flatMap((r) => (r.snapshot ? [r.snapshot] : []));
    if (layer) {
        const tree = await views.layerTree(layer, opts.signal);
        const lower = lowerRef ? () => views.view(lowerRef, opts.signal) : () => Promise.resolve(new EmptyTree() as TreeReader);
        return new TreeContents({ ...common, origin: { kind: "snapshot", dirs }, tree, lower });
    }
    return new TreeContents({ ...common, origin: { kind: "snapshot", dirs }, tree: await views.view(ref, opts.signal), lower: null });
}

/** One layer of a chain, as an upperdir-like tree, and where it was read from. */
export interface StackLayer {
    readonly refId: string;
    readonly tree: TreeReader;
    readonly blob: IndexedBlob | null;
    readonly snapshot: string | null;
}

/** Every layer of the ref's chain (bottom first), from blobs or snapshots as `opts.source` says. */
export async function layerStack(engine: WorkspaceEngine, refId: string, opts: Omit<OpenContentsOptions, "view">): Promise<StackLayer[]> {
    const chain = engine.workspace.get(refId).layerChain();
    const source = opts.source ?? "auto";
    const blobs = source === "snapshot" ? null : await blobsOf(engine, chain, opts);
    if (source === "blob" && !blobs) {
        throw new EngineError("FailedPrecondition", `ref ${refId}: not every layer has ${opts.compression ? `a ${opts.compression} blob` : "a blob"} in the content store; run compute first, or read the snapshots`, { ref: refId });
    }
    if (blobs) {
        const cache = cacheOf(engine);
        const trees = await Promise.all(blobs.map((b) => cache.index(b, opts.signal)));
        return chain.map((r, i) => ({ refId: r.id, tree: trees[i]!, blob: { ...blobs[i]!, indexedFrom: trees[i]!.indexedFrom }, snapshot: r.snapshot }));
    }
    const views = engine.workspace.views;
    const trees = await Promise.all(chain.map((r) => views.layerTree(r, opts.signal)));
    return chain.map((r, i) => ({ refId: r.id, tree: trees[i]!, blob: null, snapshot: r.snapshot }));
}

/** The ref whose blob is `ref`'s layer: itself, or the upper a Diff reuses. */
function ownLayer(ref: Ref): Ref {
    const kind = ref.kind();
    switch (kind) {
        case "BaseLayer":
        case "Layer":
            return ref;
        case "Diff":
            return ref.reusedUpper() ?? ref;
        case "Merge":
            throw new EngineError(
                "InvalidArgument",
                `ref ${ref.id} is a Merge: it has no layer of its own (its layers: ${ref.layerChain().map((r) => r.id).join(", ")}); open one of those, or its merged view`,
                { ref: ref.id },
            );
        default:
            return assertNever(kind, "ref kind");
    }
}

/** The ref whose view a layer applies on (a Layer's parent, a Diff's lower); null for none. */
function lowerOf(ref: Ref): Ref | null {
    const kind = ref.kind();
    switch (kind) {
        case "BaseLayer":
        case "Merge":
            return null;
        case "Layer":
            return ref.layerParent;
        case "Diff":
            return ref.reusedUpper()?.layerParent ?? ref.diffParents?.lower ?? null;
        default:
            return assertNever(kind, "ref kind");
    }
}

/** Each layer's blob (in the wanted compression), or null when one is missing. */
async function blobsOf(engine: WorkspaceEngine, layers: readonly Ref[], opts: Pick<OpenContentsOptions, "compression">): Promise<BlobOrigin[] | null> {
    const out: BlobOrigin[] = [];
    for (const r of layers) {
        if (!engine.chain.meta.get(r.id).blob) return null;
        const main = engine.chain.mainDescriptor(r.id);
        const desc: BlobDescriptor | null = opts.compression ? await getBlobWithCompression(engine.chain.store, main.digest, opts.compression) : main;
        if (!desc || !(await engine.chain.store.exists(desc.digest))) return null;
        out.push(await blobOrigin(engine.chain.store, r.id, desc));
    }
    return out;
}

/** The lower view for change classification: from blobs when they all exist, else snapshots. */
async function openLower(engine: WorkspaceEngine, ref: Ref, opts: OpenContentsOptions): Promise<TreeReader> {
    const blobs = await blobsOf(engine, ref.layerChain(), { ...opts, compression: undefined });
    if (blobs) {
        const cache = cacheOf(engine);
        const trees = await Promise.all(blobs.map((b) => cache.index(b, opts.signal)));
        return new MergedTree(trees, `merged view of ${ref.id}`, false);
    }
    return engine.workspace.views.view(ref, opts.signal);
}

function cacheOf(engine: WorkspaceEngine): BlobIndexCache {
    let c = caches.get(engine);
    if (!c) caches.set(engine, (c = new BlobIndexCache()));
    return c;
}
