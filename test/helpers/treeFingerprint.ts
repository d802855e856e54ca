/** A fingerprint of a whole tree: type, mode, owner, size, mtime and ctime (ns), device, link count, link target, content and every xattr (getfattr, trusted.* included as root). */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { lstatSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";

export function treeFingerprint(dir: string): string {
    const h = createHash("sha256");
    const walk = (p: string, rel: string): void => {
        const st = lstatSync(p, { bigint: true });
        h.update(`${rel}\0${st.mode}\0${st.uid}:${st.gid}\0${st.size}\0${st.mtimeNs}\0${st.ctimeNs}\0${st.rdev}\0${st.nlink}\0`);
        if (st.isSymbolicLink()) h.update(readlinkSync(p));
        else if (st.isFile()) h.update(readFileSync(p));
        else if (st.isDirectory()) for (const name of readdirSync(p).sort()) walk(join(p, name), `${rel}/${name}`);
    };
    walk(dir, "");
    const xattrs = spawnSync("getfattr", ["-R", "-h", "-d", "-m", "-", "-e", "hex", "--absolute-names", dir], { encoding: "utf8" });
    h.update(xattrs.stdout);
    return h.digest("hex");
}
