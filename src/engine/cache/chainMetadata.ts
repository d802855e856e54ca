/**
 * Mirrors BuildKit `cache/blobs.go` `computeChainMetadata` (v0.10.6, unchanged on master): the
 * chainID and blobChainID BuildKit records for a ref, computed bottom-up after its blobs exist,
 * first computation wins. Also the IDs an image built from the ref would carry (ChainID over its
 * layer chain), which differ from BuildKit's recorded ones in a few shapes (spec §3.2): a Layer
 * whose parent is outside the filter, a Diff copying its upper's IDs, a Merge whose first input
 * has none.
 */
import type { Digest } from "../digest/hashSink";
import { EngineError } from "../errors";
import { chainID as chainIDOf } from "../identity/chainID";

export type RefKindName = "BaseLayer" | "Layer" | "Merge" | "Diff";

export interface ChainNode {
    readonly id: string;
    readonly description: string;
    kind(): RefKindName;
    layerParent(): ChainNode | undefined;
    mergeParents(): readonly ChainNode[];
    diffUpper(): ChainNode | null | undefined;
    layerChain(): readonly ChainNode[];
}

export interface ChainRecord {
    readonly diffID?: Digest;
    readonly blob?: Digest;
    readonly chainID?: string;
    readonly blobChainID?: string;
}

export interface ChainRecords {
    get(id: string): ChainRecord;
    /** Persists BuildKit's recorded IDs (an empty string records nothing, as in BuildKit). */
    setChain(id: string, chainID: string, blobChainID: string): Promise<void>;
}

/** ChainID of two digests, accepting "" as BuildKit's identity.ChainID does. */
function chain2(a: string, b: string): Digest {
    return chainIDOf([a as Digest, b as Digest]) as Digest;
}

/** blobID(r) = ChainID([blob, diffID]). */
export function blobID(rec: ChainRecord): Digest {
    return chain2(rec.blob ?? "", rec.diffID ?? "");
}

export async function computeChainMetadata(node: ChainNode, filter: ReadonlySet<string>, records: ChainRecords): Promise<void> {
    const self = records.get(node.id);
    if (self.chainID) {
        return; // first computation wins
    }
    let chainID = "";
    let blobChainID = "";
    switch (node.kind()) {
        case "BaseLayer":
            if (!filter.has(node.id)) return;
            chainID = self.diffID ?? "";
            blobChainID = blobID(self);
            break;
        case "Layer": {
            if (!filter.has(node.id)) return;
            const parent = node.layerParent()!;
            if (filter.has(parent.id)) {
                const p = records.get(parent.id);
                if (!p.chainID) {
                    throw nonAddressable("chain", parent);
                }
                if (!p.blobChainID) {
                    throw nonAddressable("blobchain", parent);
                }
                chainID = p.chainID;
                blobChainID = p.blobChainID;
            }
            chainID = chain2(chainID, self.diffID ?? "");
            blobChainID = chain2(blobChainID, blobID(self));
            break;
        }
        case "Merge": {
            const [base, ...rest] = node.mergeParents();
            if (!base || !filter.has(base.id)) return; // not enough information yet
            const b = records.get(base.id);
            chainID = b.chainID ?? "";
            blobChainID = b.blobChainID ?? "";
            for (const parent of rest) {
                for (const layer of parent.layerChain()) {
                    if (!filter.has(layer.id)) return;
                    const l = records.get(layer.id);
                    chainID = chain2(chainID, l.diffID ?? "");
                    blobChainID = chain2(blobChainID, blobID(l));
                }
            }
            break;
        }
        case "Diff":
            if (filter.has(node.id)) {
                chainID = self.diffID ?? ""; // its own blob
                blobChainID = blobID(self);
            } else {
                const upper = node.diffUpper();
                const u = upper ? records.get(upper.id) : {};
                chainID = u.chainID ?? "";
                blobChainID = u.blobChainID ?? "";
            }
            break;
    }
    await records.setChain(node.id, chainID, blobChainID);
}

function nonAddressable(what: "chain" | "blobchain", parent: ChainNode): EngineError {
    return new EngineError(
        "FailedPrecondition",
        `failed to set ${what} for reference with non-addressable parent ${JSON.stringify(parent.description || parent.id)}`,
        { ref: parent.id },
    );
}

/**
 * The IDs an image built from this ref would carry: image-spec ChainID over the layer chain's
 * diffIDs, and over ChainID([blob, diffID]) of each layer. Null while a layer has no blob.
 */
export function imageChainIDs(node: ChainNode, records: ChainRecords): { chainID: Digest; blobChainID: Digest } | null {
    const layers = node.layerChain().map((l) => records.get(l.id));
    if (layers.length === 0 || layers.some((l) => !l.diffID || !l.blob)) {
        return null;
    }
    return {
        chainID: chainIDOf(layers.map((l) => l.diffID!)) as Digest,
        blobChainID: chainIDOf(layers.map((l) => blobID(l))) as Digest,
    };
}
