/**
 * From an image source to one image: the OCI index (nested indexes followed), the platform and
 * name picked, the manifest and config read and verified, and the layers with their expected
 * digests and diffIDs. A `docker save` archive (manifest.json, no index.json) is read as Docker
 * does: the config named by the entry, layer files in order, diffIDs from the config.
 */
import { createHash } from "node:crypto";
import type { Digest } from "../digest/hashSink";
import { EngineError } from "../errors";
import { type FileAccess, cleanMemberName } from "./imageFiles";
import {
    AnnotationImageName,
    AnnotationRefName,
    checkConfig,
    checkDocMediaType,
    checkIndex,
    checkManifest,
    corrupt,
    CONFIG_MEDIA_TYPES,
    type Descriptor,
    type ImageConfig,
    type ImageManifest,
    isManifestMediaType,
    layerHistory,
    MAX_JSON_BYTES,
    MediaTypeDockerManifestList,
    MediaTypeImageIndex,
    parseJson,
    type Platform,
} from "./imageTypes";
import { formatPlatform, hostPlatform, normalize, platformMatches } from "./platform";

export type SourceKind = "oci-layout" | "oci-archive" | "docker-archive";

export interface ImageLayer {
    readonly index: number;
    /** The member holding the blob. */
    readonly member: string;
    /** From the manifest; for a docker archive the digest is known only once read (null). */
    readonly descriptor: Descriptor | null;
    readonly diffID: Digest;
    readonly description: string | null;
}

export interface ResolvedImage {
    readonly kind: SourceKind;
    readonly name: string | null;
    readonly platform: Platform;
    readonly manifestDigest: Digest | null;
    readonly manifest: ImageManifest | null;
    readonly configDigest: Digest;
    readonly config: ImageConfig;
    readonly layers: readonly ImageLayer[];
}

export interface ResolveOptions {
    /** Default: the host's. */
    readonly platform?: Platform;
    /** An image name (org.opencontainers.image.ref.name, io.containerd.image.name, a RepoTag). */
    readonly name?: string;
}

export function blobMember(d: Digest): string {
    return `blobs/sha256/${d.slice("sha256:".length)}`;
}

/** A small JSON member, its size and digest checked against the descriptor when there is one. */
export async function readMember(files: FileAccess, member: string, desc: Descriptor | null, what: string): Promise<Buffer> {
    const size = await files.size(member);
    if (size === null) {
        throw new EngineError("NotFound", `${files.path}: ${what} (${member}) is missing`, { path: files.path, member, reason: "missing-blob" });
    }
    if (desc && size !== desc.size) {
        throw corrupt(`${files.path}: ${member}`, `${what} is ${size} bytes, its descriptor says ${desc.size}`, "size-mismatch");
    }
    if (size > MAX_JSON_BYTES) {
        throw corrupt(`${files.path}: ${member}`, `${what} is ${size} bytes, more than the ${MAX_JSON_BYTES} a JSON document may have`, "too-large");
    }
    const chunks: Buffer[] = [];
    for await (const c of files.open(member)) chunks.push(c as Buffer);
    const bytes = Buffer.concat(chunks);
    if (desc) {
        const got = `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
        if (got !== desc.digest) {
            throw corrupt(`${files.path}: ${member}`, `${what} has digest ${got}, its descriptor says ${desc.digest}`, "digest-mismatch");
        }
    }
    return bytes;
}

export async function resolveImage(files: FileAccess, opts: ResolveOptions = {}): Promise<ResolvedImage> {
    if ((await files.size("index.json")) !== null) {
        return resolveOci(files, opts);
    }
    if ((await files.size("manifest.json")) !== null) {
        return resolveDocker(files, opts);
    }
    throw new EngineError(
        "InvalidArgument",
        `${files.path}: not an image (no index.json of an OCI layout, no manifest.json of a docker save archive)`,
        { path: files.path, reason: "not-an-image" },
    );
}

interface Candidate {
    readonly desc: Descriptor;
    readonly name: string | null;
}

async function resolveOci(files: FileAccess, opts: ResolveOptions): Promise<ResolvedImage> {
    const layoutFile = await files.size("oci-layout");
    if (layoutFile !== null) {
        const doc = parseJson(await readMember(files, "oci-layout", null, "oci-layout"), `${files.path}: oci-layout`);
        if (doc.imageLayoutVersion !== "1.0.0") {
            throw new EngineError("Unsupported", `${files.path}: oci-layout version ${JSON.stringify(doc.imageLayoutVersion)} (only 1.0.0)`, { path: files.path });
        }
    }
    const topDoc = parseJson(await readMember(files, "index.json", null, "index.json"), `${files.path}: index.json`);
    checkDocMediaType(topDoc, null, `${files.path}: index.json`);
    const top = checkIndex(topDoc, `${files.path}: index.json`);
    const candidates: Candidate[] = [];
    /** Descriptors that are neither an index nor an image (artifacts): skipped, as containerd does. */
    const others: string[] = [];
    const walk = async (descs: readonly Descriptor[], name: string | null, depth: number): Promise<void> => {
        for (const d of descs) {
            const n = d.annotations?.[AnnotationRefName] ?? d.annotations?.[AnnotationImageName] ?? name;
            if (d.mediaType === MediaTypeImageIndex || d.mediaType === MediaTypeDockerManifestList) {
                if (depth > 4) throw corrupt(files.path, "indexes nested more than 4 deep", "bad-index");
                const what = `index ${d.digest}`;
                const doc = parseJson(await readMember(files, blobMember(d.digest), d, what), what);
                checkDocMediaType(doc, d, what);
                await walk(checkIndex(doc, what).manifests, n, depth + 1);
            } else if (isManifestMediaType(d.mediaType)) {
                candidates.push({ desc: d, name: n });
            } else {
                others.push(`${d.digest} (${d.mediaType})`);
            }
        }
    };
    await walk(top.manifests, null, 0);
    if (candidates.length === 0 && others.length > 0) {
        throw new EngineError("Unsupported", `${files.path}: holds no image manifest, only ${others.join(", ")}`, { path: files.path, reason: "media-type" });
    }
    const named = opts.name === undefined ? candidates : candidates.filter((c) => nameMatches(opts.name!, c));
    if (named.length === 0) {
        const names = [...new Set(candidates.map((c) => c.name).filter(Boolean))].join(", ") || "(none named)";
        throw new EngineError("NotFound", `${files.path}: no image named ${JSON.stringify(opts.name)} (images: ${names})`, { path: files.path, reason: "no-such-image" });
    }
    const want = opts.platform ? normalize(opts.platform) : hostPlatform();
    const loaded: { c: Candidate; manifest: ImageManifest; config: ImageConfig; configDigest: Digest; platform: Platform }[] = [];
    for (const c of named) {
        if (c.desc.platform && (c.desc.platform.os === "unknown" || !platformMatches(want, c.desc.platform))) continue;
        const what = `manifest ${c.desc.digest}`;
        const mdoc = parseJson(await readMember(files, blobMember(c.desc.digest), c.desc, what), what);
        checkDocMediaType(mdoc, c.desc, what);
        const manifest = checkManifest(mdoc, what);
        const cwhat = `config ${manifest.config.digest}`;
        if (!CONFIG_MEDIA_TYPES.has(manifest.config.mediaType)) {
            others.push(`${c.desc.digest} (config ${manifest.config.mediaType})`);
            continue;
        }
        const config = checkConfig(parseJson(await readMember(files, blobMember(manifest.config.digest), manifest.config, cwhat), cwhat), cwhat);
        const platform = c.desc.platform ?? normalize({ os: config.os, architecture: config.architecture, ...(config.variant ? { variant: config.variant } : {}) });
        if (!platformMatches(want, platform)) continue;
        loaded.push({ c, manifest, config, configDigest: manifest.config.digest, platform });
    }
    const digests = [...new Set(loaded.map((l) => l.c.desc.digest))];
    if (digests.length === 0 && loaded.length === 0 && others.length > 0 && named.every((c) => !c.desc.platform || platformMatches(want, c.desc.platform))) {
        throw new EngineError("Unsupported", `${files.path}: no image config among ${others.join(", ")} (artifacts, not images?)`, { path: files.path, reason: "media-type" });
    }
    if (digests.length === 0) {
        const have = named.map((c) => (c.desc.platform ? formatPlatform(c.desc.platform) : "(from config)")).join(", ");
        throw new EngineError("NotFound", `${files.path}: no image for platform ${formatPlatform(want)} (manifests: ${have}); pass --platform`, { path: files.path, reason: "no-such-platform" });
    }
    if (digests.length > 1) {
        const names = loaded.map((l) => l.c.name ?? l.c.desc.digest).join(", ");
        throw new EngineError("InvalidArgument", `${files.path}: holds several images for ${formatPlatform(want)} (${names}); pick one with --name`, { path: files.path, reason: "ambiguous-image" });
    }
    const pick = loaded[0]!;
    const { manifest, config } = pick;
    if (manifest.layers.length !== config.rootfs.diff_ids.length) {
        throw corrupt(`${files.path}: manifest ${pick.c.desc.digest}`, `has ${manifest.layers.length} layers but its config lists ${config.rootfs.diff_ids.length} diff_ids`, "layer-count");
    }
    const history = layerHistory(config, manifest.layers.length);
    return {
        kind: files.kind === "dir" ? "oci-layout" : "oci-archive",
        name: pick.c.name,
        platform: pick.platform,
        manifestDigest: pick.c.desc.digest,
        manifest,
        configDigest: pick.configDigest,
        config,
        layers: manifest.layers.map((d, i) => ({ index: i, member: blobMember(d.digest), descriptor: d, diffID: config.rootfs.diff_ids[i]!, description: history[i]! })),
    };
}

function nameMatches(want: string, c: Candidate): boolean {
    const n = c.name ?? "";
    return n === want || c.desc.annotations?.[AnnotationImageName] === want || c.desc.annotations?.[AnnotationRefName] === want || n.endsWith(`:${want}`);
}

async function resolveDocker(files: FileAccess, opts: ResolveOptions): Promise<ResolvedImage> {
    const what = `${files.path}: manifest.json`;
    let doc: unknown;
    try {
        doc = JSON.parse((await readMember(files, "manifest.json", null, "manifest.json")).toString("utf8"));
    } catch (err) {
        if (err instanceof EngineError) throw err;
        throw corrupt(what, `not valid JSON (${(err as Error).message})`, "bad-json");
    }
    if (!Array.isArray(doc) || doc.length === 0) throw corrupt(what, "must be a non-empty array of images", "bad-manifest");
    const entries = doc.map((e: unknown, i: number) => {
        const o = e as { Config?: unknown; RepoTags?: unknown; Layers?: unknown };
        if (typeof o !== "object" || o === null || typeof o.Config !== "string" || !Array.isArray(o.Layers) || o.Layers.some((l) => typeof l !== "string")) {
            throw corrupt(what, `entry ${i} needs Config (string) and Layers (strings)`, "bad-manifest");
        }
        const tags = Array.isArray(o.RepoTags) ? o.RepoTags.filter((t): t is string => typeof t === "string") : [];
        return { config: o.Config, layers: o.Layers as string[], tags };
    });
    const matching = opts.name === undefined ? entries : entries.filter((e) => e.tags.some((t) => t === opts.name || t.endsWith(`:${opts.name}`) || t.startsWith(`${opts.name}:`)));
    if (matching.length !== 1) {
        const tags = entries.map((e) => e.tags.join(" ") || e.config).join(", ");
        throw new EngineError(
            matching.length === 0 ? "NotFound" : "InvalidArgument",
            `${files.path}: ${matching.length === 0 ? `no image named ${JSON.stringify(opts.name)}` : "holds several images; pick one with --name"} (images: ${tags})`,
            { path: files.path, reason: matching.length === 0 ? "no-such-image" : "ambiguous-image" },
        );
    }
    const entry = matching[0]!;
    const configMember = cleanMemberName(entry.config, what);
    const bytes = await readMember(files, configMember, null, "image config");
    const configDigest = `sha256:${createHash("sha256").update(bytes).digest("hex")}` as Digest;
    const named = /([a-f0-9]{64})(?:\.json)?$/.exec(configMember);
    if (named && `sha256:${named[1]}` !== configDigest) {
        throw corrupt(`${files.path}: ${configMember}`, `has digest ${configDigest}, its name says sha256:${named[1]}`, "digest-mismatch");
    }
    const config = checkConfig(parseJson(bytes, `${files.path}: ${configMember}`), `${files.path}: ${configMember}`);
    if (entry.layers.length !== config.rootfs.diff_ids.length) {
        throw corrupt(what, `lists ${entry.layers.length} layers but the config lists ${config.rootfs.diff_ids.length} diff_ids`, "layer-count");
    }
    const platform = normalize({ os: config.os, architecture: config.architecture, ...(config.variant ? { variant: config.variant } : {}) });
    if (opts.platform && !platformMatches(opts.platform, platform)) {
        throw new EngineError("NotFound", `${files.path}: the image is for ${formatPlatform(platform)}, not ${formatPlatform(opts.platform)}`, { path: files.path, reason: "no-such-platform" });
    }
    const history = layerHistory(config, entry.layers.length);
    return {
        kind: "docker-archive",
        name: entry.tags[0] ?? null,
        platform,
        manifestDigest: null,
        manifest: null,
        configDigest,
        config,
        layers: entry.layers.map((l, i) => ({ index: i, member: cleanMemberName(l, what), descriptor: null, diffID: config.rootfs.diff_ids[i]!, description: history[i]! })),
    };
}
