/**
 * The files of an image source, by name: a directory (OCI layout, or an unpacked `docker save`)
 * or an uncompressed tar of one (OCI archive, `docker save` archive). A tar is indexed once by
 * walking its headers (seeking over payloads, never reading them); a member is then read as a
 * byte range of the archive. Names are looked up, never used to build a path outside the source:
 * a directory member is opened only when its real path is inside the directory and it is a
 * regular file.
 */
import { createReadStream, promises as fsp, realpathSync } from "node:fs";
import * as path from "node:path";
import type { Readable } from "node:stream";
import { EngineError, fromSystemError } from "../errors";
import { parsePAXRecords, parseString } from "../compression/estargz/goParse";
import { BLOCK, decodeHeaderBlock, isZeroBlock } from "../compression/estargz/tarBlock";

export interface FileAccess {
    readonly kind: "dir" | "tar";
    readonly path: string;
    /** The member's size, or null when there is no regular file of that name. */
    size(name: string): Promise<number | null>;
    open(name: string): Readable;
    /**
     * Where a member's bytes are: a file and a byte range of it (null when there is no such
     * member). Sources on disk have it; one held in memory (a test's) may not.
     */
    locate?(name: string): Promise<{ readonly file: string; readonly offset: number; readonly size: number } | null>;
    close(): Promise<void>;
}

/** A member name from an image's own documents (manifest.json paths): relative, no `..`. */
export function cleanMemberName(name: string, what: string): string {
    if (typeof name !== "string" || name === "" || name.startsWith("/") || name.includes("\0")) {
        throw new EngineError("UnsafePath", `${what}: member name ${JSON.stringify(name)} must be a relative path`, { path: what, reason: "absolute-path" });
    }
    const parts = name.split("/").filter((p) => p !== "" && p !== ".");
    if (parts.includes("..")) {
        throw new EngineError("UnsafePath", `${what}: member name ${JSON.stringify(name)} leaves the image (..)`, { path: what, reason: "path-traversal" });
    }
    return parts.join("/");
}

export async function openFiles(source: string): Promise<FileAccess> {
    const abs = path.resolve(source);
    let st;
    try {
        st = await fsp.stat(abs);
    } catch (err) {
        throw fromSystemError(err, abs, "opening the image source");
    }
    if (st.isDirectory()) return dirAccess(realpathSync(abs));
    if (st.isFile()) return tarAccess(abs, st.size);
    throw new EngineError("InvalidArgument", `${abs}: an image source is a directory or a tar file`, { path: abs });
}

function dirAccess(root: string): FileAccess {
    const resolve = async (name: string): Promise<string | null> => {
        const p = path.join(root, cleanMemberName(name, root));
        let real: string;
        try {
            real = await fsp.realpath(p);
        } catch {
            return null;
        }
        if (!real.startsWith(root + path.sep)) {
            throw new EngineError("UnsafePath", `${p}: resolves to ${real}, outside the image directory ${root}`, { path: p, reason: "symlink-escape" });
        }
        return real;
    };
    const located = new Map<string, string>();
    return {
        kind: "dir",
        path: root,
        async size(name) {
            const real = await resolve(name);
            if (!real) return null;
            const st = await fsp.stat(real);
            if (!st.isFile()) return null;
            located.set(name, real);
            return st.size;
        },
        async locate(name) {
            const size = await this.size(name);
            return size === null ? null : { file: located.get(name)!, offset: 0, size };
        },
        open(name) {
            const real = located.get(name);
            if (!real) throw new EngineError("Internal", `image member ${name} opened before it was sized`);
            return createReadStream(real, { highWaterMark: 1 << 20 });
        },
        async close() {},
    };
}

interface Member {
    readonly offset: number;
    readonly size: number;
}

async function tarAccess(file: string, fileSize: number): Promise<FileAccess> {
    const fh = await fsp.open(file, "r");
    let members: Map<string, Member>;
    let links: Map<string, string>;
    try {
        ({ members, links } = await indexTar(fh, file, fileSize));
    } finally {
        await fh.close();
    }
    // `docker save` archives written by containers/image link <id>/layer.tar to ../<diffID>.tar.
    const lookup = (name: string): Member | undefined => {
        let n = cleanMemberName(name, file);
        for (let hops = 0; hops < 8; hops++) {
            const m = members.get(n);
            if (m) return m;
            const target = links.get(n);
            if (target === undefined) return undefined;
            const parts = target.startsWith("/") ? [] : n.split("/").slice(0, -1);
            for (const c of target.split("/")) {
                if (c === "" || c === ".") continue;
                if (c === "..") {
                    if (parts.length === 0) return undefined; // out of the archive: no such member
                    parts.pop();
                } else parts.push(c);
            }
            n = parts.join("/");
        }
        return undefined;
    };
    return {
        kind: "tar",
        path: file,
        async size(name) {
            return lookup(name)?.size ?? null;
        },
        async locate(name) {
            const m = lookup(name);
            return m ? { file, offset: m.offset, size: m.size } : null;
        },
        open(name) {
            const m = lookup(name)!;
            // An empty range would make createReadStream read to the end of the file.
            return m.size === 0
                ? createReadStream(file, { start: 1, end: 0 })
                : createReadStream(file, { start: m.offset, end: m.offset + m.size - 1, highWaterMark: 1 << 20 });
        },
        async close() {},
    };
}

const TYPE_XHEADER = 0x78;
const TYPE_XGLOBAL = 0x67;
const TYPE_GNU_LONGNAME = 0x4c;
const META_LIMIT = 1 << 20;

/** Regular-file members of an uncompressed tar: name → byte range. The last of a name wins. */
async function indexTar(fh: fsp.FileHandle, file: string, fileSize: number): Promise<{ members: Map<string, Member>; links: Map<string, string> }> {
    const members = new Map<string, Member>();
    const links = new Map<string, string>();
    const block = Buffer.alloc(BLOCK);
    const bad = (message: string, reason = "bad-archive"): EngineError =>
        new EngineError("Corrupt", `${file}: ${message}`, { path: file, reason });
    let off = 0;
    let longName: Buffer | undefined;
    let paxPath: Buffer | undefined;
    let paxLink: Buffer | undefined;
    const magic = Buffer.alloc(2);
    await fh.read(magic, 0, 2, 0);
    if (magic[0] === 0x1f && magic[1] === 0x8b) {
        throw new EngineError("Unsupported", `${file}: the archive is gzip-compressed; decompress it first (gunzip)`, { path: file, reason: "compressed-archive" });
    }
    for (;;) {
        if (off + BLOCK > fileSize) {
            if (off === fileSize && members.size > 0) break; // no end blocks: tolerated, as Go does
            throw bad(off === 0 ? "empty file, not an image archive" : "truncated tar (ends inside a header)");
        }
        await fh.read(block, 0, BLOCK, off);
        if (isZeroBlock(block)) break;
        const hdr = decodeHeaderBlock(block);
        if (hdr.size < 0n || hdr.size > BigInt(Number.MAX_SAFE_INTEGER)) throw bad(`member at offset ${off} has an invalid size`);
        const size = Number(hdr.size);
        const dataOff = off + BLOCK;
        if (dataOff + size > fileSize) throw bad(`member at offset ${off} claims ${size} bytes past the end of the file`, "size-mismatch");
        const next = dataOff + Math.ceil(size / BLOCK) * BLOCK;
        if (hdr.typeflag === TYPE_XHEADER || hdr.typeflag === TYPE_GNU_LONGNAME || hdr.typeflag === TYPE_XGLOBAL) {
            if (size > META_LIMIT) throw bad(`extended header of ${size} bytes at offset ${off}`);
            const payload = Buffer.alloc(size);
            await fh.read(payload, 0, size, dataOff);
            if (hdr.typeflag === TYPE_XHEADER) {
                const records = parsePAXRecords(payload);
                paxPath = records.get("path");
                paxLink = records.get("linkpath");
            }
            if (hdr.typeflag === TYPE_GNU_LONGNAME) longName = Buffer.from(parseString(payload));
            off = next;
            continue;
        }
        const name = (paxPath && paxPath.length > 0 ? paxPath : longName ?? hdr.name).toString("utf8");
        const linkname = (paxLink && paxLink.length > 0 ? paxLink : hdr.linkname).toString("utf8");
        paxPath = undefined;
        paxLink = undefined;
        longName = undefined;
        const clean = name.split("/").filter((p) => p !== "" && p !== ".").join("/");
        if (clean && !clean.split("/").includes("..")) {
            if (hdr.typeflag === 0x30 || hdr.typeflag === 0) {
                members.set(clean, { offset: dataOff, size });
                links.delete(clean);
            } else if (hdr.typeflag === 0x32 || hdr.typeflag === 0x31) {
                // symlink: relative to its directory; hard link: an archive-root name
                links.set(clean, hdr.typeflag === 0x31 ? `/${linkname}` : linkname);
                members.delete(clean);
            }
        }
        off = next;
    }
    return { members, links };
}
