/**
 * Mirrors image-spec `identity.ChainID` / `ChainIDs`: ChainID(L0) = L0,
 * ChainID(L0..Ln) = sha256(ChainID(L0..Ln-1) + " " + Ln); the empty chain has none.
 */
import { createHash } from "node:crypto";
import type { Digest } from "../digest/hashSink";

export function chainIDs(diffIDs: readonly Digest[]): Digest[] {
    const out: Digest[] = [];
    for (const d of diffIDs) {
        const prev = out[out.length - 1];
        out.push(prev ? (`sha256:${createHash("sha256").update(`${prev} ${d}`).digest("hex")}` as Digest) : d);
    }
    return out;
}

export function chainID(diffIDs: readonly Digest[]): Digest | "" {
    return chainIDs(diffIDs).pop() ?? "";
}
