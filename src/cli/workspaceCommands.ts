/**
 * The workspace commands: compute, convert, refs, verify, gc. Each prints one JSON object with
 * --json, or a short table.
 */
import * as path from "node:path";
import {
    type CompressionConfig,
    type GzipImpl,
    type ImageVerifyReport,
    openSourceEngine,
    parseCompressionType,
    parseWhiteoutTime,
    type RefReport,
    RootEngine,
    type RootRefReport,
    type WorkspaceEngine,
} from "../engine";
import { type ParsedArgs, parseArgs, UsageError } from "./args";
import type { CommandContext } from "./context";

const COMMON_VALUES = ["state", "whiteout-time", "snapshotter", "namespace"];

async function open(args: ParsedArgs): Promise<WorkspaceEngine> {
    if (args.positionals.length !== 1) {
        throw new UsageError(`takes one WORKSPACE or ROOT directory, got ${args.positionals.length} argument(s)`);
    }
    const wt = args.values.get("whiteout-time");
    return openSourceEngine(args.positionals[0]!, {
        stateDir: args.values.get("state"),
        whiteoutTime: wt === undefined ? undefined : parseWhiteoutTime(wt),
        snapshotter: args.values.get("snapshotter"),
        namespace: args.values.get("namespace"),
    });
}

export function gzipImplFrom(args: ParsedArgs): GzipImpl {
    const v = args.values.get("gzip-impl") ?? "go";
    if (v !== "go" && v !== "fast") throw new UsageError(`--gzip-impl takes go or fast, got ${JSON.stringify(v)}`);
    return v;
}

function compressionFrom(args: ParsedArgs, fallback: CompressionConfig["type"] | undefined): CompressionConfig | undefined {
    const t = args.values.get("compression");
    const level = args.values.get("level");
    if (!t && !fallback) return undefined;
    if (level !== undefined && !/^-?\d+$/.test(level)) {
        throw new UsageError(`--level takes an integer, got ${JSON.stringify(level)}`);
    }
    return {
        type: t ? parseCompressionType(t) : fallback!,
        level: level === undefined ? undefined : Number(level),
        force: args.booleans.has("force"),
        gzipImpl: gzipImplFrom(args),
    };
}

function printRefs(ctx: CommandContext, reports: readonly RefReport[]): void {
    for (const r of reports) {
        const snap = (r as Partial<RootRefReport>).snapshotInfo;
        const where = snap ? `  [${snap.kind} ${snap.snapshotter} snapshot ${snap.id}]` : "";
        ctx.print(`${r.id}  ${r.kind}${where}${r.layers.length ? `  layers: ${r.layers.join(" ")}` : ""}`);
        if (r.diffID) ctx.print(`  diffID       ${r.diffID}`);
        if (r.chainID) ctx.print(`  chainID      ${r.chainID}`);
        if (r.blobChainID) ctx.print(`  blobChainID  ${r.blobChainID}`);
        if (r.buildkit) ctx.print(`  BuildKit records chainID ${r.buildkit.chainID || "(none)"}, blobChainID ${r.buildkit.blobChainID || "(none)"}`);
        const nc = (b: { buildkitComparable: boolean }): string => (b.buildkitComparable ? "" : "  (digest not BuildKit-comparable)");
        if (r.blob) ctx.print(`  blob         ${r.blob.digest}  ${r.blob.mediaType}  ${r.blob.size} bytes${nc(r.blob)}`);
        for (const v of r.variants.filter((v) => v.digest !== r.blob?.digest)) {
            ctx.print(`  variant      ${v.digest}  ${v.mediaType}  ${v.size} bytes${nc(v)}`);
        }
    }
}

export const computeUsage = `layerscope compute WORKSPACE [--ref ID] [--compression uncompressed|gzip|zstd|estargz] [--level N] [--force] [--gzip-impl go|fast] [--whiteout-time S] [--state DIR] [--json]

  Makes sure every layer of the ref (default: every ref) has a blob, as BuildKit's
  computeBlobChain does; new blobs get the requested compression (default gzip), --force also
  converts existing ones. Prints diffIDs, chain IDs and blobs.`;

export async function computeCommand(argv: readonly string[], ctx: CommandContext): Promise<number> {
    const args = parseArgs(argv, { values: [...COMMON_VALUES, "ref", "compression", "level", "gzip-impl"], booleans: ["force", "json"] });
    const engine = await open(args);
    const comp = compressionFrom(args, "gzip")!;
    const ref = args.values.get("ref");
    const targets = ref ? [ref] : engine.refIds();
    for (const id of targets) {
        await engine.computeBlobChain(id, { createIfNeeded: true, compression: comp, signal: ctx.signal });
    }
    const shown = ref ? engine.chainOf(ref) : engine.refIds();
    const reports = await Promise.all(shown.map((id) => engine.report(id)));
    if (args.booleans.has("json")) {
        ctx.print(JSON.stringify({ ref: ref ?? null, layers: ref ? engine.layerIds(ref) : null, refs: reports }));
    } else {
        printRefs(ctx, reports);
    }
    return 0;
}

export const convertUsage = `layerscope convert WORKSPACE --ref ID --compression T [--level N] [--gzip-impl go|fast] [--state DIR] [--json]

  Adds a compression variant to every layer of the ref (BuildKit's ensureCompression); the
  original blob is kept.`;

export async function convertCommand(argv: readonly string[], ctx: CommandContext): Promise<number> {
    const args = parseArgs(argv, { values: [...COMMON_VALUES, "ref", "compression", "level", "gzip-impl"], booleans: ["json"] });
    const ref = args.values.get("ref");
    if (!ref) throw new UsageError("convert needs --ref ID");
    if (!args.values.get("compression")) throw new UsageError("convert needs --compression T");
    const engine = await open(args);
    const comp = { ...compressionFrom(args, undefined)!, force: true };
    await engine.computeBlobChain(ref, { createIfNeeded: true, compression: comp, signal: ctx.signal });
    const reports = await Promise.all(engine.chainOf(ref).map((id) => engine.report(id)));
    if (args.booleans.has("json")) {
        ctx.print(JSON.stringify({ ref, layers: engine.layerIds(ref), refs: reports }));
    } else {
        printRefs(ctx, reports);
    }
    return 0;
}

export const refsUsage = `layerscope refs WORKSPACE|ROOT [--snapshotter overlayfs|native] [--namespace NS] [--state DIR] [--json]

  Lists the refs: kind, parents, layer chain, and whatever has been computed. ROOT is a
  containerd root (read in place, never written; engine state under ~/.cache/layerscope/roots
  unless --state): its snapshots of one snapshotter become refs, and its images are listed.
  A buildkitd root (/var/lib/buildkit or its runc-<snapshotter>/) or a Docker data-root:
  BuildKit's records become refs, parents and descriptions as BuildKit recorded them.`;

export async function refsCommand(argv: readonly string[], ctx: CommandContext): Promise<number> {
    const args = parseArgs(argv, { values: COMMON_VALUES, booleans: ["json"] });
    const engine = await open(args);
    const reports = await Promise.all(engine.refIds().map((id) => engine.report(id)));
    if (engine instanceof RootEngine) {
        const s = engine.summary;
        if (args.booleans.has("json")) {
            ctx.print(JSON.stringify({ ...s, refs: reports }));
        } else {
            ctx.print(`${s.source} root ${s.root}: ${s.snapshotter} snapshots${s.namespace ? ` in namespace ${s.namespace}` : ""} (snapshotters: ${s.snapshotters.join(", ")})`);
            printRefs(ctx, reports);
            for (const i of s.images) ctx.print(`image ${i.name}  ${i.target}${i.problem ? `  (${i.problem})` : `  ${i.diffIDs.length} layers`}`);
            for (const p of s.problems) ctx.print(`note: ${p}`);
        }
        return 0;
    }
    if (args.booleans.has("json")) {
        ctx.print(JSON.stringify({ workspace: path.resolve(args.positionals[0]!), snapshotter: engine.snapshotter, refs: reports }));
    } else {
        printRefs(ctx, reports);
    }
    return 0;
}

export const verifyUsage = `layerscope verify WORKSPACE|ROOT [--ref ID] [--image NAME] [--snapshotter S] [--namespace NS] [--state DIR] [--json]

  Recomputes every stored digest (diffIDs from the snapshots, blob digests and their
  decompressed diffIDs from the store) and compares. With --image on a containerd root:
  recomputes the image's layers from its snapshots and compares them with the config's
  rootfs.diff_ids, saying which tar writer made a layer that differs and whether its content
  matches. Exit 1 on any mismatch.`;

export async function verifyCommand(argv: readonly string[], ctx: CommandContext): Promise<number> {
    const args = parseArgs(argv, { values: [...COMMON_VALUES, "ref", "image"], booleans: ["json"] });
    const engine = await open(args);
    const image = args.values.get("image");
    if (image !== undefined) {
        if (!(engine instanceof RootEngine)) throw new UsageError("--image needs a containerd ROOT");
        const r = await engine.verifyImage(image, ctx.signal);
        printImageVerify(ctx, r, args.booleans.has("json"));
        return r.ok ? 0 : 1;
    }
    const report = await engine.verify(args.values.get("ref"), ctx.signal);
    if (args.booleans.has("json")) {
        ctx.print(JSON.stringify(report));
    } else {
        for (const c of report.checks) {
            ctx.print(`${c.ok ? "ok      " : "MISMATCH"}  ${c.ref}  ${c.what}${c.ok ? "" : `: expected ${c.expected}, got ${c.actual}`}`);
        }
        ctx.print(report.ok ? `verified ${report.checks.length} digests` : `${report.checks.filter((c) => !c.ok).length} mismatch(es)`);
    }
    return report.ok ? 0 : 1;
}

export const gcUsage = `layerscope gc WORKSPACE [--state DIR] [--json]

  Removes blobs no ref or lease holds, and stale ingests.`;

export async function gcCommand(argv: readonly string[], ctx: CommandContext): Promise<number> {
    const args = parseArgs(argv, { values: COMMON_VALUES, booleans: ["json"] });
    const engine = await open(args);
    const r = await engine.gc();
    if (args.booleans.has("json")) {
        ctx.print(JSON.stringify(r));
    } else {
        for (const d of r.removed) ctx.print(`removed ${d}`);
        ctx.print(`${r.removed.length} blob(s), ${r.bytes} bytes freed`);
    }
    return 0;
}

function printImageVerify(ctx: CommandContext, r: ImageVerifyReport, json: boolean): void {
    if (json) {
        ctx.print(JSON.stringify(r));
        return;
    }
    for (const l of r.layers) ctx.print(`${l.ok ? "ok      " : "MISMATCH"}  ${l.message}`);
    ctx.print(r.ok ? `image ${r.image}: ${r.layers.length} layer(s) match the config's diff_ids (${r.snapshotter})` : `image ${r.image}: ${r.layers.filter((l) => !l.ok).length} layer(s) differ (${r.snapshotter})`);
}
