/**
 * Two applied snapshot trees compared the way an image's content is judged: names, types, modes,
 * owners, sizes, contents, symlink targets, device numbers, xattrs, link counts, and mtimes to
 * the second, and the one xattr containerd's tar writer carries (security.capability): finer
 * times and other xattrs are writer traits, reported elsewhere. Returns the first differences.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";

type XattrModule = { listAttributesSync(p: string): string[]; getAttributeSync(p: string, n: string): Buffer | null };
let xattrMod: XattrModule | undefined;

function xattrs(p: string): string {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    xattrMod ??= require("@napi-rs/xattr") as XattrModule;
    try {
        return xattrMod
            .listAttributesSync(p)
            .filter((n) => n === "security.capability")
            .sort()
            .map((n) => `${n}=${xattrMod!.getAttributeSync(p, n)?.toString("hex") ?? ""}`)
            .join(",");
    } catch {
        return "";
    }
}

function fileHash(p: string): string {
    const h = createHash("sha256");
    const fd = fs.openSync(p, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
    try {
        const buf = Buffer.allocUnsafe(1 << 20);
        for (;;) {
            const n = fs.readSync(fd, buf, 0, buf.length, null);
            if (n === 0) break;
            h.update(buf.subarray(0, n));
        }
    } finally {
        fs.closeSync(fd);
    }
    return h.digest("hex");
}

function describe(p: string, st: fs.BigIntStats): Record<string, string> {
    const type = st.isDirectory() ? "dir" : st.isFile() ? "file" : st.isSymbolicLink() ? "symlink" : st.isCharacterDevice() ? "char" : st.isBlockDevice() ? "block" : st.isFIFO() ? "fifo" : "socket";
    const d: Record<string, string> = {
        type,
        mode: (st.mode & 0o7777n).toString(8),
        owner: `${st.uid}:${st.gid}`,
        mtime: (st.mtimeNs / 1_000_000_000n).toString(),
        xattrs: xattrs(p),
    };
    if (type === "file") {
        d.size = st.size.toString();
        d.links = st.nlink.toString();
        d.content = fileHash(p);
    }
    if (type === "symlink") d.target = fs.readlinkSync(p);
    if (type === "char" || type === "block") d.rdev = st.rdev.toString();
    if (type === "symlink") delete d.mode;
    return d;
}

export function compareTrees(a: string, b: string, limit = 20): string[] {
    const out: string[] = [];
    const walk = (rel: string): void => {
        if (out.length >= limit) return;
        const an = new Set(fs.readdirSync(path.join(a, rel)));
        const bn = new Set(fs.readdirSync(path.join(b, rel)));
        for (const n of [...new Set([...an, ...bn])].sort()) {
            if (out.length >= limit) return;
            const r = rel ? `${rel}/${n}` : n;
            if (!bn.has(n)) {
                out.push(`${r}: only in the image's tree`);
                continue;
            }
            if (!an.has(n)) {
                out.push(`${r}: only in the recomputed tree`);
                continue;
            }
            const pa = path.join(a, r);
            const pb = path.join(b, r);
            const sa = fs.lstatSync(pa, { bigint: true });
            const sb = fs.lstatSync(pb, { bigint: true });
            const da = describe(pa, sa);
            const db = describe(pb, sb);
            const diff = Object.keys({ ...da, ...db }).filter((k) => da[k] !== db[k]);
            if (diff.length > 0) out.push(`${r}: ${diff.map((k) => `${k} ${da[k] ?? "-"} vs ${db[k] ?? "-"}`).join(", ")}`);
            if (sa.isDirectory() && sb.isDirectory()) walk(r);
        }
    };
    walk("");
    return out;
}
