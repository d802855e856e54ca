/**
 * `layerscope verify-image`: imports an image into a temporary workspace (native snapshots),
 * recomputes every layer with our differ (containerd's ChangeWriter, with the whiteout time read
 * from the layer's own whiteouts), and judges each layer:
 *
 * - "identical": same diffID and the same blob bytes from our compressor, with containerd 2.x's
 *   defaults (no name lookups, whiteouts at the epoch);
 * - "identical after inference": the same, once the profile read from the layer is replayed: the
 *   user/group names its writer looked up (uid -> uname, gid -> gname) and its whiteout time;
 * - "same content, different compressor": the diffID matches, the blob does not;
 * - "same files, different tar writer": the diffID differs, but applying our tar to the parent
 *   gives the same tree as applying the image's; the writer traits that differ are named;
 * - "content differs": the trees differ (the only verdict that fails verification).
 */
import { createReadStream, promises as fsp } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { TarScanner } from "../compression/estargz/tarScanner";
import { openWorkspaceEngine } from "../cache/workspaceEngine";
import { compressFile, type CompressionType, openDecoded } from "../compression";
import type { Digest } from "../digest/hashSink";
import { writeDiff } from "../diff/writeDiff";
import { atomicFileSink } from "../fs/atomicFile";
import { chainIDs } from "../identity/chainID";
import { applyLayer } from "./applyLayer";
import { compareTreesAsync } from "./compareTrees";
import { buildSnapshot, importImage, type ImportedLayer, type ImportOptions } from "./importImage";
import { TarTraitCollector, type TarTraits } from "./tarTraits";
import { Yielder } from "../util/yielder";
import { describeNameProfile, type NameProfile, toNameLookup } from "../archive/nameLookup";
import { createHash } from "node:crypto";

export type LayerVerdict = "identical" | "identical after inference" | "same content, different compressor" | "same files, different tar writer" | "content differs";

export interface Match {
    readonly image: string;
    readonly recomputed: string;
    readonly match: boolean;
}

export interface LayerVerification {
    readonly index: number;
    readonly ref: string;
    readonly mediaType: string;
    readonly compression: CompressionType;
    readonly diffID: Match;
    readonly chainID: Match;
    /** The blob recompressed from our tar with the image's compression (our encoders' defaults). */
    readonly blob: Match & { readonly compression: CompressionType };
    /** The profile used for the recompute, read from the image's layer. */
    readonly profile: {
        readonly whiteoutTime: string;
        readonly whiteoutTimeSource: string;
        readonly nameLookup: "none" | "looked up";
        /** uid/gid -> name as the original writer looked them up, replayed on the recompute. */
        readonly names: NameProfile | null;
    };
    readonly verdict: LayerVerdict;
    /** Plain sentences: why the digests differ. */
    readonly explanation: readonly string[];
    /** Writer traits that differ between the image's tar and ours. */
    readonly writerTraits: readonly string[];
    /** Tree differences (only for "content differs"). */
    readonly contentDifferences: readonly string[];
}

export interface ImageVerification {
    /** False only when some layer's content differs. */
    readonly ok: boolean;
    readonly source: string;
    readonly image: string | null;
    readonly platform: string;
    readonly manifestDigest: Digest | null;
    readonly layers: readonly LayerVerification[];
}

export interface VerifyImageOptions extends Pick<ImportOptions, "platform" | "name" | "maxLayerBytes" | "maxRatio" | "signal" | "onProgress"> {
    /** Keep the temporary workspace in this directory (must not exist) instead of a temp dir. */
    readonly workspace?: string;
}

export async function verifyImage(source: string, opts: VerifyImageOptions = {}): Promise<ImageVerification> {
    const tmp = await fsp.mkdtemp(path.join(tmpdir(), "layerscope-verify-"));
    const ws = opts.workspace ?? path.join(tmp, "ws");
    try {
        const imported = await importImage(source, ws, { platform: opts.platform, name: opts.name, snapshotter: "native", refPrefix: "layer", maxLayerBytes: opts.maxLayerBytes, maxRatio: opts.maxRatio, signal: opts.signal, onProgress: opts.onProgress });
        const engine = await openWorkspaceEngine(ws);
        const imageChain = chainIDs(imported.layers.map((l) => l.diffID));
        const ourDiffIDs: Digest[] = [];
        const layers: LayerVerification[] = [];
        for (const [i, l] of imported.layers.entries()) {
            const ref = engine.workspace.get(l.ref);
            const whiteoutTime = l.whiteoutTime ?? "0";
            const tarFile = path.join(tmp, `layer-${i}.tar`);
            const sink = await atomicFileSink(tarFile);
            const ours = new TarTraitCollector();
            // NOTE: the scanner parses a whole chunk of our tar per push; yielding between entries
            // keeps a chunk of thousands of small headers from holding the event loop.
            const yielder = new Yielder(opts.signal);
            const scanner = new TarScanner({
                raw: async () => undefined,
                data: async () => undefined,
                entry: (e) => {
                    ours.add(e);
                    return yielder.maybeYield();
                },
            });
            const tee = { write: async (c: Buffer): Promise<void> => { await scanner.push(c); await sink.write(c); } };
            const inputs = await engine.workspace.views.blobInputs(ref, opts.signal);
            let tar;
            try {
                const names = l.traits.nameProfile ? toNameLookup(l.traits.nameProfile) : undefined;
                tar = await writeDiff({ ...inputs, whiteoutTime: { seconds: BigInt(whiteoutTime) }, names, output: tee, signal: opts.signal });
                await sink.commit();
            } catch (err) {
                await sink.abort();
                throw err;
            }
            const blobPath = engine.chain.store.blobPath(l.blob.digest);
            const cmp = await compareLayer(l, tarFile, tar.diffID, blobPath);
            ourDiffIDs.push(cmp.ourDiffID);
            const oursChain = chainIDs(ourDiffIDs);
            const traits = cmp.diffMatch ? [] : writerTraits(l.traits, ours.result(), l, tar.size, cmp.imageTarSize);
            let contentDifferences: string[] = [];
            if (!cmp.diffMatch) {
                const parent = i > 0 ? path.join(ws, imported.layers[i - 1]!.snapshot) : null;
                const check = path.join(tmp, `check-${i}`);
                await buildSnapshot(check, parent, (dir) => applyLayer(createReadStream(tarFile), { root: dir, mode: "native", signal: opts.signal }));
                contentDifferences = await compareTreesAsync(path.join(ws, l.snapshot), check, { signal: opts.signal });
                await fsp.rm(check, { recursive: true, force: true });
            }
            await fsp.rm(tarFile, { force: true });
            const inferred = l.traits.nameProfile !== null || (l.whiteoutTime !== null && l.whiteoutTime !== "0");
            const verdict: LayerVerdict = cmp.diffMatch
                ? cmp.blobMatch
                    ? inferred
                        ? "identical after inference"
                        : "identical"
                    : "same content, different compressor"
                : contentDifferences.length === 0
                  ? "same files, different tar writer"
                  : "content differs";
            layers.push({
                index: i,
                ref: l.ref,
                mediaType: l.blob.mediaType,
                compression: l.blob.compression,
                diffID: { image: l.diffID, recomputed: cmp.ourDiffID, match: cmp.diffMatch },
                chainID: { image: imageChain[i]!, recomputed: oursChain[i]!, match: imageChain[i] === oursChain[i] },
                blob: { compression: l.blob.compression, image: l.blob.digest, recomputed: cmp.ourBlob, match: cmp.blobMatch },
                profile: {
                    whiteoutTime,
                    whiteoutTimeSource: l.whiteoutTime === null ? "no whiteouts in the layer: the containerd 2.x default (Unix epoch)" : l.traits.whiteoutMtimes.length > 1 ? `the layer's first whiteout (its whiteouts carry ${l.traits.whiteoutMtimes.length} different times)` : "the layer's whiteouts",
                    nameLookup: l.traits.nameProfile ? "looked up" : "none",
                    names: l.traits.nameProfile,
                },
                verdict,
                explanation: explain(verdict, l, cmp, traits),
                writerTraits: traits,
                contentDifferences,
            });
        }
        return {
            ok: layers.every((l) => l.verdict !== "content differs"),
            source: imported.source,
            image: imported.image,
            platform: imported.platform,
            manifestDigest: imported.manifestDigest,
            layers,
        };
    } finally {
        await fsp.rm(tmp, { recursive: true, force: true });
    }
}

interface LayerComparison {
    readonly ourDiffID: Digest;
    readonly diffMatch: boolean;
    readonly ourBlob: Digest;
    readonly blobMatch: boolean;
    readonly imageTarSize: number;
}

async function compareLayer(l: ImportedLayer, tarFile: string, tarDiffID: Digest, blobPath: string): Promise<LayerComparison> {
    if (l.blob.compression === "uncompressed") {
        return { ourDiffID: tarDiffID, diffMatch: tarDiffID === l.diffID, ourBlob: tarDiffID, blobMatch: tarDiffID === l.blob.digest, imageTarSize: await tarSize(blobPath, "uncompressed") };
    }
    const blob = await compressFile(tarFile, { type: l.blob.compression });
    if (l.blob.compression === "estargz") {
        // The config's diffID is D' (tar + TOC); compare the plain tars first.
        const plain = await digestOf(openDecoded(blobPath, "estargz"));
        return { ourDiffID: blob.diffID, diffMatch: plain.digest === tarDiffID, ourBlob: blob.digest, blobMatch: blob.digest === l.blob.digest, imageTarSize: plain.size };
    }
    return { ourDiffID: tarDiffID, diffMatch: tarDiffID === l.diffID, ourBlob: blob.digest, blobMatch: blob.digest === l.blob.digest, imageTarSize: await tarSize(blobPath, l.blob.compression) };
}

async function digestOf(src: AsyncIterable<unknown>): Promise<{ digest: Digest; size: number }> {
    const h = createHash("sha256");
    let size = 0;
    for await (const c of src) {
        h.update(c as Buffer);
        size += (c as Buffer).length;
    }
    return { digest: `sha256:${h.digest("hex")}` as Digest, size };
}

async function tarSize(blobPath: string, type: CompressionType): Promise<number> {
    return (await digestOf(openDecoded(blobPath, type))).size;
}

function explain(verdict: LayerVerdict, l: ImportedLayer, cmp: LayerComparison, traits: readonly string[]): string[] {
    const profile = inferredProfile(l);
    switch (verdict) {
        case "identical":
            return ["same tar bytes and the same blob bytes as Layerscope writes them"];
        case "identical after inference":
            return [`identical after inference: the same tar bytes and blob bytes once the layer's own writer profile is replayed (${profile.join("; ")})`];
        case "same content, different compressor": {
            const why =
                l.blob.compression === "zstd"
                    ? "Layerscope's zstd is libzstd, not klauspost's encoder BuildKit uses, so zstd blobs never match byte for byte"
                    : `the image's ${l.blob.compression} stream was written by another compressor or level than Go's compress/gzip at the default level`;
            const with_ = profile.length > 0 ? ` once the layer's writer profile is replayed (${profile.join("; ")})` : "";
            return [`same content, different compressor: the layer tar is byte-identical (diffID matches)${with_}, the blob is not (${why})`];
        }
        case "same files, different tar writer": {
            const tried = profile.length > 0 ? `, even with the layer's writer profile replayed (${profile.join("; ")})` : "";
            return [`same files, different tar writer: applying either tar gives the same tree, but the tar bytes differ${tried}${traits.length ? ` (${traits.join("; ")})` : ""}`];
        }
        case "content differs":
            return [`content differs: the image's layer and the one recomputed from its applied tree give different trees (diffID ${l.diffID} vs ${cmp.ourDiffID})`];
    }
}

/** What was read from the layer and replayed, beyond containerd 2.x's defaults. */
function inferredProfile(l: ImportedLayer): string[] {
    const out: string[] = [];
    if (l.traits.nameProfile) out.push(`user/group names as the original writer looked them up: ${describeNameProfile(l.traits.nameProfile)}`);
    if (l.whiteoutTime !== null && l.whiteoutTime !== "0") out.push(`whiteout time ${l.whiteoutTime} taken from the layer's whiteouts`);
    return out;
}

/** The traits of the image's tar that our writer (containerd's ChangeWriter) does not share. */
function writerTraits(img: TarTraits, ours: TarTraits, l: ImportedLayer, ourSize: number, imgSize: number): string[] {
    const out: string[] = [];
    // Names are replayed from the layer; only ids named inconsistently can still differ.
    if (img.nameProfile && img.nameProfile.conflicts.length > 0) out.push(`user/group names that no single lookup explains (${img.nameProfile.conflicts.join(", ")} carry different names on different entries)`);
    const extraPax = img.paxKeys.filter((k) => !ours.paxKeys.includes(k) && !k.startsWith("SCHILY.xattr."));
    if (extraPax.length > 0) out.push(`PAX records containerd does not write: ${extraPax.join(", ")}`);
    const droppedXattrs = img.paxKeys.filter((k) => k.startsWith("SCHILY.xattr.") && k !== "SCHILY.xattr.security.capability");
    if (droppedXattrs.length > 0) out.push(`xattrs containerd's writer does not carry (only security.capability): ${droppedXattrs.map((k) => k.slice(13)).join(", ")}`);
    if (img.gnuLongNames > 0) out.push(`GNU long names (${img.gnuLongNames}; containerd uses PAX path records)`);
    if (img.dotSlashNames > 0) out.push(`names start with "./" (${img.dotSlashNames} entries)`);
    if (img.globalHeaders > 0) out.push(`PAX global headers (${img.globalHeaders})`);
    if (img.subSecondMtimes > 0) out.push(`sub-second mtimes on ${img.subSecondMtimes} entries (containerd truncates to the second)`);
    if (img.whiteoutMtimes.some((t) => t !== "0") && img.whiteoutMtimes.length > 1) out.push(`whiteouts carry ${img.whiteoutMtimes.length} different mtimes`);
    const imgNames = new Set(img.names);
    const ourNames = new Set(ours.names);
    const onlyImg = img.names.filter((n) => !ourNames.has(n));
    const onlyOurs = ours.names.filter((n) => !imgNames.has(n));
    if (onlyImg.length > 0) out.push(`entries only in the image's tar: ${sample(onlyImg)}`);
    if (onlyOurs.length > 0) out.push(`entries only in ours: ${sample(onlyOurs)}`);
    const a = img.names.filter((n) => ourNames.has(n));
    const b = ours.names.filter((n) => imgNames.has(n));
    const at = a.findIndex((n, i) => n !== b[i]);
    if (at >= 0) out.push(`entry order differs (the image has ${JSON.stringify(a[at])} where ours has ${JSON.stringify(b[at])}; containerd writes in walk order: lexical by path, parents first)`);
    if (imgSize !== ourSize && imgSize % 10240 === 0 && ourSize % 10240 !== 0) out.push(`padded to 10 KiB records (${imgSize} bytes; GNU tar's blocking factor 20)`);
    else if (imgSize !== ourSize && out.length === 0) out.push(`tar sizes differ: ${imgSize} vs ${ourSize} bytes`);
    if (out.length === 0) out.push(`header encoding (same entries, order and records; ${l.traits.entries} entries)`);
    return out;
}

function sample(names: readonly string[]): string {
    // "" is the root directory's own entry ("/" or "./"), which umoci writes and containerd never does.
    const shown = names.slice(0, 5).map((n) => (n === "" ? "the root directory itself" : JSON.stringify(n))).join(", ");
    return names.length > 5 ? `${shown} and ${names.length - 5} more` : shown;
}
