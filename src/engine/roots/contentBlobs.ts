/**
 * Reading image JSON (index, manifest, config) from a content store laid out as containerd's
 * `io.containerd.content.v1.content/blobs/<alg>/<hex>`: digests validated at the door, size
 * bounded, the bytes checked against their digest before they are trusted.
 */
import { createHash } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import * as path from "node:path";
import { EngineError, fromSystemError } from "../errors";

const DIGEST = /^sha256:([a-f0-9]{64})$/;
/** Index, manifest and config JSON are kilobytes; refuse anything absurd before reading it. */
const MAX_JSON_BLOB = 16 * 1024 * 1024;

export const INDEX_TYPES = new Set(["application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json"]);
export const MANIFEST_TYPES = new Set(["application/vnd.oci.image.manifest.v1+json", "application/vnd.docker.distribution.manifest.v2+json"]);

export function blobPath(blobsDir: string, digest: string): string {
    const m = DIGEST.exec(digest);
    if (!m) throw new EngineError("InvalidArgument", `${JSON.stringify(digest)} is not a sha256 digest`, { digest });
    return path.join(blobsDir, "sha256", m[1]!);
}

/** A JSON blob, verified against its digest. */
export function readJsonBlob(blobsDir: string, digest: string): unknown {
    const file = blobPath(blobsDir, digest);
    let bytes: Buffer;
    try {
        const size = statSync(file).size;
        if (size > MAX_JSON_BLOB) {
            throw new EngineError("Corrupt", `${file}: ${size} bytes is too large for an image index, manifest or config`, { path: file });
        }
        bytes = readFileSync(file);
    } catch (err) {
        throw fromSystemError(err, file, `reading blob ${digest}`);
    }
    const actual = `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
    if (actual !== digest) {
        throw new EngineError("Corrupt", `${file}: content is ${actual}, not ${digest}`, { path: file, digest });
    }
    try {
        return JSON.parse(bytes.toString("utf8"));
    } catch (err) {
        throw new EngineError("Corrupt", `${file}: blob ${digest} is not JSON`, { path: file, digest }, { cause: err });
    }
}

export interface ImageLayer {
    readonly digest: string;
    readonly mediaType: string;
    readonly size: number;
}

export interface ResolvedImage {
    readonly manifest: string;
    readonly config: string;
    readonly layers: ImageLayer[];
    readonly diffIDs: string[];
    readonly platform: string | null;
}

/** Go's GOARCH for this host (what containerd's default platform matcher prefers). */
function hostArch(): string {
    return ({ x64: "amd64", arm64: "arm64", arm: "arm", ia32: "386", ppc64: "ppc64le", s390x: "s390x", riscv64: "riscv64" } as Record<string, string>)[process.arch] ?? process.arch;
}

/** Image target → (index → manifest for linux/<host arch>) → config → diff_ids. */
export function resolveImage(blobsDir: string, target: { digest: string; mediaType: string }): ResolvedImage {
    let desc = target;
    let platform: string | null = null;
    for (let depth = 0; INDEX_TYPES.has(desc.mediaType); depth++) {
        if (depth > 4) throw new EngineError("Corrupt", `${target.digest}: indexes nested too deep`, { digest: target.digest });
        const index = readJsonBlob(blobsDir, desc.digest) as { manifests?: Array<{ digest: string; mediaType: string; platform?: { os?: string; architecture?: string; variant?: string } }> };
        const manifests = Array.isArray(index.manifests) ? index.manifests : [];
        const pick =
            manifests.find((m) => m.platform?.os === "linux" && m.platform.architecture === hostArch()) ??
            (manifests.length === 1 ? manifests[0] : undefined);
        if (!pick) {
            const have = manifests.map((m) => `${m.platform?.os ?? "?"}/${m.platform?.architecture ?? "?"}`).join(", ");
            throw new EngineError("NotFound", `index ${desc.digest} has no linux/${hostArch()} manifest (has ${have || "none"})`, { digest: desc.digest });
        }
        platform = pick.platform ? `${pick.platform.os ?? "?"}/${pick.platform.architecture ?? "?"}${pick.platform.variant ? `/${pick.platform.variant}` : ""}` : null;
        desc = { digest: pick.digest, mediaType: pick.mediaType };
    }
    if (!MANIFEST_TYPES.has(desc.mediaType)) {
        throw new EngineError("Unsupported", `${desc.digest}: media type ${desc.mediaType} is not an image manifest or index`, { digest: desc.digest });
    }
    const manifest = readJsonBlob(blobsDir, desc.digest) as { config?: { digest?: string }; layers?: ImageLayer[] };
    const configDigest = manifest.config?.digest;
    if (typeof configDigest !== "string") throw new EngineError("Corrupt", `manifest ${desc.digest} has no config`, { digest: desc.digest });
    const config = readJsonBlob(blobsDir, configDigest) as { rootfs?: { diff_ids?: unknown } };
    const diffIDs = config.rootfs?.diff_ids;
    if (!Array.isArray(diffIDs) || !diffIDs.every((d) => typeof d === "string")) {
        throw new EngineError("Corrupt", `config ${configDigest} has no rootfs.diff_ids`, { digest: configDigest });
    }
    const layers = (manifest.layers ?? []).map((l) => ({ digest: l.digest, mediaType: l.mediaType, size: l.size }));
    if (layers.length !== diffIDs.length) {
        throw new EngineError("Corrupt", `manifest ${desc.digest} has ${layers.length} layers but its config ${diffIDs.length} diff_ids`, { digest: desc.digest });
    }
    return { manifest: desc.digest, config: configDigest, layers, diffIDs: diffIDs as string[], platform };
}
