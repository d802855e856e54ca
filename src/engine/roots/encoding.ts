/**
 * The value encodings containerd and BuildKit put in bbolt: Go `binary.PutUvarint` /
 * `binary.PutVarint` (zig-zag) integers and Go `time.Time.MarshalBinary` times
 * (`[version 1|2][int64 BE seconds since 0001-01-01][int32 BE ns][int16 BE zone minutes]`).
 */

/** Go binary.Uvarint over the whole buffer; null when malformed, overlong or trailing bytes. */
export function uvarint(buf: Buffer): number | null {
    let x = 0n;
    let shift = 0n;
    for (let i = 0; i < buf.length && i < 10; i++) {
        const b = buf[i]!;
        x |= BigInt(b & 0x7f) << shift;
        if (b < 0x80) {
            return i === buf.length - 1 && x <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(x) : null;
        }
        shift += 7n;
    }
    return null;
}

/** Go binary.Varint (zig-zag). */
export function varint(buf: Buffer): number | null {
    const u = uvarint(buf);
    if (u === null) return null;
    const big = BigInt(u);
    const v = big & 1n ? -(big >> 1n) - 1n : big >> 1n;
    return Number(v);
}

/** Seconds from 0001-01-01 to 1970-01-01 (Go's unixToInternal). */
const UNIX_TO_INTERNAL = 62135596800n;

/** Go time.MarshalBinary → RFC 3339 (UTC, nanoseconds); null when not that encoding. */
export function goTime(buf: Buffer | null): string | null {
    if (!buf || (buf.length !== 15 && buf.length !== 16) || (buf[0] !== 1 && buf[0] !== 2)) return null;
    const sec = buf.readBigInt64BE(1) - UNIX_TO_INTERNAL;
    const nsec = buf.readInt32BE(9);
    const ms = sec * 1000n + BigInt(Math.floor(nsec / 1e6));
    if (ms < -8640000000000000n || ms > 8640000000000000n) return null;
    const iso = new Date(Number(ms)).toISOString();
    const frac = String(nsec).padStart(9, "0").replace(/0+$/, "");
    return `${iso.slice(0, 19)}${frac ? `.${frac}` : ""}Z`;
}

export function text(buf: Buffer | null): string | null {
    return buf === null ? null : buf.toString("utf8");
}
