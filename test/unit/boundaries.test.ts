/**
 * The layering rules of the design card, enforced by reading imports: the engine never imports
 * `vscode` (not even a type), and the CLI and the extension reach the engine only through its
 * one door, src/engine/index.ts.
 */
import assert from "node:assert/strict";
import { join, relative } from "node:path";
import { describe, it } from "node:test";
import { imports, repoRoot, tsFiles } from "../helpers/imports";

const root = repoRoot;

describe("module boundaries", () => {
    it("src/engine never imports vscode", () => {
        for (const f of tsFiles(join(root, "src", "engine"))) {
            assert.ok(!imports(f).includes("vscode"), `${relative(root, f)} imports vscode`);
        }
    });

    it("only src/extension imports vscode", () => {
        for (const dir of ["src/engine", "src/cli"]) {
            for (const f of tsFiles(join(root, dir))) {
                assert.ok(!imports(f).includes("vscode"), `${relative(root, f)} imports vscode`);
            }
        }
    });

    it("the CLI and the extension use the engine only through src/engine/index.ts", () => {
        for (const dir of ["src/cli", "src/extension"]) {
            for (const f of tsFiles(join(root, dir))) {
                for (const spec of imports(f)) {
                    if (spec.includes("engine")) {
                        assert.match(spec, /(^|\/)engine$/, `${relative(root, f)} imports ${spec}; use ../engine`);
                    }
                }
            }
        }
    });
});
