/**
 * One layer tar, indexed in memory, as an upperdir-like TreeReader (what containerd's applier
 * with the overlay whiteout converter would leave in an upperdir), so layers read from blobs
 * stack in a MergedTree exactly as snapshot layers do:
 *
 * - `.wh.<name>` is a whiteout at <name> (WHITEOUT_STAT); `.wh..wh..opq` marks its directory
 *   opaque (reported as `trusted.overlay.opaque=y`); other `.wh..wh.` names are ignored
 *   (image-spec layer.md "Whiteouts"); a whiteout never hides an entry of its own layer;
 * - a later entry for the same name replaces an earlier one as containerd's applier does: it
 *   unlinks the old one and makes a new one (a new node: a hard link to the old file keeps the
 *   old content), except that a directory replaced by a directory keeps its children;
 * - parents a tar leaves out exist as directories (0755, root, epoch), as the applier makes them;
 * - names are cleaned; an absolute name is taken from the root; `..` is refused (UnsafePath).
 *
 * Memory: one node per entry or implicit parent (metadata, never content), at most `maxNodes`
 * (ResourceExhausted past it: a few MB of hostile gzip can name millions of implicit parents). Content is read through a PayloadSource
 * (the blob's own byte layout), found by the entry's payload offset.
 */
import { EngineError } from "../errors";
import { type FileStat, S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFREG } from "../fs/fileStat";
import { WHITEOUT_STAT } from "../fs/overlayMarkers";
import type { FileReader, TreeReader } from "../fs/tree";
import type { ScannedEntry } from "../compression/estargz/tarEntry";
import { encodeLayerPath } from "./layerPath";

export type NodeKind = "entry" | "implicit" | "whiteout";

/** Where an entry's payload is, for the PayloadSource that made the index. */
export interface PayloadRef {
    /** Offset of the payload in the uncompressed tar (or source-specific, e.g. eStargz chunks). */
    readonly offset: number;
    readonly size: number;
    readonly chunks?: readonly PayloadChunk[];
}

/** An eStargz chunk: bytes [chunkOffset, chunkOffset+chunkSize) of the file, in the gzip member at `offset`. */
export interface PayloadChunk {
    readonly chunkOffset: number;
    readonly chunkSize: number;
    readonly offset: number;
    /** Where the next member the TOC knows starts (the chunk's member ends there or before). */
    readonly end: number;
    /** The chunk's sha256 digest, when the TOC records it. */
    readonly digest?: string;
}

export interface PayloadSource {
    /** Opens the payload for random access; `where` names the entry for messages. */
    open(payload: PayloadRef, where: string): FileReader;
}

export interface IndexNode {
    kind: NodeKind;
    typeflag: number;
    mode: number;
    uid: number;
    gid: number;
    size: number;
    mtimeNs: bigint;
    devmajor: number;
    devminor: number;
    linkname: Buffer | null;
    /** A hard link's target node (in this layer). */
    linkTo: IndexNode | null;
    /** xattr name → value (SCHILY.xattr.* records). */
    xattrs: Map<string, Buffer> | null;
    opaque: boolean;
    payload: PayloadRef | null;
    children: Map<string, IndexNode> | null;
    ino: number;
    nlink: number;
    stat: FileStat | null;
}

export const TYPE_REG = 0x30;
export const TYPE_LINK = 0x31;
export const TYPE_SYMLINK = 0x32;
export const TYPE_CHAR = 0x33;
export const TYPE_BLOCK = 0x34;
export const TYPE_DIR = 0x35;
export const TYPE_FIFO = 0x36;
const TYPE_CONT = 0x37;

/** Nodes (entries, implicit parents, whiteouts) one layer's index may hold: about 1 GB of heap. */
export const MAX_LAYER_NODES = 4_000_000;

/** PATH_MAX (4096) allows at most 2048 one-byte components; deeper names cannot be applied. */
const MAX_DEPTH = 2048;
const WH_PREFIX = Buffer.from(".wh.");
const WH_META_PREFIX = Buffer.from(".wh..wh.");
const WH_OPAQUE = Buffer.from(".wh..wh..opq");
const XATTR_RECORD = "SCHILY.xattr.";

/** What lstat reports for the node, by identity: lets a merged view find the providing layer. */
const owners = new WeakMap<FileStat, { tree: TarIndexTree; node: IndexNode }>();

export function tarNodeOf(st: FileStat): { tree: TarIndexTree; node: IndexNode } | undefined {
    return owners.get(st);
}

function newNode(kind: NodeKind): IndexNode {
    return {
        kind, typeflag: TYPE_DIR, mode: 0o755, uid: 0, gid: 0, size: 0, mtimeNs: 0n, devmajor: 0, devminor: 0,
        linkname: null, linkTo: null, xattrs: null, opaque: false, payload: null, children: null, ino: 0, nlink: 1, stat: null,
    };
}

export class TarIndexTree implements TreeReader {
    private readonly root: IndexNode = newNode("implicit");
    private nextIno = 1;
    /** Bytes of the uncompressed layer tar, when the index read it (or the blob records it). */
    tarBytes: number | null = null;
    private entryCount = 0;
    private nodeCount = 1;

    constructor(
        private readonly label: string,
        private readonly payloads: PayloadSource,
        /** How the entries were read: the whole tar, or an eStargz table of contents. */
        readonly indexedFrom: "tar" | "toc" = "tar",
        /** Nodes made before the index is refused (every node ever made, replaced ones too). */
        private readonly maxNodes = MAX_LAYER_NODES,
    ) {}

    /** Nodes made so far (the root, entries, implicit parents, whiteouts). */
    get nodes(): number {
        return this.nodeCount;
    }

    private newNode(kind: NodeKind): IndexNode {
        if (this.nodeCount >= this.maxNodes) {
            throw new EngineError(
                "ResourceExhausted",
                `${this.label}: the layer's index reached ${this.maxNodes} nodes (entries and the parent directories their names imply), a limit that stops hostile layers from exhausting memory; the layer cannot be shown`,
                { path: this.label, reason: "too-many-nodes", limit: this.maxNodes },
            );
        }
        this.nodeCount++;
        return newNode(kind);
    }

    /** `node` no longer has the name it had: the file it was (or linked to) loses a link. */
    private unlinked(node: IndexNode): void {
        if (node.kind !== "entry") return;
        const file = node.typeflag === TYPE_LINK ? node.linkTo : node;
        if (file && file.typeflag === TYPE_REG && file.nlink > 1) {
            file.nlink--;
            file.stat = null;
        }
    }

    /** Entries recorded (tar entries, whiteouts included). */
    get entries(): number {
        return this.entryCount;
    }

    /** Records one tar entry whose payload is `payload` (null for none). */
    add(e: ScannedEntry, payload: PayloadRef | null): void {
        const parts = this.cleanName(e.name);
        if (parts.length > MAX_DEPTH) {
            const shown = encodeLayerPath(e.name.subarray(0, 200));
            throw new EngineError("Unsupported", `layer entry ${JSON.stringify(`${shown}…`)}: ${parts.length} levels deep, more than a Linux path can be (${MAX_DEPTH})`, { path: shown });
        }
        this.entryCount++;
        if (parts.length === 0) {
            if (e.typeflag === TYPE_DIR) this.fill(this.root, e, null);
            return; // "./" carries the root's metadata; anything else at the root is ignored
        }
        const base = parts[parts.length - 1]!;
        const parent = this.dirAt(parts.slice(0, -1));
        if (base.subarray(0, WH_PREFIX.length).equals(WH_PREFIX)) {
            if (base.equals(WH_OPAQUE)) {
                parent.opaque = true;
            } else if (!base.subarray(0, WH_META_PREFIX.length).equals(WH_META_PREFIX)) {
                this.whiteout(parent, base.subarray(WH_PREFIX.length), e.name);
            }
            return;
        }
        const key = base.toString("latin1");
        const existing = parent.children?.get(key);
        // containerd's applier keeps a directory replaced by a directory (and its children);
        // anything else it removes and creates anew: a hard link to the old file keeps it.
        const inPlace = existing !== undefined && existing.kind !== "whiteout" && existing.typeflag === TYPE_DIR && e.typeflag === TYPE_DIR;
        const node = inPlace ? existing : this.newNode("entry");
        if (existing && !inPlace) this.unlinked(existing);
        node.kind = "entry";
        (parent.children ??= new Map()).set(key, node);
        this.fill(node, e, payload);
    }

    describe(rel: Buffer): string {
        return `${this.label}:${encodeLayerPath(rel)}`;
    }

    lstat(rel: Buffer): FileStat | null {
        const node = this.find(rel);
        if (!node) return null;
        if (node.kind === "whiteout") return WHITEOUT_STAT;
        return (node.stat ??= this.makeStat(node));
    }

    readdir(rel: Buffer): Buffer[] {
        const node = this.find(rel);
        if (!node || node.kind === "whiteout" || node.typeflag !== TYPE_DIR) {
            const where = this.describe(rel);
            throw new EngineError("NotFound", `${where}: not a directory in this layer`, { path: where });
        }
        // latin1 strings compare by code unit, i.e. byte-wise.
        return node.children ? [...node.children.keys()].sort().map((k) => Buffer.from(k, "latin1")) : [];
    }

    readlink(rel: Buffer): Buffer {
        const node = this.find(rel);
        if (!node || node.typeflag !== TYPE_SYMLINK) {
            const where = this.describe(rel);
            throw new EngineError("InvalidArgument", `${where}: not a symlink`, { path: where });
        }
        return node.linkname ?? Buffer.alloc(0);
    }

    getxattr(rel: Buffer, name: string): Buffer | null {
        const node = this.find(rel);
        if (!node || node.kind === "whiteout") return null;
        if (name === "trusted.overlay.opaque") return node.opaque ? Buffer.from("y") : null;
        return node.xattrs?.get(name) ?? null;
    }

    openFile(rel: Buffer, _expect: FileStat): FileReader {
        const where = this.describe(rel);
        let node = this.find(rel);
        if (node?.typeflag === TYPE_LINK) node = node.linkTo;
        if (!node || node.kind !== "entry" || node.typeflag !== TYPE_REG) {
            throw new EngineError("InvalidArgument", `${where}: not a regular file in this layer`, { path: where });
        }
        if (!node.payload || node.size === 0) return EMPTY_READER;
        return this.payloads.open(node.payload, where);
    }

    /** The node at `rel` (for entry details: link targets, xattr names, opacity). */
    node(rel: Buffer): IndexNode | null {
        return this.find(rel);
    }

    private fill(node: IndexNode, e: ScannedEntry, payload: PayloadRef | null): void {
        const typeflag = e.typeflag === TYPE_CONT ? TYPE_REG : e.typeflag;
        if (![TYPE_REG, TYPE_LINK, TYPE_SYMLINK, TYPE_CHAR, TYPE_BLOCK, TYPE_DIR, TYPE_FIFO].includes(typeflag)) {
            // containerd's applier refuses other types (sockets cannot be in a tar; 'g', 'S'…).
            throw new EngineError("Unsupported", `${this.describe(e.name)}: tar entry type ${JSON.stringify(String.fromCharCode(typeflag))} is not a file, link, device, fifo or directory`, { path: encodeLayerPath(e.name) });
        }
        node.typeflag = typeflag;
        // Linux symlinks are always 0777, whatever the header says (as applied, as on disk).
        node.mode = typeflag === TYPE_SYMLINK ? 0o777 : Number(BigInt.asUintN(32, e.mode) & 0o7777n);
        node.uid = Number(e.uid);
        node.gid = Number(e.gid);
        node.size = typeflag === TYPE_REG ? e.size : typeflag === TYPE_SYMLINK ? e.linkname.length : 0;
        node.mtimeNs = e.mtime.sec * 1_000_000_000n + BigInt(e.mtime.nsec);
        node.devmajor = Number(e.devmajor);
        node.devminor = Number(e.devminor);
        node.linkname = typeflag === TYPE_SYMLINK || typeflag === TYPE_LINK ? Buffer.from(e.linkname) : null;
        node.payload = typeflag === TYPE_REG ? payload : null;
        node.xattrs = null;
        for (const [k, v] of e.pax) {
            if (k.startsWith(XATTR_RECORD)) (node.xattrs ??= new Map()).set(k.slice(XATTR_RECORD.length), v);
        }
        node.ino = this.nextIno++;
        node.linkTo = null;
        node.stat = null;
        if (typeflag === TYPE_LINK) {
            const target = this.find(this.toRel(this.cleanName(e.linkname)));
            const file = target?.typeflag === TYPE_LINK ? target.linkTo : target;
            if (file && file.kind === "entry" && file.typeflag === TYPE_REG) {
                node.linkTo = file;
                file.nlink++;
                // containerd's createTarFile links, then applies the link header's owner,
                // xattrs, mode and times to the path: the inode both names share.
                file.mode = node.mode;
                file.uid = node.uid;
                file.gid = node.gid;
                file.mtimeNs = node.mtimeNs;
                for (const [k, v] of node.xattrs ?? []) (file.xattrs ??= new Map()).set(k, v);
                file.stat = null;
            }
            // else: a link to a lower layer's file (or to nothing); reading it says so.
        }
    }

    private whiteout(parent: IndexNode, name: Buffer, tarName: Buffer): void {
        if (name.length === 0 || name.equals(Buffer.from(".")) || name.equals(Buffer.from(".."))) {
            throw new EngineError("UnsafePath", `${this.describe(tarName)}: whiteout of ${JSON.stringify(encodeLayerPath(name))} is not a name`, { path: encodeLayerPath(tarName) });
        }
        const key = name.toString("latin1");
        const existing = parent.children?.get(key);
        if (existing && existing.kind !== "whiteout") {
            // An entry of the same layer stays (a whiteout only hides lower layers); a directory
            // here then shows nothing of the lower one, as if opaque.
            if (existing.typeflag === TYPE_DIR) existing.opaque = true;
            return;
        }
        (parent.children ??= new Map()).set(key, this.newNode("whiteout"));
    }

    /** The directory at `parts`, made (implicitly) where missing; a non-directory there is Corrupt. */
    private dirAt(parts: Buffer[]): IndexNode {
        let node = this.root;
        for (const part of parts) {
            const key = part.toString("latin1");
            let next = node.children?.get(key);
            if (!next || next.kind === "whiteout" || next.typeflag !== TYPE_DIR) {
                // Missing: the applier makes it. A file there: the applier removes it and makes
                // a directory (a new node: a hard link to the file keeps it).
                const made = this.newNode("implicit");
                made.ino = this.nextIno++;
                if (next?.kind === "whiteout") made.opaque = true; // whiteout + children in one layer: hides the lower dir
                if (next) this.unlinked(next);
                (node.children ??= new Map()).set(key, made);
                next = made;
            }
            node = next;
        }
        return node;
    }

    /** filepath.Clean of a tar name, split; `..` anywhere is refused. */
    private cleanName(name: Buffer): Buffer[] {
        const parts: Buffer[] = [];
        let start = 0;
        for (let i = 0; i <= name.length; i++) {
            if (i < name.length && name[i] !== 0x2f) continue;
            const part = name.subarray(start, i);
            start = i + 1;
            if (part.length === 0 || (part.length === 1 && part[0] === 0x2e)) continue;
            if (part.length === 2 && part[0] === 0x2e && part[1] === 0x2e) {
                const shown = encodeLayerPath(name);
                throw new EngineError("UnsafePath", `layer entry ${JSON.stringify(shown)}: a '..' component would leave the layer's root; the blob is not a safe layer`, { path: shown });
            }
            if (part.includes(0)) {
                const shown = encodeLayerPath(name);
                throw new EngineError("Corrupt", `layer entry ${JSON.stringify(shown)}: contains a NUL byte`, { path: shown });
            }
            parts.push(part);
        }
        return parts;
    }

    private toRel(parts: Buffer[]): Buffer {
        if (parts.length === 0) return Buffer.from("/");
        return Buffer.concat(parts.flatMap((p) => [Buffer.from("/"), p]));
    }

    private find(rel: Buffer): IndexNode | null {
        let node: IndexNode = this.root;
        let start = 1;
        while (start < rel.length) {
            let end = rel.indexOf(0x2f, start);
            if (end < 0) end = rel.length;
            const next = node.kind === "whiteout" ? undefined : node.children?.get(rel.subarray(start, end).toString("latin1"));
            if (!next) return null;
            node = next;
            start = end + 1;
        }
        return node;
    }

    private makeStat(node: IndexNode): FileStat {
        const target = node.typeflag === TYPE_LINK ? node.linkTo : null;
        const src = target ?? node;
        const type = typeBits(node.typeflag === TYPE_LINK ? TYPE_REG : node.typeflag);
        const st: FileStat = Object.freeze({
            mode: type | (src.mode & 0o7777),
            uid: src.uid,
            gid: src.gid,
            rdev: makedev(node.devmajor, node.devminor),
            size: BigInt(src.size),
            mtimeNs: src.mtimeNs,
            ino: BigInt(src.ino),
            dev: 0n,
            nlink: BigInt(src.nlink),
        });
        owners.set(st, { tree: this, node });
        return st;
    }
}

/** glibc's gnu_dev_makedev, the inverse of devMajor/devMinor. */
function makedev(major: number, minor: number): bigint {
    const ma = BigInt(major >>> 0);
    const mi = BigInt(minor >>> 0);
    return ((ma & 0xfffn) << 8n) | ((ma & ~0xfffn) << 32n) | (mi & 0xffn) | ((mi & ~0xffn) << 12n);
}

function typeBits(typeflag: number): number {
    switch (typeflag) {
        case TYPE_DIR: return S_IFDIR;
        case TYPE_SYMLINK: return S_IFLNK;
        case TYPE_CHAR: return S_IFCHR;
        case TYPE_BLOCK: return S_IFBLK;
        case TYPE_FIFO: return S_IFIFO;
        default: return S_IFREG;
    }
}

const EMPTY_READER: FileReader = {
    readSync: () => 0,
    readAsync: async () => 0,
    close: () => undefined,
};
