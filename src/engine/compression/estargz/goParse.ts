/**
 * Number and string parsing exactly as the tar reader estargz uses does it: vbatts/tar-split
 * `archive/tar/strconv.go` (`parseString`, `parseNumeric`, `parseOctal`, `parsePAXTime`,
 * `parsePAXRecord`) and Go's `strconv.ParseInt(s, 10, 64)`. Failures are `Corrupt` (Go's
 * `tar.ErrHeader`).
 */
import { EngineError } from "../../errors";

const INT64_MAX = (1n << 63n) - 1n;
const INT64_MIN = -(1n << 63n);

/**
 * Go's tar.ErrHeader. `reason` tells hostile-input classes apart for callers and tests:
 * bad-checksum, bad-header-number, bad-pax, bad-tar.
 */
export function headerError(what: string, reason = "bad-tar"): EngineError {
    return new EngineError("Corrupt", `error reading from source tar: archive/tar: invalid tar header (${what})`, { reason });
}

/** parseString: the bytes up to the first NUL. */
export function parseString(b: Buffer): Buffer {
    const i = b.indexOf(0);
    return i >= 0 ? b.subarray(0, i) : b;
}

function isSpaceOrNul(c: number): boolean {
    return c === 0x20 || c === 0;
}

/** parseOctal: trim spaces and NULs at both ends, empty is 0, else strconv.ParseUint(s, 8). */
export function parseOctal(b: Buffer, field: string): bigint {
    let start = 0;
    let end = b.length;
    while (start < end && isSpaceOrNul(b[start]!)) start++;
    while (end > start && isSpaceOrNul(b[end - 1]!)) end--;
    if (start === end) {
        return 0n;
    }
    const s = parseString(b.subarray(start, end));
    if (s.length === 0 || !/^[0-7]+$/.test(s.toString("latin1"))) {
        throw headerError(`${field} is not octal`, "bad-header-number");
    }
    return BigInt(`0o${s.toString("latin1")}`);
}

/** parseNumeric: base-256 (two's complement, high bit set) or octal. */
export function parseNumeric(b: Buffer, field: string): bigint {
    if (b.length > 0 && (b[0]! & 0x80) !== 0) {
        const inv = (b[0]! & 0x40) !== 0 ? 0xff : 0;
        let x = 0n;
        for (let i = 0; i < b.length; i++) {
            let c = b[i]! ^ inv;
            if (i === 0) c &= 0x7f;
            if (x >> 56n > 0n) {
                throw headerError(`${field} overflows int64`, "bad-header-number");
            }
            x = (x << 8n) | BigInt(c);
        }
        if (x >> 63n > 0n) {
            throw headerError(`${field} overflows int64`, "bad-header-number");
        }
        return inv === 0xff ? -x - 1n : x;
    }
    return parseOctal(b, field);
}

/** strconv.ParseInt(s, 10, 64): optional sign, decimal digits, int64 range. */
export function parseDecimalInt64(s: string): bigint | undefined {
    if (!/^[+-]?[0-9]+$/.test(s)) {
        return undefined;
    }
    const v = BigInt(s);
    return v < INT64_MIN || v > INT64_MAX ? undefined : v;
}

/** A time as Go's time.Unix normalises it: whole seconds (floor) and nanoseconds in [0, 1e9). */
export interface UnixTime {
    readonly sec: bigint;
    readonly nsec: number;
}

export function unixTime(sec: bigint, nsec: bigint): UnixTime {
    const total = sec * 1_000_000_000n + nsec;
    let s = total / 1_000_000_000n;
    let n = total - s * 1_000_000_000n;
    if (n < 0n) {
        s -= 1n;
        n += 1_000_000_000n;
    }
    return { sec: s, nsec: Number(n) };
}

/** parsePAXTime: "secs[.frac]", fraction right-padded or truncated to nanoseconds. */
export function parsePAXTime(s: string, key: string): UnixTime {
    const dot = s.indexOf(".");
    const ss = dot >= 0 ? s.slice(0, dot) : s;
    let sn = dot >= 0 ? s.slice(dot + 1) : "";
    const secs = parseDecimalInt64(ss);
    if (secs === undefined) {
        throw headerError(`PAX ${key} ${JSON.stringify(s)}`, "bad-pax");
    }
    if (sn.length === 0) {
        return unixTime(secs, 0n);
    }
    if (!/^[0-9]*$/.test(sn)) {
        throw headerError(`PAX ${key} ${JSON.stringify(s)}`, "bad-pax");
    }
    sn = sn.length < 9 ? sn.padEnd(9, "0") : sn.slice(0, 9);
    const nsecs = BigInt(sn);
    return unixTime(secs, ss.startsWith("-") ? -nsecs : nsecs);
}

const PAX_NO_NUL_VALUES: ReadonlySet<string> = new Set(["path", "linkpath", "uname", "gname"]);

/**
 * parsePAX over a whole extended header payload: "%d %s=%s\n" records, keys and values as raw
 * bytes (keys as latin1 strings, so every byte survives). Later records win.
 */
export function parsePAXRecords(payload: Buffer): Map<string, Buffer> {
    const records = new Map<string, Buffer>();
    let rest = payload;
    while (rest.length > 0) {
        const sp = rest.indexOf(0x20);
        const n = sp < 0 ? undefined : parseDecimalInt64(rest.subarray(0, sp).toString("latin1"));
        if (n === undefined || n < 5n || BigInt(rest.length) < n || Number(n) - 1 < sp + 1) {
            throw headerError("PAX record length", "bad-pax");
        }
        const len = Number(n);
        if (rest[len - 1] !== 0x0a) {
            throw headerError("PAX record without newline", "bad-pax");
        }
        const rec = rest.subarray(sp + 1, len - 1);
        const eq = rec.indexOf(0x3d);
        if (eq <= 0) {
            throw headerError("PAX record without key", "bad-pax");
        }
        const key = rec.subarray(0, eq).toString("latin1");
        const value = rec.subarray(eq + 1);
        const bad = PAX_NO_NUL_VALUES.has(key) ? value.includes(0) : key.includes("\u0000");
        if (bad) {
            throw headerError(`PAX record ${key} holds a NUL`, "bad-pax");
        }
        records.set(key, value);
        rest = rest.subarray(len);
    }
    return records;
}
