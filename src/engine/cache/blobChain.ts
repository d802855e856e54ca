/**
 * Mirrors BuildKit `cache/blobs.go` (v0.10.6) `computeBlobChain`, `setBlob` and
 * `ensureCompression` over a snapshot workspace:
 *
 * - the filter is the top ref's layerSet, computed once; recursion follows Merge parents, a Diff's
 *   upper only when the Diff reuses it, a Layer's parent; a ref's own blob is made in parallel
 *   with its ancestors' (bounded by `concurrency`), chain metadata bottom-up afterwards;
 * - one blob computation per ref at a time (flightcontrol key `<id>-<createIfNeeded>`); a blob
 *   that exists is never recomputed; without createIfNeeded a missing blob is ErrNoBlobs;
 * - the ingest ref is the record id; the blob is labelled `containerd.io/uncompressed` (not for
 *   uncompressed, as in v0.10), held by the flat lease `<id>` and linked to itself;
 * - Force converts every layer of the chain (ensureCompression), never replacing the main blob.
 */
import { availableParallelism } from "node:os";
import { WHITEOUT_EPOCH, type WhiteoutTime } from "../archive/whiteoutTime";
import { type CompressionConfig, createEncoder, defaultMediaType, isBuildkitComparable, validateLevel } from "../compression";
import { type ContentStore, type ContentWriter, LOCKED_CODE } from "../content";
import type { Digest } from "../digest/hashSink";
import { writeDiff } from "../diff/writeDiff";
import { EngineError, isEngineError } from "../errors";
import { isTypeWindows, type Ref, type Workspace } from "../refs";
import { FlightGroup } from "../util/flightcontrol";
import { Semaphore } from "../util/semaphore";
import { type ChainNode, computeChainMetadata } from "./chainMetadata";
import { convertBlob } from "./convert";
import { type BlobDescriptor, LABEL_UNCOMPRESSED, leaseIdFor } from "./labels";
import type { RefMetadataStore } from "./refMetadata";
import { ensureLease, getBlobWithCompression, linkBlob, needsConversion } from "./variants";

export interface ComputeOptions {
    readonly createIfNeeded: boolean;
    readonly compression?: CompressionConfig;
    readonly signal?: AbortSignal;
    readonly onProgress?: (event: ProgressEvent) => void;
}

export interface ProgressEvent {
    readonly ref: string;
    readonly phase: "diff" | "convert" | "done" | "reused";
    readonly detail?: string;
}

export class BlobChainEngine {
    readonly flight = new FlightGroup();
    private readonly slots: Semaphore;
    private readonly nodes = new Map<Ref, ChainNode>();
    /** Ingests and temporaries of killed runs, removed before this engine's first write. */
    private swept?: Promise<void>;

    /** `concurrency`: blobs made or converted at once; 0 or undefined = one per CPU. */
    constructor(
        readonly workspace: Workspace,
        readonly store: ContentStore,
        readonly meta: RefMetadataStore,
        readonly whiteoutTime: WhiteoutTime = WHITEOUT_EPOCH,
        concurrency?: number,
    ) {
        if (concurrency !== undefined && (!Number.isInteger(concurrency) || concurrency < 0)) {
            throw new EngineError("InvalidArgument", `concurrency must be a whole number ≥ 0 (0 = one per CPU), got ${concurrency}`, { concurrency });
        }
        this.slots = new Semaphore(concurrency ? concurrency : Math.max(1, availableParallelism()));
    }

    async computeBlobChain(ref: Ref, opts: ComputeOptions): Promise<void> {
        const comp = validateLevel(opts.compression ?? { type: "gzip" });
        const filter = ref.layerSet();
        if (opts.createIfNeeded) await this.sweep();
        await this.compute(ref, filter, { ...opts, compression: comp });
    }

    private async compute(ref: Ref, filter: ReadonlySet<string>, opts: ComputeOptions & { compression: CompressionConfig }): Promise<void> {
        const work: Promise<void>[] = [];
        switch (ref.kind()) {
            case "Merge":
                for (const p of ref.mergeParents) work.push(this.compute(p, filter, opts));
                break;
            case "Diff": {
                const upper = ref.diffParents?.upper;
                if (!filter.has(ref.id) && upper) work.push(this.compute(upper, filter, opts));
                break;
            }
            case "Layer":
                work.push(this.compute(ref.layerParent!, filter, opts));
                break;
            case "BaseLayer":
                break;
        }
        if (filter.has(ref.id)) {
            work.push(this.ensureBlob(ref, opts));
        }
        const results = await Promise.allSettled(work);
        const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
        if (failed) throw failed.reason;
        await computeChainMetadata(this.node(ref), filter, this.meta);
    }

    private async ensureBlob(ref: Ref, opts: ComputeOptions & { compression: CompressionConfig }): Promise<void> {
        await this.flight.do(`${ref.id}-${opts.createIfNeeded}`, async () => {
            if (this.meta.get(ref.id).blob) {
                opts.onProgress?.({ ref: ref.id, phase: "reused" });
                return;
            }
            if (!opts.createIfNeeded) {
                throw new EngineError("NotFound", `no blobs for snapshot of ref ${JSON.stringify(ref.id)} (compute it first)`, { ref: ref.id });
            }
            if (isTypeWindows(ref)) {
                throw new EngineError(
                    "Unsupported",
                    `ref ${JSON.stringify(ref.id)} is a Windows layer (layerType "windows"); Windows layer tars (Hives/Files) are not supported`,
                    { ref: ref.id },
                );
            }
            await this.slots.run(() => this.createBlob(ref, opts.compression, opts));
        });
        if (opts.compression.force) {
            await this.ensureCompression(ref, opts.compression, opts.signal, opts.onProgress);
        }
    }

    /**
     * Removes what killed runs left: ingests whose process is gone (the ref's own next writer
     * would replace its ingest, but a convert's ingest ref is unique) and STATE/tmp/. Once per
     * engine; a failure here never stops the compute.
     */
    sweep(): Promise<void> {
        this.swept ??= this.store.cleanupIngests().then(
            () => undefined,
            () => undefined,
        );
        return this.swept;
    }

    /** The differ path: one streaming pass, tar → (compressor) → content writer, diffID on the side. */
    private async createBlob(ref: Ref, comp: CompressionConfig, opts: ComputeOptions): Promise<void> {
        const writer = await this.openWriter(ref, opts.signal);
        if (!writer) return; // another process made it meanwhile
        try {
            const inputs = await this.workspace.views.blobInputs(ref, opts.signal);
            opts.onProgress?.({ ref: ref.id, phase: "diff", detail: comp.type });
            let tarDiffID: Digest;
            let annotations: Record<string, string> = {};
            let diffID: Digest;
            if (comp.type === "uncompressed") {
                tarDiffID = (await writeDiff({ ...inputs, whiteoutTime: this.whiteoutTime, output: writer, signal: opts.signal })).diffID;
                diffID = tarDiffID;
            } else {
                const encoder = createEncoder(comp, writer);
                try {
                    tarDiffID = (await writeDiff({ ...inputs, whiteoutTime: this.whiteoutTime, output: encoder, signal: opts.signal })).diffID;
                } catch (err) {
                    encoder.abort(err);
                    throw err;
                }
                const enc = await encoder.finish();
                annotations = { ...enc.annotations };
                // eStargz's finalize replaces the diffID with D' (tar + TOC tar), spec §4.8.
                diffID = comp.type === "estargz" && enc.uncompressedDigest ? enc.uncompressedDigest : tarDiffID;
            }
            const labels: Record<string, string> = comp.type === "uncompressed" ? {} : { [LABEL_UNCOMPRESSED]: diffID };
            const committed = await writer.commit({ labels });
            if (committed.existed && comp.type !== "uncompressed") {
                const info = await this.store.info(committed.digest);
                if (info && !info.labels[LABEL_UNCOMPRESSED]) await this.store.updateLabels(committed.digest, labels);
            }
            annotations[LABEL_UNCOMPRESSED] = diffID;
            await this.setBlob(ref, {
                digest: committed.digest,
                mediaType: defaultMediaType(comp.type),
                size: committed.size,
                annotations,
                buildkitComparable: isBuildkitComparable(comp),
            }, tarDiffID);
            opts.onProgress?.({ ref: ref.id, phase: "done", detail: committed.digest });
        } catch (err) {
            await writer.abort();
            throw err;
        }
    }

    /** The ingest writer for a ref; waits while another process holds it; null when the blob exists. */
    private async openWriter(ref: Ref, signal?: AbortSignal): Promise<ContentWriter | null> {
        for (let delay = 50; ; delay = Math.min(delay * 2, 2000)) {
            try {
                const writer = await this.store.writer(ref.id);
                // NOTE: the records were read when the engine opened; another process may have
                // made this blob since. Holding the ref's ingest, a fresh look decides.
                if ((await this.meta.refresh(ref.id)).blob) {
                    await writer.abort();
                    return null;
                }
                return writer;
            } catch (err) {
                if (!isEngineError(err, LOCKED_CODE)) throw err;
            }
            await new Promise((r) => setTimeout(r, delay));
            if (signal?.aborted) throw new EngineError("Canceled", "canceled");
            if ((await this.meta.refresh(ref.id)).blob) return null;
        }
    }

    /**
     * `setBlob`: first blob wins; the flat lease `<id>` holds it; linked to itself. Also how an
     * imported image's original blob becomes a ref's blob (`whiteoutTime`: the one inferred
     * from that layer, for verify).
     */
    async setBlob(ref: Ref, desc: BlobDescriptor, tarDiffID: Digest, whiteoutTime: WhiteoutTime = this.whiteoutTime): Promise<void> {
        const lease = leaseIdFor(ref.id);
        await ensureLease(this.store, lease, { flat: true, labels: { "layerscope.ref": ref.id } });
        await this.store.addLeaseResource(lease, { type: "content", digest: desc.digest });
        // NOTE: the blob's descriptor labels are written before the record names it, so a kill
        // between the two never leaves a recorded blob that walkBlob (and verify) cannot see.
        const cur = await this.meta.refresh(ref.id);
        if (!cur.blob) await linkBlob(this.store, ref.id, desc.digest, desc);
        const rec = await this.meta.setBlob(ref.id, {
            diffID: desc.annotations[LABEL_UNCOMPRESSED] as Digest,
            blob: desc.digest,
            mediaType: desc.mediaType,
            blobSize: desc.size,
            annotations: desc.annotations,
            tarDiffID,
            whiteoutTime: whiteoutTime.seconds.toString(),
            buildkitComparable: desc.buildkitComparable ?? false,
        });
        if (cur.blob || rec.blob !== desc.digest) {
            await linkBlob(this.store, ref.id, rec.blob!, rec.blob === desc.digest ? desc : this.mainDescriptor(ref.id));
        }
    }

    mainDescriptor(id: string): BlobDescriptor {
        const rec = this.meta.get(id);
        if (!rec.blob || !rec.mediaType) {
            throw new EngineError("NotFound", `no blob set for cache record ${id}`, { ref: id });
        }
        return {
            digest: rec.blob,
            mediaType: rec.mediaType,
            size: rec.blobSize ?? 0,
            annotations: rec.annotations ?? {},
            buildkitComparable: rec.buildkitComparable,
        };
    }

    /** `ensureCompression`: make sure a variant of `comp.type` exists, converting if needed. */
    async ensureCompression(ref: Ref, comp: CompressionConfig, signal?: AbortSignal, onProgress?: ComputeOptions["onProgress"]): Promise<void> {
        await this.flight.do(`${ref.id}-${comp.type}`, async () => {
            const main = this.mainDescriptor(ref.id);
            if (!(await needsConversion(this.store, main, comp.type))) {
                await linkBlob(this.store, ref.id, main.digest, main);
                return;
            }
            if (await getBlobWithCompression(this.store, main.digest, comp.type)) {
                return; // a variant exists, whatever its level
            }
            const variant = await this.slots.run(() => {
                onProgress?.({ ref: ref.id, phase: "convert", detail: comp.type });
                return convertBlob(this.store, main, comp, signal);
            });
            await linkBlob(this.store, ref.id, main.digest, variant);
            onProgress?.({ ref: ref.id, phase: "done", detail: variant.digest });
        });
    }

    /** The ref as computeChainMetadata sees it. */
    node(ref: Ref): ChainNode {
        let n = this.nodes.get(ref);
        if (!n) {
            n = {
                id: ref.id,
                description: ref.description ?? "",
                kind: () => ref.kind(),
                layerParent: () => (ref.layerParent ? this.node(ref.layerParent) : undefined),
                mergeParents: () => ref.mergeParents.map((p) => this.node(p)),
                diffUpper: () => (ref.diffParents ? (ref.diffParents.upper ? this.node(ref.diffParents.upper) : null) : undefined),
                layerChain: () => ref.layerChain().map((l) => this.node(l)),
            };
            this.nodes.set(ref, n);
        }
        return n;
    }
}
