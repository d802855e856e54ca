#!/usr/bin/env node
// Packages the extension as a .vsix, offline: `npm run package` (build first, then this script).
//
// vsce runs with --no-dependencies (no `npm list`, no network), so node_modules/ is never packed.
// esbuild already bundles the pure-JS dependencies (tar-stream, fzstd) into dist/*.js; what stays
// external is native code (@mongodb-js/zstd, @napi-rs/xattr: N-API addons in per-platform
// packages). This script copies dist/, media/ and the manifest into a staging folder, puts every
// module the bundles still require() into dist/node_modules/ there (with the platform package
// npm installed for this machine), checks that each one resolves inside the stage and loads, and
// packs the stage for this platform (`--target`, so VS Code refuses it on a platform whose
// native code it lacks instead of failing at activation).
//
//   node scripts/package.mjs [--out FILE]      default: layerscope-<version>.vsix in the checkout
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { builtinModules, createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";

const root = resolve(dirname(new URL(import.meta.url).pathname), "..");
const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const outArg = process.argv.indexOf("--out");
const out = resolve(outArg > 0 ? process.argv[outArg + 1] : join(root, `${manifest.name}-${manifest.version}.vsix`));

/** The VS Code target platform of this machine (the native packages npm installed are for it). */
function targetPlatform() {
    const { platform, arch } = process;
    if (platform === "win32") return `win32-${arch}`;
    if (platform === "linux") {
        const glibc = process.report?.getReport()?.header?.glibcVersionRuntime;
        return glibc ? `linux-${arch === "arm" ? "armhf" : arch}` : `alpine-${arch}`;
    }
    return `${platform}-${arch}`;
}

/** Bare module names the bundles still require() at run time (not Node's, not `vscode`). */
function externals(distDir) {
    const builtins = new Set(builtinModules);
    const found = new Set();
    for (const file of readdirSync(distDir).filter((f) => f.endsWith(".js"))) {
        const source = readFileSync(join(distDir, file), "utf8");
        for (const m of source.matchAll(/\brequire\(\s*["']([^"'./][^"']*)["']\s*\)/g)) {
            const spec = m[1];
            const name = spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : spec.split("/")[0];
            if (name === "vscode" || spec.startsWith("node:") || builtins.has(name)) continue;
            found.add(name);
        }
    }
    return [...found].sort();
}

/** Copies a package and, recursively, its dependencies and installed optional (platform) packages. */
function copyPackage(name, fromDir, nodeModules, seen) {
    if (seen.has(name)) return;
    seen.add(name);
    const require = createRequire(join(fromDir, "noop.js"));
    let pkgJson;
    try {
        pkgJson = require.resolve(`${name}/package.json`);
    } catch {
        return false;
    }
    const pkgDir = dirname(pkgJson);
    const pkg = JSON.parse(readFileSync(pkgJson, "utf8"));
    cpSync(pkgDir, join(nodeModules, name), { recursive: true, filter: (p) => !relative(pkgDir, p).split("/").includes("node_modules") });
    for (const dep of Object.keys(pkg.dependencies ?? {})) {
        if (copyPackage(dep, pkgDir, nodeModules, seen) === false) throw new Error(`${name} needs ${dep}, which is not installed`);
    }
    for (const dep of Object.keys(pkg.optionalDependencies ?? {})) copyPackage(dep, pkgDir, nodeModules, seen);
    return true;
}

const stage = mkdtempSync(join(tmpdir(), "layerscope-package-"));
try {
    if (!existsSync(join(root, manifest.main))) throw new Error(`${manifest.main} is missing: run \`npm run build\` first`);
    const { scripts: _scripts, devDependencies: _dev, ...shipped } = manifest;
    writeFileSync(join(stage, "package.json"), `${JSON.stringify(shipped, null, 2)}\n`);
    for (const entry of ["README.md", "CHANGELOG.md", "LICENSE", "dist", "media"]) {
        if (existsSync(join(root, entry))) cpSync(join(root, entry), join(stage, entry), { recursive: true });
    }
    // The stage holds exactly what ships; only these are left out of it.
    writeFileSync(join(stage, ".vscodeignore"), "**/*.map\n**/*.d.ts\n");
    // Nothing of the developer's node_modules may leak in through dist/.
    rmSync(join(stage, "dist/node_modules"), { recursive: true, force: true });
    const nodeModules = join(stage, "dist/node_modules");
    const needed = externals(join(stage, "dist"));
    const seen = new Set();
    for (const name of needed) {
        if (copyPackage(name, root, nodeModules, seen) === false) throw new Error(`dist/ requires ${name}, which is not installed`);
    }
    // Each external must resolve inside the stage and load (a native addon for this platform).
    const check = needed.map((n) => `{ const p = require.resolve(${JSON.stringify(n)}); `
        + `if (!p.startsWith(${JSON.stringify(stage)})) throw new Error(${JSON.stringify(n)} + " resolves outside the package: " + p); require(p); }`).join("\n");
    execFileSync(process.execPath, ["-e", check], { cwd: join(stage, "dist"), env: { ...process.env, NODE_PATH: "" }, stdio: "inherit" });

    const target = targetPlatform();
    mkdirSync(dirname(out), { recursive: true });
    execFileSync(process.execPath, [
        join(root, "node_modules/@vscode/vsce/vsce"), "package",
        "--no-dependencies", "--allow-missing-repository", "--skip-license",
        "--target", target, "--out", out,
    ], { cwd: stage, stdio: ["ignore", "inherit", "inherit"] });
    console.log(`packaged ${relative(process.cwd(), out) || out} for ${target}; native modules shipped: ${[...seen].filter((n) => existsSync(join(nodeModules, n))).join(", ") || "none"}`);
} finally {
    rmSync(stage, { recursive: true, force: true });
}
