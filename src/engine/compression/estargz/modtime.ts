/**
 * Mirrors stargz-snapshotter estargz v0.12.0 `estargz.go` `formatModtime`:
 *
 *   if t.IsZero() || t.Unix() == 0 { return "" }
 *   return t.UTC().Round(time.Second).Format(time.RFC3339)
 *
 * Go's Round rounds halves up (towards the future); Format writes the proleptic Gregorian date
 * with the year zero-padded to 4 digits and a leading '-' when negative (time/format.go
 * `appendInt`). Both checks look at the unrounded time: 0.7 s after the epoch is still "".
 */
import type { UnixTime } from "./goParse";

/** Go's zero time.Time (0001-01-01T00:00:00Z) in Unix seconds. */
const GO_ZERO_TIME_UNIX = -62135596800n;
const DAY = 86400n;

function floorDiv(a: bigint, b: bigint): bigint {
    const q = a / b;
    return a % b !== 0n && (a < 0n) !== (b < 0n) ? q - 1n : q;
}

function pad(n: bigint, width: number): string {
    const neg = n < 0n;
    const digits = (neg ? -n : n).toString().padStart(width, "0");
    return neg ? `-${digits}` : digits;
}

/** Civil date from days since 1970-01-01 (H. Hinnant's `civil_from_days`). */
function civilFromDays(days: bigint): [bigint, bigint, bigint] {
    const z = days + 719468n;
    const era = floorDiv(z, 146097n);
    const doe = z - era * 146097n;
    const yoe = (doe - doe / 1460n + doe / 36524n - doe / 146096n) / 365n;
    const doy = doe - (365n * yoe + yoe / 4n - yoe / 100n);
    const mp = (5n * doy + 2n) / 153n;
    const d = doy - (153n * mp + 2n) / 5n + 1n;
    const m = mp < 10n ? mp + 3n : mp - 9n;
    const y = yoe + era * 400n + (m <= 2n ? 1n : 0n);
    return [y, m, d];
}

export function formatModtime(t: UnixTime): string {
    if ((t.sec === GO_ZERO_TIME_UNIX && t.nsec === 0) || t.sec === 0n) {
        return "";
    }
    const sec = t.sec + (t.nsec >= 500_000_000 ? 1n : 0n);
    const days = floorDiv(sec, DAY);
    const sod = sec - days * DAY;
    const [y, m, d] = civilFromDays(days);
    const hh = sod / 3600n;
    const mm = (sod % 3600n) / 60n;
    const ss = sod % 60n;
    return `${pad(y, 4)}-${pad(m, 2)}-${pad(d, 2)}T${pad(hh, 2)}:${pad(mm, 2)}:${pad(ss, 2)}Z`;
}
