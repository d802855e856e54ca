/**
 * Builds the bench input once and records it in a manifest, so later runs reuse it:
 *
 *   input/empty     an empty directory (the lower of a base layer)
 *   input/lower     the synthetic tree: ~20k files at the default 3 GiB (scaled with the size)
 *   input/upperdir  an overlayfs upperdir over lower: ~5% of the entries changed, added, removed
 *                   (0/0 character-device whiteouts), symlinks retargeted
 *   input/upper     lower with the upperdir applied, as a full tree: `cp -al lower upper` (so it
 *                   costs no data blocks), then every changed entry replaced by a hard link to its
 *                   upperdir copy
 *
 * upper and upperdir describe the same change with the same inodes, and every directory the
 * change touches gets the same mtime in both, so `diff LOWER UPPER` and
 * `diff --overlay LOWER UPPERDIR` must give the same layer (the bench checks it).
 *
 * NOTE: because of `cp -al`, every file of lower and upper has nlink >= 2, so both differs treat
 * every file as a hard link (an inode map entry per file), and the changes case sees unchanged
 * files as "same inode" without comparing metadata. Both tools pay the same.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { applyChange, planChange } from "./changeInput.mjs";
import { GiB, makeBlocks, makeWords, MiB, mix, Rng, smallSize, writeFile } from "./content.mjs";

export const GENERATOR_VERSION = 1;

const TEXT_EXT = ["txt", "js", "json", "md", "py", "h", "conf", "css"];
const BIN_EXT = ["so", "bin", "png", "gz", "dat", "o"];

/** Returns the manifest of an input that matches, building the input first when needed. */
export function ensureInput({ benchDir, gb, seed, log }) {
    const inputDir = path.join(benchDir, "input");
    const manifestPath = path.join(benchDir, "manifest.json");
    const paths = {
        empty: path.join(inputDir, "empty"),
        lower: path.join(inputDir, "lower"),
        upper: path.join(inputDir, "upper"),
        upperdir: path.join(inputDir, "upperdir"),
    };
    const old = readJson(manifestPath);
    if (
        old &&
        old.generatorVersion === GENERATOR_VERSION &&
        old.gb === gb &&
        old.seed === seed &&
        Object.values(paths).every((p) => fs.existsSync(p))
    ) {
        log(
            `input: reusing ${inputDir} (${fmtBytes(old.lower.bytes)} in ${old.lower.files} files)`,
        );
        return { ...old, paths };
    }
    log(`input: building ${gb} GiB under ${inputDir} (seed ${seed}); this happens once`);
    fs.rmSync(manifestPath, { force: true });
    fs.rmSync(inputDir, { recursive: true, force: true });
    fs.mkdirSync(paths.empty, { recursive: true });
    const t0 = performance.now();
    const blocks = makeBlocks(seed);
    const words = makeWords(new Rng(seed ^ 0x1234), 600);

    const plan = planLower(new Rng(seed), words, Math.round(gb * GiB));
    const lower = buildLower(paths.lower, plan, blocks, seed);
    log(`input: lower: ${lower.files} files, ${fmtBytes(lower.bytes)} in ${secs(t0)} s`);

    const t1 = performance.now();
    execFileSync("cp", ["-al", paths.lower, paths.upper]);
    const change = planChange(new Rng(seed + 1), words, plan);
    const changes = applyChange(paths, change, blocks, seed);
    log(`input: upper + upperdir: ${JSON.stringify(changes)} in ${secs(t1)} s`);

    const manifest = {
        generatorVersion: GENERATOR_VERSION,
        gb,
        seed,
        builtAt: new Date().toISOString(),
        buildSeconds: Number(secs(t0)),
        lower,
        changes,
    };
    fs.writeFileSync(`${manifestPath}.tmp`, `${JSON.stringify(manifest, null, 2)}\n`);
    fs.renameSync(`${manifestPath}.tmp`, manifestPath);
    return { ...manifest, paths };
}

function readJson(p) {
    try {
        return JSON.parse(fs.readFileSync(p, "utf8"));
    } catch {
        return null;
    }
}

const secs = (t0) => ((performance.now() - t0) / 1000).toFixed(1);

export function fmtBytes(n) {
    return n >= GiB ? `${(n / GiB).toFixed(2)} GiB` : `${(n / MiB).toFixed(1)} MiB`;
}

/**
 * The lower tree as data: dirs (parents first), files, symlinks, hard links. At 3 GiB: ~19.5k
 * small files (~0.5 GiB), ~125 medium 1–16 MiB (~1 GiB), a few 100–500 MiB ones (the rest).
 */
function planLower(rng, words, totalBytes) {
    const scale = totalBytes / GiB;
    const dirs = [];
    const files = [];
    const symlinks = [];
    const hardlinks = [];
    const addDir = (rel, mode = 0o755) => {
        const d = { rel, mode, depth: rel.split("/").length };
        dirs.push(d);
        return d;
    };
    for (const top of ["usr", "srv", "opt", "var", "home", "etc", "names"]) {
        addDir(top);
    }
    const smallCount = Math.max(60, Math.round(6500 * scale));
    const dirCount = Math.max(20, Math.round(smallCount / 14));
    for (let i = 0; i < dirCount; i++) {
        let parent;
        do {
            parent = rng.pick(dirs);
        } while (parent.depth >= 7 || parent.rel === "names");
        const mode = i === 3 ? 0o1777 : rng.chance(0.02) ? 0o700 : 0o755;
        addDir(`${parent.rel}/${rng.pick(words)}-${i.toString(36)}`, mode);
    }
    const nested = dirs.slice(7);
    let seq = 0;
    const addFile = (rel, size, kind, mode = 0o644, uid = 0) => {
        files.push({ rel, size, kind, mode, uid, seed: mix(0x51ed, ++seq) });
    };

    let smallBytes = 0;
    for (let i = 0; i < smallCount; i++) {
        const kind = rng.chance(0.6) ? "text" : "random";
        const ext = rng.pick(kind === "text" ? TEXT_EXT : BIN_EXT);
        const size = smallSize(rng);
        const mode =
            i === 7
                ? 0o4755
                : ext === "so" || rng.chance(0.08)
                  ? 0o755
                  : rng.chance(0.02)
                    ? 0o600
                    : 0o644;
        addFile(
            `${rng.pick(nested).rel}/${rng.pick(words)}-${i.toString(36)}.${ext}`,
            size,
            kind,
            mode,
            rng.chance(0.03) ? 1000 : 0,
        );
        smallBytes += size;
    }
    const mediumCount = Math.max(2, Math.round(42 * scale));
    let mediumBytes = 0;
    for (let i = 0; i < mediumCount; i++) {
        const kind = rng.chance(0.5) ? "text" : "random";
        const size = rng.int(MiB, 16 * MiB) + rng.int(0, 4096);
        addFile(
            `${rng.pick(nested).rel}/media-${i}.${kind === "text" ? "log" : "bin"}`,
            size,
            kind,
        );
        mediumBytes += size;
    }
    addDir("srv/blobs");
    let rem = totalBytes - smallBytes - mediumBytes;
    for (let i = 0; rem >= MiB; i++) {
        let size = rng.int(100 * MiB, 500 * MiB) + rng.int(0, 4096);
        if (size > rem || rem - size < 100 * MiB) {
            size = rem;
        }
        addFile(`srv/blobs/big-${i}.img`, size, i % 2 === 0 ? "random" : "text");
        rem -= size;
    }

    // Long and non-ASCII names: USTAR prefix splits, PAX paths, a long directory name.
    addDir("names/long");
    for (let i = 0; i < 10; i++) {
        addFile(`names/long/${"long-name-".repeat(12)}${i}.txt`, smallSize(rng), "text");
    }
    let deep = "names";
    for (let i = 0; i < 4; i++) {
        deep += `/deep-directory-name-${"d".repeat(20)}-${i}`;
        addDir(deep);
    }
    for (let i = 0; i < 5; i++) {
        addFile(`${deep}/${"p".repeat(150)}-${i}.dat`, smallSize(rng), "random");
    }
    const longDir = addDir(`names/${"directory-".repeat(11)}x`).rel;
    addFile(`${longDir}/inside.txt`, 1000, "text");
    addDir("names/répertoire");
    for (let i = 0; i < 5; i++) {
        addFile(`names/héllo-wörld-${i}.txt`, smallSize(rng), "text");
        addFile(`names/日本語-${i}.txt`, smallSize(rng), "text");
        addFile(`names/répertoire/fichier-${i}.txt`, smallSize(rng), "text");
    }
    for (let i = 0; i < 10; i++) {
        addDir(`${rng.pick(nested).rel}/empty-${i}`);
    }

    const small = files.slice(0, smallCount);
    const linkCount = Math.max(5, Math.round(100 * scale));
    const linked = new Set();
    for (let i = 0; i < 3 * linkCount; i++) {
        const dir = rng.pick(nested).rel;
        const r = rng.float();
        let target;
        if (r < 0.5) {
            target = path.posix.relative(dir, rng.pick(small).rel);
        } else if (r < 0.7) {
            target = `/usr/lib/x86_64-linux-gnu/lib${rng.pick(words)}.so.${rng.int(0, 9)}`;
        } else if (r < 0.85) {
            target = `../missing-${i}`;
        } else if (r < 0.95) {
            target = path.posix.relative(dir, rng.pick(nested).rel) || ".";
        } else {
            target = `/opt/${"very-long-symlink-target/".repeat(6)}${i}`;
        }
        symlinks.push({ rel: `${dir}/link-${i}`, target });
    }
    for (let i = 0; i < 2 * linkCount; i++) {
        const target = rng.pick(small);
        if (linked.has(target.rel)) {
            continue;
        }
        const rel = `${rng.pick(nested).rel}/hl-${i}`;
        hardlinks.push({ rel, target: target.rel });
        linked.add(target.rel).add(rel);
    }
    return { dirs, files, symlinks, hardlinks, linked };
}

function buildLower(root, plan, blocks, seed) {
    fs.mkdirSync(root, { recursive: true });
    for (const d of plan.dirs) {
        fs.mkdirSync(path.join(root, d.rel));
    }
    let bytes = 0;
    for (const f of plan.files) {
        writeFile(path.join(root, f.rel), f, blocks, seed);
        bytes += f.size;
    }
    for (const s of plan.symlinks) {
        fs.symlinkSync(s.target, path.join(root, s.rel));
    }
    for (const h of plan.hardlinks) {
        fs.linkSync(path.join(root, h.target), path.join(root, h.rel));
    }
    for (const d of plan.dirs) {
        fs.chmodSync(path.join(root, d.rel), d.mode); // explicit: the umask must not matter
    }
    return {
        files: plan.files.length,
        bytes,
        dirs: plan.dirs.length,
        symlinks: plan.symlinks.length,
        hardlinks: plan.hardlinks.length,
        large: plan.files.filter((f) => f.size >= 100 * MiB).map((f) => f.size),
        medium: plan.files.filter((f) => f.size >= MiB && f.size < 100 * MiB).length,
    };
}
