/**
 * The image commands: import, verify-image, export. Each prints one JSON object with --json, or
 * a short table.
 */
import { describeNameProfile, exportOci, importImage, type ImportReport, parseCompressionType, parsePlatform, parseWhiteoutTime, verifyImage } from "../engine";
import { parseArgs, UsageError } from "./args";
import type { CommandContext } from "./context";
import { gzipImplFrom } from "./workspaceCommands";

function snapshotterFrom(v: string | undefined): "native" | "overlayfs" | undefined {
    if (v === undefined || v === "native" || v === "overlayfs") return v;
    throw new UsageError(`--snapshotter takes native or overlayfs, got ${JSON.stringify(v)}`);
}

/** The JSON form of an import: layer traits without the (long) name lists. */
export function importJson(r: ImportReport): unknown {
    return { ...r, layers: r.layers.map((l) => ({ ...l, traits: { ...l.traits, names: undefined } })) };
}

/** --max-layer-bytes / --max-ratio: the decompression-bomb limits, a non-negative integer (0 = none). */
function limitFrom(name: string, v: string | undefined): number | undefined {
    if (v === undefined) return undefined;
    if (!/^[0-9]+$/.test(v) || !Number.isSafeInteger(Number(v))) throw new UsageError(`--${name} takes a non-negative integer (0 = no limit), got ${JSON.stringify(v)}`);
    return Number(v);
}

const LIMITS_HELP = `  --max-layer-bytes N  refuse a layer decompressing to more than N bytes (default 64 GiB; 0 = none)
  --max-ratio N        refuse a layer past 64 MiB decompressing to more than N times its blob
                       size (default 1000; 0 = none): decompression bombs`;

export const importUsage = `layerscope import SOURCE WORKSPACE [--platform os/arch[/variant]] [--name IMAGE] [--snapshotter native|overlayfs] [--id PREFIX] [--state DIR] [--max-layer-bytes N] [--max-ratio N] [--json]

  Imports an image (OCI layout directory, OCI archive tar, or docker save archive) into
  WORKSPACE (created if needed): each layer applied into snapshots/<PREFIX>-N, the refs appended
  to layerscope.json as a Layer chain, the original blobs recorded as their blobs.

${LIMITS_HELP}`;

export async function importCommand(argv: readonly string[], ctx: CommandContext): Promise<number> {
    const args = parseArgs(argv, { values: ["platform", "name", "snapshotter", "id", "state", "max-layer-bytes", "max-ratio"], booleans: ["json"] });
    if (args.positionals.length !== 2) {
        throw new UsageError(`takes SOURCE and WORKSPACE, got ${args.positionals.length} argument(s)`);
    }
    const [source, workspace] = args.positionals as [string, string];
    const report = await importImage(source, workspace, {
        platform: args.values.get("platform"),
        name: args.values.get("name"),
        snapshotter: snapshotterFrom(args.values.get("snapshotter")),
        refPrefix: args.values.get("id"),
        stateDir: args.values.get("state"),
        maxLayerBytes: limitFrom("max-layer-bytes", args.values.get("max-layer-bytes")),
        maxRatio: limitFrom("max-ratio", args.values.get("max-ratio")),
        signal: ctx.signal,
    });
    if (args.booleans.has("json")) {
        ctx.print(JSON.stringify(importJson(report)));
        return 0;
    }
    ctx.print(`${report.image ?? report.configDigest}  ${report.platform}  (${report.kind}) -> ${report.workspace} (${report.snapshotter})`);
    for (const [i, l] of report.layers.entries()) {
        const r = report.refs[i];
        ctx.print(`${l.ref}  ${l.snapshot}  ${l.entries} entries`);
        ctx.print(`  diffID   ${l.diffID}`);
        if (r?.chainID) ctx.print(`  chainID  ${r.chainID}`);
        ctx.print(`  blob     ${l.blob.digest}  ${l.blob.mediaType}  ${l.blob.size} bytes`);
        if (l.skippedXattrs > 0) ctx.print(`  ${l.skippedXattrs} xattr(s) not set (trusted.*/security.* need root; overlay.* are never taken from a layer)`);
    }
    return 0;
}

export const exportUsage = `layerscope export WORKSPACE --ref ID --oci DIR [--tag NAME] [--compression uncompressed|gzip|zstd|estargz] [--level N] [--platform os/arch[/variant]] [--whiteout-time S] [--state DIR] [--json]

  Writes the ref's layer chain as an OCI image layout in DIR (created, or an existing layout to
  add to): blobs computed where missing, the --compression variant (converted when missing),
  a config with rootfs.diff_ids and history from the refs' descriptions, index.json tagged NAME
  (default: the ref id).`;

export async function exportCommand(argv: readonly string[], ctx: CommandContext): Promise<number> {
    const args = parseArgs(argv, { values: ["ref", "oci", "tag", "compression", "level", "platform", "whiteout-time", "state", "gzip-impl"], booleans: ["json"] });
    if (args.positionals.length !== 1) throw new UsageError(`takes one WORKSPACE, got ${args.positionals.length} argument(s)`);
    const ref = args.values.get("ref");
    const oci = args.values.get("oci");
    if (!ref) throw new UsageError("--ref ID is required");
    if (!oci) throw new UsageError("--oci DIR is required");
    const t = args.values.get("compression");
    const level = args.values.get("level");
    if (level !== undefined && !/^-?\d+$/.test(level)) throw new UsageError(`--level takes an integer, got ${JSON.stringify(level)}`);
    const wt = args.values.get("whiteout-time");
    const platform = args.values.get("platform");
    const report = await exportOci(args.positionals[0]!, ref, oci, {
        tag: args.values.get("tag"),
        compression: t ? { type: parseCompressionType(t), level: level === undefined ? undefined : Number(level), gzipImpl: gzipImplFrom(args) } : undefined,
        platform: platform ? parsePlatform(platform) : undefined,
        whiteoutTime: wt === undefined ? undefined : parseWhiteoutTime(wt),
        stateDir: args.values.get("state"),
        signal: ctx.signal,
    });
    if (args.booleans.has("json")) {
        ctx.print(JSON.stringify(report));
        return 0;
    }
    ctx.print(`${report.layout}  ${report.tag}  ${report.platform}`);
    ctx.print(`  manifest  ${report.manifest.digest}`);
    ctx.print(`  config    ${report.config.digest}`);
    if (report.chainID) ctx.print(`  chainID   ${report.chainID}`);
    for (const l of report.layers) ctx.print(`  ${l.ref}  ${l.descriptor.digest}  ${l.descriptor.mediaType}  diffID ${l.diffID}`);
    return 0;
}

export const verifyImageUsage = `layerscope verify-image SOURCE [--platform os/arch[/variant]] [--name IMAGE] [--max-layer-bytes N] [--max-ratio N] [--json]

  Imports the image into a temporary workspace, recomputes every layer with Layerscope's
  differ and compressors, and reports per layer: diffID, chainID and blob digest matches, the
  whiteout time and name-lookup profile read from the layer and replayed ("identical after
  inference" when the layer matches only with them), and why anything differs ("same content,
  different compressor", "same files, different tar writer"). Exit 1 only when a layer's
  content differs.

${LIMITS_HELP}`;

export async function verifyImageCommand(argv: readonly string[], ctx: CommandContext): Promise<number> {
    const args = parseArgs(argv, { values: ["platform", "name", "max-layer-bytes", "max-ratio"], booleans: ["json"] });
    if (args.positionals.length !== 1) throw new UsageError(`takes one SOURCE, got ${args.positionals.length} argument(s)`);
    const report = await verifyImage(args.positionals[0]!, {
        platform: args.values.get("platform"),
        name: args.values.get("name"),
        maxLayerBytes: limitFrom("max-layer-bytes", args.values.get("max-layer-bytes")),
        maxRatio: limitFrom("max-ratio", args.values.get("max-ratio")),
        signal: ctx.signal,
    });
    if (args.booleans.has("json")) {
        ctx.print(JSON.stringify(report));
    } else {
        ctx.print(`${report.image ?? report.source}  ${report.platform}`);
        for (const l of report.layers) {
            const mark = (m: { match: boolean }): string => (m.match ? "match" : "differs");
            ctx.print(`layer ${l.index}  ${l.verdict}`);
            ctx.print(`  diffID   ${mark(l.diffID)}  image ${l.diffID.image}  recomputed ${l.diffID.recomputed}`);
            ctx.print(`  chainID  ${mark(l.chainID)}  image ${l.chainID.image}  recomputed ${l.chainID.recomputed}`);
            ctx.print(`  blob     ${mark(l.blob)}  (${l.blob.compression})  image ${l.blob.image}  recomputed ${l.blob.recomputed}`);
            ctx.print(`  profile  whiteout time ${l.profile.whiteoutTime} (${l.profile.whiteoutTimeSource}); name lookup: ${l.profile.names ? describeNameProfile(l.profile.names) : l.profile.nameLookup}`);
            for (const e of l.explanation) ctx.print(`  ${e}`);
            for (const d of l.contentDifferences) ctx.print(`  differs: ${d}`);
        }
    }
    return report.ok ? 0 : 1;
}
