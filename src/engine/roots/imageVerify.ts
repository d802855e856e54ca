/**
 * `verify --image`: recomputes each layer of an image from the snapshots with containerd's
 * differ and compares it with the config's `rootfs.diff_ids`.
 *
 * Before recomputing, what can be read from the original layer is taken from it: the whiteout
 * mtime containerd's writer stamped (the wall clock of the writer before containerd 2.x) and the
 * user/group names its writer looked up (containerd < 1.6.20 and the BuildKit releases vendoring it, moby; containerd#8220, buildkit#3688). When
 * a layer still differs, the original blob is summarized too, so the answer says whether the
 * content is the same (only the tar headers differ: another tar writer) and which writer the
 * original headers point to, instead of a bare "mismatch".
 */
import { createReadStream } from "node:fs";
import { describeNameProfile, NameLookupCollector, type NameProfile, toNameLookup } from "../archive/nameLookup";
import { roundWhiteoutTime, type WhiteoutTime } from "../archive/whiteoutTime";
import { isDir } from "../fs/fileStat";
import type { TreeReader } from "../fs/tree";
import { fromMediaType, openDecoded } from "../compression";
import { writeDiff } from "../diff/writeDiff";
import { fromSystemError } from "../errors";
import type { Ref, Workspace } from "../refs";
import { blobPath } from "./contentBlobs";
import { HEADER_FIELDS, type TarEntrySummary, TarSummary } from "./tarSummary";

export interface LayerCheck {
    readonly index: number;
    readonly diffID: string;
    readonly chainID: string;
    /** The ref (snapshot key) the layer was recomputed from; null when not unpacked here. */
    readonly ref: string | null;
    readonly recomputed: string | null;
    readonly ok: boolean;
    readonly blob: { readonly digest: string; readonly mediaType: string };
    /** Whiteout mtime used (seconds), taken from the original layer when it has whiteouts. */
    readonly whiteoutTime: number | null;
    /** uid/gid -> name as the original writer looked them up, replayed on the recompute. */
    readonly names: NameProfile | null;
    /** On a mismatch: what the original layer tells. */
    readonly original: OriginalLayer | null;
    readonly message: string;
}

export interface OriginalLayer {
    /** The original blob decompresses to the config's diff_id. */
    readonly decompressesToDiffID: boolean;
    readonly writer: string;
    readonly formats: string[];
    /** Same entries with the same type, mode, owner, size, link, mtime and bytes. */
    readonly contentMatches: boolean;
    readonly differences: string[];
}

export interface ImageVerifyReport {
    readonly image: string;
    readonly namespace: string;
    readonly snapshotter: string;
    readonly manifest: string;
    readonly config: string;
    readonly ok: boolean;
    readonly layers: LayerCheck[];
}

/** An image's layers as its config and manifest describe them. */
export interface ImageLayers {
    readonly name: string;
    readonly namespace: string;
    readonly manifest: string;
    readonly config: string;
    readonly diffIDs: readonly string[];
    readonly chainIDs: readonly string[];
    /** Per layer: the blob (containerd) or the layer id (Docker) it came from. */
    readonly blobs: ReadonlyArray<{ readonly digest: string; readonly mediaType: string }>;
}

/** The original layer tar, summarized; null when it is not kept. */
export type OriginalTar = (index: number, signal?: AbortSignal) => Promise<{ summary: TarSummary; diffID: string } | null>;

export async function verifyImage(
    ws: Workspace,
    image: ImageLayers,
    refFor: (chainID: string) => Ref | null,
    originalFor: OriginalTar,
    signal?: AbortSignal,
): Promise<ImageVerifyReport> {
    const layers: LayerCheck[] = [];
    for (let i = 0; i < image.diffIDs.length; i++) {
        const diffID = image.diffIDs[i]!;
        const chainID = image.chainIDs[i]!;
        const blob = image.blobs[i]!;
        const ref = refFor(chainID);
        const base = { index: i, diffID, chainID, blob };
        if (!ref) {
            layers.push({ ...base, ref: null, recomputed: null, ok: false, whiteoutTime: null, names: null, original: null, message: `layer ${i}: no committed snapshot ${chainID} in the ${ws.snapshotter} snapshotter (the image is not unpacked there)` });
            continue;
        }
        const original = await originalFor(i, signal);
        const entries = original?.summary.entries ?? [];
        const wt = whiteoutTimeOf(entries);
        const names = namesOf(entries);
        const inputs = await ws.views.blobInputs(ref, signal);
        const recomputed = new TarSummary(`layer ${i} recomputed from ${ref.snapshot}`);
        const out = await writeDiff({ ...inputs, whiteoutTime: wt ?? undefined, names: names ? toNameLookup(names) : undefined, output: recomputed, signal });
        const ok = out.diffID === diffID;
        let origInfo: OriginalLayer | null = null;
        let message = `layer ${i} (${ref.id}): recomputed ${out.diffID} ${ok ? "matches" : "differs from"} diff_id ${diffID}`;
        const replayed = [
            ...(names ? [`the user/group names the original writer looked up (${describeNameProfile(names)})`] : []),
            ...(wt && wt.seconds !== 0n ? [`its whiteout time ${wt.seconds}`] : []),
        ];
        if (ok && replayed.length > 0) message += ` (identical after inference: replaying ${replayed.join(" and ")}, read from the original layer)`;
        if (!ok) {
            origInfo = explain(original, diffID, recomputed, inputs.lower, inputs.upper);
            message += `; ${describe(origInfo)}`;
            if (replayed.length > 0) message += `; replayed from the original layer: ${replayed.join(" and ")}`;
        }
        layers.push({ ...base, ref: ref.id, recomputed: out.diffID, ok, whiteoutTime: wt === null ? null : Number(wt.seconds), names, original: origInfo, message });
    }
    return { image: image.name, namespace: image.namespace, snapshotter: ws.snapshotter, manifest: image.manifest, config: image.config, ok: layers.every((l) => l.ok), layers };
}

/** The original layer from a content store blob (decompressed). */
export async function summarizeBlob(blobsDir: string, blob: { digest: string; mediaType: string }, signal?: AbortSignal): Promise<{ summary: TarSummary; diffID: string } | null> {
    const type = fromMediaType(blob.mediaType);
    if (type === "unknown") return null;
    const file = blobPath(blobsDir, blob.digest);
    const summary = new TarSummary(file);
    try {
        const src = type === "uncompressed" ? createReadStream(file) : openDecoded(file, type);
        for await (const chunk of src) {
            signal?.throwIfAborted();
            summary.write(chunk as Buffer);
        }
    } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") return null; // content not kept
        throw fromSystemError(err, file, "reading the original layer");
    }
    return { summary, diffID: summary.digest() };
}

/** The names a looking-up writer put on the original's entries (whiteouts never get any). */
function namesOf(entries: readonly TarEntrySummary[]): NameProfile | null {
    const c = new NameLookupCollector();
    for (const e of entries) {
        if (WHITEOUT.test(e.name)) continue;
        c.add({ uid: e.uid, gid: e.gid, uname: Buffer.from(e.uname, "utf8"), gname: Buffer.from(e.gname, "utf8") });
    }
    return c.result();
}

/** containerd's writer stamps every whiteout with one time; use it when the original has any. */
function whiteoutTimeOf(entries: readonly TarEntrySummary[]): WhiteoutTime | null {
    const wh = entries.find((e) => /(^|\/)\.wh\./.test(e.name));
    return wh ? roundWhiteoutTime(BigInt(wh.mtime) * 1_000_000_000n) : null;
}

function explain(original: { summary: TarSummary; diffID: string } | null, diffID: string, recomputedSummary: TarSummary, lower: TreeReader, upper: TreeReader): OriginalLayer {
    const recomputed = recomputedSummary.entries;
    const recomputedRaw = recomputedSummary.rawHeaders;
    if (!original) {
        return { decompressesToDiffID: false, writer: "unknown (the original layer blob is not in the content store)", formats: [], contentMatches: false, differences: [] };
    }
    const entries = original.summary.entries;
    const formats = [...original.summary.formats];
    const s = original.summary;
    const named = entries.some((e) => e.uname !== "" || e.gname !== "");
    const gnuPax = s.paxNames.find((n) => /(^|\/)PaxHeaders(\.\d+)?\//.test(n) && !/(^|\/)PaxHeaders\.0\//.test(n));
    let writer: string;
    if (formats.includes("gnu")) writer = "GNU tar (GNU-format headers, `ustar  ` magic), which containerd's writer never writes";
    else if (gnuPax) writer = `GNU tar --format=posix (its PAX headers are named like ${JSON.stringify(gnuPax)}; Go names them PaxHeaders.0/)`;
    else if (s.trailer() > 1024 && s.total % 10240 === 0) writer = `GNU tar (the archive is padded to 10240-byte records, ${s.trailer()} bytes after the last entry; Go's writer ends with two zero blocks)`;
    else if (s.paxKeys.has("atime") || s.paxKeys.has("ctime")) writer = "GNU tar --format=posix (PAX atime/ctime records, which Go's writer never writes)";
    else if (named && entries.some((e) => e.mode > 0o7777)) writer = "Docker's moby pkg/archive, a Go archive/tar writer that looks up user and group names and keeps the file-type bits in the mode field (e.g. 0040755; fillGo18FileTypeBits), as Docker's overlay2 driver writes its layers";
    else if (named) writer = "a Go archive/tar writer that looks up user and group names (Docker's classic builder / moby pkg/archive, or containerd before 1.6.20)";
    else writer = "a USTAR/PAX writer whose headers look like Go's archive/tar (no user names)";
    const differences = compare(entries, recomputed).map((d) => copiedUpDirectory(d, entries, lower, upper) ?? d);
    const header = firstHeaderDifference(s, recomputedRaw);
    if (header) differences.push(header);
    if (s.trailer() !== recomputedSummary.trailer()) {
        differences.push(`${HEADER_NOTE} the end-of-archive padding is ${s.trailer()} bytes in the original, ${recomputedSummary.trailer()} recomputed`);
    }
    const content = differences.filter((d) => !d.startsWith(HEADER_NOTE) && !d.includes(COPIED_UP));
    const equivalent = content.length > 0 && content.every((d) => WHITEOUT.test(d.split(":")[0]!)) && entries.some((e) => /(^|\/)\.wh\.\.wh\.\.opq$/.test(e.name));
    if (equivalent) {
        differences.unshift("the deletions are the same but written differently: an opaque-directory marker (.wh..wh..opq) in the original, per-entry whiteouts recomputed (containerd's differ writes no opaque markers)");
    }
    return {
        decompressesToDiffID: original.diffID === diffID,
        writer,
        formats,
        contentMatches: content.length === 0 || equivalent,
        differences: differences.slice(0, 20),
    };
}

const HEADER_NOTE = "first header difference:";
const COPIED_UP = "a directory with the same type, mode and owner as in the layer below";

/**
 * A directory only in the original whose type, mode and owner equal the layer below's. It is in
 * the upperdir because overlayfs copied it up when something was created in it and later
 * removed: for a RUN step, the /etc/hosts and /etc/resolv.conf bind-mount stubs runc creates and
 * BuildKit's executor removes after the run (executor/stubs.go MountStubsCleaner) leave a
 * copied-up, empty `etc`. A differ that writes every upperdir entry (Docker's overlay2 driver:
 * moby pkg/archive over overlay2/<id>/diff) records it; containerd's double walk and BuildKit's
 * overlay differ skip a directory whose only change is its mtime. Applying it changes nothing
 * but that directory's mtime, so it is no content difference.
 */
function copiedUpDirectory(difference: string, entries: readonly TarEntrySummary[], lower: TreeReader, upper: TreeReader): string | null {
    const m = /^(.*): only in the original$/.exec(difference);
    if (!m) return null;
    const e = entries.find((x) => x.name === m[1]);
    if (!e || e.type !== "dir") return null;
    const rel = Buffer.from(`/${e.name}`, "utf8");
    const below = lower.lstat(rel);
    if (!below || !isDir(below) || (below.mode & 0o7777) !== (e.mode & 0o7777) || below.uid !== e.uid || below.gid !== e.gid) return null;
    let origin = "";
    try {
        if (upper.getxattr(rel, "trusted.overlay.origin")) origin = ", copied up by overlayfs (trusted.overlay.origin is set on it)";
    } catch {
        // not an overlayfs upperdir, or trusted.* is not readable: the explanation stands without it
    }
    return (
        `${e.name}: only in the original: ${COPIED_UP} (mtime ${e.mtime} in the original, ${String(below.mtimeNs / 1_000_000_000n)} below)${origin}. ` +
        "Something was created in it during the build and removed again (for a RUN step, the /etc/hosts and /etc/resolv.conf mount stubs runc creates and BuildKit removes), so it stays in the upperdir; " +
        "the original writer recorded every upperdir entry (Docker's overlay2 differ, moby pkg/archive), while containerd's and BuildKit's differs skip a directory whose only change is its mtime"
    );
}
const WHITEOUT = /(^|\/)\.wh\./;

/** The first entry (by name, among the first ones) whose raw header differs, and the field. */
function firstHeaderDifference(a: TarSummary, b: ReadonlyMap<string, Buffer>): string | null {
    for (const [name, ha] of a.rawHeaders) {
        const hb = b.get(name);
        if (!hb) continue;
        for (const [field, off, len] of HEADER_FIELDS) {
            const x = ha.subarray(off, off + len);
            const y = hb.subarray(off, off + len);
            if (!x.equals(y)) {
                return `${HEADER_NOTE} ${name || "/"}: ${field} ${JSON.stringify(x.toString("latin1"))} in the original, ${JSON.stringify(y.toString("latin1"))} recomputed`;
            }
        }
    }
    return null;
}

function describe(o: OriginalLayer): string {
    const parts = [`the original layer was written by ${o.writer}`];
    if (!o.decompressesToDiffID) parts.push("and the original blob does not decompress to that diff_id either");
    parts.push(
        o.contentMatches
            ? `the content itself matches entry for entry, so the snapshots are intact and only the tar bytes differ (${o.differences.slice(0, 2).join("; ") || "entry order or PAX records"})`
            : `the content differs: ${o.differences.filter((d) => !d.startsWith(HEADER_NOTE)).slice(0, 3).join("; ")}`,
    );
    return parts.join("; ");
}

/** Entry-by-entry comparison on what a filesystem keeps; whiteout mtimes and names are writer's choices. */
function compare(a: readonly TarEntrySummary[], b: readonly TarEntrySummary[]): string[] {
    const key = (e: TarEntrySummary): string => e.name;
    // The root entry ("./") is left out: containerd's differ never writes it, tar -C DIR . does.
    const ma = new Map(a.filter((e) => e.name !== "").map((e) => [key(e), e]));
    const mb = new Map(b.filter((e) => e.name !== "").map((e) => [key(e), e]));
    const out: string[] = [];
    for (const [name, x] of ma) {
        const y = mb.get(name);
        if (!y) {
            out.push(`${name || "/"}: only in the original`);
            continue;
        }
        const whiteout = /(^|\/)\.wh\./.test(name);
        const fields: Array<keyof TarEntrySummary> = whiteout ? ["type"] : ["type", "mode", "uid", "gid", "size", "linkname", "mtime", "sha256"];
        for (const f of fields) {
            const xv = f === "mode" ? (x.mode & 0o7777) : x[f];
            const yv = f === "mode" ? (y.mode & 0o7777) : y[f];
            if (xv !== yv && !(f === "linkname" && x.type === "link" && y.type === "link")) out.push(`${name || "/"}: ${f} ${String(xv)} in the original, ${String(yv)} recomputed`);
        }
    }
    for (const name of mb.keys()) if (!ma.has(name)) out.push(`${name || "/"}: only recomputed`);
    return out;
}
