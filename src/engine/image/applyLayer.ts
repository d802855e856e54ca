/**
 * Applies one decompressed layer tar to a snapshot directory, as containerd's `archive.Apply`
 * does (`archive/tar.go` `applyNaive`, with the overlayfs converter of `archive/tar_opts_linux.go`
 * `WithConvertWhiteout(OverlayConvertWhiteout)` for upperdirs), hardened for hostile input:
 *
 * - names are cleaned; an absolute name or one with `..` is refused (UnsafePath), never joined;
 * - every parent directory is resolved inside the root: symlinks met on the way are followed
 *   within it (an absolute target starts again at the root), and one that would climb above the
 *   root is refused (UnsafePath); the final component is never followed (O_NOFOLLOW, l* calls);
 * - hard links must name something already in the snapshot, resolved the same way; resolving
 *   one path takes at most MAX_RESOLVE_STEPS components (symlink targets included);
 * - a directory's owner and xattrs are set when it is made (as containerd does); its mode and
 *   times at the end, and only if it is still reached from the root through directories alone
 *   (a later entry may have turned it, or a parent, into a symlink to anywhere);
 * - device nodes only when privileged; overlayfs whiteouts need mknod, so privilege too;
 * - header sizes are exact (the scanner reads exactly Header.Size payload bytes; a short stream
 *   is Corrupt); header numbers that do not fit (ids, times, device numbers) are Corrupt;
 * - decompression bombs: the decompressed stream is bounded by `maxBytes` and, past
 *   RATIO_FLOOR bytes, by `maxRatio` times the compressed size (ResourceExhausted, naming the
 *   option that raises the limit);
 * - the diffID is hashed from the same bytes that are applied.
 *
 * OCI whiteouts (image-spec layer.md "Whiteouts"): `.wh.<name>` deletes <name> from the lower
 * layers (native) or becomes a 0/0 character device (overlayfs); `.wh..wh..opq` removes every
 * child of its directory not from this layer (native) or marks it `trusted.overlay.opaque=y`
 * (overlayfs); other `.wh..wh.` names are ignored.
 *
 * The caller gives a fresh directory it owns; on error it is left half-applied for the caller
 * to remove.
 *
 * NOTE: this runs on the extension host's event loop (Import Image…, Verify Image…). Files
 * larger than SMALL_FILE are opened, written and closed asynchronously (their writes can wait
 * on the filesystem); small files and the per-entry metadata calls stay synchronous, since an
 * await per syscall costs more than the call itself (most files of a layer are small), and a
 * Yielder gives the loop a turn every 20 ms between entries, payload chunks and directories.
 * Entries are still applied strictly one after another.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import { isUtf8 } from "node:buffer";
import { promisify } from "node:util";
import type { Digest } from "../digest/hashSink";
import { EngineError, fromSystemError } from "../errors";
import { TarScanner } from "../compression/estargz/tarScanner";
import type { ScannedEntry } from "../compression/estargz/tarEntry";
import { SpecialNodes } from "./specialNodes";
import { TarTraitCollector, type TarTraits } from "./tarTraits";
import { Yielder } from "../util/yielder";

export type ApplyMode = "native" | "overlayfs";

export interface ApplyOptions {
    /** The snapshot directory (exists; for native already holding the parent's tree). */
    readonly root: string;
    readonly mode: ApplyMode;
    /** Ownership, device nodes and trusted.* xattrs; default: running as root. */
    readonly privileged?: boolean;
    /** Bound on the decompressed bytes (default 64 GiB; 0 = none). */
    readonly maxBytes?: number;
    /**
     * Bound on decompressed / compressed bytes once past RATIO_FLOOR (default 1000; 0 = none).
     * Needs `compressedSize`.
     */
    readonly maxRatio?: number;
    /** The blob's size, for `maxRatio`. */
    readonly compressedSize?: number;
    /** Root-level entry names to leave out (the eStargz TOC, `stargz.index.json`). */
    readonly skipNames?: readonly string[];
    readonly signal?: AbortSignal;
}

export interface ApplyResult {
    readonly diffID: Digest;
    readonly size: number;
    readonly entries: number;
    /** xattrs not set: trusted.* / security.* when unprivileged, overlay.* always. */
    readonly skippedXattrs: number;
    readonly traits: TarTraits;
}

export const DEFAULT_MAX_LAYER_BYTES = 64 * 1024 ** 3;
/**
 * Deflate tops out near 1032:1 (a run of zeros), so a real gzip layer cannot pass 1000:1 unless
 * it is nearly all zeros; zstd can reach far higher ratios, which is what bombs use.
 */
export const DEFAULT_MAX_RATIO = 1000;
/** Below this many decompressed bytes the ratio is not checked (small layers of zeros are fine). */
export const RATIO_FLOOR = 64 * 1024 * 1024;
const MAX_LINK_HOPS = 255;
/**
 * Components looked at while resolving one entry's parent, symlink targets included. Hops alone
 * do not bound the work: 255 links whose targets are `d/../` x 800 cost 200,000 lstats per
 * entry. A path the kernel can open has at most PATH_MAX (4096) bytes, so 2,048 components.
 */
const MAX_RESOLVE_STEPS = 4096;
const SLASH = 0x2f;
const WH_PREFIX = ".wh.";
const WH_META_PREFIX = ".wh..wh.";
const WH_OPAQUE = ".wh..wh..opq";

const TYPE_REG = 0x30;
const TYPE_REGA = 0x00;
const TYPE_CONT = 0x37;
const TYPE_LINK = 0x31;
const TYPE_SYMLINK = 0x32;
const TYPE_CHAR = 0x33;
const TYPE_BLOCK = 0x34;
const TYPE_DIR = 0x35;
const TYPE_FIFO = 0x36;
const TYPE_XGLOBAL = 0x67;

function unsafe(name: Buffer, message: string, reason: string): EngineError {
    const n = name.toString("utf8");
    return new EngineError("UnsafePath", `layer entry ${JSON.stringify(n)}: ${message}`, { path: n, reason });
}

/** Cleaned components of an entry name; refuses absolute names and `..`. */
export function entryComponents(name: Buffer, what = "name", escapeReason?: string): Buffer[] {
    if (name.length > 0 && name[0] === SLASH) throw unsafe(name, `${what} is absolute`, escapeReason ?? "absolute-path");
    const parts: Buffer[] = [];
    let start = 0;
    for (let i = 0; i <= name.length; i++) {
        if (i === name.length || name[i] === SLASH) {
            const c = name.subarray(start, i);
            start = i + 1;
            if (c.length === 0 || (c.length === 1 && c[0] === 0x2e)) continue;
            if (c.length === 2 && c[0] === 0x2e && c[1] === 0x2e) throw unsafe(name, `${what} climbs out with ".."`, escapeReason ?? "path-traversal");
            parts.push(c);
        }
    }
    return parts;
}

const join = (a: Buffer, b: Buffer): Buffer => Buffer.concat([a, Buffer.from("/"), b]);

/** Up to this size a file is created and written with synchronous calls (one tar chunk or less). */
const SMALL_FILE = 64 * 1024;
const openAsync = promisify(fs.open);
const writeAsync = promisify(fs.write);
const closeAsync = promisify(fs.close);
const rmAsync = fs.promises.rm;

interface DeferredDir {
    /** Real components from the root (symlinks on the entry's path already resolved). */
    readonly parts: readonly Buffer[];
    readonly mode: number;
    readonly mtime: ScannedEntry["mtime"];
}

interface Pending {
    readonly fd: number;
    readonly path: Buffer;
    readonly entry: ScannedEntry;
    readonly sync: boolean;
    remaining: number;
}

export class LayerApplier {
    private readonly root: Buffer;
    private readonly privileged: boolean;
    private readonly special = new SpecialNodes();
    /**
     * Directories whose mode and times wait for the end (a read-only directory must still take
     * its children; writing a child changes its parent's mtime), by their real components.
     */
    private readonly dirs: DeferredDir[] = [];
    private readonly dirIndex = new Map<string, number>();
    /** Paths (hex, relative) written by this layer: opaque directories keep them. */
    private readonly written = new Set<string>();
    private readonly skip: Set<string>;
    private pending: Pending | null = null;
    private skipping = 0;
    private entries = 0;
    private skippedXattrs = 0;
    private readonly yielder: Yielder;
    readonly traits = new TarTraitCollector();

    constructor(private readonly opts: ApplyOptions) {
        this.root = Buffer.from(opts.root);
        this.privileged = opts.privileged ?? process.getuid?.() === 0;
        this.skip = new Set(opts.skipNames ?? []);
        this.yielder = new Yielder(opts.signal);
    }

    /** Resolves parent components inside the root (creating missing directories); returns the real relative components. */
    private async resolveDir(parts: readonly Buffer[], name: Buffer, create: boolean): Promise<Buffer[]> {
        const stack: Buffer[] = [];
        const queue = [...parts];
        let hops = 0;
        let steps = 0;
        while (queue.length > 0) {
            const c = queue.shift()!;
            if (++steps > MAX_RESOLVE_STEPS) throw unsafe(name, `resolving its path takes more than ${MAX_RESOLVE_STEPS} steps (a chain of symlinks?)`, "symlink-loop");
            if (c.length === 0 || (c.length === 1 && c[0] === 0x2e)) continue;
            if (c.length === 2 && c[0] === 0x2e && c[1] === 0x2e) {
                if (stack.length === 0) throw unsafe(name, "a symlink on its path leads out of the snapshot root", "symlink-escape");
                stack.pop();
                continue;
            }
            const p = this.abs([...stack, c]);
            let st: fs.BigIntStats | undefined;
            try {
                st = fs.lstatSync(p, { bigint: true });
            } catch (err) {
                if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw fromSystemError(err, p.toString(), "resolving a layer path");
            }
            if (!st) {
                if (!create) throw new EngineError("Corrupt", `layer entry ${JSON.stringify(name.toString())}: ${p.toString()} does not exist`, { path: name.toString(), reason: "hardlink-missing" });
                await this.flushIfTouching(p);
                fs.mkdirSync(p, 0o755);
                stack.push(c);
                continue;
            }
            if (st.isDirectory()) {
                stack.push(c);
            } else if (st.isSymbolicLink()) {
                if (++hops > MAX_LINK_HOPS) throw unsafe(name, "too many symlinks on its path", "symlink-loop");
                const target = fs.readlinkSync(p, { encoding: "buffer" });
                if (target.length > 0 && target[0] === SLASH) stack.length = 0;
                queue.unshift(...splitRaw(target));
            } else {
                throw new EngineError("Corrupt", `layer entry ${JSON.stringify(name.toString())}: ${p.toString()} is not a directory`, { path: name.toString(), reason: "not-a-directory" });
            }
        }
        return stack;
    }

    private abs(parts: readonly Buffer[]): Buffer {
        return parts.reduce((acc, c) => join(acc, c), this.root);
    }

    private async flushIfTouching(p: Buffer): Promise<void> {
        if (this.special.touches(p)) await this.special.flush();
    }

    async apply(source: AsyncIterable<Buffer>): Promise<ApplyResult> {
        const hash = createHash("sha256");
        let size = 0;
        const limit = layerLimit(this.opts);
        const scanner = new TarScanner({
            raw: async () => undefined,
            entry: (e) => this.onEntry(e),
            data: (b) => this.onData(b),
        });
        try {
            for await (const chunk of source) {
                if (this.opts.signal?.aborted) throw new EngineError("Canceled", "canceled");
                size += chunk.length;
                if (size > limit.bytes) throw limit.error(size);
                hash.update(chunk);
                await scanner.push(chunk).catch(tarError);
            }
            try {
                scanner.end();
            } catch (err) {
                tarError(err);
            }
            if (this.pending) throw new EngineError("Corrupt", "layer tar ends inside a file", { reason: "size-mismatch" });
            await this.special.flush();
            await this.finishDirs();
        } catch (err) {
            throw err instanceof EngineError ? err : fromSystemError(err, this.opts.root, "applying a layer");
        } finally {
            if (this.pending) fs.closeSync(this.pending.fd);
            this.pending = null;
        }
        return {
            diffID: `sha256:${hash.digest("hex")}` as Digest,
            size,
            entries: this.entries,
            skippedXattrs: this.skippedXattrs,
            traits: this.traits.result(),
        };
    }

    private async onData(b: Buffer): Promise<void> {
        if (this.skipping > 0) {
            this.skipping -= b.length;
            return;
        }
        const p = this.pending;
        if (!p) throw new EngineError("Internal", "layer data without an open file");
        // NOTE: `b` stays valid until this settles: the scanner awaits it before reading on.
        let off = 0;
        if (p.sync) {
            while (off < b.length) off += fs.writeSync(p.fd, b, off, b.length - off);
        } else {
            while (off < b.length) off += (await writeAsync(p.fd, b, off, b.length - off)).bytesWritten;
        }
        p.remaining -= b.length;
        if (p.remaining === 0) await this.closeFile();
        await this.yielder.maybeYield();
    }

    private async closeFile(): Promise<void> {
        const p = this.pending!;
        this.pending = null;
        if (p.sync) fs.closeSync(p.fd);
        else await closeAsync(p.fd);
        this.setMetadata(p.path, p.entry, false);
    }

    private async onEntry(e: ScannedEntry): Promise<void> {
        await this.yielder.maybeYield();
        this.traits.add(e);
        if (e.typeflag === TYPE_XGLOBAL) {
            this.skipping = e.dataSize;
            return;
        }
        const parts = entryComponents(e.name);
        if (parts.length === 0) {
            this.skipping = e.dataSize; // the root itself: containerd skips it as well
            return;
        }
        if (parts.length === 1 && this.skip.has(parts[0]!.toString("latin1"))) {
            this.skipping = e.dataSize;
            return;
        }
        checkNumbers(e);
        this.entries++;
        const base = parts[parts.length - 1]!;
        const baseStr = base.toString("latin1");
        const dirParts = await this.resolveDir(parts.slice(0, -1), e.name, true);
        const dir = this.abs(dirParts);
        if (baseStr.startsWith(WH_PREFIX)) {
            this.skipping = e.dataSize;
            await this.whiteout(dir, dirParts, baseStr, base, e.name);
            return;
        }
        const target = join(dir, base);
        this.written.add(Buffer.concat([...dirParts.flatMap((c) => [c, Buffer.from("/")]), base]).toString("hex"));
        await this.flushIfTouching(target);
        switch (e.typeflag) {
            case TYPE_DIR:
                await this.makeDir([...dirParts, base], target, e);
                return;
            case TYPE_REG:
            case TYPE_REGA:
            case TYPE_CONT:
                await this.makeFile(target, e);
                return;
            case TYPE_SYMLINK:
                await this.replace(target);
                fs.symlinkSync(e.linkname, target);
                this.setMetadata(target, e, true);
                return;
            case TYPE_LINK:
                await this.makeLink(target, e);
                return;
            case TYPE_CHAR:
            case TYPE_BLOCK:
            case TYPE_FIFO:
                await this.makeNode(target, e);
                return;
            default:
                throw new EngineError("Unsupported", `layer entry ${JSON.stringify(e.name.toString())}: tar type ${JSON.stringify(String.fromCharCode(e.typeflag))} is not supported`, { path: e.name.toString(), reason: "entry-type" });
        }
    }

    /** Removes what is at `p` unless it is a directory and `keepDir`. */
    private async replace(p: Buffer, keepDir = false): Promise<boolean> {
        let st: fs.Stats | undefined;
        try {
            st = fs.lstatSync(p);
        } catch {
            return false;
        }
        if (keepDir && st.isDirectory()) return true;
        await this.flushIfTouching(p);
        await removeAll(p, st);
        return false;
    }

    /**
     * Owner and xattrs now, as containerd's createTarFile sets them (the path was just resolved
     * inside the root); mode and times at the end (`finishDirs`). Only those few numbers are
     * kept, never the entry's PAX records.
     */
    private async makeDir(parts: Buffer[], p: Buffer, e: ScannedEntry): Promise<void> {
        if (!(await this.replace(p, true))) {
            fs.mkdirSync(p, 0o700);
        } else if (!this.privileged) {
            // A directory of a lower layer may be read-only (0555): unprivileged, its xattrs and
            // children need write access. Its mode is the entry's at the end.
            const mode = fs.lstatSync(p).mode & 0o7777;
            if ((mode & 0o700) !== 0o700) fs.chmodSync(p, mode | 0o700);
        }
        if (this.privileged) fs.lchownSync(p, Number(e.uid), Number(e.gid));
        this.setXattrs(p, e);
        const later: DeferredDir = { parts, mode: Number(e.mode & 0o7777n), mtime: e.mtime };
        const key = p.toString("hex");
        const i = this.dirIndex.get(key);
        if (i === undefined) {
            this.dirIndex.set(key, this.dirs.length);
            this.dirs.push(later);
        } else {
            this.dirs[i] = later; // the last entry for a directory wins
        }
    }

    private async makeFile(p: Buffer, e: ScannedEntry): Promise<void> {
        await this.replace(p);
        const flags = fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW;
        const sync = e.dataSize <= SMALL_FILE;
        const fd = sync ? fs.openSync(p, flags, 0o600) : await openAsync(p, flags, 0o600);
        if (e.dataSize !== e.size) {
            fs.closeSync(fd);
            throw new EngineError("Corrupt", `layer entry ${JSON.stringify(e.name.toString())}: sparse or size-mismatched file`, { path: e.name.toString(), reason: "size-mismatch" });
        }
        this.pending = { fd, path: p, entry: e, sync, remaining: e.dataSize };
        if (e.dataSize === 0) await this.closeFile();
    }

    private async makeLink(p: Buffer, e: ScannedEntry): Promise<void> {
        const parts = entryComponents(e.linkname, `hard link target ${JSON.stringify(e.linkname.toString())}`, "hardlink-escape");
        if (parts.length === 0) throw unsafe(e.name, "hard link to the snapshot root", "hardlink-escape");
        const dirParts = await this.resolveDir(parts.slice(0, -1), e.name, false);
        const src = join(this.abs(dirParts), parts[parts.length - 1]!);
        // A device node, fifo or whiteout made earlier in this layer may still be queued.
        await this.flushIfTouching(src);
        let st: fs.Stats;
        try {
            st = fs.lstatSync(src);
        } catch {
            throw new EngineError("Corrupt", `layer entry ${JSON.stringify(e.name.toString())}: hard link to ${JSON.stringify(e.linkname.toString())}, which is not in the snapshot (yet)`, { path: e.name.toString(), reason: "hardlink-missing" });
        }
        if (st.isDirectory()) throw unsafe(e.name, "hard link to a directory", "hardlink-dir");
        if (src.equals(p)) return;
        await this.replace(p);
        fs.linkSync(src, p);
    }

    private async makeNode(p: Buffer, e: ScannedEntry): Promise<void> {
        const kind = e.typeflag === TYPE_FIFO ? "p" : e.typeflag === TYPE_CHAR ? "c" : "b";
        if (kind !== "p" && !this.privileged) {
            throw new EngineError("PermissionDenied", `layer entry ${JSON.stringify(e.name.toString())}: device nodes need root (run the import as root)`, { path: e.name.toString(), reason: "device-unprivileged" });
        }
        await this.replace(p);
        this.special.mknod(p, {
            kind,
            major: Number(e.devmajor),
            minor: Number(e.devminor),
            mode: Number(e.mode & 0o7777n),
            uid: this.privileged ? Number(e.uid) : -1,
            gid: this.privileged ? Number(e.gid) : -1,
            mtimeNs: e.mtime.sec * 1_000_000_000n + BigInt(e.mtime.nsec),
        });
        this.setXattrs(p, e);
    }

    private async whiteout(dir: Buffer, dirParts: readonly Buffer[], baseStr: string, base: Buffer, name: Buffer): Promise<void> {
        if (baseStr === WH_OPAQUE) {
            await this.flushIfTouching(dir);
            if (this.opts.mode === "native") {
                for (const child of fs.readdirSync(dir, { encoding: "buffer" })) {
                    const rel = Buffer.concat([...dirParts.flatMap((c) => [c, Buffer.from("/")]), child]).toString("hex");
                    if (!this.written.has(rel)) await removeAll(join(dir, child));
                }
            }
            if (this.opts.mode === "overlayfs") {
                const opaqueName = this.privileged ? "trusted.overlay.opaque" : "user.overlay.opaque";
                setXattr(dir.toString("utf8"), opaqueName, Buffer.from("y"), dir, this.special);
            }
            return;
        }
        if (baseStr.startsWith(WH_META_PREFIX)) return; // other AUFS metadata: ignored, as containerd does
        const victim = base.subarray(WH_PREFIX.length);
        if (victim.length === 0 || victim.equals(Buffer.from(".")) || victim.equals(Buffer.from(".."))) {
            throw unsafe(name, "whiteout of an invalid name", "bad-whiteout");
        }
        const p = join(dir, victim);
        await this.flushIfTouching(p);
        if (this.opts.mode === "native") {
            await removeAll(p);
            return;
        }
        if (!this.privileged) {
            throw new EngineError("PermissionDenied", `layer entry ${JSON.stringify(name.toString())}: an overlayfs whiteout is a character device and needs root (or use the native snapshotter)`, { path: name.toString(), reason: "device-unprivileged" });
        }
        await this.replace(p);
        this.special.mknod(p, { kind: "c", major: 0, minor: 0, mode: 0, uid: -1, gid: -1, mtimeNs: null });
    }

    private setMetadata(p: Buffer, e: ScannedEntry, symlink: boolean): void {
        if (this.privileged) fs.lchownSync(p, Number(e.uid), Number(e.gid));
        if (!symlink) fs.chmodSync(p, Number(e.mode & 0o7777n));
        this.setXattrs(p, e);
        const t = Number(e.mtime.sec) + e.mtime.nsec / 1e9;
        fs.lutimesSync(p, t, t);
    }

    private setXattrs(p: Buffer, e: ScannedEntry): void {
        for (const [key, value] of e.pax) {
            if (!key.startsWith("SCHILY.xattr.")) continue;
            const name = key.slice("SCHILY.xattr.".length);
            if (/^(trusted|user)\.overlay\./.test(name) || (!this.privileged && !name.startsWith("user."))) {
                this.skippedXattrs++;
                continue;
            }
            if (isUtf8(p) && !this.special.touches(p)) {
                setXattr(p.toString("utf8"), name, value);
            } else {
                this.special.setXattr(p, name, value);
            }
        }
    }

    /**
     * Directory modes and times last, deepest first, as containerd sets directory times after
     * the walk. A later entry of the layer may have replaced a directory, or one of its parents,
     * with a symlink (to anywhere) or a file: each directory is found again from the root by its
     * real components, none of them a symlink, and left alone if it is no longer there.
     */
    private async finishDirs(): Promise<void> {
        const order = this.dirs.map((_, i) => i).sort((a, b) => this.dirs[b]!.parts.length - this.dirs[a]!.parts.length || b - a);
        const isDir = new Map<string, boolean>();
        const stillDir = (parts: readonly Buffer[]): Buffer | null => {
            let p = this.root;
            for (const c of parts) {
                p = join(p, c);
                const key = p.toString("hex");
                let ok = isDir.get(key);
                if (ok === undefined) {
                    let st: fs.Stats | undefined;
                    try {
                        st = fs.lstatSync(p);
                    } catch (err) {
                        if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw fromSystemError(err, p.toString(), "setting directory metadata");
                    }
                    ok = st !== undefined && st.isDirectory();
                    isDir.set(key, ok);
                }
                if (!ok) return null;
            }
            return p;
        };
        for (const i of order) {
            await this.yielder.maybeYield();
            const d = this.dirs[i]!;
            const p = stillDir(d.parts);
            if (p === null) continue;
            fs.chmodSync(p, d.mode); // p is a directory reached through directories only
            const t = Number(d.mtime.sec) + d.mtime.nsec / 1e9;
            fs.lutimesSync(p, t, t);
        }
        await this.special.flush();
    }
}

/**
 * `rm -rf p`, as `fs.rmSync(p, { recursive: true, force: true })` did: a file or symlink is
 * unlinked at once; a directory tree (a whiteout of /usr, say) is removed off the event loop.
 */
async function removeAll(p: Buffer, st?: fs.Stats): Promise<void> {
    if (st === undefined) {
        try {
            st = fs.lstatSync(p);
        } catch (err) {
            if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
            throw err;
        }
    }
    if (st.isDirectory()) {
        await rmAsync(p, { recursive: true, force: true });
    } else {
        fs.unlinkSync(p);
    }
}

type XattrModule = { setAttributeSync(path: string, name: string, value: Uint8Array): void };
let xattrMod: XattrModule | undefined;

function setXattr(p: string, name: string, value: Buffer, raw?: Buffer, special?: SpecialNodes): void {
    if (raw && !isUtf8(raw)) {
        special!.setXattr(raw, name, value);
        return;
    }
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    xattrMod ??= require("@napi-rs/xattr") as XattrModule;
    try {
        xattrMod.setAttributeSync(p, name, value); // lsetxattr: never follows a final symlink
    } catch (err) {
        throw new EngineError("Io", `${p}: setting xattr ${name}: ${(err as Error).message}`, { path: p, reason: "xattr" }, { cause: err });
    }
}

/**
 * Scanner errors get the layer's context and a reason: `truncated` for a stream ending inside an
 * entry, else the scanner's own (bad-checksum, bad-header-number, bad-pax, ...) or `bad-tar`.
 */
function tarError(err: unknown): never {
    if (err instanceof EngineError && (err.code === "Corrupt" || err.code === "Unsupported") && !/^layer /.test(err.message)) {
        const reason = /unexpected EOF/.test(err.message) ? "truncated" : err.data.reason ?? "bad-tar";
        throw new EngineError(err.code, `layer tar: ${err.message}`, { ...err.data, reason }, { cause: err });
    }
    throw err;
}

const U32_MAX = 0xffffffffn;

/** Ids and device numbers a Linux syscall can take (uid_t, dev_t halves are 32-bit). */
function checkNumbers(e: ScannedEntry): void {
    for (const [field, v] of [["uid", e.uid], ["gid", e.gid], ["devmajor", e.devmajor], ["devminor", e.devminor]] as const) {
        if (v < 0n || v > U32_MAX) {
            const n = e.name.toString("utf8");
            throw new EngineError("Corrupt", `layer entry ${JSON.stringify(n)}: header ${field} ${v} is outside 0..${U32_MAX}`, { path: n, reason: "bad-header-number", field });
        }
    }
}

interface LayerLimit {
    readonly bytes: number;
    error(size: number): EngineError;
}

/** The decompressed-size bound from maxBytes and maxRatio: whichever is reached first. */
function layerLimit(opts: ApplyOptions): LayerLimit {
    const maxBytes = opts.maxBytes === 0 ? Infinity : opts.maxBytes ?? DEFAULT_MAX_LAYER_BYTES;
    const ratio = opts.maxRatio ?? DEFAULT_MAX_RATIO;
    const byRatio = ratio > 0 && opts.compressedSize !== undefined ? Math.max(RATIO_FLOOR, opts.compressedSize * ratio) : Infinity;
    if (byRatio < maxBytes) {
        return {
            bytes: byRatio,
            error: (size) => new EngineError(
                "ResourceExhausted",
                `layer decompresses to more than ${byRatio} bytes from a ${opts.compressedSize}-byte blob (over ${ratio}:1, a decompression bomb?); if the layer is genuine, raise the limit with --max-ratio (0 = no limit)`,
                { reason: "compression-ratio", limit: ratio, size },
            ),
        };
    }
    return {
        bytes: maxBytes,
        error: (size) => new EngineError(
            "ResourceExhausted",
            `layer decompresses to more than ${maxBytes} bytes (the limit); if the layer is genuine, raise it with --max-layer-bytes (0 = no limit)`,
            { reason: "too-large", limit: maxBytes, size },
        ),
    };
}

function splitRaw(b: Buffer): Buffer[] {
    const out: Buffer[] = [];
    let start = 0;
    for (let i = 0; i <= b.length; i++) {
        if (i === b.length || b[i] === SLASH) {
            if (i > start) out.push(b.subarray(start, i));
            start = i + 1;
        }
    }
    return out;
}

export async function applyLayer(source: AsyncIterable<Buffer>, opts: ApplyOptions): Promise<ApplyResult> {
    return new LayerApplier(opts).apply(source);
}
