/**
 * Hostile text shown in VS Code (src/display/displayText.ts): control and bidi characters as
 * escapes; no `[text](command:…)` in a notification is a link; and every notification goes
 * through src/extension/notify.ts.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, it } from "node:test";
import { displayLines, displayText, notificationText, statusText } from "../../src/display/displayText";
import { repoRoot } from "../helpers/imports";

// VS Code's notification link grammar (src/vs/base/common/linkedText.ts, `parseLinkedText`):
// `[label](href)` or `[label](href "title")`, href starting with http(s)://, command: or file:.
const VSCODE_LINK = /\[([^\]]+)\]\(((?:https?:\/\/|command:|file:)[^)\s]+)(?: (["'])(.+?)(\3))?\)/gi;
const links = (s: string): string[] => [...s.matchAll(VSCODE_LINK)].map((m) => m[0]);

describe("displayText", () => {
    it("shows control and format characters as escapes, everything else as it is", () => {
        assert.equal(displayText("invoice\u202Efdp.sh"), "invoice\\u202Efdp.sh");
        assert.equal(displayText("a\nb\tc\rd\u0000e\u007Ff\u0085g"), "a\\u000Ab\\u0009c\\u000Dd\\u0000e\\u007Ff\\u0085g");
        assert.equal(displayText("\u200B\u200E\u200F\u2066x\u2069\uFEFF\u061C"), "\\u200B\\u200E\\u200F\\u2066x\\u2069\\uFEFF\\u061C");
        assert.equal(displayText("tag\u{E0041}"), "tag\\u{E0041}");
        for (const plain of ["usr/lib/x86_64-linux-gnu/libc.so.6", "ünïcödé 文件 😀 עברית", "sha256:0123abcd", "", "a\\u202Eb"]) {
            assert.equal(displayText(plain), plain);
        }
    });

    it("displayLines keeps newlines and escapes the rest", () => {
        assert.equal(displayLines("ref\u202E\nline two\r"), "ref\\u202E\nline two\\u000D");
    });
});

describe("notificationText", () => {
    const hostile = [
        "[Show details](command:workbench.extensions.installExtension?[\"evil.ext\"])",
        "/app/[Show Log](command:workbench.action.terminal.sendSequence?%7B%22text%22%3A%22rm%22%7D)/x",
        "[a](https://example.com) [b](file:///etc/passwd \"title\") [c](COMMAND:x)",
        "key [x](command:a) with \u202E bidi",
    ];
    it("no link survives, and the text reads the same", () => {
        for (const s of hostile) {
            assert.ok(links(s).length > 0, `the sample is a link for VS Code: ${s}`);
            const shown = notificationText(s);
            assert.deepEqual(links(shown), [], shown);
            assert.equal(shown.replace(/\u200B/g, ""), displayLines(s));
        }
    });
    it("text with no ']' before a '(' is left as displayLines makes it", () => {
        for (const s of ["Layerscope: app: blob chain computed (3 refs; blobChainID sha256:0123…)", "layer 2/3 (app): applying", "ünï\u202E (x) [y]"]) {
            assert.equal(notificationText(s), displayLines(s));
        }
    });
});

describe("statusText", () => {
    it("no $(name) is an icon, and the text reads the same", () => {
        const s = "Layerscope: copied diffID $(alert) sha256:00\u202E";
        const shown = statusText(s);
        assert.doesNotMatch(shown, /\$\(/);
        assert.equal(shown.replace(/\u200B/g, ""), displayText(s));
    });
});

describe("notifications go through src/extension/notify.ts", () => {
    it("no other extension file calls show*Message or withProgress; status bar text goes through statusText", () => {
        const dir = join(repoRoot, "src", "extension");
        const files: string[] = [];
        const walk = (d: string): void => {
            for (const n of readdirSync(d)) {
                const p = join(d, n);
                if (statSync(p).isDirectory()) walk(p);
                else if (n.endsWith(".ts")) files.push(p);
            }
        };
        walk(dir);
        assert.ok(files.length > 20, `found ${files.length} files`);
        const offenders = files
            .filter((f) => relative(dir, f) !== "notify.ts")
            .filter((f) => /\bshow(Information|Error|Warning)Message\b|\bwindow\.withProgress\b/.test(readFileSync(f, "utf8")))
            .map((f) => relative(repoRoot, f));
        assert.deepEqual(offenders, []);
        // Status bar messages show $(name) as icons: every one goes through statusText.
        const bare = files
            .flatMap((f) => [...readFileSync(f, "utf8").matchAll(/setStatusBarMessage\((?!statusText\()/g)].map(() => relative(repoRoot, f)));
        assert.deepEqual(bare, []);
    });
});
