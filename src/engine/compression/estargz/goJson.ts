/**
 * Go 1.19 `encoding/json` string encoding (`encodeState.string` with escapeHTML, as `Marshal`
 * and `MarshalIndent` use it) over raw bytes: `"` and `\` escaped, `\n` `\r` `\t` short, other
 * control bytes and `<` `>` `&` as `\u00xx`, U+2028/U+2029 as `\u2028`/`\u2029`, each byte of
 * invalid UTF-8 (as `utf8.DecodeRune` sees it) as `\ufffd`, everything else verbatim.
 */

const HEX = "0123456789abcdef";

/** htmlSafeSet: printable ASCII (and DEL) except `"`, `\`, `<`, `>`, `&`. */
function htmlSafe(c: number): boolean {
    return c >= 0x20 && c !== 0x22 && c !== 0x5c && c !== 0x3c && c !== 0x3e && c !== 0x26;
}

/** utf8.DecodeRune: the rune and its width, or width 0 for an invalid sequence. */
function decodeRune(b: Buffer, i: number): [number, number] {
    const c0 = b[i]!;
    const cont = (k: number, lo = 0x80, hi = 0xbf): number => {
        const c = b[i + k];
        return c !== undefined && c >= lo && c <= hi ? c & 0x3f : -1;
    };
    if (c0 >= 0xc2 && c0 <= 0xdf) {
        const c1 = cont(1);
        return c1 < 0 ? [0, 0] : [((c0 & 0x1f) << 6) | c1, 2];
    }
    if (c0 >= 0xe0 && c0 <= 0xef) {
        const c1 = cont(1, c0 === 0xe0 ? 0xa0 : 0x80, c0 === 0xed ? 0x9f : 0xbf);
        const c2 = c1 < 0 ? -1 : cont(2);
        return c2 < 0 ? [0, 0] : [((c0 & 0x0f) << 12) | (c1 << 6) | c2, 3];
    }
    if (c0 >= 0xf0 && c0 <= 0xf4) {
        const c1 = cont(1, c0 === 0xf0 ? 0x90 : 0x80, c0 === 0xf4 ? 0x8f : 0xbf);
        const c2 = c1 < 0 ? -1 : cont(2);
        const c3 = c2 < 0 ? -1 : cont(3);
        return c3 < 0 ? [0, 0] : [((c0 & 0x07) << 18) | (c1 << 12) | (c2 << 6) | c3, 4];
    }
    return [0, 0];
}

/** The JSON string literal for the Go string `b`, as a JS string (UTF-8 encodes it exactly). */
export function goJsonString(b: Buffer): string {
    let out = '"';
    let i = 0;
    while (i < b.length) {
        const c = b[i]!;
        if (c < 0x80) {
            if (htmlSafe(c)) {
                out += String.fromCharCode(c);
            } else if (c === 0x22 || c === 0x5c) {
                out += "\\" + String.fromCharCode(c);
            } else if (c === 0x0a) {
                out += "\\n";
            } else if (c === 0x0d) {
                out += "\\r";
            } else if (c === 0x09) {
                out += "\\t";
            } else {
                out += "\\u00" + HEX[c >> 4]! + HEX[c & 0xf]!;
            }
            i++;
            continue;
        }
        const [rune, width] = decodeRune(b, i);
        if (width === 0) {
            out += "\\ufffd";
            i++;
        } else if (rune === 0x2028 || rune === 0x2029) {
            out += rune === 0x2028 ? "\\u2028" : "\\u2029";
            i += width;
        } else {
            out += String.fromCodePoint(rune);
            i += width;
        }
    }
    return out + '"';
}

export function goJsonStringOf(s: string): string {
    return goJsonString(Buffer.from(s, "utf8"));
}
