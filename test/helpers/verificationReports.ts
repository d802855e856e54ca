/**
 * Small engine verification reports for the extension's unit tests, shaped exactly as
 * verifyImage (src/engine/image/verifyImage.ts) and verify ROOT --image (roots/imageVerify.ts)
 * return them.
 */
import type { ImageVerification, ImageVerifyReport, LayerVerdict } from "../../src/engine";

const D = (c: string): string => `sha256:${c.repeat(64)}`;

/** A one-layer Verify Image report whose layer has `chainID` and `verdict`. */
export function imageWith(chainID: string, verdict: LayerVerdict): ImageVerification {
    return {
        ok: verdict !== "content differs",
        source: "/images/app",
        image: "app:1",
        platform: "linux/amd64",
        manifestDigest: D("m") as never,
        layers: [
            {
                index: 0,
                ref: "layer-0",
                mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
                compression: "gzip",
                diffID: { image: chainID, recomputed: D("b"), match: false },
                chainID: { image: chainID, recomputed: D("b"), match: false },
                blob: { compression: "gzip", image: D("c"), recomputed: D("d"), match: false },
                profile: { whiteoutTime: "1704067200", whiteoutTimeSource: "the layer's whiteouts", nameLookup: "none", names: null },
                verdict,
                explanation: [`${verdict}: …`],
                writerTraits: ['names start with "./" (3 entries)'],
                contentDifferences: verdict === "content differs" ? ["etc/passwd: size 10 vs 12"] : [],
            },
        ],
    };
}

/** A root image check of three layers: identical after inference, another writer, content differs. */
export function rootImageReport(refs: readonly string[]): ImageVerifyReport {
    const original = (contentMatches: boolean) => ({
        decompressesToDiffID: true,
        writer: "Docker's moby pkg/archive, a Go archive/tar writer that looks up user and group names",
        formats: ["ustar"],
        contentMatches,
        differences: contentMatches ? ['first header difference: bin: mode "0040755" in the original, "0000755" recomputed'] : ["etc/hosts: only in the original"],
    });
    const names = { users: { "0": "root" }, groups: { "0": "root" }, conflicts: [] };
    return {
        image: "test/bk:1",
        namespace: "",
        snapshotter: "overlayfs",
        manifest: "",
        config: D("f"),
        ok: false,
        layers: refs.map((ref, i) => ({
            index: i,
            diffID: D(String(i)),
            chainID: D(String(i + 3)),
            ref,
            recomputed: i === 0 ? D(String(i)) : D("e"),
            ok: i === 0,
            blob: { digest: D(String(i)), mediaType: "docker layer (tar-split)" },
            whiteoutTime: i === 0 ? null : 1795890076,
            names,
            original: i === 0 ? null : original(i === 1),
            message: `layer ${i}: …`,
        })),
    };
}
