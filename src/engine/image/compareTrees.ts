/**
 * Two applied snapshot trees compared the way an image's content is judged: names, types, modes,
 * owners, sizes, contents, symlink targets, device numbers, xattrs, link counts, and mtimes to
 * the second, and the one xattr containerd's tar writer carries (security.capability): finer
 * times and other xattrs are writer traits, reported elsewhere. Returns the first differences.
 *
 * `compareTreesAsync` is the one the engine runs (verify-image, on the extension host's event
 * loop): directory reads, stats and content reads are asynchronous and a Yielder gives the loop
 * a turn between entries. `compareTrees` is the same walk with synchronous calls, for tests and
 * tools that want a plain value.
 */
import { createHash, type Hash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { Yielder } from "../util/yielder";

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

const READ_FLAGS = fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW;
const READ_CHUNK = 1 << 20;

function fileHash(p: string): string {
    const h = createHash("sha256");
    const fd = fs.openSync(p, READ_FLAGS);
    try {
        const buf = Buffer.allocUnsafe(READ_CHUNK);
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

/** sha256 of a file read asynchronously in 1 MiB chunks (one hash.update per chunk: ~2 ms). */
async function fileHashAsync(p: string, yielder: Yielder): Promise<string> {
    const h: Hash = createHash("sha256");
    const fh = await fs.promises.open(p, READ_FLAGS);
    try {
        const buf = Buffer.allocUnsafe(READ_CHUNK);
        for (;;) {
            const { bytesRead } = await fh.read(buf, 0, buf.length, null);
            if (bytesRead === 0) break;
            h.update(buf.subarray(0, bytesRead));
            await yielder.maybeYield();
        }
    } finally {
        await fh.close();
    }
    return h.digest("hex");
}

type Kind = "dir" | "file" | "symlink" | "char" | "block" | "fifo" | "socket";

function kindOf(st: fs.BigIntStats): Kind {
    return st.isDirectory() ? "dir" : st.isFile() ? "file" : st.isSymbolicLink() ? "symlink" : st.isCharacterDevice() ? "char" : st.isBlockDevice() ? "block" : st.isFIFO() ? "fifo" : "socket";
}

/** The compared attributes; `content` and `target` are filled in by the caller for files and symlinks. */
function describeStat(p: string, st: fs.BigIntStats): Record<string, string> {
    const type = kindOf(st);
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
    }
    if (type === "char" || type === "block") d.rdev = st.rdev.toString();
    if (type === "symlink") delete d.mode;
    return d;
}

function describe(p: string, st: fs.BigIntStats): Record<string, string> {
    const d = describeStat(p, st);
    if (d.type === "file") d.content = fileHash(p);
    if (d.type === "symlink") d.target = fs.readlinkSync(p);
    return d;
}

async function describeAsync(p: string, st: fs.BigIntStats, yielder: Yielder): Promise<Record<string, string>> {
    const d = describeStat(p, st);
    if (d.type === "file") d.content = await fileHashAsync(p, yielder);
    if (d.type === "symlink") d.target = await fs.promises.readlink(p);
    return d;
}

/** The names of both directories, sorted, each marked with where it is. */
function mergeNames(an: readonly string[], bn: readonly string[]): { name: string; inA: boolean; inB: boolean }[] {
    const a = new Set(an);
    const b = new Set(bn);
    return [...new Set([...an, ...bn])].sort().map((name) => ({ name, inA: a.has(name), inB: b.has(name) }));
}

function difference(r: string, da: Record<string, string>, db: Record<string, string>): string | null {
    const diff = Object.keys({ ...da, ...db }).filter((k) => da[k] !== db[k]);
    return diff.length > 0 ? `${r}: ${diff.map((k) => `${k} ${da[k] ?? "-"} vs ${db[k] ?? "-"}`).join(", ")}` : null;
}

export function compareTrees(a: string, b: string, limit = 20): string[] {
    const out: string[] = [];
    const walk = (rel: string): void => {
        if (out.length >= limit) return;
        for (const { name, inA, inB } of mergeNames(fs.readdirSync(path.join(a, rel)), fs.readdirSync(path.join(b, rel)))) {
            if (out.length >= limit) return;
            const r = rel ? `${rel}/${name}` : name;
            if (!inB) {
                out.push(`${r}: only in the image's tree`);
                continue;
            }
            if (!inA) {
                out.push(`${r}: only in the recomputed tree`);
                continue;
            }
            const pa = path.join(a, r);
            const pb = path.join(b, r);
            const sa = fs.lstatSync(pa, { bigint: true });
            const sb = fs.lstatSync(pb, { bigint: true });
            const d = difference(r, describe(pa, sa), describe(pb, sb));
            if (d !== null) out.push(d);
            if (sa.isDirectory() && sb.isDirectory()) walk(r);
        }
    };
    walk("");
    return out;
}

export interface CompareTreesOptions {
    readonly limit?: number;
    readonly signal?: AbortSignal;
}

/** `compareTrees` without holding the event loop: the same walk, order and messages. */
export async function compareTreesAsync(a: string, b: string, opts: CompareTreesOptions = {}): Promise<string[]> {
    const limit = opts.limit ?? 20;
    const yielder = new Yielder(opts.signal);
    const out: string[] = [];
    const walk = async (rel: string): Promise<void> => {
        if (out.length >= limit) return;
        const [an, bn] = await Promise.all([fs.promises.readdir(path.join(a, rel)), fs.promises.readdir(path.join(b, rel))]);
        for (const { name, inA, inB } of mergeNames(an, bn)) {
            if (out.length >= limit) return;
            await yielder.maybeYield();
            const r = rel ? `${rel}/${name}` : name;
            if (!inB) {
                out.push(`${r}: only in the image's tree`);
                continue;
            }
            if (!inA) {
                out.push(`${r}: only in the recomputed tree`);
                continue;
            }
            const pa = path.join(a, r);
            const pb = path.join(b, r);
            const [sa, sb] = await Promise.all([fs.promises.lstat(pa, { bigint: true }), fs.promises.lstat(pb, { bigint: true })]);
            const d = difference(r, await describeAsync(pa, sa, yielder), await describeAsync(pb, sb, yielder));
            if (d !== null) out.push(d);
            if (sa.isDirectory() && sb.isDirectory()) await walk(r);
        }
    };
    await walk("");
    return out;
}
