/**
 * The layer contents commands: ls, cat, size. A SOURCE is a workspace, a containerd or Docker
 * root (refs by id), or an image (OCI layout directory, OCI archive, docker save archive; layers
 * by index from 0 at the bottom, diffID, blob digest, or a unique prefix of one).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { pipeline } from "node:stream/promises";
import {
    computeLayerSizes,
    type ContentsSourceChoice,
    detectSource,
    type ImageSource,
    type LayerContents,
    type LayerEntry,
    type LayerView,
    openImageSource,
    openLayerContents,
    openSourceEngine,
    parseCompressionType,
    parseWhiteoutTime,
    type SizeReport,
    type WorkspaceEngine,
} from "../engine";
import { type ParsedArgs, parseArgs, UsageError } from "./args";
import type { CommandContext } from "./context";

const SOURCE_VALUES = ["state", "whiteout-time", "snapshotter", "namespace", "ref", "source", "compression", "platform", "name"];

type Opened =
    | { readonly kind: "engine"; readonly engine: WorkspaceEngine; close(): Promise<void> }
    | { readonly kind: "image"; readonly image: ImageSource; close(): Promise<void> };

/** A directory that is a workspace or a root opens as refs; anything else as an image. */
async function openSource(args: ParsedArgs, ctx: CommandContext): Promise<Opened> {
    const source = args.positionals[0];
    if (source === undefined) throw new UsageError("needs a WORKSPACE, ROOT or IMAGE");
    let isDir = false;
    try {
        isDir = fs.statSync(source).isDirectory();
    } catch {
        // not there: the image opener says so
    }
    if (isDir && detectSource(source) !== null) {
        for (const f of ["platform", "name"]) if (args.values.has(f)) throw new UsageError(`--${f} is for images`);
        const wt = args.values.get("whiteout-time");
        const engine = await openSourceEngine(source, {
            stateDir: args.values.get("state"),
            whiteoutTime: wt === undefined ? undefined : parseWhiteoutTime(wt),
            snapshotter: args.values.get("snapshotter"),
            namespace: args.values.get("namespace"),
        });
        return { kind: "engine", engine, close: async () => undefined };
    }
    for (const f of ["state", "snapshotter", "namespace", "source", "compression", "whiteout-time"]) {
        if (args.values.has(f)) throw new UsageError(`--${f} is for workspaces and roots, not images`);
    }
    const image = await openImageSource(source, { platform: args.values.get("platform"), name: args.values.get("name"), signal: ctx.signal });
    return { kind: "image", image, close: () => image.close() };
}

function sourceChoice(args: ParsedArgs): { source?: ContentsSourceChoice; compression?: ReturnType<typeof parseCompressionType> } {
    const s = args.values.get("source");
    if (s !== undefined && s !== "auto" && s !== "blob" && s !== "snapshot") throw new UsageError(`--source takes auto, blob or snapshot, got ${JSON.stringify(s)}`);
    const c = args.values.get("compression");
    return { source: s as ContentsSourceChoice | undefined, compression: c === undefined ? undefined : parseCompressionType(c) };
}

async function openContents(o: Opened, args: ParsedArgs, view: LayerView, ctx: CommandContext): Promise<LayerContents> {
    const ref = args.values.get("ref");
    if (o.kind === "image") return o.image.contents(ref, view, ctx.signal);
    if (ref === undefined) throw new UsageError("needs --ref ID");
    return openLayerContents(o.engine, ref, { view, ...sourceChoice(args), signal: ctx.signal });
}

function originJson(c: LayerContents): unknown {
    return c.origin.kind === "blob"
        ? { kind: "blob", blobs: c.origin.blobs.map((b) => ({ ref: b.refId, digest: b.digest, mediaType: b.mediaType, compression: b.compression, size: b.size, indexedFrom: b.indexedFrom })) }
        : c.origin;
}

function entryJson(e: LayerEntry): unknown {
    const { rawPath: _raw, mtimeNs, ...rest } = e;
    return { ...rest, mtimeNs: mtimeNs.toString() };
}

export const lsUsage = `layerscope ls WORKSPACE|ROOT|IMAGE [--ref ID] [--merged] [PATH] [--recursive] [--source auto|blob|snapshot] [--compression T] [--platform P] [--name IMAGE] [--json]

  Lists PATH (default /) in the ref's layer, its own changes as its tar holds them (added,
  modified, deleted by a whiteout, opaque directories), or with --merged in the root filesystem
  its layer chain makes. Read from the ref's blobs (any compression; eStargz through its table
  of contents) when the store has them, else from the snapshots (--source chooses). For an
  IMAGE, --ref is a layer index (0 = bottom, default the top), a diffID or blob digest, or a
  unique prefix of one. Names that are not UTF-8 are shown with %XX escapes (and '%' as %25),
  as PATH arguments take them.`;

export async function lsCommand(argv: readonly string[], ctx: CommandContext): Promise<number> {
    const args = parseArgs(argv, { values: SOURCE_VALUES, booleans: ["merged", "recursive", "json"] });
    if (args.positionals.length > 2) throw new UsageError(`takes a SOURCE and at most one PATH, got ${args.positionals.length} arguments`);
    const o = await openSource(args, ctx);
    try {
        const c = await openContents(o, args, args.booleans.has("merged") ? "merged" : "layer", ctx);
        const at = args.positionals[1] ?? "/";
        const self = await c.stat(at);
        const entries: LayerEntry[] = [];
        const walk = async (dir: string): Promise<void> => {
            for (const e of await c.list(dir)) {
                ctx.signal.throwIfAborted();
                entries.push(e);
                if (args.booleans.has("recursive") && e.type === "dir" && e.change !== "deleted") await walk(e.path);
            }
        };
        if (self.type === "dir" && self.change !== "deleted") await walk(self.path);
        else entries.push(self);
        if (args.booleans.has("json")) {
            ctx.print(JSON.stringify({ ref: c.refId, view: c.view, lowerRef: c.lowerRefId, origin: originJson(c), path: self.path, entries: entries.map(entryJson) }));
            return 0;
        }
        for (const e of entries) ctx.print(lsLine(e, c.view, args.booleans.has("recursive") ? e.path : e.name));
        return 0;
    } finally {
        await o.close();
    }
}

const TYPE_CHAR: Record<string, string> = { file: "-", hardlink: "-", dir: "d", symlink: "l", char: "c", block: "b", fifo: "p", socket: "s", whiteout: "-" };

/** `ls -l`-like: mode, owner, size, mtime (UTC), the change in the layer view, name, link. */
function lsLine(e: LayerEntry, view: LayerView, name: string): string {
    const perms = [6, 3, 0].map((s) => ((e.mode >> s) & 4 ? "r" : "-") + ((e.mode >> s) & 2 ? "w" : "-") + ((e.mode >> s) & 1 ? "x" : "-")).join("");
    const size = e.device ? `${e.device.major},${e.device.minor}` : String(e.size);
    const when = new Date(e.mtimeMs).toISOString().replace("T", " ").slice(0, 19);
    const change = view === "layer" ? `${(e.change ?? "").padEnd(9)}${e.opaque ? " opaque" : ""}  ` : "";
    const link = e.type === "symlink" ? ` -> ${e.linkTarget}` : e.type === "hardlink" ? ` => ${e.linkTarget} (hard link)` : "";
    return `${change}${TYPE_CHAR[e.type] ?? "?"}${perms}  ${`${e.uid}:${e.gid}`.padEnd(11)} ${size.padStart(10)}  ${when}  ${name}${link}`;
}

export const catUsage = `layerscope cat WORKSPACE|ROOT|IMAGE [--ref ID] [--merged] PATH [--source auto|blob|snapshot] [--compression T] [--platform P] [--name IMAGE]

  Writes the content of the file at PATH (a hard link: its target's) to stdout, streamed, from
  the ref's layer or, with --merged, from its root filesystem.`;

export async function catCommand(argv: readonly string[], ctx: CommandContext): Promise<number> {
    const args = parseArgs(argv, { values: SOURCE_VALUES, booleans: ["merged"] });
    if (args.positionals.length !== 2) throw new UsageError(`takes a SOURCE and one PATH, got ${args.positionals.length} argument(s)`);
    const o = await openSource(args, ctx);
    try {
        const c = await openContents(o, args, args.booleans.has("merged") ? "merged" : "layer", ctx);
        await pipeline(c.read(args.positionals[1]!, { signal: ctx.signal }), ctx.stdout, { signal: ctx.signal, end: false });
        return 0;
    } finally {
        await o.close();
    }
}

export const sizeUsage = `layerscope size WORKSPACE|ROOT|IMAGE [--ref ID] [--source auto|blob|snapshot] [--compression T] [--platform P] [--name IMAGE] [--top N] [--json]

  What each layer of the ref's chain costs: its blob (compressed) and tar (uncompressed) sizes;
  the entries and bytes it adds, modifies and deletes, in total and per directory (largest
  first); the bytes a later layer overwrites or deletes ("shadowed"); and dive's efficiency
  score and wasted bytes, by dive's rules. Without --ref: every ref of a workspace that no other
  ref builds on, or an image's top layer. --top N limits the directories and inefficiencies
  printed (default 10; JSON has them all).`;

export async function sizeCommand(argv: readonly string[], ctx: CommandContext): Promise<number> {
    const args = parseArgs(argv, { values: [...SOURCE_VALUES, "top"], booleans: ["json"] });
    if (args.positionals.length !== 1) throw new UsageError(`takes one SOURCE, got ${args.positionals.length} argument(s)`);
    const top = Number(args.values.get("top") ?? "10");
    if (!Number.isSafeInteger(top) || top < 0) throw new UsageError(`--top takes a count, got ${JSON.stringify(args.values.get("top"))}`);
    const o = await openSource(args, ctx);
    try {
        const ref = args.values.get("ref");
        const reports: SizeReport[] = [];
        if (o.kind === "image") {
            reports.push(await o.image.sizes(ref, ctx.signal));
        } else {
            for (const id of ref ? [ref] : leafRefs(o.engine)) reports.push(await computeLayerSizes(o.engine, id, { ...sourceChoice(args), signal: ctx.signal }));
        }
        if (args.booleans.has("json")) {
            ctx.print(JSON.stringify({ source: path.resolve(args.positionals[0]!), reports }));
            return 0;
        }
        for (const r of reports) printSizes(ctx, r, top);
        return 0;
    } finally {
        await o.close();
    }
}

/** Refs no other declared ref has as a parent, merge input or diff side. */
function leafRefs(engine: WorkspaceEngine): string[] {
    const used = new Set<string>();
    for (const id of engine.refIds()) {
        const r = engine.workspace.get(id);
        [r.layerParent, ...r.mergeParents, r.diffParents?.lower, r.diffParents?.upper].forEach((p) => p && used.add(p.id));
    }
    return engine.refIds().filter((id) => !used.has(id));
}

export function formatBytes(n: number): string {
    if (n < 1024) return `${n} B`;
    const units = ["KiB", "MiB", "GiB", "TiB"];
    let v = n / 1024;
    let u = 0;
    while (v >= 1024 && u < units.length - 1) {
        v /= 1024;
        u++;
    }
    return `${v.toFixed(1)} ${units[u]}`;
}

const tallyText = (t: { count: number; bytes: number }): string => `${t.count} (${formatBytes(t.bytes)})`;

function printSizes(ctx: CommandContext, r: SizeReport, top: number): void {
    const compressed = r.compressedBytes === null ? "" : `${formatBytes(r.compressedBytes)} compressed, `;
    ctx.print(`${r.refId}: ${r.layers.length} layer(s), ${compressed}${formatBytes(r.contentBytes)} of file content (uncompressed), ${formatBytes(r.shadowed.bytes)} of it shadowed by later layers`);
    ctx.print(`  ${"#".padEnd(3)} ${"layer".padEnd(14)} ${"compressed".padStart(11)} ${"tar".padStart(11)}   ${"added".padEnd(18)} ${"modified".padEnd(18)} ${"deleted".padEnd(18)} shadowed`);
    for (const l of r.layers) {
        const c = l.blob ? formatBytes(l.blob.compressedBytes) : "-";
        const t = l.tarBytes === null ? "-" : formatBytes(l.tarBytes);
        ctx.print(`  ${String(l.index).padEnd(3)} ${l.refId.slice(0, 14).padEnd(14)} ${c.padStart(11)} ${t.padStart(11)}   ${tallyText(l.added).padEnd(18)} ${tallyText(l.modified).padEnd(18)} ${tallyText(l.deleted).padEnd(18)} ${tallyText(l.shadowed)}`);
    }
    const d = r.dive;
    const share = d.wastedUserFraction === null ? "" : ` (${(d.wastedUserFraction * 100).toFixed(1)}% of the ${formatBytes(d.userBytes)} above the first layer)`;
    ctx.print(`  dive: efficiency ${(d.efficiency * 100).toFixed(1)}%, wasted ${formatBytes(d.wastedBytes)}${share}`);
    for (const x of d.inefficiencies.slice(0, top)) ctx.print(`    ${formatBytes(x.cumulativeBytes).padStart(10)}  in layers ${x.layers.join(",")}  ${x.path}`);
    for (const l of r.layers) {
        const dirs = l.directories.filter((x) => x.path !== "/").slice(0, top);
        if (dirs.length === 0) continue;
        ctx.print(`  largest directories of layer ${l.index} (${l.refId}), added + modified (uncompressed):`);
        for (const x of dirs) ctx.print(`    ${formatBytes(x.bytes).padStart(10)}  ${x.path}${x.deleted.count ? `  (deletes ${tallyText(x.deleted)})` : ""}`);
    }
}
