/**
 * Mirrors BuildKit v0.10.6 `cache/blobs.go` `computeBlob` lower/upper selection and differ choice
 * (spec §2.3–§2.5) for one ref of a layer chain: which two trees to diff, and how.
 *
 * | ref                         | lower              | upper                       | overlay |
 * |-----------------------------|--------------------|-----------------------------|---------|
 * | BaseLayer, native           | empty tree         | snapshot dir (full rootfs)  | no      |
 * | Layer, native               | view(layerParent)  | snapshot dir (full rootfs)  | no      |
 * | BaseLayer, overlayfs        | empty tree         | snapshot dir as upperdir    | yes     |
 * | Layer, overlayfs            | view(layerParent)  | snapshot dir as upperdir    | yes     |
 * | Diff that is its own blob   | view(lower)/empty  | view(upper)/empty (nil: ∅)  | no      |
 * | Merge; Diff reusing upper   | — (no blob of its own: InvalidArgument)                    |
 *
 * The native snapshotter never uses the overlay differ; overlayfs does for BaseLayer and Layer
 * (the upper mount is the lower's layers plus one upperdir). A Diff's mounts never qualify in
 * practice (a nil upper has no mounts; a Diff directly over its lower reuses the upper's blob),
 * so BuildKit falls back to the walking differ over the two full views.
 * Windows (`isTypeWindows`): no overlay differ; BuildKit wraps the walking differ in winlayers,
 * which rewrites the tar (`windows: true` tells the caller). For overlayfs the upper is then the
 * ref's full view, as a two-tree diff needs.
 */
import { assertNever, EngineError } from "../errors";
import { EmptyTree } from "../fs/emptyTree";
import type { TreeReader } from "../fs/tree";
import { isTypeWindows, type Ref } from "./ref";
import type { RefViews } from "./views";

export interface BlobInputs {
    readonly lower: TreeReader;
    readonly upper: TreeReader;
    /** `upper` is an overlayfs upperdir over `lower`: use writeDiff's overlay mode. */
    readonly overlay: boolean;
    /** BuildKit's isTypeWindows(ref): it would use the Windows layer differ. */
    readonly windows: boolean;
}

export async function blobInputs(views: RefViews, ref: Ref, signal?: AbortSignal): Promise<BlobInputs> {
    const windows = isTypeWindows(ref);
    const kind = ref.kind();
    switch (kind) {
        case "BaseLayer":
        case "Layer": {
            const lower = ref.layerParent ? await views.view(ref.layerParent, signal) : new EmptyTree();
            if (views.snapshotter === "native") {
                return { lower, upper: views.snapshotTree(ref), overlay: false, windows };
            }
            if (windows) {
                return { lower, upper: await views.view(ref, signal), overlay: false, windows };
            }
            return { lower, upper: views.snapshotTree(ref), overlay: true, windows };
        }
        case "Diff": {
            const reused = ref.reusedUpper();
            if (reused) {
                throw new EngineError(
                    "InvalidArgument",
                    `ref ${ref.id} is a Diff that reuses the blob of ${reused.id}; compute that ref's blob instead`,
                    { ref: ref.id },
                );
            }
            const { lower, upper } = ref.diffParents!;
            return {
                lower: lower ? await views.view(lower, signal) : new EmptyTree(),
                upper: upper ? await views.view(upper, signal) : new EmptyTree(),
                overlay: false,
                windows,
            };
        }
        case "Merge":
            throw new EngineError(
                "InvalidArgument",
                `ref ${ref.id} is a Merge: it has no blob of its own (its layers: ${ref.layerChain().map((r) => r.id).join(", ")})`,
                { ref: ref.id },
            );
        default:
            return assertNever(kind, "ref kind");
    }
}
