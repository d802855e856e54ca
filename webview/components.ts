/**
 * The only file that imports the UI toolkit (@vscode/webview-ui-toolkit, FAST-based; archived
 * upstream): swapping to @vscode-elements/elements is a change to this file alone.
 *
 * NOTE: strict CSP. FAST applies component styles through constructable stylesheets, which
 * style-src does not govern; the one <style> element it adds (a :focus-visible probe) carries
 * the nonce it reads from <meta property="csp-nonce">. Components whose templates carry a
 * style="" attribute (badge, progress ring) would need 'unsafe-inline', so they are not used:
 * the page's own CSS draws badges.
 */
import { provideVSCodeDesignSystem, vsCodeButton } from "@vscode/webview-ui-toolkit";

let registered = false;

export function registerComponents(): void {
    if (registered) return;
    registered = true;
    provideVSCodeDesignSystem().register(vsCodeButton());
}

export type ButtonAppearance = "primary" | "secondary" | "icon";

/** A toolkit button; its label is text, never markup. */
export function button(id: string, label: string, appearance: ButtonAppearance = "secondary", title = ""): HTMLElement {
    const b = document.createElement("vscode-button");
    b.id = id;
    b.setAttribute("appearance", appearance);
    b.textContent = label;
    if (title) {
        b.title = title;
        b.setAttribute("aria-label", title);
    }
    return b;
}

export function setDisabled(el: HTMLElement, disabled: boolean): void {
    if (disabled) el.setAttribute("disabled", "");
    else el.removeAttribute("disabled");
}

/** Resolves once the toolkit's elements are defined (the page is interactive then). */
export function componentsReady(): Promise<unknown> {
    return customElements.whenDefined("vscode-button");
}
