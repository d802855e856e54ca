/**
 * A snapshot workspace: WORKSPACE/layerscope.json turned into BuildKit refs, the way the cache
 * manager makes them (`cache/manager.go` `New`+commit for Layers, `Merge`, `Diff`; see
 * manager.ts), validated at the door.
 *
 * Modelling decisions:
 * - A Merge whose inputs come to one ref (after skipping nulls and flattening Merges) is that
 *   ref: its id is an alias (`aliasOf`), `get(alias)` returns the aliased Ref, and its own
 *   layerType/description are ignored, as `cm.Merge` ignores them. 0 inputs is an error.
 * - A Diff whose lower is a strict ancestor of its upper, more than one layer apart, becomes a
 *   Merge of per-layer Diffs `<id>~<layer id>` that reuse each layer's blob (`cm.Diff`): its
 *   layer chain is the upper's extra layers. One layer apart, it is a Diff reusing the upper's
 *   blob; otherwise a Diff with a blob of its own. A Diff of a ref with itself is an empty Diff
 *   (BuildKit's LLB layer would give no ref; `cm.Diff` gives this).
 * - Snapshot paths are relative and must resolve inside the workspace (snapshotDir.ts).
 */
import { readFileSync, realpathSync, statSync } from "node:fs";
import * as path from "node:path";
import { EngineError, fromSystemError } from "../errors";
import { cmDiff, cmMerge } from "./manager";
import { Ref } from "./ref";
import { resolveSnapshotDir } from "./snapshotDir";
import { RefViews } from "./views";
import { invalidRef, parseWorkspaceFile, type RefSpec, type Snapshotter, type WorkspaceFile } from "./workspaceFile";

export const WORKSPACE_FILE = "layerscope.json";

export interface WorkspaceRef {
    /** The id declared in layerscope.json. */
    readonly id: string;
    readonly spec: RefSpec;
    /** The ref the id stands for (for an alias, the aliased ref, whose id differs). */
    readonly ref: Ref;
    /** For a one-input Merge: the id of the ref it is; else null. */
    readonly aliasOf: string | null;
}

export class Workspace {
    private readonly byId = new Map<string, WorkspaceRef>();
    private readonly synthetic = new Map<string, Ref>();
    readonly views: RefViews;

    constructor(
        /** The workspace directory (realpath). */
        readonly root: string,
        readonly file: string,
        readonly snapshotter: Snapshotter,
        readonly entries: readonly WorkspaceRef[],
    ) {
        const seen = new Set<Ref>();
        const visit = (r: Ref | null): void => {
            if (!r || seen.has(r)) {
                return;
            }
            seen.add(r);
            if (r.synthetic) {
                this.synthetic.set(r.id, r);
            }
            [r.layerParent, ...r.mergeParents, r.diffParents?.lower ?? null, r.diffParents?.upper ?? null].forEach(visit);
        };
        for (const e of entries) {
            this.byId.set(e.id, e);
            visit(e.ref);
        }
        this.views = new RefViews(snapshotter);
    }

    /** The ref an id stands for (declared ids, aliases, and the loader's `<id>~<layer>` Diffs). */
    get(id: string): Ref {
        const ref = this.byId.get(id)?.ref ?? this.synthetic.get(id);
        if (!ref) {
            const known = [...this.byId.keys()].join(", ");
            throw new EngineError("NotFound", `${this.file}: no ref "${id}" (refs: ${known})`, { path: this.file, ref: id });
        }
        return ref;
    }

    entry(id: string): WorkspaceRef | undefined {
        return this.byId.get(id);
    }
}

/** Reads and validates WORKSPACE/layerscope.json. */
export function loadWorkspace(dir: string): Workspace {
    let root: string;
    try {
        root = realpathSync(path.resolve(dir));
        if (!statSync(root).isDirectory()) {
            throw new EngineError("InvalidArgument", `${root}: a workspace must be a directory`, { path: root });
        }
    } catch (err) {
        throw fromSystemError(err, path.resolve(dir), "opening the workspace");
    }
    const file = path.join(root, WORKSPACE_FILE);
    let text: string;
    try {
        text = readFileSync(file, "utf8");
    } catch (err) {
        throw fromSystemError(err, file, "reading the workspace file");
    }
    return buildWorkspace(root, file, parseWorkspaceFile(text, file));
}

/** Resolves a validated workspace file: references, cycles, kinds, snapshot directories. */
export function buildWorkspace(root: string, file: string, doc: WorkspaceFile): Workspace {
    const specs = new Map(doc.refs.map((s) => [s.id, s]));
    const done = new Map<string, WorkspaceRef>();
    const visiting: string[] = [];

    const resolve = (id: string, from: string, field: string): Ref => {
        if (!specs.has(id)) {
            throw invalidRef(file, from, field, `unknown ref "${id}"`);
        }
        const cycleStart = visiting.indexOf(id);
        if (cycleStart >= 0) {
            const cycle = [...visiting.slice(cycleStart), id].join(" -> ");
            throw invalidRef(file, from, field, `refs form a cycle: ${cycle}`);
        }
        return (done.get(id) ?? build(specs.get(id)!)).ref;
    };

    const build = (spec: RefSpec): WorkspaceRef => {
        visiting.push(spec.id);
        const opts = { layerType: spec.layerType ?? null, description: spec.description ?? null };
        let ref: Ref;
        if (spec.merge) {
            const inputs = spec.merge.map((m, i) => (m === null ? null : resolve(m, spec.id, `merge[${i}]`)));
            const merged = cmMerge(spec.id, inputs, opts);
            if (!merged) {
                throw invalidRef(file, spec.id, "merge", "has no inputs (BuildKit: a merge of nothing is no ref)");
            }
            ref = merged;
        } else if (spec.diff) {
            const lower = resolve(spec.diff.lower, spec.id, "diff.lower");
            const upper = spec.diff.upper === null ? null : resolve(spec.diff.upper, spec.id, "diff.upper");
            ref = cmDiff(spec.id, lower, upper, opts);
        } else {
            const snapshot = resolveSnapshotDir(root, spec.snapshot!, file, spec.id);
            const layerParent = spec.parent === undefined ? null : resolve(spec.parent, spec.id, "parent");
            ref = new Ref({ id: spec.id, layerParent, snapshot, ...opts });
        }
        visiting.pop();
        const entry: WorkspaceRef = { id: spec.id, spec, ref, aliasOf: ref.id === spec.id ? null : ref.id };
        done.set(spec.id, entry);
        return entry;
    };

    const entries = doc.refs.map((spec) => done.get(spec.id) ?? build(spec));
    return new Workspace(root, file, doc.snapshotter, entries);
}
