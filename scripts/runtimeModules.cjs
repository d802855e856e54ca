// The node_modules the built bundles still need at run time, and a copy of them elsewhere.
// esbuild bundles the pure-JS dependencies into dist/*.js; what stays external is native code
// (@mongodb-js/zstd, @napi-rs/xattr: N-API addons in per-platform packages). Used by
// scripts/package.mjs (the .vsix) and by the tests that run the CLI as another user
// (test/helpers/cliForUser.ts), so both ship exactly the same set.
"use strict";
const { cpSync, readdirSync, readFileSync } = require("node:fs");
const { builtinModules, createRequire } = require("node:module");
const { dirname, join, relative } = require("node:path");

/** Bare module names the bundles in distDir still require() at run time (not Node's, not `vscode`). */
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
    const req = createRequire(join(fromDir, "noop.js"));
    let pkgJson;
    try {
        pkgJson = req.resolve(`${name}/package.json`);
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

/**
 * Copies every external the bundles in distDir need, as resolved from fromDir, into nodeModules.
 * Returns the externals and every package looked at (with dependencies and platform packages).
 */
function copyExternals(distDir, fromDir, nodeModules) {
    const needed = externals(distDir);
    const seen = new Set();
    for (const name of needed) {
        if (copyPackage(name, fromDir, nodeModules, seen) === false) throw new Error(`dist/ requires ${name}, which is not installed`);
    }
    return { needed, seen: [...seen] };
}

module.exports = { externals, copyPackage, copyExternals };
