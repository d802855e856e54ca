/**
 * Hostile text made safe to show. Names, paths, ref ids, snapshot keys and descriptions come
 * from trees, tars, images and databases Layerscope does not control. Shown as they are, a
 * right-to-left override or a newline in a name can make `invoice\u202Efdp.sh` read as
 * `invoicehs.pdf`, or a label look like two rows; and VS Code turns `[text](command:…)` in a
 * notification into a link that runs the command when clicked.
 *
 * Display only: values kept for lookups, copying and messages to the host stay raw. Pure (no
 * DOM, no `vscode`, no imports), shared by the extension host and the webview.
 */

// Control characters (C0, DEL, C1) and format characters (bidi embeddings, overrides and
// isolates, zero-width characters, the BOM, Unicode tags...).
const INVISIBLE = /[\p{Cc}\p{Cf}]/gu;
const INVISIBLE_BUT_NEWLINE = /(?!\n)[\p{Cc}\p{Cf}]/gu;

function escapeChar(c: string): string {
    const cp = c.codePointAt(0)!;
    return cp <= 0xffff ? `\\u${cp.toString(16).toUpperCase().padStart(4, "0")}` : `\\u{${cp.toString(16).toUpperCase()}}`;
}

/** One line of text: every control and format character (newlines too) shown as `\uXXXX`. */
export function displayText(s: string): string {
    return s.replace(INVISIBLE, escapeChar);
}

/** Text of several lines (tooltips, notifications): as `displayText`, but newlines stay. */
export function displayLines(s: string): string {
    return s.replace(INVISIBLE_BUT_NEWLINE, escapeChar);
}

// VS Code's notifications read `[label](https://…|command:…|file:…)` as a link (its
// `parseLinkedText`). A zero-width space between `]` and `(` leaves the text as it reads and
// makes it no link.
const LINK_JOINT = /\]\(/g;

/** A notification message: `displayLines`, and no `[label](target)` in it is a link. */
export function notificationText(s: string): string {
    return displayLines(s).replace(LINK_JOINT, "]\u200B(");
}

// The status bar shows `$(name)` as an icon.
const ICON_START = /\$\(/g;

/** Status bar text: `displayText`, and no `$(name)` in it is an icon. */
export function statusText(s: string): string {
    return displayText(s).replace(ICON_START, "$\u200B(");
}
