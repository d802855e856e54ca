/**
 * The mtime of whiteout entries. containerd's ChangeWriter writes whiteouts with `Format` unset,
 * so Go's tar writer rounds their time to the nearest second (half up); containerd 2.x (BuildKit
 * >= v0.19) uses the Unix epoch, older ones the wall clock at writer creation.
 */
import { EngineError } from "../errors";
import { floorDiv, NS_PER_SECOND } from "../util/bigint";

export interface WhiteoutTime {
    /** Whole seconds since the Unix epoch, already rounded as Go's writer rounds them. */
    readonly seconds: bigint;
}

/** containerd 2.x / BuildKit >= v0.19 profile. */
export const WHITEOUT_EPOCH: WhiteoutTime = { seconds: 0n };

/** Go `time.Round(time.Second)`: nearest second, halfway values up. */
export function roundWhiteoutTime(unixNanos: bigint): WhiteoutTime {
    return { seconds: floorDiv(unixNanos + NS_PER_SECOND / 2n, NS_PER_SECOND) };
}

/**
 * Parses `UNIX_SECONDS[.FRACTION]` (e.g. `1700000000.6`) or an RFC 3339 time
 * (`2023-11-14T22:13:20.6Z`), as the oracle's `--whiteout-time` does.
 */
export function parseWhiteoutTime(text: string): WhiteoutTime {
    const m = /^(-?)(\d+)(?:\.(\d{1,9}))?$/.exec(text.trim());
    if (m) {
        const frac = BigInt((m[3] ?? "").padEnd(9, "0") || "0");
        const abs = BigInt(m[2]!) * NS_PER_SECOND + frac;
        return roundWhiteoutTime(m[1] === "-" ? -abs : abs);
    }
    const r = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})$/.exec(text.trim());
    if (r) {
        const ms = Date.parse(`${r[1]}-${r[2]}-${r[3]}T${r[4]}:${r[5]}:${r[6]}${r[8]!.toUpperCase()}`);
        if (!Number.isNaN(ms)) {
            const frac = BigInt((r[7] ?? "").padEnd(9, "0") || "0");
            return roundWhiteoutTime(BigInt(ms) * 1_000_000n + frac);
        }
    }
    throw new EngineError(
        "InvalidArgument",
        `invalid whiteout time ${JSON.stringify(text)}: give Unix seconds (e.g. 1700000000 or 1700000000.6) or an RFC 3339 time`,
    );
}
