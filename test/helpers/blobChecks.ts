/**
 * Checks one blob of a layer (the main blob or a compression variant, as the engine reports
 * them) against the oracle's layer tar for that layer, with tools that share no code with the
 * engine: Debian's `gzip -dc` / `zstd -dc`, and stargz-snapshotter through the oracle.
 */
import * as fs from "node:fs";
import type { CompressionType, RefReport } from "../../src/engine/index";
import { type LayerOracle, type OracleBlob, type OracleDiff, decompressWithTool, estargzToc, sha256 } from "./layerOracle";

export const UNCOMPRESSED = "containerd.io/uncompressed";
export const TOC_DIGEST = "containerd.io/snapshot/stargz/toc.digest";
export const ESTARGZ_SIZE = "io.containers.estargz.uncompressed-size";
const MEDIA = {
    tar: "application/vnd.oci.image.layer.v1.tar",
    gzip: "application/vnd.oci.image.layer.v1.tar+gzip",
    zstd: "application/vnd.oci.image.layer.v1.tar+zstd",
};

export type BlobReport = RefReport["variants"][number];

/** The oracle's layer tar for a layer: diffID, size, file. */
export type ExpectedLayer = OracleDiff & { readonly tar: string };

/** The compression a blob is in, from its media type and eStargz annotation. */
export function blobKind(b: { mediaType: string; annotations: Readonly<Record<string, string>> }): CompressionType | "unknown" {
    switch (b.mediaType) {
        case MEDIA.tar:
            return "uncompressed";
        case MEDIA.gzip:
            return b.annotations[TOC_DIGEST] !== undefined ? "estargz" : "gzip";
        case MEDIA.zstd:
            return "zstd";
        default:
            return "unknown";
    }
}

export class BlobChecks {
    private readonly goEstargzCache = new Map<string, { verify: string; toc: Buffer | null }>();
    private readonly goBlobs = new Map<string, OracleBlob>();

    constructor(
        readonly oracle: LayerOracle,
        readonly problem: (label: string, text: string) => void,
    ) {}

    /**
     * Digest and size; a tar blob is the layer tar; a compressed one decompresses to its
     * `containerd.io/uncompressed`, which is the layer tar unless it is eStargz. A blob that says
     * it is `buildkitComparable` (every one but zstd, with the default Go deflate) has the digest
     * of the oracle's own compression of the layer tar at `level`, the level it was made with.
     */
    check(label: string, v: BlobReport, want: ExpectedLayer, level: number | undefined): void {
        const bytes = fs.readFileSync(v.path);
        if (bytes.length !== v.size || sha256(bytes) !== v.digest) {
            this.problem(label, `file ${v.path}: ${bytes.length} bytes ${sha256(bytes)}, reported ${v.size} ${v.digest}`);
        }
        const ann = v.annotations;
        const kind = blobKind(v);
        if (v.buildkitComparable !== (kind !== "zstd")) {
            this.problem(label, `buildkitComparable ${v.buildkitComparable} on a ${kind} blob made with the default gzip impl`);
        }
        if (v.buildkitComparable && (kind === "gzip" || kind === "estargz")) {
            const go = this.goBlob(kind === "gzip" ? "gzip" : "estargz-lossless", want, level);
            if (go.digest !== v.digest || (kind === "estargz" && (go.tocDigest !== ann[TOC_DIGEST] || go.diffID !== ann[UNCOMPRESSED]))) {
                this.problem(
                    label,
                    `not BuildKit's ${kind} blob (level ${level ?? "default"}): ours ${v.digest} toc ${ann[TOC_DIGEST]} ` +
                        `D' ${ann[UNCOMPRESSED]}; Go ${go.digest} toc ${go.tocDigest} D' ${go.diffID}`,
                );
            }
        }
        switch (kind) {
            case "uncompressed":
                if (v.digest !== want.diffID) {
                    this.problem(label, `a tar blob that is not the layer tar: ${v.digest}, oracle ${want.diffID}`);
                }
                if (ann[UNCOMPRESSED] !== undefined && ann[UNCOMPRESSED] !== v.digest) {
                    this.problem(label, `${UNCOMPRESSED} ${ann[UNCOMPRESSED]} on a tar blob ${v.digest}`);
                }
                return;
            case "gzip":
            case "zstd":
            case "estargz": {
                const plain = decompressWithTool(kind === "zstd" ? "zstd" : "gzip", v.path);
                if (sha256(plain) !== ann[UNCOMPRESSED]) {
                    this.problem(label, `decompresses to ${sha256(plain)}, ${UNCOMPRESSED} says ${ann[UNCOMPRESSED]}`);
                }
                if (kind === "estargz") {
                    this.checkEstargz(label, v, plain, want);
                } else if (sha256(plain) !== want.diffID) {
                    this.problem(label, `decompresses to ${sha256(plain)}, not the oracle's layer tar ${want.diffID}`);
                }
                return;
            }
            case "unknown":
                this.problem(label, `unexpected media type ${v.mediaType}`);
                return;
        }
    }

    /**
     * Lossless eStargz: the original tar, then the TOC tar. stargz-snapshotter verifies it as it
     * verifies its own blob of the same tar (which fails where Go's JSON rewrites a name that is
     * not UTF-8), and the TOC is the one it writes but for the compressed offsets.
     */
    private checkEstargz(label: string, v: BlobReport, plain: Buffer, want: ExpectedLayer): void {
        const ann = v.annotations;
        if (ann[ESTARGZ_SIZE] !== String(plain.length)) {
            this.problem(label, `${ESTARGZ_SIZE} ${ann[ESTARGZ_SIZE]}, decompressed size ${plain.length}`);
        }
        if (sha256(plain.subarray(0, want.size)) !== want.diffID) {
            this.problem(label, `the first ${want.size} decompressed bytes are not the oracle's layer tar ${want.diffID}`);
        }
        const toc = estargzToc(plain, want.size);
        if (!toc || sha256(toc) !== ann[TOC_DIGEST]) {
            this.problem(label, `TOC ${toc ? sha256(toc) : "(none after the tar)"}, ${TOC_DIGEST} says ${ann[TOC_DIGEST]}`);
        }
        const go = this.goEstargz(want);
        const ours = this.oracle.verifyEstargzOutcome(v.path, ann[TOC_DIGEST]);
        if (ours !== go.verify) {
            this.problem(label, `verify-estargz: ${ours}; on Go's own eStargz of the tar: ${go.verify}`);
        }
        const noOffsets = (b: Buffer | null): string =>
            (b ?? Buffer.alloc(0)).toString("latin1").replace(/"offset": \d+/g, '"offset": N');
        if (noOffsets(toc) !== noOffsets(go.toc)) {
            fs.writeFileSync(`${want.tar}.go-toc.json`, go.toc ?? "");
            fs.writeFileSync(`${want.tar}.our-toc-${v.digest.slice(7, 19)}.json`, toc ?? "");
            this.problem(label, `TOC differs from Go's (offsets aside): see ${want.tar}.{go,our}-toc*.json`);
        }
    }

    /** The oracle's compression of the oracle's layer tar. */
    private goBlob(mode: "gzip" | "estargz-lossless", want: ExpectedLayer, level: number | undefined): OracleBlob {
        const key = `${want.tar} ${mode} ${level ?? ""}`;
        let r = this.goBlobs.get(key);
        if (!r) {
            const out = `${want.tar}.go-${mode}${level === undefined ? "" : `-${level}`}`;
            r = this.oracle.compress(mode, want.tar, out, level);
            fs.rmSync(out, { force: true });
            this.goBlobs.set(key, r);
        }
        return r;
    }

    /** Go's own eStargz of the oracle's layer tar: its verification outcome and TOC. */
    private goEstargz(want: ExpectedLayer): { verify: string; toc: Buffer | null } {
        let r = this.goEstargzCache.get(want.tar);
        if (!r) {
            const blob = `${want.tar}.go.esgz`;
            this.oracle.compress("estargz-lossless", want.tar, blob);
            const toc = estargzToc(decompressWithTool("gzip", blob), want.size);
            r = { verify: this.oracle.verifyEstargzOutcome(blob), toc };
            this.goEstargzCache.set(want.tar, r);
        }
        return r;
    }
}
