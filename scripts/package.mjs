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
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";

const { copyExternals } = createRequire(import.meta.url)("./runtimeModules.cjs");

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
    const { needed, seen } = copyExternals(join(stage, "dist"), root, nodeModules);
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
    console.log(`packaged ${relative(process.cwd(), out) || out} for ${target}; native modules shipped: ${seen.filter((n) => existsSync(join(nodeModules, n))).join(", ") || "none"}`);
} finally {
    rmSync(stage, { recursive: true, force: true });
}
