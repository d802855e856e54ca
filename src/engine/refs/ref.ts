/**
 * Mirrors BuildKit v0.10.6 `cache/refs.go`: `parentRefs` (a disjoint union of layerParent,
 * mergeParents and diffParents), `kind()`, `layerWalk`, `layerChain`, `layerSet` and
 * `isTypeWindows` (from `cache/blobs.go`). Spec: buildkit-semantics.md §1.1, §1.3, §1.4.
 *
 * A Ref is immutable. How refs come into existence (Merge flattening, Diff of an ancestor) is in
 * manager.ts; this file only describes the shapes and walks them.
 */
import { assertNever, EngineError } from "../errors";

export type RefKind = "BaseLayer" | "Layer" | "Merge" | "Diff";
export type LayerType = "linux" | "windows";

export interface DiffParents {
    /** May be null only for refs built by hand: `cm.Diff` refuses a nil lower. */
    readonly lower: Ref | null;
    /** null: a diff to scratch (the empty tree). */
    readonly upper: Ref | null;
}

export interface RefInit {
    readonly id: string;
    readonly layerParent?: Ref | null;
    readonly mergeParents?: readonly Ref[];
    readonly diffParents?: DiffParents | null;
    /** Absolute path of the snapshot directory (BaseLayer and Layer only). */
    readonly snapshot?: string | null;
    readonly layerType?: LayerType | null;
    readonly description?: string | null;
    /** Made by the loader rather than declared (the per-layer Diffs of an ancestor Diff). */
    readonly synthetic?: boolean;
}

export class Ref {
    readonly id: string;
    readonly layerParent: Ref | null;
    readonly mergeParents: readonly Ref[];
    readonly diffParents: DiffParents | null;
    readonly snapshot: string | null;
    readonly layerType: LayerType | null;
    readonly description: string | null;
    readonly synthetic: boolean;
    private chain: readonly Ref[] | null = null;

    constructor(init: RefInit) {
        const set = [init.layerParent, (init.mergeParents?.length ?? 0) > 0, init.diffParents].filter(Boolean);
        if (set.length > 1) {
            throw new EngineError("Internal", `ref ${init.id}: layerParent, mergeParents and diffParents are exclusive`);
        }
        this.id = init.id;
        this.layerParent = init.layerParent ?? null;
        this.mergeParents = Object.freeze([...(init.mergeParents ?? [])]);
        this.diffParents = init.diffParents ? Object.freeze({ ...init.diffParents }) : null;
        this.snapshot = init.snapshot ?? null;
        this.layerType = init.layerType ?? null;
        this.description = init.description ?? null;
        this.synthetic = init.synthetic ?? false;
    }

    /** refs.go `kind()`: Merge before Diff before Layer (§1.1). */
    kind(): RefKind {
        if (this.mergeParents.length > 0) {
            return "Merge";
        }
        if (this.diffParents) {
            return "Diff"; // even when both lower and upper are nil
        }
        return this.layerParent ? "Layer" : "BaseLayer";
    }

    /**
     * refs.go `layerWalk`: visits the refs that are real layers, lowest first. A Merge is never
     * visited; a Diff is visited unless it reuses its upper's blob (cases a and b).
     */
    layerWalk(f: (layer: Ref) => void): void {
        const kind = this.kind();
        switch (kind) {
            case "Merge":
                for (const p of this.mergeParents) {
                    p.layerWalk(f); // concatenation, duplicates kept
                }
                return;
            case "Diff": {
                const reused = this.reusedUpper();
                f(reused ?? this);
                return;
            }
            case "Layer":
                this.layerParent!.layerWalk(f);
                f(this);
                return;
            case "BaseLayer":
                f(this);
                return;
            default:
                assertNever(kind, "ref kind");
        }
    }

    /**
     * For a Diff whose blob is its upper's (§1.3 cases a and b), that upper; else null.
     * (a) no lower and the upper is a BaseLayer; (b) the upper is a Layer directly on the lower.
     */
    reusedUpper(): Ref | null {
        const d = this.diffParents;
        if (!d || this.mergeParents.length > 0 || !d.upper) {
            return null;
        }
        const { lower, upper } = d;
        if (!lower && upper.kind() === "BaseLayer") {
            return upper;
        }
        if (lower && upper.kind() === "Layer" && upper.layerParent!.id === lower.id) {
            return upper;
        }
        return null;
    }

    /** True when the ref is a layer of its own: a BaseLayer, a Layer, or a Diff as case (c). */
    ownsBlob(): boolean {
        const kind = this.kind();
        return kind === "BaseLayer" || kind === "Layer" || (kind === "Diff" && !this.reusedUpper());
    }

    /** refs.go `layerChain()`: the walk collected, parent to child. */
    layerChain(): readonly Ref[] {
        if (!this.chain) {
            const out: Ref[] = [];
            this.layerWalk((r) => out.push(r));
            this.chain = Object.freeze(out);
        }
        return this.chain;
    }

    /** refs.go `layerSet()`: the record IDs of the walked refs (the `filter` of §1.4). */
    layerSet(): Set<string> {
        return new Set(this.layerChain().map((r) => r.id));
    }
}

/**
 * blobs.go `isTypeWindows`: the ref's own layer type is "windows", or (recursively) a merge
 * parent's or the layer parent's is. Diff parents are not looked at.
 */
export function isTypeWindows(ref: Ref): boolean {
    if (ref.layerType === "windows") {
        return true;
    }
    const kind = ref.kind();
    switch (kind) {
        case "Merge":
            return ref.mergeParents.some(isTypeWindows);
        case "Layer":
            return isTypeWindows(ref.layerParent!);
        case "Diff":
        case "BaseLayer":
            return false;
        default:
            return assertNever(kind, "ref kind");
    }
}
