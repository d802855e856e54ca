/**
 * Seeded random snapshot workspaces for the blob-chain oracle test
 * (test/conformance/workspaceOracle.test.ts).
 *
 * A workspace is plain data until written: model trees (treeModel.ts) for every snapshot, the
 * refs of layerscope.json, and what BuildKit would make of each ref (kind, layer chain, and for
 * a layer what its blob is the diff of), modelled here independently of src/engine.
 *
 * Snapshots: a chain `a0 → a1 → …` (2-4 snapshots; a0/a1 are `randomPair(seed)`'s LOWER/UPPER,
 * later ones random edits of the previous full rootfs), and an independent base `b0` (random, or
 * random edits of a0 so merges overlap), sometimes with a Layer `b1` on it. Refs over them:
 * Merges (with flattening, duplicates, null inputs, a one-input alias), and Diffs of every
 * shape BuildKit knows: reusing the upper (a layer over its own parent), an ancestor more than
 * one layer down (a Merge of per-layer Diffs), own blobs over non-ancestors, over Merges (as
 * upper or lower), of Diffs, to a null upper, of a ref with itself. Native-only seeds also get
 * Layers on a Merge and on a Diff reusing its upper (a build step over a merged filesystem), with
 * a Diff and a Merge over each.
 *
 * For "overlay" seeds of randomPair the same workspace also exists as overlayfs upperdirs (each
 * snapshot an upperdir over its parent's full rootfs, a base its own upperdir); then every
 * chain step keeps to the overlay profile (no 0:0 char devices, no mixed link groups), so the
 * two workspaces must give identical blobs. A seed whose upperdirs would not show a snapshot's
 * hard links (`relinkedOutsideUpperdir`), or where a directory has a capability in one snapshot
 * and none in another (`directoryCapabilityLost`), stays native only.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { deriveUpperdir } from "./overlayUpperdir";
import { applyRandomEdits } from "./randomEdits";
import { EntryFactory } from "./randomEntries";
import { randomPair } from "./randomTrees";
import { Rng } from "./rng";
import { TreeEditor } from "./treeEditor";
import {
    CAPABILITY_XATTR,
    type Tree,
    ancestorsOf,
    cloneTree,
    describeTree,
    linkGroups,
    materializeTree,
    removeSubtree,
    sameFile,
    showPath,
    sortedPaths,
} from "./treeModel";

export type ModelKind = "BaseLayer" | "Layer" | "Merge" | "Diff";

/** One entry of layerscope.json. */
export type RefSpec =
    | { readonly id: string; readonly snapshot: string; readonly parent?: string }
    | { readonly id: string; readonly merge: ReadonlyArray<string | null> }
    | { readonly id: string; readonly diff: { readonly lower: string; readonly upper: string | null } };

export interface SnapshotModel {
    readonly id: string;
    readonly parent: string | null;
    /** The full rootfs. */
    readonly tree: Tree;
    /** The overlayfs upperdir over the parent's rootfs (a base: itself); null: native only. */
    readonly upperdir: Tree | null;
}

/** What BuildKit makes of a ref (`cm.Merge`/`cm.Diff`, `layerWalk`), spec §1.2-§1.3. */
export interface ModelRef {
    /** The ref's own id (for a one-input Merge, the id of the ref it stands for). */
    readonly id: string;
    readonly kind: ModelKind;
    readonly layers: readonly string[];
    readonly layerParent: ModelRef | null;
    readonly mergeParents: readonly ModelRef[];
    /** Set for a Diff with a blob of its own: what its blob is the diff of. */
    readonly ownDiff: { readonly lower: string; readonly upper: string | null } | null;
}

export interface RandomWorkspace {
    readonly seed: number;
    readonly overlay: boolean;
    readonly snapshots: readonly SnapshotModel[];
    readonly refs: readonly RefSpec[];
    readonly log: readonly string[];
}

function emptyTreeLike(tree: Tree): Tree {
    return new Map([["", { ...tree.get("")!, xattrs: new Map(tree.get("")!.xattrs) }]]);
}

/** A fresh random rootfs (what randomTrees' LOWER generator does, smaller). */
function randomBase(f: EntryFactory): Tree {
    const b = new TreeEditor(f, new Map(), new Map());
    b.tree.set("", b.inode("dir", ""));
    b.fill("", 3);
    const want = f.rng.int(5, 40);
    while (b.tree.size < want) {
        b.fill("", 2);
    }
    if (f.rng.chance(0.3)) {
        b.longChain();
    }
    const p = b.pick((n) => n.kind === "file");
    if (p !== undefined && f.rng.chance(0.5)) {
        b.addLinkNames(p, 1);
    }
    return b.tree;
}

/** `prev` edited into a new rootfs, with its upperdir over `prev` when `overlay`. */
function editStep(
    f: EntryFactory,
    prev: Tree,
    overlay: boolean,
    log: string[],
    label: string,
): { tree: Tree; upperdir: Tree | null } {
    const e = new TreeEditor(f, prev, cloneTree(prev));
    let tree: Tree;
    let fresh: ReadonlySet<string> = e.freshDirs;
    if (f.rng.chance(0.05)) {
        tree = emptyTreeLike(prev);
        fresh = new Set();
        log.push(`${label}: everything deleted`);
    } else {
        applyRandomEdits(e, f.rng.int(2, 25));
        if (overlay) {
            e.fixMixedLinkGroups();
        }
        tree = e.tree;
        log.push(...e.log.map((l) => `${label}: ${l}`));
    }
    const upperdir = overlay ? deriveUpperdir({ lower: prev, upper: tree, freshDirs: fresh, f, log }) : null;
    return { tree, upperdir };
}

interface Snapshots {
    readonly overlay: boolean;
    readonly snapshots: SnapshotModel[];
    readonly f: EntryFactory;
}

function buildSnapshots(seed: number, rng: Rng, log: string[]): Snapshots {
    const pair = randomPair(seed);
    const overlay = pair.upperdir !== null;
    log.push(`a0 -> a1: randomPair(${seed}), profile ${pair.profile}`, ...pair.log.map((l) => `a1: ${l}`));
    const f = new EntryFactory(rng, !overlay);
    const snapshots: SnapshotModel[] = [
        { id: "a0", parent: null, tree: pair.lower, upperdir: overlay ? pair.lower : null },
        { id: "a1", parent: "a0", tree: pair.upper, upperdir: pair.upperdir },
    ];
    for (let i = 2, n = rng.int(2, 4); i < n; i++) {
        const step = editStep(f, snapshots[i - 1]!.tree, overlay, log, `a${i}`);
        snapshots.push({ id: `a${i}`, parent: `a${i - 1}`, ...step });
    }
    let b0: Tree;
    if (rng.chance(0.5)) {
        b0 = editStep(f, pair.lower, false, log, "b0 (from a0)").tree;
    } else {
        b0 = randomBase(f);
        log.push("b0: a fresh random rootfs");
    }
    snapshots.push({ id: "b0", parent: null, tree: b0, upperdir: overlay ? b0 : null });
    if (rng.chance(0.5)) {
        snapshots.push({ id: "b1", parent: "b0", ...editStep(f, b0, overlay, log, "b1") });
    }
    const unfaithful = overlay ? snapshots.flatMap((s) => relinkedOutsideUpperdir(snapshots, s)) : [];
    if (unfaithful.length > 0) {
        log.push(`native only: hard links change without a copy-up in the upperdir (${unfaithful.join(", ")})`);
        return { overlay: false, snapshots: snapshots.map((s) => ({ ...s, upperdir: null })), f };
    }
    const capped = overlay ? directoryCapabilityLost(snapshots) : [];
    if (capped.length > 0) {
        log.push(`native only: a directory has a capability in one snapshot and none in another (${capped.map(showPath).join(", ")})`);
        return { overlay: false, snapshots: snapshots.map((s) => ({ ...s, upperdir: null })), f };
    }
    return { overlay, snapshots, f };
}

/**
 * Directories that carry security.capability in one snapshot and none in another. Stacked by a
 * Merge (or a Diff over one), such a directory legitimately differs between the snapshotters:
 * native views are layers applied in order, which set xattrs and never remove one (containerd's
 * Apply, BuildKit's diffapply), so the capability below stays; an overlay mount shows the top
 * directory's xattrs alone. So the two workspaces would not give the same blobs.
 */
function directoryCapabilityLost(snapshots: readonly SnapshotModel[]): string[] {
    const seen = new Map<string, { capped: boolean; bare: boolean }>();
    for (const s of snapshots) {
        for (const [p, inode] of s.tree) {
            if (p === "" || inode.kind !== "dir") continue;
            const v = seen.get(p) ?? { capped: false, bare: false };
            if (inode.xattrs.has(CAPABILITY_XATTR)) v.capped = true;
            else v.bare = true;
            seen.set(p, v);
        }
    }
    return [...seen].filter(([, v]) => v.capped && v.bare).map(([p]) => p);
}

/**
 * Names of `s` whose hard links an overlay mount of its upperdir would show wrongly: a name
 * left out of the upperdir shows the parent's inode, linked to those of its parent's partners
 * that are left out too, which need not be its partners in `s` (the upperdir generator compares
 * metadata only, so a link broken into an identical copy is not copied up). A merged view, and
 * so a Diff over it, can tell the difference.
 */
function relinkedOutsideUpperdir(snapshots: readonly SnapshotModel[], s: SnapshotModel): string[] {
    const parent = snapshots.find((p) => p.id === s.parent);
    const upperdir = s.upperdir;
    if (!parent || !upperdir) {
        return [];
    }
    const partners = (tree: Tree): Map<string, readonly string[]> => {
        const out = new Map<string, readonly string[]>();
        for (const names of linkGroups(tree).values()) {
            names.forEach((n) => out.set(n, names));
        }
        return out;
    };
    const before = partners(parent.tree);
    const after = partners(s.tree);
    const shown = (p: string): string =>
        (before.get(p) ?? [p]).filter((q) => s.tree.has(q) && !upperdir.has(q)).join("\0");
    return [...s.tree.keys()]
        .filter((p) => p !== "" && parent.tree.has(p) && !upperdir.has(p) && shown(p) !== (after.get(p) ?? [p]).join("\0"))
        .map((p) => `${s.id}:${showPath(p)}`);
}

/** Merges and Diffs of every shape over the snapshots; see the file comment. */
function buildRefs(rng: Rng, snapshots: readonly SnapshotModel[]): RefSpec[] {
    const refs: RefSpec[] = snapshots.map((s) =>
        s.parent === null
            ? { id: s.id, snapshot: `snapshots/${s.id}` }
            : { id: s.id, parent: s.parent, snapshot: `snapshots/${s.id}` },
    );
    const a = snapshots.filter((s) => s.id.startsWith("a")).map((s) => s.id);
    const b = snapshots.filter((s) => s.id.startsWith("b")).map((s) => s.id);
    const layers = [...a, ...b];
    const all = (): string[] => refs.map((r) => r.id);
    const shuffle = <T>(xs: T[]): T[] => {
        for (let i = xs.length - 1; i > 0; i--) {
            const j = rng.int(0, i);
            [xs[i], xs[j]] = [xs[j]!, xs[i]!];
        }
        return xs;
    };
    const merge = (id: string, inputs: Array<string | null>): void => void refs.push({ id, merge: inputs });
    const diff = (id: string, lower: string, upper: string | null): void => void refs.push({ id, diff: { lower, upper } });

    const k = rng.int(1, a.length - 1);
    diff("reuse", a[k - 1]!, a[k]!);
    if (a.length >= 3) {
        const i = rng.int(0, a.length - 3);
        diff("ancestor", a[i]!, a[rng.int(i + 2, a.length - 1)]!);
    }
    if (b.length === 2) {
        diff("reuse-b", "b0", "b1");
    }
    merge("m0", shuffle([rng.pick(a), rng.pick(b), ...(rng.chance(0.4) ? [rng.pick(layers)] : [])]));
    merge("bases", shuffle(["a0", "b0"]));
    diff("over-bases", rng.pick(layers), "bases");
    const j = rng.int(0, a.length - 1);
    diff("nonancestor", rng.chance(0.5) || j === a.length - 1 ? rng.pick(b) : a[rng.int(j + 1, a.length - 1)]!, a[j]!);
    diff("over-merge", rng.pick(layers), "m0");
    diff("merge-lower", "m0", rng.pick(layers));
    diff("to-null", rng.pick(all()), null);
    merge("m1", shuffle(["m0", rng.pick(["reuse", "nonancestor", "to-null", rng.pick(layers)]), ...(rng.chance(0.3) ? [null] : [])]));
    if (rng.chance(0.3)) {
        const x = rng.pick(all());
        diff("self", x, x);
    }
    if (rng.chance(0.3)) {
        merge("alias", rng.chance(0.5) ? [rng.pick(all())] : [null, rng.pick(all())]);
    }
    for (let n = rng.int(1, 3), i = 0; i < n; i++) {
        if (rng.chance(0.5)) {
            diff(`extra-d${i}`, rng.pick(all()), rng.chance(0.15) ? null : rng.pick(all()));
        } else {
            merge(`extra-m${i}`, Array.from({ length: rng.int(2, 3) }, () => rng.pick(all())));
        }
    }
    return shuffle(refs);
}

/**
 * A rough model of the rootfs of a chain of snapshot layers: each layer's changes against its
 * own parent (as continuity's `sameFile` sees them, ancestors of a change taking the layer's
 * metadata) applied in order. Only a starting point for a Layer's own rootfs: that Layer's blob
 * is checked against the engine's view of its parent, not against this model.
 */
function chainRootfs(snapshots: readonly SnapshotModel[], layers: readonly string[]): Tree {
    const byId = new Map(snapshots.map((s) => [s.id, s]));
    const acc: Tree = new Map([["", byId.get(layers[0]!)!.tree.get("")!]]);
    for (const id of layers) {
        const layer = byId.get(id)!;
        const parent = layer.parent === null ? null : byId.get(layer.parent)!.tree;
        for (const p of parent ? sortedPaths(parent) : []) {
            if (p !== "" && !layer.tree.has(p) && acc.has(p)) {
                removeSubtree(acc, p);
            }
        }
        for (const p of sortedPaths(layer.tree)) {
            const now = layer.tree.get(p)!;
            const before = parent?.get(p);
            if (p === "" || (before && sameFile(before, now))) {
                continue;
            }
            if (acc.get(p)?.kind === "dir" && now.kind !== "dir") {
                removeSubtree(acc, p);
            }
            for (const a of ancestorsOf(p)) {
                if (acc.get(a)?.kind !== "dir") {
                    removeSubtree(acc, a);
                }
                acc.set(a, layer.tree.get(a)!);
            }
            acc.set(p, now);
        }
    }
    return acc;
}

/**
 * Native only: Layers whose parent is no snapshot (a `RUN` on a merged filesystem, on a Diff
 * reusing its upper), and refs over them.
 */
function layersOnDerived(rng: Rng, ws: Snapshots, refs: RefSpec[], log: string[]): void {
    const model = modelRefs(refs);
    const parents = ["m0", ...(model.has("reuse") ? ["reuse"] : [])].filter(() => rng.chance(0.6));
    for (const parent of parents) {
        const id = `on-${parent}`;
        const base = chainRootfs(ws.snapshots, model.get(parent)!.layers);
        const { tree } = editStep(ws.f, base, false, log, id);
        ws.snapshots.push({ id, parent, tree, upperdir: null });
        refs.push({ id, parent, snapshot: `snapshots/${id}` });
        refs.push({ id: `${id}-changes`, diff: { lower: parent, upper: id } });
        refs.push({ id: `${id}-merged`, merge: [rng.pick(["b0", "a0", `${id}-changes`]), id] });
    }
}

export function randomWorkspace(seed: number): RandomWorkspace {
    // randomPair draws from its own Rng(seed); the rest of the workspace from another stream.
    const rng = new Rng((seed ^ 0x5bd1e995) >>> 0);
    const log: string[] = [];
    const built = buildSnapshots(seed, rng, log);
    const refs = buildRefs(rng, built.snapshots);
    if (!built.overlay) {
        layersOnDerived(rng, built, refs, log);
    }
    return { seed, overlay: built.overlay, snapshots: built.snapshots, refs, log };
}

/** BuildKit's view of every declared id (aliases map to the ref they stand for). */
export function modelRefs(refs: readonly RefSpec[]): Map<string, ModelRef> {
    const specs = new Map(refs.map((r) => [r.id, r]));
    const done = new Map<string, ModelRef>();
    const make = (
        id: string,
        kind: ModelKind,
        layers: readonly string[],
        more: Partial<Pick<ModelRef, "layerParent" | "mergeParents" | "ownDiff">> = {},
    ): ModelRef => ({ id, kind, layers, layerParent: null, mergeParents: [], ownDiff: null, ...more });
    const createMerge = (id: string, parents: ModelRef[]): ModelRef =>
        parents.length === 1 ? parents[0]! : make(id, "Merge", parents.flatMap((p) => p.layers), { mergeParents: parents });
    const node = (id: string): ModelRef => {
        const known = done.get(id);
        if (known) {
            return known;
        }
        const spec = specs.get(id)!;
        let out: ModelRef;
        if ("merge" in spec) {
            const inputs = spec.merge.filter((m): m is string => m !== null).map(node);
            out = createMerge(id, inputs.flatMap((p) => (p.kind === "Merge" ? p.mergeParents : [p])));
        } else if ("diff" in spec) {
            const lower = node(spec.diff.lower);
            const upper = spec.diff.upper === null ? null : node(spec.diff.upper);
            const lowerLayers = lower.layers;
            if (upper && upper.layers.length > lowerLayers.length + 1 && lowerLayers.every((l, i) => l === upper.layers[i])) {
                // cm.Diff of an ancestor: one ref per extra layer, each reusing that layer's blob.
                const extra = upper.layers.slice(lowerLayers.length);
                out = createMerge(id, extra.map((u, i) => make(`${id}~${u}~${i}`, "Diff", [u])));
            } else if (upper && upper.kind === "Layer" && upper.layerParent!.id === lower.id) {
                out = make(id, "Diff", [upper.id]);
            } else {
                out = make(id, "Diff", [id], { ownDiff: { lower: spec.diff.lower, upper: spec.diff.upper } });
            }
        } else if (spec.parent !== undefined) {
            const parent = node(spec.parent);
            out = make(id, "Layer", [...parent.layers, id], { layerParent: parent });
        } else {
            out = make(id, "BaseLayer", [id]);
        }
        done.set(id, out);
        return out;
    };
    for (const r of refs) {
        node(r.id);
    }
    return done;
}

/** Writes the workspace below `dir` (native) or its upperdirs (overlayfs). */
export function writeWorkspace(ws: RandomWorkspace, dir: string, snapshotter: "native" | "overlayfs"): void {
    fs.mkdirSync(dir, { recursive: true });
    for (const s of ws.snapshots) {
        const tree = snapshotter === "native" ? s.tree : s.upperdir;
        if (!tree) {
            throw new Error(`randomWorkspace: seed ${ws.seed} has no upperdir for ${s.id}`);
        }
        materializeTree(tree, path.join(dir, "snapshots", s.id));
    }
    const doc = { snapshotter, refs: ws.refs };
    fs.writeFileSync(path.join(dir, "layerscope.json"), JSON.stringify(doc, null, 2) + "\n");
}

/** Everything needed to rebuild the workspace by hand, for failure reports. */
export function describeWorkspace(ws: RandomWorkspace): string[] {
    const lines = [`seed ${ws.seed}${ws.overlay ? " (native and overlayfs)" : " (native only)"}`, "## refs"];
    lines.push(...ws.refs.map((r) => JSON.stringify(r)), "## generator log", ...ws.log);
    for (const s of ws.snapshots) {
        lines.push(`## snapshot ${s.id}${s.parent ? ` (on ${s.parent})` : ""}`, ...describeTree(s.tree));
        if (s.upperdir && s.parent) {
            lines.push(`## upperdir ${s.id}`, ...describeTree(s.upperdir));
        }
    }
    return lines;
}
