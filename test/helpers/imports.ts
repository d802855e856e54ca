/**
 * Reading a source tree's imports as text, for the boundary tests: which `.ts` files lie under a
 * folder, and which module specifiers each names (`import … from`, side-effect `import "x"`,
 * `export … from`, `require("x")`, dynamic `import("x")`).
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

/** The repository root, from a compiled test under out/test/<dir>/. */
export const repoRoot = join(__dirname, "..", "..", "..");

export function tsFiles(dir: string): string[] {
    const out: string[] = [];
    for (const name of readdirSync(dir)) {
        const p = join(dir, name);
        if (statSync(p).isDirectory()) out.push(...tsFiles(p));
        else if (name.endsWith(".ts")) out.push(p);
    }
    return out;
}

export function imports(file: string): string[] {
    const text = readFileSync(file, "utf8");
    const specs: string[] = [];
    for (const m of text.matchAll(/(?:import|export)\s[^;]*?from\s+"([^"]+)"|import\s+"([^"]+)"|require\("([^"]+)"\)|import\("([^"]+)"\)/g)) {
        specs.push((m[1] ?? m[2] ?? m[3] ?? m[4])!);
    }
    return specs;
}
