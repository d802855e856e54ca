/**
 * Independent expectations for layer contents tests: a directory tree walked with plain lstat,
 * and a layer tar split into its entries (tarEntries.ts), both keyed by "/a/b" paths as latin1
 * strings (so non-UTF-8 names survive), plus a walker over a LayerContents.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import type { LayerContents, LayerEntry } from "../../src/engine";
import { parseTar } from "./tarEntries";

export interface DiskEntry {
    readonly type: string;
    readonly mode: number;
    readonly uid: number;
    readonly gid: number;
    readonly size: number;
    readonly mtimeNs: bigint;
    readonly ino: bigint;
    readonly target: Buffer | null;
    readonly sha: string | null;
    readonly rdev: bigint;
}

const sha = (b: Buffer): string => createHash("sha256").update(b).digest("hex");

function typeOf(st: fs.BigIntStats): string {
    if (st.isFile()) return "file";
    if (st.isDirectory()) return "dir";
    if (st.isSymbolicLink()) return "symlink";
    if (st.isCharacterDevice()) return "char";
    if (st.isBlockDevice()) return "block";
    if (st.isFIFO()) return "fifo";
    return "socket";
}

/** Every entry below `root` (the root excluded), keyed "/a/b" (latin1). */
export function walkDisk(root: string): Map<string, DiskEntry> {
    const out = new Map<string, DiskEntry>();
    const visit = (abs: Buffer, rel: Buffer): void => {
        for (const name of fs.readdirSync(abs, { encoding: "buffer" })) {
            const a = Buffer.concat([abs, Buffer.from("/"), name]);
            const r = Buffer.concat([rel, Buffer.from("/"), name]);
            const st = fs.lstatSync(a, { bigint: true });
            const type = typeOf(st);
            out.set(r.toString("latin1"), {
                type,
                mode: Number(st.mode) & 0o7777,
                uid: Number(st.uid),
                gid: Number(st.gid),
                size: Number(st.size),
                mtimeNs: st.mtimeNs,
                ino: st.ino,
                target: type === "symlink" ? fs.readlinkSync(a, { encoding: "buffer" }) : null,
                sha: type === "file" ? sha(fs.readFileSync(a)) : null,
                rdev: st.rdev,
            });
            if (type === "dir") visit(a, r);
        }
    };
    visit(Buffer.from(root), Buffer.alloc(0));
    return out;
}

export interface TarExpect {
    readonly type: string;
    readonly deleted: boolean;
    readonly sha: string | null;
    readonly linkname: string;
    readonly opaque: boolean;
}

const TAR_TYPES: Record<string, string> = { "0": "file", "\0": "file", "1": "hardlink", "2": "symlink", "3": "char", "4": "block", "5": "dir", "6": "fifo" };

/** What a layer tar holds, by path: entries, whiteouts as deletions, opaque markers on their directory. */
export function tarExpectations(tar: Buffer): Map<string, TarExpect> {
    const out = new Map<string, TarExpect>();
    const shaByPath = new Map<string, string>();
    for (const e of parseTar(tar).entries) {
        const clean = e.name.replace(/^\.?\/+/, "").replace(/\/+$/, "");
        if (clean === "" || clean === ".") continue;
        const slash = clean.lastIndexOf("/");
        const dir = slash < 0 ? "" : `/${clean.slice(0, slash)}`;
        const base = clean.slice(slash + 1);
        if (base === ".wh..wh..opq") {
            const d = out.get(dir);
            if (d) out.set(dir, { ...d, opaque: true });
            continue;
        }
        if (base.startsWith(".wh.")) {
            out.set(`${dir}/${base.slice(4)}`, { type: "whiteout", deleted: true, sha: null, linkname: "", opaque: false });
            continue;
        }
        const type = TAR_TYPES[e.typeflag] ?? `?${e.typeflag}`;
        const p = `/${clean}`;
        let s: string | null = null;
        if (type === "file") {
            s = e.dataSha256;
            shaByPath.set(p, s);
        } else if (type === "hardlink") {
            s = shaByPath.get(`/${e.linkname.replace(/^\/+/, "")}`) ?? null;
        }
        out.set(p, { type, deleted: false, sha: s, linkname: e.linkname, opaque: false });
    }
    return out;
}

/** Every entry of a LayerContents below `dir`, keyed "/a/b" (latin1 of the raw path). */
export async function walkContents(c: LayerContents, dir: string | Buffer = "/"): Promise<Map<string, LayerEntry>> {
    const out = new Map<string, LayerEntry>();
    const visit = async (d: string | Buffer): Promise<void> => {
        for (const e of await c.list(d)) {
            out.set(e.rawPath.toString("latin1"), e);
            if (e.type === "dir" && e.change !== "deleted") await visit(e.rawPath);
        }
    };
    await visit(dir);
    return out;
}

export async function readContents(c: LayerContents, p: string | Buffer, range?: { start?: number; end?: number }): Promise<Buffer> {
    const parts: Buffer[] = [];
    for await (const chunk of c.read(p, range)) parts.push(chunk as Buffer);
    return Buffer.concat(parts);
}

export const shaOf = sha;
