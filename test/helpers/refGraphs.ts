/**
 * Seeded, BuildKit-shaped ref graphs for the graph layout's tests and benchmark: base layers with
 * layer chains on them (image builds), merges of several chains (MergeOp) and diffs between a
 * ref and one of its ancestors or an unrelated ref (DiffOp).
 */
import type { LayoutInputNode } from "../../webview/graphLayout";
import { Rng } from "./rng";

export interface GeneratedRef extends LayoutInputNode {
    readonly kind: "BaseLayer" | "Layer" | "Merge" | "Diff";
}

export function generateRefGraph(count: number, seed = 1): GeneratedRef[] {
    const rng = new Rng(seed);
    const refs: GeneratedRef[] = [];
    const chainHeads: number[] = []; // refs that can take a layer on top (BaseLayer, Layer)
    const ancestors: number[][] = []; // layer ancestry per ref (for diffs)
    const add = (ref: GeneratedRef, anc: number[]): void => {
        refs.push(ref);
        ancestors.push(anc);
    };
    for (let i = 0; i < count; i++) {
        const id = `ref-${String(i).padStart(5, "0")}`;
        const roll = rng.float();
        if (refs.length === 0 || roll < 0.04) {
            add({ id, kind: "BaseLayer", parents: [] }, []);
            chainHeads.push(i);
        } else if (roll < 0.84) {
            // Mostly extend a recent chain: builds stack layers.
            const head = chainHeads[Math.max(0, chainHeads.length - 1 - rng.int(0, Math.min(12, chainHeads.length - 1)))]!;
            add({ id, kind: "Layer", parents: [{ ref: refs[head]!.id, role: "parent", index: 0 }] }, [...ancestors[head]!.slice(-40), head]);
            chainHeads.push(i);
        } else if (roll < 0.93) {
            const n = rng.int(2, 4);
            const inputs = new Set<number>();
            while (inputs.size < Math.min(n, refs.length)) inputs.add(rng.int(0, refs.length - 1));
            add({ id, kind: "Merge", parents: [...inputs].map((p, index) => ({ ref: refs[p]!.id, role: "merge" as const, index })) }, []);
        } else {
            const upper = rng.int(0, refs.length - 1);
            const anc = ancestors[upper]!;
            const lower = anc.length > 0 && rng.chance(0.8) ? anc[rng.int(0, anc.length - 1)]! : rng.int(0, refs.length - 1);
            add({
                id,
                kind: "Diff",
                parents: [
                    { ref: refs[lower]!.id, role: "lower", index: 0 },
                    { ref: refs[upper]!.id, role: "upper", index: 0 },
                ],
            }, []);
        }
    }
    return refs;
}
