/**
 * RefTarget validation: the argument of every ref-scoped command may come from a webview
 * message, so it is checked field by field at the door and rebuilt with only known fields.
 */
import { EngineError } from "../../engine";
import type { CompressionRequest, RefTarget } from "./hostApi";
import { COMPRESSIONS } from "./settings";

const MAX_ID = 4096;

/** Whether `arg` looks like a RefTarget at all (an object with string source and ref). */
export function isRefTargetLike(arg: unknown): arg is { source: unknown; ref: unknown } {
    return typeof arg === "object" && arg !== null && typeof (arg as { source?: unknown }).source === "string" && typeof (arg as { ref?: unknown }).ref === "string";
}

/** Checks shape and values; throws InvalidArgument naming the field. Source and ref existence are the model's to check. */
export function parseRefTarget(arg: unknown): RefTarget {
    if (typeof arg !== "object" || arg === null || Array.isArray(arg)) {
        throw invalid("a ref target must be an object {source, ref}", arg);
    }
    const o = arg as Record<string, unknown>;
    const source = o["source"];
    const ref = o["ref"];
    if (typeof source !== "string" || source.length === 0 || source.length > MAX_ID) throw invalid("ref target: source must be a non-empty string", source);
    if (typeof ref !== "string" || ref.length === 0 || ref.length > MAX_ID) throw invalid("ref target: ref must be a non-empty string", ref);
    return { source, ref, ...parseCompressionRequest(o) };
}

export function parseCompressionRequest(o: Record<string, unknown>): CompressionRequest {
    const out: { -readonly [K in keyof CompressionRequest]: CompressionRequest[K] } = {};
    const { compression, level, force, gzipImpl } = o;
    if (compression !== undefined) {
        if (typeof compression !== "string" || !(COMPRESSIONS as readonly string[]).includes(compression)) {
            throw invalid(`ref target: compression must be one of ${COMPRESSIONS.join(", ")}`, compression);
        }
        out.compression = compression as CompressionRequest["compression"];
    }
    if (level !== undefined && level !== null) {
        if (typeof level !== "number" || !Number.isInteger(level) || level < -2 || level > 22) {
            throw invalid("ref target: level must be a whole number from -2 to 22", level);
        }
        out.level = level;
    }
    if (force !== undefined) {
        if (typeof force !== "boolean") throw invalid("ref target: force must be true or false", force);
        out.force = force;
    }
    if (gzipImpl !== undefined) {
        if (gzipImpl !== "go" && gzipImpl !== "fast") throw invalid('ref target: gzipImpl must be "go" or "fast"', gzipImpl);
        out.gzipImpl = gzipImpl;
    }
    return out;
}

function invalid(message: string, value: unknown): EngineError {
    let shown: string;
    try {
        shown = JSON.stringify(value)?.slice(0, 200) ?? String(value);
    } catch {
        shown = String(value);
    }
    return new EngineError("InvalidArgument", `${message} (got ${shown})`, { value: shown });
}
