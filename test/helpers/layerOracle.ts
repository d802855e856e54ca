/**
 * The containerd oracle (../shared/oracle, `LAYERSCOPE_ORACLE`) and Debian's own decompressors,
 * driven synchronously for the conformance tests. Every call prints one JSON object; a failed
 * call throws with its output.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";

export interface OracleDiff {
    readonly diffID: string;
    readonly size: number;
}

export interface OracleBlob {
    readonly digest: string;
    /** For eStargz D', the digest of every decompressed member. */
    readonly diffID: string;
    readonly tocDigest: string | null;
}

/** Decompressed blobs can be large; the limit only guards against a runaway tool. */
const MAX_OUTPUT = 1 << 30;

export function sha256(b: Buffer): string {
    return `sha256:${createHash("sha256").update(b).digest("hex")}`;
}

export class LayerOracle {
    private readonly chainIDs = new Map<string, string>();

    constructor(readonly binary: string) {}

    private run(args: string[]): Record<string, unknown> {
        const r = spawnSync(this.binary, args, { encoding: "utf8", maxBuffer: MAX_OUTPUT });
        if (r.status !== 0) {
            throw new Error(`oracle ${args.join(" ")} failed (${r.status}): ${r.stdout}${r.stderr}`);
        }
        return JSON.parse(r.stdout) as Record<string, unknown>;
    }

    /** containerd's walking differ over two full trees, whiteouts dated the epoch. */
    diff(lower: string, upper: string, outTar: string): OracleDiff {
        const r = this.run(["diff", "--whiteout-time", "0", lower, upper, outTar]);
        return { diffID: String(r.diffID), size: Number(r.size) };
    }

    /** image-spec `identity.ChainID`, memoised (the same chains come back for many refs). */
    chainID(digests: readonly string[]): string {
        const key = digests.join(" ");
        let id = this.chainIDs.get(key);
        if (id === undefined) {
            id = String(this.run(["chainid", ...digests]).chainID);
            this.chainIDs.set(key, id);
        }
        return id;
    }

    /**
     * BuildKit's compressors on a layer tar: `gzip` (Go's compress/gzip), `estargz-lossless`
     * (`NewWriterLevel` + `AppendTarLossLess`), at `level` (default: Go's DefaultCompression).
     */
    compress(mode: "gzip" | "estargz-lossless", tar: string, outBlob: string, level?: number): OracleBlob {
        const r = this.run(["compress", ...(level === undefined ? [] : ["--level", String(level)]), mode, tar, outBlob]);
        return { digest: String(r.digest), diffID: String(r.diffID), tocDigest: r.tocDigest === undefined ? null : String(r.tocDigest) };
    }

    /**
     * stargz-snapshotter's `estargz.Open` + `VerifyTOC` + every chunk: "ok", or "failed: " and
     * the error (a failure is an outcome to compare, not an exception).
     */
    verifyEstargzOutcome(blob: string, tocDigest?: string): string {
        const args = ["verify-estargz", ...(tocDigest ? ["--toc-digest", tocDigest] : []), blob];
        const r = spawnSync(this.binary, args, { encoding: "utf8", maxBuffer: MAX_OUTPUT });
        const out = JSON.parse(r.stdout) as Record<string, unknown>;
        return r.status === 0 && out.ok === true ? "ok" : `failed: ${String(out.error)}`;
    }

    /** containerd `archive.Apply` of one layer blob (any compression) onto `dir`. */
    apply(blob: string, dir: string): void {
        this.run(["apply", blob, dir]);
    }
}

/**
 * The TOC JSON of a lossless eStargz blob's decompressed bytes, whose original tar is `tarSize`
 * bytes: the TOC tar follows it, one entry `stargz.index.json`.
 */
export function estargzToc(plain: Buffer, tarSize: number): Buffer | null {
    const hdr = plain.subarray(tarSize, tarSize + 512);
    if (hdr.length < 512 || hdr.subarray(0, 18).toString("latin1") !== "stargz.index.json\0") {
        return null;
    }
    const size = Number.parseInt(hdr.subarray(124, 136).toString("latin1").replace(/[\0 ]/g, "") || "0", 8);
    return plain.subarray(tarSize + 512, tarSize + 512 + size);
}

/** The blob's bytes as `gzip -dc` or `zstd -dc` (Debian's tools) decompress them. */
export function decompressWithTool(tool: "gzip" | "zstd", file: string): Buffer {
    const args = tool === "gzip" ? ["-dc", file] : ["-dcq", file];
    const r = spawnSync(tool, args, { maxBuffer: MAX_OUTPUT });
    if (r.status !== 0) {
        throw new Error(`${tool} ${args.join(" ")} failed (${r.status}): ${r.stderr.toString()}`);
    }
    return r.stdout;
}
