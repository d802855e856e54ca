/**
 * The engine over one snapshot workspace: its refs (layerscope.json), its state directory
 * (content store + ref metadata, default WORKSPACE/.layerscope) and the blob-chain operations.
 * This is what the CLI and the extension drive.
 */
import { createHash } from "node:crypto";
import * as path from "node:path";
import type { WhiteoutTime } from "../archive/whiteoutTime";
import { type CompressionType, fromMediaType, openDecoded } from "../compression";
import { ContentStore } from "../content";
import type { Digest } from "../digest/hashSink";
import { writeDiff } from "../diff/writeDiff";
import { EngineError } from "../errors";
import { loadWorkspace, type Ref, STATE_DIR, type Workspace } from "../refs";
import { BlobChainEngine, type ComputeOptions } from "./blobChain";
import { imageChainIDs } from "./chainMetadata";
import { rollBackImports } from "./importJournal";
import { type BlobDescriptor, LABEL_UNCOMPRESSED } from "./labels";
import { RefMetadataStore } from "./refMetadata";
import { blobIsEStargz, walkBlob } from "./variants";

export interface OpenOptions {
    readonly stateDir?: string;
    readonly whiteoutTime?: WhiteoutTime;
    /** Blobs made or converted at once; 0 or undefined = one per CPU. */
    readonly concurrency?: number;
}

/** What a list of refs shows without reading the content store: kind, diffID, main blob. */
export interface RefSummary {
    readonly id: string;
    readonly kind: string;
    readonly description: string | null;
    readonly diffID: Digest | null;
    readonly blob: Digest | null;
    readonly mediaType: string | null;
}

export interface BlobReport {
    readonly digest: Digest;
    readonly mediaType: string;
    readonly size: number;
    readonly path: string;
    readonly annotations: Readonly<Record<string, string>>;
    /** The bytes are BuildKit's (uncompressed, or gzip/eStargz from the Go-exact deflate). */
    readonly buildkitComparable: boolean;
}

export interface RefReport {
    readonly id: string;
    readonly kind: string;
    readonly description: string | null;
    /** The snapshot directory (absolute; BaseLayer and Layer only). */
    readonly snapshot: string | null;
    readonly parents: { readonly parent?: string; readonly merge?: string[]; readonly diff?: { lower: string | null; upper: string | null } };
    readonly layers: string[];
    readonly diffID: Digest | null;
    readonly chainID: Digest | null;
    readonly blobChainID: Digest | null;
    /** What BuildKit's computeChainMetadata recorded, when it differs from the image's IDs. */
    readonly buildkit: { readonly chainID: string; readonly blobChainID: string } | null;
    readonly blob: BlobReport | null;
    readonly variants: BlobReport[];
}

export interface VerifyCheck {
    readonly ref: string;
    readonly what: string;
    readonly ok: boolean;
    readonly expected: string;
    readonly actual: string;
}

export interface VerifyReport {
    readonly ok: boolean;
    readonly checks: VerifyCheck[];
}

export interface GcReport {
    readonly removed: Digest[];
    readonly bytes: number;
    readonly leasesRemoved: string[];
    readonly ingestsRemoved: number;
}

export async function openWorkspaceEngine(dir: string, opts: OpenOptions = {}): Promise<WorkspaceEngine> {
    const ws = loadWorkspace(dir);
    const stateDir = path.resolve(opts.stateDir ?? path.join(ws.root, STATE_DIR));
    return new WorkspaceEngine(ws, stateDir, await openBlobChain(ws, stateDir, opts));
}

/** The blob-chain engine over a workspace built in memory (a snapshot root's refs), state in stateDir. */
export async function openBlobChain(ws: Workspace, stateDir: string, opts: OpenOptions = {}): Promise<BlobChainEngine> {
    const store = await ContentStore.open(stateDir);
    const ids = new Set<string>();
    const collect = (r: Ref): void => {
        if (ids.has(r.id)) return;
        ids.add(r.id);
        [r.layerParent, ...r.mergeParents, r.diffParents?.lower, r.diffParents?.upper].forEach((p) => p && collect(p));
    };
    ws.entries.forEach((e) => collect(e.ref));
    const meta = await RefMetadataStore.open(stateDir, ids, store);
    return new BlobChainEngine(ws, store, meta, opts.whiteoutTime, opts.concurrency);
}

export class WorkspaceEngine {
    constructor(
        readonly workspace: Workspace,
        readonly stateDir: string,
        readonly chain: BlobChainEngine,
    ) {}

    get snapshotter(): string {
        return this.workspace.snapshotter;
    }

    /** The ids declared in layerscope.json, in file order. */
    refIds(): string[] {
        return this.workspace.entries.map((e) => e.id);
    }

    /** The ids of the ref's layer chain, bottom first. */
    layerIds(id: string): string[] {
        return this.workspace.get(id).layerChain().map((r) => r.id);
    }

    /** The layer chain and then the ref itself when it is not a layer of it. */
    chainOf(id: string): string[] {
        const layers = this.layerIds(id);
        return layers.includes(this.workspace.get(id).id) ? layers : [...layers, id];
    }

    /** The ref's row in a list: in-memory metadata only, no I/O (a list of thousands stays instant). */
    refSummary(id: string): RefSummary {
        const ref = this.workspace.get(id);
        const rec = this.chain.meta.get(ref.id);
        return {
            id,
            kind: ref.kind(),
            description: ref.description || null,
            diffID: rec.diffID ?? null,
            blob: rec.blob ?? null,
            mediaType: rec.blob ? rec.mediaType ?? null : null,
        };
    }

    computeBlobChain(id: string, opts: ComputeOptions): Promise<void> {
        return this.chain.computeBlobChain(this.workspace.get(id), opts);
    }

    async report(id: string): Promise<RefReport> {
        const ref = this.workspace.get(id);
        const meta = this.chain.meta;
        const rec = meta.get(ref.id);
        const image = imageChainIDs(this.chain.node(ref), meta);
        const recorded = { chainID: rec.chainID ?? "", blobChainID: rec.blobChainID ?? "" };
        const differs = image !== null && (recorded.chainID !== image.chainID || recorded.blobChainID !== image.blobChainID);
        const store = this.chain.store;
        const toReport = (d: BlobDescriptor): BlobReport => ({
            digest: d.digest,
            mediaType: d.mediaType,
            size: d.size,
            path: store.blobPath(d.digest),
            annotations: d.annotations,
            buildkitComparable: d.buildkitComparable ?? false,
        });
        const main = rec.blob ? this.chain.mainDescriptor(ref.id) : null;
        return {
            id,
            kind: ref.kind(),
            description: ref.description || null,
            snapshot: ref.snapshot,
            parents: parentsOf(ref),
            layers: ref.layerChain().map((r) => r.id),
            diffID: rec.diffID ?? null,
            chainID: image?.chainID ?? null,
            blobChainID: image?.blobChainID ?? null,
            buildkit: differs ? recorded : null,
            blob: main ? toReport(main) : null,
            variants: main ? (await walkBlob(store, main.digest)).map(toReport) : [],
        };
    }

    /** Recomputes every stored digest of the ref's chain (default: all refs) and compares. */
    async verify(id: string | undefined, signal?: AbortSignal): Promise<VerifyReport> {
        const checks: VerifyCheck[] = [];
        const refs = new Map<string, Ref>();
        for (const top of id ? [id] : this.refIds()) {
            for (const r of this.workspace.get(top).layerChain()) refs.set(r.id, r);
        }
        for (const ref of refs.values()) {
            const rec = this.chain.meta.get(ref.id);
            if (!rec.blob) continue;
            const add = (what: string, expected: string, actual: string): void => {
                checks.push({ ref: ref.id, what, ok: expected === actual, expected, actual });
            };
            const inputs = await this.workspace.views.blobInputs(ref, signal);
            const whiteoutTime = rec.whiteoutTime !== undefined ? { seconds: BigInt(rec.whiteoutTime) } : undefined;
            const tar = await writeDiff({ ...inputs, whiteoutTime, signal });
            add("layer tar recomputed from the snapshots", rec.tarDiffID ?? rec.diffID ?? "", tar.diffID);
            for (const v of await walkBlob(this.chain.store, rec.blob)) {
                const digest = await this.hashFile(v.digest, null);
                add(`blob ${v.digest} (${v.mediaType}) content`, v.digest, digest);
                const type = await this.decodeType(v);
                if (type && v.annotations[LABEL_UNCOMPRESSED]) {
                    add(`blob ${v.digest} decompressed (${LABEL_UNCOMPRESSED})`, v.annotations[LABEL_UNCOMPRESSED]!, await this.hashFile(v.digest, type));
                }
            }
        }
        return { ok: checks.every((c) => c.ok), checks };
    }

    private async decodeType(desc: BlobDescriptor): Promise<CompressionType | null> {
        const t = fromMediaType(desc.mediaType);
        if (t === "unknown") return null;
        // For an eStargz blob the recorded diffID (D') covers every member, the TOC included.
        return t === "gzip" && (await blobIsEStargz(this.chain.store, desc.digest)) ? "gzip" : t;
    }

    private async hashFile(digest: Digest, decode: CompressionType | null): Promise<string> {
        const h = createHash("sha256");
        const p = this.chain.store.blobPath(digest);
        try {
            const src = decode ? openDecoded(p, decode) : (await this.chain.store.readStream(digest));
            for await (const chunk of src) h.update(chunk as Buffer);
        } catch (err) {
            return `unreadable: ${(err as Error).message}`;
        }
        return `sha256:${h.digest("hex")}`;
    }

    /**
     * Rolls back imports killed before they named their refs (importJournal.ts), drops the
     * leases of refs no longer in the workspace, then garbage-collects the store.
     */
    async gc(): Promise<GcReport> {
        const store = this.chain.store;
        const leasesRemoved: string[] = [];
        for (const lease of await store.listLeases()) {
            const refId = lease.labels["layerscope.ref"];
            if (refId === undefined) continue;
            try {
                this.workspace.get(refId);
            } catch (err) {
                if (!(err instanceof EngineError) || err.code !== "NotFound") throw err;
                await store.deleteLease(lease.id);
                leasesRemoved.push(lease.id);
            }
        }
        await rollBackImports(store, this.workspace.root);
        const r = await store.gc();
        return { removed: r.removed, bytes: r.bytes, leasesRemoved: [...leasesRemoved, ...r.leasesRemoved], ingestsRemoved: r.ingestsRemoved };
    }
}

function parentsOf(ref: Ref): RefReport["parents"] {
    if (ref.mergeParents.length > 0) return { merge: ref.mergeParents.map((p) => p.id) };
    if (ref.diffParents) return { diff: { lower: ref.diffParents.lower?.id ?? null, upper: ref.diffParents.upper?.id ?? null } };
    if (ref.layerParent) return { parent: ref.layerParent.id };
    return {};
}
