/**
 * Mirrors containerd `archive/tar.go` `ChangeWriter` (v1.6.20+ / 2.x: no user or group name
 * lookups; with a NameLookup, the names earlier versions' lookups gave): turns continuity-style
 * changes into the entries of an OCI layer tar.
 *
 * - Delete: a `.wh.<name>` regular file, mode 0, owned by 0:0, at the whiteout time, written with
 *   the Go header format unset (so its time is rounded, never PAX-timestamped);
 * - anything else: a header from lstat (mode with setuid/setgid/sticky, uid/gid, mtime truncated
 *   to the second), the `security.capability` xattr as the only PAX record, file data;
 * - hard links are keyed by inode: the first added/modified name carries the data, later names
 *   (and earlier unmodified ones, written right after it) are type '1' links;
 * - every ancestor directory not yet written is written first, once, with its upper metadata;
 * - sockets are skipped.
 */
import { EngineError } from "../errors";
import { devMajor, devMinor, type FileStat, fileType, isDir, isSymlink, S_IFMT } from "../fs/fileStat";
import type { TreeReader } from "../fs/tree";
import type { ChangeKind } from "../diff/changes";
import { floorDiv, NS_PER_SECOND } from "../util/bigint";
import {
    encodeHeader,
    END_OF_ARCHIVE,
    type RequestedFormat,
    type TarHeader,
    TypeBlock,
    TypeChar,
    TypeDir,
    TypeFifo,
    TypeLink,
    TypeReg,
    TypeSymlink,
} from "./goTar";
import type { NameLookup } from "./nameLookup";
import type { TarStream } from "./tarStream";
import type { WhiteoutTime } from "./whiteoutTime";

const SLASH = 0x2f;
const WHITEOUT_PREFIX = Buffer.from(".wh.");
const CAPABILITY_RECORD = "SCHILY.xattr.security.capability";

export class ChangeWriter {
    private readonly inodeSrc = new Map<bigint, Buffer>();
    private readonly inodeRefs = new Map<bigint, Buffer[]>();
    private readonly addedDirs = new Set<string>();
    private readonly probe = Buffer.alloc(1);

    constructor(
        private readonly out: TarStream,
        private readonly source: TreeReader,
        private readonly whiteoutTime: WhiteoutTime,
        /** Replays a writer that looked names up (Go's tar.FileInfoHeader); whiteouts get none. */
        private readonly names?: NameLookup,
    ) {}

    /** A ChangeFunc: paths in continuity's "/a/b" form (or relative, from includeParents). */
    readonly handleChange = async (kind: ChangeKind, p: Buffer, stat: FileStat | null): Promise<void> => {
        const rel = p[0] === SLASH ? p : Buffer.concat([Buffer.from("/"), p]);
        if (kind === "delete") {
            await this.writeWhiteout(rel);
        } else {
            if (!stat) {
                throw new EngineError("Internal", `no metadata for ${this.source.describe(rel)}`);
            }
            await this.writeEntry(kind, rel, stat);
        }
    };

    async close(): Promise<void> {
        await this.out.writeSmall(END_OF_ARCHIVE);
        await this.out.flush();
    }

    private async writeWhiteout(rel: Buffer): Promise<void> {
        const slash = rel.lastIndexOf(SLASH);
        const name = Buffer.concat([rel.subarray(1, slash + 1), WHITEOUT_PREFIX, rel.subarray(slash + 1)]);
        const hdr: TarHeader = {
            name,
            linkname: Buffer.alloc(0),
            typeflag: TypeReg,
            mode: 0,
            uid: 0,
            gid: 0,
            size: 0n,
            mtime: this.whiteoutTime.seconds,
            devmajor: 0n,
            devminor: 0n,
        };
        await this.includeParents(hdr);
        await this.writeHeader(hdr, "unknown", rel);
    }

    private async writeEntry(kind: ChangeKind, rel: Buffer, stat: FileStat): Promise<void> {
        const type = fileType(stat.mode);
        if (type === "socket") {
            if ((stat.mode & S_IFMT) !== 0o140000) {
                throw new EngineError("Unsupported", `${this.source.describe(rel)}: unknown file type (mode ${stat.mode.toString(8)})`, {
                    path: this.source.describe(rel),
                });
            }
            return; // sockets are not layer content
        }
        const link = isSymlink(stat) ? this.source.readlink(rel) : Buffer.alloc(0);
        let name = rel.subarray(1);
        if (isDir(stat) && name[name.length - 1] !== SLASH) {
            name = Buffer.concat([name, Buffer.from("/")]);
        }
        const hdr = fileInfoHeader(name, stat, link);
        if (this.names) {
            hdr.uname = this.names.users.get(stat.uid);
            hdr.gname = this.names.groups.get(stat.gid);
        }

        let additionalLinks: Buffer[] | undefined;
        const isHardlink = !isDir(stat) && stat.nlink > 1n;
        if (isHardlink) {
            const src = this.inodeSrc.get(stat.ino);
            if (src) {
                hdr.typeflag = TypeLink;
                hdr.linkname = src;
                hdr.size = 0n;
            } else {
                if (kind === "unmodified") {
                    const refs = this.inodeRefs.get(stat.ino) ?? [];
                    refs.push(name);
                    this.inodeRefs.set(stat.ino, refs);
                    return;
                }
                this.inodeSrc.set(stat.ino, name);
                additionalLinks = this.inodeRefs.get(stat.ino);
                this.inodeRefs.delete(stat.ino);
            }
        } else if (kind === "unmodified") {
            return;
        }

        const capability = this.source.getxattr(rel, "security.capability");
        if (capability && capability.length > 0) {
            hdr.paxRecords = new Map([[CAPABILITY_RECORD, capability]]);
        }

        await this.includeParents(hdr);
        await this.writeHeader(hdr, "pax", rel);
        if (hdr.typeflag === TypeReg && hdr.size > 0n) {
            await this.copyFile(rel, stat);
        }

        if (additionalLinks) {
            const source = hdr.name;
            for (const extra of additionalLinks) {
                const linkHdr: TarHeader = { ...hdr, name: extra, typeflag: TypeLink, linkname: source, size: 0n };
                await this.includeParents(linkHdr);
                await this.writeHeader(linkHdr, "pax", rel);
            }
        }
    }

    private async includeParents(hdr: TarHeader): Promise<void> {
        let end = hdr.name.length;
        while (end > 0 && hdr.name[end - 1] === SLASH) {
            end--;
        }
        const name = hdr.name.subarray(0, end);
        const slash = name.lastIndexOf(SLASH);
        if (slash > 0) {
            const parent = name.subarray(0, slash);
            const key = parent.toString("latin1");
            if (!this.addedDirs.has(key)) {
                this.addedDirs.add(key);
                const parentRel = Buffer.concat([Buffer.from("/"), parent]);
                const st = this.source.lstat(parentRel);
                if (!st || !isDir(st)) {
                    // containerd follows a symlink here; a parent that is not a directory only
                    // happens when the tree changes under us, and following it could leave the root.
                    const where = this.source.describe(parentRel);
                    throw new EngineError(
                        "ChangedWhileReading",
                        `${where}: is no longer a directory; retry when the tree is not being modified`,
                        { path: where },
                    );
                }
                await this.handleChange("modify", parentRel, st);
            }
        }
        if (hdr.typeflag === TypeDir) {
            this.addedDirs.add(name.toString("latin1"));
        }
    }

    private async writeHeader(hdr: TarHeader, format: RequestedFormat, rel: Buffer): Promise<void> {
        let blocks: Buffer;
        try {
            blocks = encodeHeader(hdr, format);
        } catch (err) {
            if (err instanceof EngineError) {
                const where = this.source.describe(rel);
                throw new EngineError(err.code, `${where}: ${err.message}`, { path: where }, { cause: err });
            }
            throw err;
        }
        await this.out.writeSmall(blocks);
    }

    /**
     * Copies exactly `stat.size` bytes straight into the tar stream's blocks; a file that grew
     * or shrank meanwhile is an error. A file that fits the current block takes one read of
     * size+1 bytes, which also proves its end.
     */
    private async copyFile(rel: Buffer, stat: FileStat): Promise<void> {
        const file = this.source.openFile(rel, stat);
        try {
            const size = Number(stat.size);
            if (size + 1 <= (await this.out.room())) {
                let n = -1;
                await this.out.fill(size, (buf, off) => {
                    n = file.readSync(buf, off, size + 1, 0);
                    return Math.min(n, size);
                });
                if (n !== size) {
                    throw this.changed(rel, n > size ? "grew" : "shrank");
                }
            } else {
                for (let pos = 0; pos < size; ) {
                    // Block-sized reads of a big file go through the thread pool: a slow disk must
                    // not hold the event loop (a 4 MiB readSync took 73-400 ms on a busy machine).
                    const n = await this.out.fillAsync(size - pos, (buf, off, len) => file.readAsync(buf, off, len, pos));
                    if (n === 0) {
                        throw this.changed(rel, "shrank");
                    }
                    pos += n;
                }
                if (file.readSync(this.probe, 0, 1, size) !== 0) {
                    throw this.changed(rel, "grew");
                }
            }
            file.verify?.();
        } finally {
            file.close();
        }
        await this.out.pad(stat.size);
    }

    private changed(rel: Buffer, how: string): EngineError {
        const where = this.source.describe(rel);
        return new EngineError(
            "ChangedWhileReading",
            `${where}: ${how} while it was being read; retry when the tree is not being modified`,
            { path: where },
        );
    }
}

/** tar.FileInfoHeader + containerd's statUnix and setHeaderForSpecialDevice. */
function fileInfoHeader(name: Buffer, stat: FileStat, link: Buffer): TarHeader {
    const typeflag = {
        file: TypeReg,
        dir: TypeDir,
        symlink: TypeSymlink,
        char: TypeChar,
        block: TypeBlock,
        fifo: TypeFifo,
        socket: TypeReg, // unreachable: sockets are skipped before
    }[fileType(stat.mode)];
    // containerd tests `mode&S_IFBLK != 0 || mode&S_IFCHR != 0`, bits that directories and
    // symlinks share, so their (normally zero) rdev is written too.
    const hasDev = (stat.mode & 0o060000) !== 0;
    return {
        name,
        linkname: link,
        typeflag,
        mode: stat.mode & 0o7777,
        uid: stat.uid,
        gid: stat.gid,
        size: typeflag === TypeReg ? stat.size : 0n,
        mtime: floorDiv(stat.mtimeNs, NS_PER_SECOND),
        devmajor: hasDev ? devMajor(stat.rdev) : 0n,
        devminor: hasDev ? devMinor(stat.rdev) : 0n,
    };
}
