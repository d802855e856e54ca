/**
 * Mirrors image-spec `identity.ChainID` / `ChainIDs`: ChainID(L0) = L0,
 * ChainID(L0..Ln) = sha256(ChainID(L0..Ln-1) + " " + Ln); the empty chain has none.
 */
import { createHash } from "node:crypto";
import type { Digest } from "../digest/hashSink";

export function chainIDs(diffIDs: readonly Digest[]): Digest[] {
    const out: Digest[] = [];
    diffIDs.forEach((d, i) => {
        // No validation, as in image-spec: "" is a valid element (ChainID(["", X]) = sha256(" " + X)).
        out.push(i === 0 ? d : (`sha256:${createHash("sha256").update(`${out[i - 1]} ${d}`).digest("hex")}` as Digest));
    });
    return out;
}

export function chainID(diffIDs: readonly Digest[]): Digest | "" {
    return chainIDs(diffIDs).pop() ?? "";
}
