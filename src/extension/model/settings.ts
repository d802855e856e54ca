/**
 * The `layerscope.*` settings as the model uses them, checked at the door: a bad value in
 * settings.json becomes a clear error naming the setting, never a strange engine failure.
 */
import { type CompressionType, EngineError, type GzipImpl, parseWhiteoutTime, type WhiteoutTime } from "../../engine";

export type StateLocation = "workspace" | "global";

export interface Settings {
    readonly defaultCompression: CompressionType;
    /** undefined = the compressor's default (gzip -1, zstd SpeedDefault). */
    readonly compressionLevel: number | undefined;
    readonly gzipImplementation: GzipImpl;
    /** Blobs made or converted at once; 0 = one per CPU. */
    readonly concurrency: number;
    readonly whiteoutTime: WhiteoutTime;
    /** The setting as written, for messages and engine keys. */
    readonly whiteoutTimeText: string;
    readonly stateLocation: StateLocation;
}

export const COMPRESSIONS: readonly CompressionType[] = ["gzip", "zstd", "estargz", "uncompressed"];

/** Reads raw values (settings.json is user input) into Settings; `get` returns undefined when unset. */
export function parseSettings(get: (key: string) => unknown): Settings {
    const defaultCompression = oneOf("defaultCompression", get("defaultCompression") ?? "gzip", COMPRESSIONS);
    const rawLevel = get("compressionLevel");
    if (rawLevel !== undefined && rawLevel !== null && !Number.isInteger(rawLevel)) {
        throw bad("compressionLevel", rawLevel, "a whole number or null");
    }
    const concurrency = get("concurrency") ?? 0;
    if (typeof concurrency !== "number" || !Number.isInteger(concurrency) || concurrency < 0) {
        throw bad("concurrency", concurrency, "a whole number ≥ 0 (0 = one per CPU)");
    }
    const whiteoutTimeText = String(get("whiteoutTime") ?? "0");
    let whiteoutTime: WhiteoutTime;
    try {
        whiteoutTime = parseWhiteoutTime(whiteoutTimeText);
    } catch (err) {
        throw new EngineError("InvalidArgument", `setting layerscope.whiteoutTime: ${(err as Error).message}`, { setting: "whiteoutTime" }, { cause: err });
    }
    return {
        defaultCompression,
        compressionLevel: rawLevel === null || rawLevel === undefined ? undefined : (rawLevel as number),
        gzipImplementation: oneOf("gzipImplementation", get("gzipImplementation") ?? "go", ["go", "fast"] as const),
        concurrency,
        whiteoutTime,
        whiteoutTimeText,
        stateLocation: oneOf("stateLocation", get("stateLocation") ?? "workspace", ["workspace", "global"] as const),
    };
}

function oneOf<T extends string>(key: string, value: unknown, allowed: readonly T[]): T {
    if (typeof value === "string" && (allowed as readonly string[]).includes(value)) return value as T;
    throw bad(key, value, `one of ${allowed.join(", ")}`);
}

function bad(key: string, value: unknown, want: string): EngineError {
    return new EngineError("InvalidArgument", `setting layerscope.${key} is ${JSON.stringify(value)}; it must be ${want}`, { setting: key });
}
