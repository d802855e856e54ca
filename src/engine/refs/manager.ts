/**
 * Mirrors BuildKit v0.10.6 `cache/manager.go` `Merge`/`createMergeRef` and `Diff`/`createDiffRef`
 * (spec §1.2): how Merge and Diff refs come into existence. Both can return an existing ref
 * instead of a new one, or (Merge of nothing) no ref at all.
 */
import { EngineError } from "../errors";
import { Ref, type LayerType } from "./ref";

export interface NewRefOptions {
    readonly layerType?: LayerType | null;
    readonly description?: string | null;
}

/**
 * `cm.Merge`: nil inputs are skipped, a Merge input contributes its merge parents (flattened),
 * duplicates are kept. 0 parents give null ("merge of nothing is nothing"); 1 parent gives that
 * parent itself, not a new ref; otherwise a new Merge ref `id`.
 */
export function cmMerge(id: string, inputs: ReadonlyArray<Ref | null>, opts: NewRefOptions = {}): Ref | null {
    const parents: Ref[] = [];
    for (const input of inputs) {
        if (!input) {
            continue;
        }
        if (input.kind() === "Merge") {
            parents.push(...input.mergeParents);
        } else {
            parents.push(input);
        }
    }
    return createMergeRef(id, parents, opts);
}

/** `<id>~<upper layer id>`, with `~<index>` added when a layer occurs twice. */
function defaultSyntheticId(id: string): (u: Ref, index: number) => string {
    const used = new Set<string>();
    return (u, index) => {
        let name = `${id}~${u.id}`;
        if (used.has(name)) {
            name = `${name}~${index}`;
        }
        used.add(name);
        return name;
    };
}

function createMergeRef(id: string, parents: readonly Ref[], opts: NewRefOptions): Ref | null {
    if (parents.length === 0) {
        return null;
    }
    if (parents.length === 1) {
        return parents[0]!;
    }
    return new Ref({ id, mergeParents: parents, layerType: opts.layerType, description: opts.description });
}

/**
 * `cm.Diff`: a nil lower is an error. When `lower`'s layer chain is an ID-for-ID prefix of
 * `upper`'s and upper has more than one extra layer, the result is a Merge of one ref per extra
 * layer `u`: `u` itself if it has no layer parent, else a new `Diff(u.layerParent, u)` that
 * reuses u's blob. Its layer chain is exactly upper's extra layers. Otherwise a new Diff ref.
 *
 * `syntheticId(u, i)` names the per-layer Diffs (BuildKit gives them random record IDs).
 */
export function cmDiff(
    id: string,
    lower: Ref | null,
    upper: Ref | null,
    opts: NewRefOptions = {},
    syntheticId: (u: Ref, index: number) => string = defaultSyntheticId(id),
): Ref {
    if (!lower) {
        throw new EngineError("InvalidArgument", `ref ${id}: lower ref for diff cannot be nil`, { ref: id, field: "diff.lower" });
    }
    if (upper) {
        const lowerLayers = lower.layerChain();
        const upperLayers = upper.layerChain();
        if (upperLayers.length > lowerLayers.length + 1 && lowerLayers.every((l, i) => l.id === upperLayers[i]!.id)) {
            const parents = upperLayers.slice(lowerLayers.length).map((u, i) =>
                u.layerParent
                    ? new Ref({
                          id: syntheticId(u, i),
                          diffParents: { lower: u.layerParent, upper: u },
                          description: `diff "${u.layerParent.id}" -> "${u.id}"`,
                          synthetic: true,
                      })
                    : u,
            );
            // At least two parents, so always a new Merge ref.
            return createMergeRef(id, parents, opts)!;
        }
    }
    return new Ref({ id, diffParents: { lower, upper }, layerType: opts.layerType, description: opts.description });
}
