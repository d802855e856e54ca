/**
 * layerscope.json at the door: parses it and checks its shape exactly as `LAYERSCOPE_SCHEMA`
 * describes it (no schema library at run time). Every error is an InvalidArgument that names the
 * file, the ref (its id, or `refs[i]` when it has none) and the field, in the message and in
 * `data` ({ path, ref, field }). References between refs and snapshot directories are checked
 * later, by the loader (workspace.ts).
 */
import { EngineError } from "../errors";
import type { LayerType } from "./ref";

export type Snapshotter = "native" | "overlayfs";

export interface DiffSpec {
    readonly lower: string;
    readonly upper: string | null;
}

export interface RefSpec {
    readonly id: string;
    readonly parent?: string;
    readonly merge?: ReadonlyArray<string | null>;
    readonly diff?: DiffSpec;
    readonly snapshot?: string;
    readonly layerType?: LayerType;
    readonly description?: string;
}

export interface WorkspaceFile {
    readonly snapshotter: Snapshotter;
    readonly refs: readonly RefSpec[];
}

export const REF_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
export const REF_ID_MAX = 128;
const TOP_FIELDS = new Set(["$schema", "snapshotter", "refs"]);
const REF_FIELDS = new Set(["id", "parent", "merge", "diff", "snapshot", "layerType", "description"]);
const DIFF_FIELDS = new Set(["lower", "upper"]);
const PARENT_FIELDS = ["parent", "merge", "diff"] as const;

/** An InvalidArgument naming the file, the ref and the field. */
export function invalidRef(file: string, ref: string | null, field: string, message: string): EngineError {
    const where = ref === null ? `${file}: ${field}` : `${file}: ref "${ref}": ${field}`;
    return new EngineError("InvalidArgument", `${where}: ${message}`, { path: file, ref: ref ?? undefined, field });
}

export function parseWorkspaceFile(text: string, file: string): WorkspaceFile {
    let doc: unknown;
    try {
        doc = JSON.parse(text);
    } catch (err) {
        throw new EngineError("InvalidArgument", `${file}: not valid JSON: ${(err as Error).message}`, { path: file }, { cause: err });
    }
    return validateWorkspaceFile(doc, file);
}

export function validateWorkspaceFile(doc: unknown, file: string): WorkspaceFile {
    if (!isObject(doc)) {
        throw invalidRef(file, null, "(top level)", "must be a JSON object");
    }
    for (const key of Object.keys(doc)) {
        if (!TOP_FIELDS.has(key)) {
            throw invalidRef(file, null, key, "unknown field (expected snapshotter, refs)");
        }
    }
    if (doc.snapshotter !== "native" && doc.snapshotter !== "overlayfs") {
        throw invalidRef(file, null, "snapshotter", `must be "native" or "overlayfs", not ${show(doc.snapshotter)}`);
    }
    if (!Array.isArray(doc.refs)) {
        throw invalidRef(file, null, "refs", "must be an array of refs");
    }
    const seen = new Map<string, number>();
    const refs = doc.refs.map((r: unknown, i: number) => validateRef(r, i, file, seen));
    return { snapshotter: doc.snapshotter, refs };
}

function validateRef(r: unknown, index: number, file: string, seen: Map<string, number>): RefSpec {
    if (!isObject(r)) {
        throw invalidRef(file, null, `refs[${index}]`, "must be an object");
    }
    const fail = (field: string, message: string): EngineError =>
        invalidRef(file, validId(r.id) ? r.id : `refs[${index}]`, field, message);
    if (!validId(r.id)) {
        throw fail("id", r.id === undefined ? "is required" : `must match ${REF_ID_PATTERN.source} (at most ${REF_ID_MAX} characters)`);
    }
    const id = r.id;
    const first = seen.get(id);
    if (first !== undefined) {
        throw fail("id", `duplicate id (refs[${first}] and refs[${index}])`);
    }
    seen.set(id, index);
    for (const key of Object.keys(r)) {
        if (!REF_FIELDS.has(key)) {
            throw fail(key, "unknown field (expected id, parent, merge, diff, snapshot, layerType, description)");
        }
    }
    const given = PARENT_FIELDS.filter((f) => r[f] !== undefined);
    if (given.length > 1) {
        throw fail(given[1]!, `cannot be combined with ${given[0]} (a ref is a Layer, a Merge, a Diff, or a BaseLayer)`);
    }
    const spec: { -readonly [K in keyof RefSpec]: RefSpec[K] } = { id };
    if (r.parent !== undefined) {
        spec.parent = checkRefId(r.parent, "parent", fail);
    }
    if (r.merge !== undefined) {
        if (!Array.isArray(r.merge) || r.merge.length === 0) {
            throw fail("merge", "must be a non-empty array of ref ids (null entries are skipped)");
        }
        spec.merge = r.merge.map((m: unknown, i: number) => (m === null ? null : checkRefId(m, `merge[${i}]`, fail)));
    }
    if (r.diff !== undefined) {
        spec.diff = checkDiff(r.diff, fail);
    }
    const needsSnapshot = spec.merge === undefined && spec.diff === undefined;
    if (r.snapshot === undefined) {
        if (needsSnapshot) {
            throw fail("snapshot", `is required for a ${spec.parent === undefined ? "BaseLayer" : "Layer"}`);
        }
    } else {
        if (!needsSnapshot) {
            throw fail("snapshot", `is not allowed for a ${spec.merge ? "Merge" : "Diff"} (its view is derived from its inputs)`);
        }
        if (typeof r.snapshot !== "string" || r.snapshot.length === 0) {
            throw fail("snapshot", "must be a non-empty path relative to the workspace");
        }
        spec.snapshot = r.snapshot;
    }
    if (r.layerType !== undefined) {
        if (r.layerType !== "linux" && r.layerType !== "windows") {
            throw fail("layerType", `must be "linux" or "windows", not ${show(r.layerType)}`);
        }
        spec.layerType = r.layerType;
    }
    if (r.description !== undefined) {
        if (typeof r.description !== "string") {
            throw fail("description", "must be a string");
        }
        spec.description = r.description;
    }
    return spec;
}

function checkDiff(d: unknown, fail: (field: string, message: string) => EngineError): DiffSpec {
    if (!isObject(d)) {
        throw fail("diff", "must be an object { lower, upper }");
    }
    for (const key of Object.keys(d)) {
        if (!DIFF_FIELDS.has(key)) {
            throw fail(`diff.${key}`, "unknown field (expected lower, upper)");
        }
    }
    if (d.lower === null || d.lower === undefined) {
        // BuildKit cm.Diff: "lower ref for diff cannot be nil".
        throw fail("diff.lower", "lower ref for diff cannot be nil (to take a ref as it is, use the ref itself)");
    }
    if (d.upper === undefined) {
        throw fail("diff.upper", "is required (null for a diff to the empty tree)");
    }
    return {
        lower: checkRefId(d.lower, "diff.lower", fail),
        upper: d.upper === null ? null : checkRefId(d.upper, "diff.upper", fail),
    };
}

function checkRefId(v: unknown, field: string, fail: (field: string, message: string) => EngineError): string {
    if (!validId(v)) {
        throw fail(field, `must be a ref id, not ${show(v)}`);
    }
    return v;
}

function validId(v: unknown): v is string {
    return typeof v === "string" && v.length <= REF_ID_MAX && REF_ID_PATTERN.test(v);
}

function isObject(v: unknown): v is Record<string, unknown> {
    return typeof v === "object" && v !== null && !Array.isArray(v);
}

function show(v: unknown): string {
    return v === undefined ? "missing" : JSON.stringify(v);
}
