/**
 * What BuildKit mounts for a ref (`cache/refs.go` `Mount`; Merge and Diff snapshots from
 * `snapshot/merge.go`), over local snapshot directories: a ref's full root filesystem, and each
 * layer's change set as an upperdir-like tree.
 *
 * - native BaseLayer/Layer: the snapshot directory itself (a full rootfs);
 * - anything else: a MergedTree over the ref's layer chain, i.e. the chain's change sets applied
 *   in order onto the empty tree (OCI layer application = overlay lookup).
 *
 * Building the stack for a chain, the longest run of layers that sit on their own parent (a
 * BaseLayer at the bottom, a Layer right above its parent's chain) needs no change set: native
 * takes that run's top snapshot (a full rootfs), overlayfs stacks the run's upperdirs as they
 * are. Every other layer is its change set (ChangeSetTree), computed against its own parent,
 * which is what its blob holds: a layer placed over a different base (a Merge) therefore
 * deletes exactly what its blob deletes, and an upperdir's opaque directory hides only what its
 * own parent had, never another merge input's entries.
 *
 * Views and change sets are computed once per ref and shared (a change set costs one walk of
 * both trees and memory per changed path). NOTE: concurrent callers share the first caller's
 * AbortSignal; a failed or canceled computation is forgotten, so the next call retries.
 */
import { assertNever, EngineError } from "../errors";
import { ChangeSetTree } from "../fs/changeSetTree";
import { DirTree } from "../fs/dirTree";
import { EmptyTree } from "../fs/emptyTree";
import { MergedTree } from "../fs/mergedTree";
import type { TreeReader } from "../fs/tree";
import { type BlobInputs, blobInputs } from "./blobInputs";
import type { Ref } from "./ref";
import type { Snapshotter } from "./workspaceFile";

export class RefViews {
    private readonly views = new Map<Ref, Promise<TreeReader>>();
    private readonly layers = new Map<Ref, Promise<TreeReader>>();

    constructor(readonly snapshotter: Snapshotter) {}

    /** The ref's full root filesystem. */
    view(ref: Ref, signal?: AbortSignal): Promise<TreeReader> {
        return memo(this.views, ref, () => this.buildView(ref, signal));
    }

    /**
     * The change set of a ref that owns a blob (a member of some layer chain) as an upperdir-like
     * tree: what applying its blob adds, replaces and deletes.
     */
    layerTree(ref: Ref, signal?: AbortSignal): Promise<TreeReader> {
        return memo(this.layers, ref, () => this.buildLayerTree(ref, signal));
    }

    /** What to diff to make the blob of `ref` (a member of a layer chain); see blobInputs.ts. */
    blobInputs(ref: Ref, signal?: AbortSignal): Promise<BlobInputs> {
        return blobInputs(this, ref, signal);
    }

    /** The snapshot directory of a BaseLayer or Layer. */
    snapshotTree(ref: Ref): DirTree {
        if (!ref.snapshot) {
            throw new EngineError("Internal", `ref ${ref.id} (${ref.kind()}) has no snapshot directory`);
        }
        return new DirTree(ref.snapshot);
    }

    private async buildView(ref: Ref, signal?: AbortSignal): Promise<TreeReader> {
        const kind = ref.kind();
        switch (kind) {
            case "BaseLayer":
            case "Layer":
                if (this.snapshotter === "native") {
                    return this.snapshotTree(ref);
                }
                return new MergedTree(await this.stack(ref.layerChain(), signal), `view of ${ref.id}`, this.snapshotter === "overlayfs");
            case "Merge":
            case "Diff":
                return new MergedTree(await this.stack(ref.layerChain(), signal), `view of ${ref.id}`, this.snapshotter === "overlayfs");
            default:
                return assertNever(kind, "ref kind");
        }
    }

    private async buildLayerTree(ref: Ref, signal?: AbortSignal): Promise<TreeReader> {
        const kind = ref.kind();
        switch (kind) {
            case "BaseLayer":
                // Over nothing every entry is an add; a one-layer MergedTree drops whiteout devices
                // and overlay markers, which mean nothing without a lower (and must not act on
                // whatever a Merge puts below this layer). In a native snapshot a 0/0 device is a
                // device, not a whiteout.
                return new MergedTree([this.snapshotTree(ref)], `layer ${ref.id}`, this.snapshotter === "overlayfs");
            case "Layer": {
                const lower = await this.view(ref.layerParent!, signal);
                const dir = this.snapshotTree(ref);
                return this.snapshotter === "native"
                    ? ChangeSetTree.fromTrees(lower, dir, signal)
                    : ChangeSetTree.fromUpperdir(dir, lower, signal);
            }
            case "Diff": {
                if (!ref.ownsBlob()) {
                    throw new EngineError("Internal", `ref ${ref.id} reuses its upper's blob; it is no layer of its own`);
                }
                const { lower, upper } = ref.diffParents!;
                const lowerView = lower ? await this.view(lower, signal) : new EmptyTree();
                const upperView = upper ? await this.view(upper, signal) : new EmptyTree();
                return ChangeSetTree.fromTrees(lowerView, upperView, signal);
            }
            case "Merge":
                throw new EngineError("Internal", `ref ${ref.id} is a Merge; it is no layer of its own`);
            default:
                return assertNever(kind, "ref kind");
        }
    }

    /** The trees to stack (bottom first) to see `chain` applied in order. */
    private async stack(chain: readonly Ref[], signal?: AbortSignal): Promise<TreeReader[]> {
        for (let j = chain.length - 1; j >= 0; j--) {
            if (!sitsOnOwnParent(chain, j)) {
                continue;
            }
            const base =
                this.snapshotter === "native"
                    ? [this.snapshotTree(chain[j]!)]
                    : [...(await this.stack(chain.slice(0, j), signal)), this.snapshotTree(chain[j]!)];
            const rest = await Promise.all(chain.slice(j + 1).map((r) => this.layerTree(r, signal)));
            return [...base, ...rest];
        }
        return Promise.all(chain.map((r) => this.layerTree(r, signal)));
    }
}

/** chain[j] is a BaseLayer at the bottom, or a Layer whose parent's chain is exactly chain[..j]. */
function sitsOnOwnParent(chain: readonly Ref[], j: number): boolean {
    const ref = chain[j]!;
    const kind = ref.kind();
    switch (kind) {
        case "BaseLayer":
            return j === 0;
        case "Layer": {
            const parentChain = ref.layerParent!.layerChain();
            return parentChain.length === j && parentChain.every((p, i) => p.id === chain[i]!.id);
        }
        case "Merge":
        case "Diff":
            return false;
        default:
            return assertNever(kind, "ref kind");
    }
}

function memo(cache: Map<Ref, Promise<TreeReader>>, ref: Ref, build: () => Promise<TreeReader>): Promise<TreeReader> {
    let p = cache.get(ref);
    if (!p) {
        p = build();
        cache.set(ref, p);
        p.catch(() => cache.delete(ref));
    }
    return p;
}
