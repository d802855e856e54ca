/**
 * What each layer of a ref's chain costs, in words: per layer and per directory, the bytes and
 * entries it adds, modifies and deletes; the bytes it adds that a later layer overwrites or
 * deletes ("shadowed": they still travel with the image); and dive's efficiency score and wasted
 * bytes, computed with dive's own rules (wagoodman/dive `filetree/efficiency.go` `Efficiency`,
 * `image/analysis.go` `Analyze`):
 *
 * - every leaf of every layer's tree (files, links, empty directories, whiteouts) is a visit of
 *   its path, sized by its tar header (hard links 0); `.wh..wh..` markers are ignored;
 * - a whiteout of something that was a directory below it is sized as everything that
 *   directory held; a whiteout of anything else counts 0;
 * - a path visited in two or more layers is an "inefficiency"; wasted bytes = the sum of those
 *   paths' visits (every copy, the surviving one included); efficiency = Σ per-path minimum /
 *   Σ per-path total (1 when nothing was seen).
 *
 * Sizes are labelled by what they measure: `compressed` (the blob in the store), `uncompressed`
 * (the layer tar, and file contents as the tar carries them).
 */
import { EngineError } from "../errors";
import { type FileStat, isDir, isRegular } from "../fs/fileStat";
import { WHITEOUT_STAT } from "../fs/overlayMarkers";
import { EmptyTree } from "../fs/emptyTree";
import { MergedTree } from "../fs/mergedTree";
import { joinRel, ROOT, type TreeReader } from "../fs/tree";
import { encodeLayerPath } from "./layerPath";
import type { WorkspaceEngine } from "../cache/workspaceEngine";
import type { CompressionType } from "../compression";
import { layerStack, type StackLayer } from "./openLayerContents";
import { TYPE_LINK, tarNodeOf } from "./tarIndexTree";
import type { ContentsSourceChoice, IndexedBlob } from "./types";

export interface Tally {
    /** Entries (files, links, directories, devices…; a whiteout counts one). */
    readonly count: number;
    /** Uncompressed bytes of file content (a hard link to a file already counted adds 0). */
    readonly bytes: number;
}

export interface ChangeTallies {
    readonly added: Tally;
    readonly modified: Tally;
    /** What the layer's whiteouts delete from the view below it (a directory: all it held). */
    readonly deleted: Tally;
}

export interface DirectorySizes extends ChangeTallies {
    /** "/a/b", encoded (encodeLayerPath). */
    readonly path: string;
    /** added + modified bytes: what the layer carries below this directory. */
    readonly bytes: number;
}

export interface LayerSizes extends ChangeTallies {
    readonly refId: string;
    /** Position in the chain (0 = bottom). */
    readonly index: number;
    /** Where the layer was read: its blob (media type, digest, compressed size), or null for snapshots. */
    readonly blob: { readonly digest: string; readonly mediaType: string; readonly compression: string; readonly compressedBytes: number } | null;
    /** The uncompressed layer tar's size, when known (read from a blob, or recorded with it). */
    readonly tarBytes: number | null;
    /** Bytes (and files) this layer adds or modifies that a later layer overwrites or deletes. */
    readonly shadowed: Tally;
    /** Every directory the layer touches, largest first (by added + modified bytes, then deleted bytes). */
    readonly directories: readonly DirectorySizes[];
}

export interface DiveInefficiency {
    readonly path: string;
    /** Layers (by chain index) that hold the path. */
    readonly layers: readonly number[];
    /** Uncompressed bytes of every copy, as dive sums them. */
    readonly cumulativeBytes: number;
}

export interface DiveFigures {
    /** Σ per-path minimum / Σ per-path total, in [0, 1]. */
    readonly efficiency: number;
    /** Uncompressed bytes of every path held by two or more layers. */
    readonly wastedBytes: number;
    /** Uncompressed content bytes of all layers but the first ("user" layers). */
    readonly userBytes: number;
    /** wastedBytes / userBytes (null when there are no user bytes). */
    readonly wastedUserFraction: number | null;
    /** Largest first. */
    readonly inefficiencies: readonly DiveInefficiency[];
}

export interface SizeReport {
    readonly refId: string;
    readonly layers: readonly LayerSizes[];
    /** Σ compressed blob bytes (null unless every layer came from a blob). */
    readonly compressedBytes: number | null;
    /** Σ uncompressed content bytes the layers carry (added + modified). */
    readonly contentBytes: number;
    readonly shadowed: Tally;
    readonly dive: DiveFigures;
}

interface MutableTally { count: number; bytes: number }
interface MutableDir { added: MutableTally; modified: MutableTally; deleted: MutableTally }

const zero = (): MutableTally => ({ count: 0, bytes: 0 });

/** The size report of a chain of layers (bottom first). */
export async function sizeLayers(refId: string, stack: readonly StackLayer[], signal?: AbortSignal): Promise<SizeReport> {
    const layers: LayerSizes[] = [];
    /** Per layer: what it holds, for the shadowed figure. */
    const holdings: Holdings[] = [];
    const dive = new DiveTally();
    for (let i = 0; i < stack.length; i++) {
        signal?.throwIfAborted();
        const lower = i === 0 ? new EmptyTree() : new MergedTree(stack.slice(0, i).map((l) => l.tree), `below ${stack[i]!.refId}`, false);
        const walked = await walkLayer(stack[i]!.tree, lower, i, dive, signal);
        holdings.push(walked.holdings);
        layers.push({ refId: stack[i]!.refId, index: i, blob: blobFigures(stack[i]!.blob), tarBytes: tarBytesOf(stack[i]!), ...walked.totals, shadowed: zero(), directories: walked.directories });
    }
    const shadowed = shadowedTallies(holdings);
    const out = layers.map((l, i) => ({ ...l, shadowed: shadowed[i]! }));
    const sum = (f: (l: LayerSizes) => number): number => out.reduce((a, l) => a + f(l), 0);
    return {
        refId,
        layers: out,
        compressedBytes: out.every((l) => l.blob) ? sum((l) => l.blob!.compressedBytes) : null,
        contentBytes: sum((l) => l.added.bytes + l.modified.bytes),
        shadowed: { count: sum((l) => l.shadowed.count), bytes: sum((l) => l.shadowed.bytes) },
        dive: dive.figures(out.slice(1).reduce((a, l) => a + l.added.bytes + l.modified.bytes, 0)),
    };
}

function blobFigures(b: IndexedBlob | null): LayerSizes["blob"] {
    return b ? { digest: b.digest, mediaType: b.mediaType, compression: b.compression, compressedBytes: b.size } : null;
}

function tarBytesOf(l: StackLayer): number | null {
    const st = l.tree.lstat(ROOT);
    const node = st ? tarNodeOf(st) : undefined;
    return node ? node.tree.tarBytes : null;
}

/** Paths as latin1 strings. */
interface Holdings {
    /** Regular files the layer carries → their content bytes. */
    readonly files: Map<string, number>;
    /** Every entry that is no whiteout (a later one hides a lower file at the same path). */
    readonly entries: string[];
    /** Non-directories and opaque directories: they hide whatever lower layers had below them. */
    readonly hidesBelow: string[];
    readonly deleted: string[];
}

interface Walked {
    totals: ChangeTallies;
    directories: DirectorySizes[];
    holdings: Holdings;
}

/** One depth-first pass over a layer's tree: classification, per-directory sums, dive visits. */
async function walkLayer(tree: TreeReader, lower: TreeReader, index: number, dive: DiveTally, signal?: AbortSignal): Promise<Walked> {
    const dirs = new Map<string, MutableDir>();
    const holdings: Holdings = { files: new Map(), entries: [], hidesBelow: [], deleted: [] };
    const seenInodes = new Set<string>();
    const ancestorsOf = (rel: Buffer): MutableDir[] => {
        const out: MutableDir[] = [];
        for (let end = rel.lastIndexOf(0x2f); end >= 0; end = end === 0 ? -1 : rel.lastIndexOf(0x2f, end - 1)) {
            const key = end === 0 ? "/" : rel.subarray(0, end).toString("latin1");
            let d = dirs.get(key);
            if (!d) dirs.set(key, (d = { added: zero(), modified: zero(), deleted: zero() }));
            out.push(d);
        }
        return out;
    };
    let steps = 0;
    const visit = async (dir: Buffer): Promise<void> => {
        for (const name of tree.readdir(dir)) {
            if (++steps % 2048 === 0) {
                signal?.throwIfAborted();
                await new Promise((r) => setImmediate(r)); // stay responsive on large layers
            }
            const rel = joinRel(dir, name);
            const st = tree.lstat(rel);
            if (!st) continue;
            const key = rel.toString("latin1");
            if (st === WHITEOUT_STAT) {
                const gone = lower.lstat(rel);
                const bytes = gone ? subtreeBytes(lower, rel, gone) : 0;
                for (const d of ancestorsOf(rel)) add(d.deleted, 1, bytes);
                dive.visit(key, index, gone && isDir(gone) ? bytes : 0);
                holdings.deleted.push(key);
                continue;
            }
            const bytes = contentBytes(st, seenInodes);
            const lst = lower.lstat(rel);
            const kind = !lst ? "added" : "modified";
            const children = isDir(st) ? tree.readdir(rel) : [];
            // A directory only carried as a parent, unchanged, is neither added nor modified.
            const counts = !(isDir(st) && lst && isDir(lst) && sameDir(st, lst));
            if (counts) for (const d of ancestorsOf(rel)) add(d[kind], 1, bytes);
            holdings.entries.push(key);
            if (isRegular(st)) holdings.files.set(key, bytes);
            if (!isDir(st) || children.length === 0) dive.visit(key, index, headerBytes(st));
            if (!isDir(st) || isOpaque(tree, rel)) holdings.hidesBelow.push(key);
            if (isDir(st)) await visit(rel);
        }
    };
    if (tree.lstat(ROOT)) await visit(ROOT);
    const root = dirs.get("/") ?? { added: zero(), modified: zero(), deleted: zero() };
    const directories: DirectorySizes[] = [...dirs].map(([k, d]) => ({ path: encodeLayerPath(Buffer.from(k, "latin1")), ...freeze(d), bytes: d.added.bytes + d.modified.bytes }));
    directories.sort((a, b) => b.bytes - a.bytes || b.deleted.bytes - a.deleted.bytes || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    return { totals: freeze(root), directories, holdings };
}

function freeze(d: MutableDir): ChangeTallies {
    return { added: { ...d.added }, modified: { ...d.modified }, deleted: { ...d.deleted } };
}

function add(t: MutableTally, count: number, bytes: number): void {
    t.count += count;
    t.bytes += bytes;
}

function sameDir(a: FileStat, b: FileStat): boolean {
    const node = tarNodeOf(a)?.node;
    if (node?.opaque) return false;
    return node?.kind === "implicit" || (a.mode === b.mode && a.uid === b.uid && a.gid === b.gid && a.mtimeNs === b.mtimeNs);
}

function isOpaque(tree: TreeReader, rel: Buffer): boolean {
    return tarNodeOf(tree.lstat(rel)!)?.node.opaque === true;
}

/** Content bytes an entry adds: a file's size, once per inode (hard links add 0). */
function contentBytes(st: FileStat, seen: Set<string>): number {
    if (!isRegular(st)) return 0;
    if (tarNodeOf(st)?.node.typeflag === TYPE_LINK) return 0;
    if (st.nlink > 1n) {
        const key = `${st.dev}:${st.ino}`;
        if (seen.has(key)) return 0;
        seen.add(key);
    }
    return Number(st.size);
}

/** dive's node size: the tar header's Size (0 for links, directories, devices). */
function headerBytes(st: FileStat): number {
    if (!isRegular(st) || tarNodeOf(st)?.node.typeflag === TYPE_LINK) return 0;
    return Number(st.size);
}

/** Content bytes at and below `rel` in `tree` (each inode once). */
function subtreeBytes(tree: TreeReader, rel: Buffer, st: FileStat): number {
    const seen = new Set<string>();
    let total = 0;
    const stack: Array<[Buffer, FileStat]> = [[rel, st]];
    while (stack.length) {
        const [p, s] = stack.pop()!;
        total += contentBytes(s, seen);
        if (isDir(s)) {
            for (const name of tree.readdir(p)) {
                const c = joinRel(p, name);
                const cs = tree.lstat(c);
                if (cs) stack.push([c, cs]);
            }
        }
    }
    return total;
}

/**
 * Bytes each layer carries that the final view does not show: walking from the top down, a
 * lower file is hidden once a later layer holds an entry at its path or deletes it, or holds a
 * non-directory or an opaque directory (or a whiteout) above it.
 */
function shadowedTallies(holdings: readonly Holdings[]): Tally[] {
    const hidden = new Set<string>();
    const hiddenBelow = new Set<string>();
    const out: Tally[] = new Array(holdings.length);
    for (let i = holdings.length - 1; i >= 0; i--) {
        const h = holdings[i]!;
        const t = zero();
        for (const [key, bytes] of h.files) {
            if (hidden.has(key) || underHidden(key, hiddenBelow)) add(t, 1, bytes);
        }
        out[i] = t;
        for (const key of h.entries) hidden.add(key);
        for (const key of h.hidesBelow) hiddenBelow.add(`${key}/`);
        for (const key of h.deleted) {
            hidden.add(key);
            hiddenBelow.add(`${key}/`);
        }
    }
    return out;
}

function underHidden(key: string, prefixes: ReadonlySet<string>): boolean {
    for (let i = key.lastIndexOf("/"); i > 0; i = key.lastIndexOf("/", i - 1)) {
        if (prefixes.has(key.slice(0, i + 1))) return true;
    }
    return false;
}

/** dive's per-path visit sums (`EfficiencyData`). */
class DiveTally {
    private readonly paths = new Map<string, { total: number; min: number; layers: number[] }>();

    visit(key: string, layer: number, bytes: number): void {
        const base = key.slice(key.lastIndexOf("/") + 1);
        if (base.startsWith(".wh..wh..")) return;
        const d = this.paths.get(key);
        if (!d) {
            this.paths.set(key, { total: bytes, min: bytes, layers: [layer] });
            return;
        }
        d.total += bytes;
        d.min = Math.min(d.min, bytes);
        d.layers.push(layer);
    }

    figures(userBytes: number): DiveFigures {
        let minimum = 0;
        let discovered = 0;
        const inefficiencies: DiveInefficiency[] = [];
        for (const [key, d] of this.paths) {
            minimum += d.min;
            discovered += d.total;
            if (d.layers.length >= 2) inefficiencies.push({ path: encodeLayerPath(Buffer.from(key, "latin1")), layers: d.layers, cumulativeBytes: d.total });
        }
        inefficiencies.sort((a, b) => b.cumulativeBytes - a.cumulativeBytes || (a.path < b.path ? -1 : 1));
        const wastedBytes = inefficiencies.reduce((a, x) => a + x.cumulativeBytes, 0);
        if (discovered > Number.MAX_SAFE_INTEGER) throw new EngineError("Unsupported", "layer sizes exceed 2^53 bytes");
        return {
            efficiency: discovered === 0 ? 1 : minimum / discovered,
            wastedBytes,
            userBytes,
            wastedUserFraction: userBytes > 0 ? wastedBytes / userBytes : null,
            inefficiencies,
        };
    }
}

/** The size report of a workspace (or root) ref's layer chain, from blobs or snapshots. */
export async function computeLayerSizes(engine: WorkspaceEngine, refId: string, opts: SizeOptions = {}): Promise<SizeReport> {
    return sizeLayers(refId, await layerStack(engine, refId, opts), opts.signal);
}

export interface SizeOptions {
    readonly source?: ContentsSourceChoice;
    readonly compression?: CompressionType;
    readonly signal?: AbortSignal;
}
