/**
 * Small helpers for building SVG and HTML with text only: data never becomes markup. Text and
 * the attributes people read (title, aria-label) show control and bidi characters as escapes
 * (displayText.ts): a ref id or path from a hostile tree cannot reorder what is shown.
 */
import { displayLines } from "../../src/display/displayText";

const READ_ATTRS: ReadonlySet<string> = new Set(["title", "aria-label"]);
const shownAttr = (k: string, v: string): string => (READ_ATTRS.has(k) ? displayLines(v) : v);

export const SVG_NS = "http://www.w3.org/2000/svg";

export function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number> = {}): SVGElementTagNameMap[K] {
    const el = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, shownAttr(k, String(v)));
    return el;
}

export function h<K extends keyof HTMLElementTagNameMap>(
    tag: K,
    attrs: Record<string, string> = {},
    ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, shownAttr(k, v));
    for (const c of children) el.append(typeof c === "string" ? document.createTextNode(displayLines(c)) : c);
    return el;
}

/** "sha256:0123456789ab…" for labels; the full value stays in titles and data-field elements. */
export function shortDigest(d: string, hex = 12): string {
    if (!d) return "";
    const [algo, enc] = d.includes(":") ? (d.split(":", 2) as [string, string]) : ["", d];
    return `${algo ? `${algo}:` : ""}${enc.slice(0, hex)}${enc.length > hex ? "…" : ""}`;
}

export function ellipsize(text: string, max: number): string {
    return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB"];

export function formatBytes(n: number): string {
    if (n < 0) return "—";
    let v = n;
    let u = 0;
    while (v >= 1024 && u < UNITS.length - 1) {
        v /= 1024;
        u++;
    }
    return u === 0 ? `${n} B` : `${v.toFixed(v < 10 ? 2 : 1)} ${UNITS[u]}`;
}

export function formatMs(ms: number): string {
    if (ms < 0) return "—";
    return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
}
