/**
 * The read-only guarantee, checked: a manifest of every path under a set of trees (type, mode,
 * owner, size, mtime and ctime in ns, device, link count, link target, content hash, and every
 * xattr through getfattr, trusted.* included as root), taken once and compared after each
 * command; a difference names the paths that changed and how. ctime moves on any inode change
 * (chmod, chown, xattr, link, write), so even a write that restores the old bytes and mtime is
 * caught. atime is left out: reading is allowed to touch it.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { lstatSync, readFileSync, readdirSync, readlinkSync } from "node:fs";

/** rel path → one line describing it ("" is the tree's root). */
export function treeManifest(dir: string): Map<string, string> {
    const out = new Map<string, string>();
    // Buffer paths: snapshot trees hold names that are not UTF-8.
    const walk = (p: Buffer, rel: string): void => {
        const st = lstatSync(p, { bigint: true });
        let what = `mode=${st.mode.toString(8)} owner=${st.uid}:${st.gid} size=${st.size} mtime=${st.mtimeNs} ctime=${st.ctimeNs} rdev=${st.rdev} nlink=${st.nlink}`;
        if (st.isSymbolicLink()) what += ` -> ${readlinkSync(p, { encoding: "buffer" }).toString("hex")}`;
        else if (st.isFile()) what += ` sha256=${createHash("sha256").update(readFileSync(p)).digest("hex")}`;
        out.set(rel, what);
        if (st.isDirectory()) {
            const names = readdirSync(p, { encoding: "buffer" }).sort(Buffer.compare);
            for (const name of names) walk(Buffer.concat([p, Buffer.from("/"), name]), `${rel}/${name.toString("latin1")}`);
        }
    };
    walk(Buffer.from(dir), "");
    const x = spawnSync("getfattr", ["-R", "-h", "-d", "-m", "-", "-e", "hex", "--absolute-names", dir], { encoding: "utf8", maxBuffer: 1 << 30 });
    if (x.error === undefined) {
        // Blocks of "# file: PATH" then name=value lines; attach each block to its path.
        for (const block of x.stdout.split("\n\n")) {
            const [head, ...attrs] = block.trim().split("\n");
            if (!head?.startsWith("# file: ")) continue;
            const rel = head.slice("# file: ".length).slice(dir.length);
            out.set(`${rel} xattrs`, attrs.sort().join(" "));
        }
    }
    return out;
}

/** One hash of the whole manifest (for a quick equality). */
export function treeFingerprint(dir: string): string {
    const h = createHash("sha256");
    for (const [rel, what] of [...treeManifest(dir)].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) h.update(`${rel}\0${what}\n`);
    return h.digest("hex");
}

/** What differs between two manifests, one line per path. */
export function manifestDiff(before: Map<string, string>, after: Map<string, string>): string[] {
    const out: string[] = [];
    for (const [rel, was] of before) {
        const now = after.get(rel);
        if (now === undefined) out.push(`removed ${rel || "/"}`);
        else if (now !== was) out.push(`changed ${rel || "/"}: ${was}  =>  ${now}`);
    }
    for (const rel of after.keys()) if (!before.has(rel)) out.push(`added ${rel || "/"}`);
    return out;
}

/** Manifests of `dirs` taken now; check() after each command. */
export class ReadOnlyGuard {
    private readonly before: Map<string, Map<string, string>>;
    /** Commands checked so far. */
    checked = 0;

    constructor(readonly dirs: readonly string[]) {
        this.before = new Map(dirs.map((d) => [d, treeManifest(d)]));
    }

    /** Fails, naming every changed path, if any tree differs from when the guard was made. */
    check(after: string): void {
        for (const [dir, was] of this.before) {
            const diff = manifestDiff(was, treeManifest(dir));
            assert.deepEqual(diff, [], `${after} changed ${dir}:\n${diff.slice(0, 20).join("\n")}`);
        }
        this.checked++;
    }
}
