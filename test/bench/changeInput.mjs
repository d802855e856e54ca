/**
 * The bench's "changes" input: a change of ~5% of the lower tree's entries, written twice with
 * the same inodes, as an overlayfs upperdir (0/0 character-device whiteouts) and as a full upper
 * tree (`cp -al` of lower, each changed entry replaced by a hard link to its upperdir copy).
 * Every directory the change touches gets the same mtime in both, so the two-tree diff and the
 * overlay diff describe the same layer.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { MiB, mix, smallSize, writeFile } from "./content.mjs";

/** mtime of every directory the change touches, in upper and upperdir alike. */
const T_CHANGED_DIRS = 1700001000;

/** ~5% of the entries: ~3% modified, ~1% removed (+3 whole dirs), ~1.5% added, symlinks. */
export function planChange(rng, words, lower) {
    const n = lower.files.length + lower.symlinks.length + lower.hardlinks.length;
    const under = (dir, rel) => rel.startsWith(`${dir}/`);
    const deletedDirs = [];
    const candidatesDirs = lower.dirs.filter((d) => d.depth >= 3 && !d.rel.startsWith("names"));
    for (let tries = 0; deletedDirs.length < 3 && tries < 1000; tries++) {
        const d = rng.pick(candidatesDirs);
        const inside = lower.files.filter((f) => under(d.rel, f.rel));
        const clash =
            [...lower.linked].some((r) => under(d.rel, r)) ||
            deletedDirs.some((o) => o === d.rel || under(o, d.rel) || under(d.rel, o)) ||
            inside.some((f) => f.size >= MiB);
        if (!clash && inside.length > 0 && inside.length <= 60) {
            deletedDirs.push(d.rel);
        }
    }
    const gone = (rel) => deletedDirs.some((d) => d === rel || under(d, rel));
    const pool = lower.files.filter((f) => !lower.linked.has(f.rel) && !gone(f.rel));
    const taken = new Set();
    const take = (items, count) => {
        const out = [];
        for (let tries = 0; out.length < count && tries < count * 20; tries++) {
            const it = rng.pick(items);
            if (it && !taken.has(it.rel)) {
                taken.add(it.rel);
                out.push(it);
            }
        }
        return out;
    };
    const large = pool.filter((f) => f.size >= 100 * MiB);
    const medium = pool.filter((f) => f.size >= MiB && f.size < 100 * MiB);
    const small = pool.filter((f) => f.size < MiB);
    const modify = [
        ...take(large, 1),
        ...take(medium, 5),
        ...take(small, Math.round(0.03 * n)),
    ].map((f) => ({
        ...f,
        size: rng.chance(0.5)
            ? f.size
            : f.size < MiB
              ? smallSize(rng)
              : f.size + rng.int(-4096, 4096),
        seed: mix(f.seed, 0xc4a9e),
    }));
    const chmod = take(small, Math.max(1, Math.round(0.0015 * n))).map((f) => ({
        ...f,
        mode: f.mode ^ 0o111,
    }));
    const removeFiles = [
        ...take(small, Math.round(0.01 * n)),
        ...lower.hardlinks.slice(0, 10).filter((h) => !gone(h.rel)),
    ].map((f) => f.rel);
    const liveLinks = lower.symlinks.filter((s) => !gone(s.rel));
    const retarget = take(liveLinks, Math.max(1, Math.round(0.001 * n))).map((s) => ({
        ...s,
        target: `${s.target}.new`,
    }));
    const removeLinks = take(liveLinks, Math.max(1, Math.round(0.0005 * n))).map((s) => s.rel);

    const liveDirs = lower.dirs.filter((d) => d.depth >= 2 && !gone(d.rel));
    const newDirs = [];
    for (let i = 0; i < 5; i++) {
        const parent = i >= 3 ? newDirs[i - 3] : rng.pick(liveDirs).rel;
        newDirs.push(`${parent}/new-dir-${i}`);
    }
    const add = [];
    const addTo = [...liveDirs.map((d) => d.rel), ...newDirs];
    for (let i = 0; i < Math.round(0.015 * n); i++) {
        const kind = rng.chance(0.6) ? "text" : "random";
        const dir = i < newDirs.length ? newDirs[i] : rng.pick(addTo);
        add.push({
            rel: `${dir}/new-${i}-${rng.pick(words)}.txt`,
            size: smallSize(rng),
            kind,
            mode: 0o644,
            uid: 0,
            seed: mix(0xadd, i),
        });
    }
    for (let i = 0; i < 3; i++) {
        add.push({
            rel: `${rng.pick(addTo)}/new-media-${i}.bin`,
            size: rng.int(MiB, 16 * MiB),
            kind: "random",
            mode: 0o644,
            uid: 0,
            seed: mix(0xadd5, i),
        });
    }
    return { deletedDirs, modify, chmod, removeFiles, retarget, removeLinks, newDirs, add };
}

export function applyChange(paths, change, blocks, seed) {
    const { lower, upper, upperdir } = paths;
    fs.mkdirSync(upperdir);
    fs.chmodSync(upperdir, fs.lstatSync(lower).mode & 0o7777);
    const touched = new Set();
    const ensureDir = (relDir) => {
        if (relDir === "." || touched.has(relDir)) {
            return;
        }
        ensureDir(path.posix.dirname(relDir));
        touched.add(relDir);
        const st = lstatOrNull(path.join(lower, relDir));
        const mode = st ? st.mode & 0o7777 : 0o755;
        for (const root of [upperdir, upper]) {
            const abs = path.join(root, relDir);
            if (!fs.existsSync(abs)) {
                fs.mkdirSync(abs);
                fs.chmodSync(abs, mode);
                if (st) {
                    fs.chownSync(abs, st.uid, st.gid);
                }
            }
        }
    };
    /** The entry was made in upperdir; upper gets the same inode under the same name. */
    const linkIntoUpper = (rel) => {
        fs.rmSync(path.join(upper, rel), { force: true });
        fs.linkSync(path.join(upperdir, rel), path.join(upper, rel));
    };
    const whiteout = (rel) => {
        ensureDir(path.posix.dirname(rel));
        execFileSync("mknod", [path.join(upperdir, rel), "c", "0", "0"]);
        fs.rmSync(path.join(upper, rel), { recursive: true });
    };

    for (const d of change.deletedDirs) {
        whiteout(d);
    }
    for (const f of [...change.modify, ...change.add]) {
        ensureDir(path.posix.dirname(f.rel));
        writeFile(path.join(upperdir, f.rel), f, blocks, seed);
        linkIntoUpper(f.rel);
    }
    for (const f of change.chmod) {
        ensureDir(path.posix.dirname(f.rel));
        fs.copyFileSync(path.join(lower, f.rel), path.join(upperdir, f.rel));
        fs.chmodSync(path.join(upperdir, f.rel), f.mode);
        linkIntoUpper(f.rel);
    }
    for (const rel of [...change.removeFiles, ...change.removeLinks]) {
        whiteout(rel);
    }
    for (const s of change.retarget) {
        ensureDir(path.posix.dirname(s.rel));
        fs.symlinkSync(s.target, path.join(upperdir, s.rel));
        linkIntoUpper(s.rel);
    }
    for (const rel of change.newDirs) {
        ensureDir(rel);
    }
    // Last, once nothing else changes them: the same mtime for every touched directory.
    for (const rel of touched) {
        for (const root of [upperdir, upper]) {
            fs.utimesSync(path.join(root, rel), T_CHANGED_DIRS, T_CHANGED_DIRS);
        }
    }
    return {
        modified: change.modify.length,
        modifiedBytes: change.modify.reduce((s, f) => s + f.size, 0),
        chmodded: change.chmod.length,
        added: change.add.length,
        addedBytes: change.add.reduce((s, f) => s + f.size, 0),
        removedFiles: change.removeFiles.length + change.removeLinks.length,
        removedDirs: change.deletedDirs.length,
        retargetedSymlinks: change.retarget.length,
        newDirs: change.newDirs.length,
        touchedDirs: touched.size,
    };
}

function lstatOrNull(p) {
    try {
        return fs.lstatSync(p);
    } catch {
        return null;
    }
}
