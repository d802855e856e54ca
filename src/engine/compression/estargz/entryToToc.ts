/**
 * Mirrors stargz-snapshotter estargz v0.12.0 `estargz.go` `appendTar` (lossless), the part that
 * turns one tar header into its TOC entry: the `stargz.index.json` guard, the fields copied from
 * the header, `nameIfChanged` for user/group names, `formatModtime`, xattrs from `SCHILY.xattr.*`
 * PAX records, and the typeflag switch that rejects anything but types 0-6.
 */
import { EngineError } from "../../errors";
import { formatModtime } from "./modtime";
import type { ScannedEntry } from "./tarEntry";
import type { TocBuilder, TocEntry, TocEntryType } from "./toc";

export const TOCTarName = "stargz.index.json";
const XATTR_PREFIX = "SCHILY.xattr.";

const TYPES: ReadonlyMap<number, TocEntryType> = new Map([
    [0x30, "reg"],
    [0x31, "hardlink"],
    [0x32, "symlink"],
    [0x33, "char"],
    [0x34, "block"],
    [0x35, "dir"],
    [0x36, "fifo"],
]);

/** `strings.TrimPrefix(path.Clean("/"+name), "/")`. */
export function cleanEntryName(name: Buffer): string {
    const stack: string[] = [];
    for (const seg of name.toString("latin1").split("/")) {
        if (seg === "" || seg === ".") continue;
        if (seg === "..") stack.pop();
        else stack.push(seg);
    }
    return stack.join("/");
}

/** Go's %q of a byte: a single-quoted character literal. */
function quoteByte(c: number): string {
    if (c >= 0x20 && c < 0x7f) {
        return c === 0x27 || c === 0x5c ? `'\\${String.fromCharCode(c)}'` : `'${String.fromCharCode(c)}'`;
    }
    return `'\\x${c.toString(16).padStart(2, "0")}'`;
}

function xattrsOf(pax: ReadonlyMap<string, Buffer>): Map<string, Buffer> {
    const x = new Map<string, Buffer>();
    for (const [k, v] of pax) {
        if (k.startsWith(XATTR_PREFIX)) {
            x.set(k.slice(XATTR_PREFIX.length), v);
        }
    }
    return x;
}

/** The TOC entry for a tar entry (for a regular file: its first chunk's entry, no digests yet). */
export function tocEntryFor(e: ScannedEntry, toc: TocBuilder): TocEntry {
    if (cleanEntryName(e.name) === TOCTarName) {
        // A lossless writer cannot replace an existing TOC without changing the tar.
        throw new EngineError(
            "InvalidArgument",
            "existing TOC JSON is not allowed; decompress layer before append",
            { path: e.name.toString("utf8") },
        );
    }
    const ent: TocEntry = {
        name: e.name,
        type: "reg",
        mode: e.mode,
        uid: e.uid,
        gid: e.gid,
        userName: toc.userName(e.uid, e.uname),
        groupName: toc.groupName(e.gid, e.gname),
        modtime: formatModtime(e.mtime),
        xattrs: xattrsOf(e.pax),
    };
    const type = TYPES.get(e.typeflag);
    if (type === undefined) {
        throw new EngineError("Unsupported", `unsupported input tar entry ${quoteByte(e.typeflag)}`, {
            path: e.name.toString("utf8"),
            typeflag: e.typeflag,
        });
    }
    ent.type = type;
    switch (type) {
        case "hardlink":
        case "symlink":
            ent.linkName = e.linkname;
            break;
        case "reg":
            ent.size = e.size;
            break;
        case "char":
        case "block":
            ent.devMajor = e.devmajor;
            ent.devMinor = e.devminor;
            break;
        default:
            break;
    }
    return ent;
}
