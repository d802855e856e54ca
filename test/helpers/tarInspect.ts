/**
 * Reads tar headers to explain where two layer tars differ: the first differing byte, the entry
 * it falls in (PAX headers resolved to the real name), and the header field or data offset.
 * Only meant for messages: it trusts the expected tar and copes with a malformed actual one.
 */

export interface TarEntryInfo {
    index: number;
    /** Full name (PAX `path` if present, else USTAR prefix + "/" + name), bytes shown as UTF-8. */
    name: string;
    typeflag: string;
    /** Offset of the entry's first block (its PAX `x` header when it has one). */
    start: number;
    /** Offset of the entry's own header block. */
    header: number;
    size: number;
    /** End of the entry: header + data padded to 512. */
    end: number;
}

export interface TarLayout {
    entries: TarEntryInfo[];
    /** Offset where the end-of-archive zero blocks start (or where parsing stopped). */
    end: number;
    /** Set when the tar could not be parsed to its end. */
    error?: string;
}

const BLOCK = 512;

/** USTAR header fields: [name, offset, length]. */
const FIELDS: ReadonlyArray<readonly [string, number, number]> = [
    ["name", 0, 100], ["mode", 100, 8], ["uid", 108, 8], ["gid", 116, 8], ["size", 124, 12],
    ["mtime", 136, 12], ["chksum", 148, 8], ["typeflag", 156, 1], ["linkname", 157, 100],
    ["magic", 257, 6], ["version", 263, 2], ["uname", 265, 32], ["gname", 297, 32],
    ["devmajor", 329, 8], ["devminor", 337, 8], ["prefix", 345, 155], ["padding", 500, 12],
];

export function parseTarLayout(tar: Buffer): TarLayout {
    const entries: TarEntryInfo[] = [];
    let off = 0;
    let paxStart: number | undefined;
    let paxPath: Buffer | undefined;
    while (off + BLOCK <= tar.length) {
        const block = tar.subarray(off, off + BLOCK);
        if (block.every((b) => b === 0)) {
            return { entries, end: off };
        }
        const typeflag = String.fromCharCode(block[156] ?? 0);
        const size = parseOctal(block.subarray(124, 136));
        if (size === undefined) {
            return { entries, end: off, error: `unparsable size field in the header at ${off}` };
        }
        const dataEnd = off + BLOCK + Math.ceil(size / BLOCK) * BLOCK;
        if (typeflag === "x") {
            paxStart ??= off;
            paxPath = paxRecord(tar.subarray(off + BLOCK, off + BLOCK + size), "path") ?? paxPath;
            off = dataEnd;
            continue;
        }
        entries.push({
            index: entries.length,
            name: (paxPath ?? ustarName(block)).toString("utf8"),
            typeflag,
            start: paxStart ?? off,
            header: off,
            size,
            end: dataEnd,
        });
        off = entries[entries.length - 1]!.end;
        paxStart = undefined;
        paxPath = undefined;
    }
    const error = off === tar.length ? "no end-of-archive blocks" : "truncated block";
    return { entries, end: off, error };
}

/** Explains the first difference between two tars, or returns undefined if they are equal. */
export function describeFirstDifference(expected: Buffer, actual: Buffer): string | undefined {
    if (expected.equals(actual)) {
        return undefined;
    }
    let at = 0;
    const n = Math.min(expected.length, actual.length);
    while (at < n && expected[at] === actual[at]) {
        at++;
    }
    const exp = parseTarLayout(expected);
    const act = parseTarLayout(actual);
    const lines = [
        `expected ${expected.length} bytes, got ${actual.length}; first difference at byte ${at} ` +
            `(expected ${hexAt(expected, at)}, got ${hexAt(actual, at)})`,
        `  in the expected tar: ${locate(exp, at, expected, actual)}`,
        `  in the actual tar:   ${locate(act, at, actual, expected)}`,
    ];
    const k = firstEntryMismatch(exp.entries, act.entries);
    if (k !== undefined) {
        lines.push(
            `  entry lists first differ at #${k}: ` +
                `expected ${show(exp.entries[k])}, got ${show(act.entries[k])}`,
        );
    }
    if (act.error !== undefined) {
        lines.push(`  actual tar is malformed: ${act.error}`);
    }
    return lines.join("\n");
}

/**
 * Where offset `at` falls in `tar` (whose layout is given); for a header field, the field's
 * bytes in this tar and at the same offset in `other`.
 */
function locate(layout: TarLayout, at: number, tar: Buffer, other: Buffer): string {
    if (at >= tar.length) {
        return "ends here";
    }
    const e = layout.entries.find((x) => at >= x.start && at < x.end);
    if (e === undefined) {
        return at >= layout.end
            ? `in the end-of-archive blocks (from ${layout.end})`
            : "outside any entry";
    }
    const where = `entry #${e.index} ${show(e)}`;
    if (at < e.header) {
        return `${where}, in its PAX extended header/records (from ${e.start})`;
    }
    const rel = at - e.header;
    if (rel < BLOCK) {
        const f = FIELDS.find(([, o, len]) => rel >= o && rel < o + len)!;
        const [field, o, len] = f;
        const bytesOf = (b: Buffer): string =>
            JSON.stringify(b.subarray(e.header + o, e.header + o + len).toString("latin1"));
        const mine = bytesOf(tar);
        const theirs = bytesOf(other);
        return `${where}, header field ${field} (byte ${rel} of the header at ${e.header}): ` +
            `here ${mine}, in the other tar ${theirs}`;
    }
    const dataOff = rel - BLOCK;
    return dataOff < e.size
        ? `${where}, file data at +${dataOff} of ${e.size}`
        : `${where}, padding after ${e.size} data bytes`;
}

function firstEntryMismatch(a: TarEntryInfo[], b: TarEntryInfo[]): number | undefined {
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
        if (a[i]?.name !== b[i]?.name || a[i]?.typeflag !== b[i]?.typeflag) {
            return i;
        }
    }
    return undefined;
}

function show(e: TarEntryInfo | undefined): string {
    return e === undefined ? "(none)" : `${JSON.stringify(e.name)} (typeflag '${e.typeflag}')`;
}

function hexAt(b: Buffer, at: number): string {
    return at < b.length ? `0x${b[at]!.toString(16).padStart(2, "0")}` : "end of data";
}

function ustarName(block: Buffer): Buffer {
    const name = cString(block.subarray(0, 100));
    const isUstar = block.subarray(257, 263).toString("latin1") === "ustar\0";
    const prefix = isUstar ? cString(block.subarray(345, 500)) : Buffer.alloc(0);
    return prefix.length > 0 ? Buffer.concat([prefix, Buffer.from("/"), name]) : name;
}

function cString(b: Buffer): Buffer {
    const nul = b.indexOf(0);
    return nul < 0 ? b : b.subarray(0, nul);
}

function parseOctal(b: Buffer): number | undefined {
    const s = cString(b).toString("latin1").trim();
    return /^[0-7]*$/.test(s) ? (s === "" ? 0 : parseInt(s, 8)) : undefined;
}

/** The value of `key` in a PAX payload of "<len> <key>=<value>\n" records. */
function paxRecord(payload: Buffer, key: string): Buffer | undefined {
    let off = 0;
    let found: Buffer | undefined;
    while (off < payload.length) {
        const space = payload.indexOf(0x20, off);
        const len = space < 0 ? NaN : parseInt(payload.subarray(off, space).toString("latin1"), 10);
        if (!Number.isFinite(len) || len <= 0) {
            break;
        }
        const rec = payload.subarray(space + 1, off + len - 1);
        const eq = rec.indexOf(0x3d);
        if (eq >= 0 && rec.subarray(0, eq).toString("latin1") === key) {
            found = rec.subarray(eq + 1);
        }
        off += len;
    }
    return found;
}
