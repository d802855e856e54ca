/**
 * The layering rules of the design card, enforced by reading imports: the engine never imports
 * `vscode` (not even a type), and the CLI and the extension reach the engine only through its
 * one door, src/engine/index.ts.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, it } from "node:test";

const root = join(__dirname, "..", "..", "..");

function tsFiles(dir: string): string[] {
    const out: string[] = [];
    for (const name of readdirSync(dir)) {
        const p = join(dir, name);
        if (statSync(p).isDirectory()) out.push(...tsFiles(p));
        else if (name.endsWith(".ts")) out.push(p);
    }
    return out;
}

function imports(file: string): string[] {
    const text = readFileSync(file, "utf8");
    const specs: string[] = [];
    for (const m of text.matchAll(/(?:import|export)\s[^;]*?from\s+"([^"]+)"|require\("([^"]+)"\)|import\("([^"]+)"\)/g)) {
        specs.push((m[1] ?? m[2] ?? m[3])!);
    }
    return specs;
}

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
