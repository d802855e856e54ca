/**
 * The latest verification of each ref, from the three checks there are: a workspace's Verify
 * (every stored digest recomputed), a root's image check (`verify ROOT --image`: the image's
 * layers recomputed from the root's snapshots) and Verify Image of an image file (imported to a
 * temporary workspace and recomputed). The first two are keyed by source and ref id; an image
 * file belongs to no source, so its layers are keyed by chainID and match any ref with that
 * chainID (the refs an Import Image of the same image made). The newest record wins.
 *
 * Pure: no `vscode` import (tested in plain Node).
 */
import { describeNameProfile, type ImageVerification, type ImageVerifyReport, type LayerVerdict, type VerifyReport } from "../../engine";

export type VerificationState = "verified" | "different-compressor" | "different-writer" | "content-differs";

export interface VerificationRecord {
    readonly state: VerificationState;
    /** The verdict in the check's own words. */
    readonly verdict: string;
    /** Which check made it, for the details panel. */
    readonly check: string;
    /** ms since the Unix epoch. */
    readonly at: number;
    readonly explanation: readonly string[];
    readonly whiteoutTime: string;
    readonly nameLookup: string;
    readonly writerTraits: readonly string[];
}

export function stateOfVerdict(v: LayerVerdict): VerificationState {
    switch (v) {
        case "identical":
        case "identical after inference":
            return "verified";
        case "same content, different compressor":
            return "different-compressor";
        case "same files, different tar writer":
            return "different-writer";
        case "content differs":
            return "content-differs";
    }
}

export class VerificationStore {
    private readonly byRef = new Map<string, Map<string, VerificationRecord>>();
    private readonly byChainID = new Map<string, VerificationRecord>();

    /** The newest record for a ref: its own (by id in its source) or its chainID's. */
    lookup(source: string, ref: { readonly id: string; readonly chainID: string | null }): VerificationRecord | undefined {
        const own = this.byRef.get(source)?.get(ref.id);
        const image = ref.chainID ? this.byChainID.get(ref.chainID) : undefined;
        if (!own) return image;
        if (!image) return own;
        return image.at > own.at ? image : own;
    }

    /** Forget a source's records (it was closed or reopened on other state). */
    forget(source: string): void {
        this.byRef.delete(source);
    }

    /** Verify of a workspace (or root) source: per ref, every stored digest recomputed. Returns the refs recorded. */
    recordVerify(source: string, report: VerifyReport, at = Date.now()): string[] {
        const byRef = new Map<string, VerifyReport["checks"]>();
        for (const c of report.checks) byRef.set(c.ref, [...(byRef.get(c.ref) ?? []), c]);
        for (const [ref, checks] of byRef) {
            const bad = checks.filter((c) => !c.ok);
            const tarBad = bad.some((c) => c.what.startsWith("layer tar"));
            this.put(source, ref, {
                state: bad.length === 0 ? "verified" : "content-differs",
                verdict:
                    bad.length === 0
                        ? `all ${checks.length} stored digests recomputed and equal`
                        : tarBad
                          ? "content differs: the layer tar recomputed from the snapshot is not the stored one"
                          : `content differs: ${bad.length} stored blob(s) do not hash to their digests`,
                check: "Verify",
                at,
                explanation: checks.map((c) => `${c.ok ? "✓" : "✗"} ${c.what}${c.ok ? "" : `: expected ${c.expected}, got ${c.actual}`}`),
                whiteoutTime: "",
                nameLookup: "",
                writerTraits: [],
            });
        }
        return [...byRef.keys()];
    }

    /** `verify ROOT --image NAME`: the image's layers recomputed from the root's snapshots. */
    recordRootImage(source: string, report: ImageVerifyReport, at = Date.now()): string[] {
        const refs: string[] = [];
        for (const l of report.layers) {
            if (!l.ref) continue;
            const inferred = l.names !== null || (l.whiteoutTime !== null && l.whiteoutTime !== 0);
            const [state, verdict]: [VerificationState, string] = l.ok
                ? ["verified", inferred ? "identical after inference" : "identical"]
                : l.original?.contentMatches
                  ? ["different-writer", "same files, different tar writer"]
                  : ["content-differs", "content differs"];
            this.put(source, l.ref, {
                state,
                verdict,
                check: `Verify Image Layers (${report.image})`,
                at,
                explanation: [l.message],
                whiteoutTime: l.whiteoutTime === null ? "" : `${l.whiteoutTime} (from the original layer's whiteouts)`,
                nameLookup: l.names ? describeNameProfile(l.names) : l.original ? "none" : "",
                writerTraits: l.original ? [`written by ${l.original.writer}`, ...l.original.differences] : [],
            });
            refs.push(l.ref);
        }
        return refs;
    }

    /** Verify Image of an image file: recorded by chainID, shown on every ref with that chainID. */
    recordImage(report: ImageVerification, at = Date.now()): void {
        for (const l of report.layers) {
            this.byChainID.set(l.chainID.image, {
                state: stateOfVerdict(l.verdict),
                verdict: l.verdict,
                check: `Verify Image (${report.image ?? report.source})`,
                at,
                explanation: [...l.explanation, ...l.contentDifferences.map((d) => `differs: ${d}`)],
                whiteoutTime: `${l.profile.whiteoutTime} (${l.profile.whiteoutTimeSource})`,
                nameLookup: l.profile.names ? describeNameProfile(l.profile.names) : l.profile.nameLookup,
                writerTraits: [...l.writerTraits],
            });
        }
    }

    private put(source: string, ref: string, rec: VerificationRecord): void {
        let m = this.byRef.get(source);
        if (!m) this.byRef.set(source, (m = new Map()));
        m.set(ref, rec);
    }
}
