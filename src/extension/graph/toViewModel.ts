/**
 * The one file that knows both the engine's reports and the webview's DTOs: it turns RefReports
 * into graph nodes and details, and re-derives chainID and blobChainID step by step so the user
 * sees how each was computed, with the exact strings hashed.
 *
 * The formulas are image-spec `identity.ChainID` and BuildKit v0.10.6 `cache/blobs.go`
 * `computeChainMetadata` (mirrored in src/engine/cache/chainMetadata.ts):
 *   chainID(L1)     = diffID(L1)
 *   chainID(Ln)     = sha256(chainID(Ln-1) + " " + diffID(Ln))
 *   blobID(L)       = sha256(blob(L) + " " + diffID(L))             ChainID([blob, diffID])
 *   blobChainID(L1) = blobID(L1)
 *   blobChainID(Ln) = sha256(blobChainID(Ln-1) + " " + blobID(Ln))
 * over the ref's layer chain (refs.go `layerChain`), which is what the engine reports.
 */
import { createHash } from "node:crypto";
import type { BlobReport, RefReport } from "../../engine";
import type { VerificationRecord } from "../model/verifications";
import type {
    CompressionView,
    DerivationStepView,
    DerivationView,
    GraphView,
    ParentView,
    RecordedIDsView,
    RefDetailsView,
    RefKindView,
    RefNodeView,
    VariantView,
    VerificationView,
} from "../../protocol/viewModel";
import { REF_KINDS } from "../../protocol/viewModel";

/** containerd's label for the digest of a blob's uncompressed content. */
const ANNOTATION_UNCOMPRESSED = "containerd.io/uncompressed";
/** stargz-snapshotter's annotations on an eStargz blob. */
const ANNOTATION_TOC_DIGEST = "containerd.io/snapshot/stargz/toc.digest";
const ANNOTATION_ESTARGZ_UNCOMPRESSED_SIZE = "io.containers.estargz.uncompressed-size";

function sha256(input: string): string {
    return `sha256:${createHash("sha256").update(input).digest("hex")}`;
}

function kindOf(kind: string): RefKindView {
    return (REF_KINDS as readonly string[]).includes(kind) ? (kind as RefKindView) : "Layer";
}

export function parentsOf(report: RefReport): ParentView[] {
    const p = report.parents;
    if (p.merge) return p.merge.map((ref, index) => ({ ref, role: "merge", index }));
    if (p.diff) {
        const out: ParentView[] = [];
        if (p.diff.lower) out.push({ ref: p.diff.lower, role: "lower", index: 0 });
        if (p.diff.upper) out.push({ ref: p.diff.upper, role: "upper", index: 0 });
        return out;
    }
    return p.parent ? [{ ref: p.parent, role: "parent", index: 0 }] : [];
}

/** The latest verification of a ref, for the graph (a ref never verified: "unverified"). */
export type VerificationOf = (report: RefReport) => VerificationRecord | undefined;

const UNVERIFIED: VerificationView = { state: "unverified", verdict: "", check: "", at: 0, explanation: [], whiteoutTime: "", nameLookup: "", writerTraits: [] };

export function toVerificationView(rec: VerificationRecord | undefined): VerificationView {
    if (!rec) return UNVERIFIED;
    return {
        state: rec.state,
        verdict: rec.verdict,
        check: rec.check,
        at: rec.at,
        explanation: [...rec.explanation],
        whiteoutTime: rec.whiteoutTime,
        nameLookup: rec.nameLookup,
        writerTraits: [...rec.writerTraits],
    };
}

export function toNodeView(report: RefReport, verification: VerificationOf = () => undefined): RefNodeView {
    const v = verification(report);
    return {
        id: report.id,
        kind: kindOf(report.kind),
        description: report.description ?? "",
        parents: parentsOf(report),
        diffID: report.diffID ?? "",
        chainID: report.chainID ?? "",
        blobChainID: report.blobChainID ?? "",
        blob: report.blob?.digest ?? "",
        digests: report.variants.map((x) => x.digest),
        verification: v?.state ?? "unverified",
        verdict: v?.verdict ?? "",
    };
}

export function toGraphView(source: string, label: string, reports: readonly RefReport[], verification: VerificationOf = () => undefined): GraphView {
    return { source, label, nodes: reports.map((r) => toNodeView(r, verification)) };
}

/** What a derivation needs of each layer of the chain. */
export interface LayerInputs {
    readonly id: string;
    readonly diffID: string | null;
    readonly blob: string | null;
}

function finish(steps: DerivationStepView[], complete: boolean, reported: string | null): DerivationView {
    const derived = steps.at(-1)?.result ?? "";
    if (!complete || reported === null) {
        return { value: reported ?? "", steps, check: "incomplete" };
    }
    return { value: reported, steps, check: derived === reported ? "match" : "mismatch" };
}

/** chainID over the layer chain, one step per layer; stops at the first layer without a diffID. */
export function deriveChainID(layers: readonly LayerInputs[], reported: string | null): DerivationView {
    const steps: DerivationStepView[] = [];
    let prev: LayerInputs | undefined;
    for (const layer of layers) {
        if (!layer.diffID) return finish(steps, false, reported);
        if (!prev) {
            steps.push({ layer: layer.id, formula: `chainID(${layer.id}) = diffID(${layer.id})`, input: layer.diffID, hash: "none", result: layer.diffID });
        } else {
            const input = `${steps.at(-1)!.result} ${layer.diffID}`;
            steps.push({
                layer: layer.id,
                formula: `chainID(${layer.id}) = sha256(chainID(${prev.id}) + " " + diffID(${layer.id}))`,
                input,
                hash: "sha256",
                result: sha256(input),
            });
        }
        prev = layer;
    }
    return finish(steps, layers.length > 0, reported);
}

/**
 * blobChainID over the layer chain: per layer its blobID, then the chain step (none for the
 * first layer, whose blobChainID is its blobID).
 */
export function deriveBlobChainID(layers: readonly LayerInputs[], reported: string | null): DerivationView {
    const steps: DerivationStepView[] = [];
    let prev: { id: string; chain: string } | undefined;
    for (const layer of layers) {
        if (!layer.diffID || !layer.blob) return finish(steps, false, reported);
        const blobInput = `${layer.blob} ${layer.diffID}`;
        const blobID = sha256(blobInput);
        steps.push({
            layer: layer.id,
            formula: `blobID(${layer.id}) = sha256(blob(${layer.id}) + " " + diffID(${layer.id}))`,
            input: blobInput,
            hash: "sha256",
            result: blobID,
        });
        if (!prev) {
            prev = { id: layer.id, chain: blobID };
            continue;
        }
        const input = `${prev.chain} ${blobID}`;
        const chain = sha256(input);
        steps.push({
            layer: layer.id,
            formula: `blobChainID(${layer.id}) = sha256(blobChainID(${prev.id}) + " " + blobID(${layer.id}))`,
            input,
            hash: "sha256",
            result: chain,
        });
        prev = { id: layer.id, chain };
    }
    return finish(steps, layers.length > 0, reported);
}

/** The compression a variant's media type (and eStargz annotation) says it has. */
export function compressionOf(blob: BlobReport): CompressionView | "unknown" {
    const mt = blob.mediaType;
    if (/[+.]gzip$/.test(mt)) return blob.annotations[ANNOTATION_TOC_DIGEST] ? "estargz" : "gzip";
    if (/[+.]zstd$/.test(mt)) return "zstd";
    if (/[.]tar$/.test(mt)) return "uncompressed";
    return "unknown";
}

function uncompressedSizeOf(blob: BlobReport, sizes: ReadonlyMap<string, number>): number {
    if (compressionOf(blob) === "uncompressed") return blob.size;
    const byDigest = sizes.get(blob.annotations[ANNOTATION_UNCOMPRESSED] ?? "");
    if (byDigest !== undefined) return byDigest;
    const estargz = Number(blob.annotations[ANNOTATION_ESTARGZ_UNCOMPRESSED_SIZE]);
    return Number.isSafeInteger(estargz) && estargz >= 0 ? estargz : -1;
}

export function toVariantViews(report: RefReport, timing: (digest: string) => number | undefined): VariantView[] {
    // The uncompressed tar's size is known when one of the variants is that tar.
    const sizes = new Map<string, number>();
    for (const v of report.variants) if (compressionOf(v) === "uncompressed") sizes.set(v.digest, v.size);
    const variants = report.variants.length > 0 ? report.variants : report.blob ? [report.blob] : [];
    return variants.map((v) => ({
        digest: v.digest,
        mediaType: v.mediaType,
        compression: compressionOf(v),
        size: v.size,
        uncompressedSize: uncompressedSizeOf(v, sizes),
        uncompressedDigest: v.annotations[ANNOTATION_UNCOMPRESSED] ?? (compressionOf(v) === "uncompressed" ? v.digest : ""),
        timeMs: timing(v.digest) ?? -1,
        comparable: v.buildkitComparable ? "buildkit" : "not-comparable",
        role: v.digest === report.blob?.digest ? "main" : "variant",
        path: v.path,
    }));
}

/** Why BuildKit's recorded IDs differ from the image's (spec §3.2), per kind. */
function recordedReason(kind: RefKindView): string {
    switch (kind) {
        case "Diff":
            return "A Diff that reuses its upper's blob records the upper's chainID and blobChainID (computeChainMetadata, case Diff), not a chain over its own layer.";
        case "Merge":
            return "A Merge records its first input's IDs extended by the other inputs' layers; when the first input has none, BuildKit starts from an empty chain.";
        case "Layer":
            return "A Layer whose parent is outside the computed chain starts from an empty chainID: sha256(\" \" + diffID).";
        case "BaseLayer":
            return "BuildKit recorded these IDs in an earlier computation (the first computation wins).";
    }
}

function recordedView(report: RefReport): RecordedIDsView {
    if (!report.buildkit) return { chainID: "", blobChainID: "", reason: "" };
    return { ...report.buildkit, reason: recordedReason(kindOf(report.kind)) };
}

/**
 * The details of one ref. `layer(id)` gives the reports of its layer chain (the ref itself
 * included); a layer it cannot give leaves the derivation "incomplete".
 */
export function toDetailsView(
    report: RefReport,
    layer: (id: string) => RefReport | undefined,
    timing: (digest: string) => number | undefined,
    verification: VerificationOf = () => undefined,
): RefDetailsView {
    const inputs: LayerInputs[] = report.layers.map((id) => {
        const r = id === report.id ? report : layer(id);
        return { id, diffID: r?.diffID ?? null, blob: r?.blob?.digest ?? null };
    });
    return {
        id: report.id,
        kind: kindOf(report.kind),
        description: report.description ?? "",
        snapshot: report.snapshot ?? "",
        layers: [...report.layers],
        diffID: report.diffID ?? "",
        chainID: deriveChainID(inputs, report.chainID),
        blobChainID: deriveBlobChainID(inputs, report.blobChainID),
        buildkit: recordedView(report),
        variants: toVariantViews(report, timing),
        verification: toVerificationView(verification(report)),
    };
}
