/**
 * The webview's boundaries, by reading imports: webview/ reaches the host only through
 * src/protocol (no Node built-ins, no vscode, no engine) and shares only src/display (pure text
 * helpers) with it, the UI toolkit is imported in webview/components.ts alone, src/protocol and
 * src/display import nothing outside themselves, and only src/extension/graph knows the protocol
 * on the host side. No HTML is built from strings.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, it } from "node:test";
import { imports, repoRoot, tsFiles } from "../helpers/imports";

const root = repoRoot;

const within = (file: string, spec: string, dir: string): boolean => !relative(join(root, dir), resolve(dirname(file), spec)).startsWith("..");

describe("webview boundaries", () => {
    it("webview/ imports only itself, src/protocol, src/display, and the toolkit in components.ts", () => {
        for (const f of tsFiles(join(root, "webview"))) {
            for (const spec of imports(f)) {
                const where = `${relative(root, f)} imports ${spec}`;
                if (spec === "@vscode/webview-ui-toolkit") {
                    assert.equal(relative(root, f), join("webview", "components.ts"), where);
                    continue;
                }
                assert.ok(spec.startsWith("."), where);
                assert.ok(within(f, spec, "webview") || within(f, spec, "src/protocol") || within(f, spec, "src/display"), where);
            }
        }
    });

    it("src/protocol and src/display import nothing outside themselves", () => {
        for (const dir of ["src/protocol", "src/display"]) {
            for (const f of tsFiles(join(root, dir))) {
                for (const spec of imports(f)) assert.ok(spec.startsWith(".") && within(f, spec, dir), `${relative(root, f)} imports ${spec}`);
            }
        }
        assert.ok(tsFiles(join(root, "src", "display")).length > 0);
    });

    it("on the host side only src/extension/graph speaks the protocol", () => {
        for (const f of tsFiles(join(root, "src"))) {
            if (f.startsWith(join(root, "src", "protocol")) || f.startsWith(join(root, "src", "extension", "graph"))) continue;
            for (const spec of imports(f)) assert.ok(!within(f, spec, "src/protocol") || !spec.startsWith("."), `${relative(root, f)} imports ${spec}`);
        }
    });

    it("the webview never turns strings into markup", () => {
        for (const f of tsFiles(join(root, "webview"))) {
            const text = readFileSync(f, "utf8");
            for (const bad of ["innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"]) {
                assert.ok(!text.includes(bad), `${relative(root, f)} uses ${bad}`);
            }
        }
    });
});
