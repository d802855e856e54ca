/**
 * Deterministic filesystem tree building for tests and fixtures (Linux, as root).
 *
 * Every helper is synchronous and sets what it creates explicitly: a mode is always applied with
 * chmod (so the process umask never matters), and owners, xattrs and mtimes are applied when asked.
 * Creating an entry changes its parent directory's mtime, so a builder first creates everything,
 * then calls `normalizeMtimes(root, T0)` and finally sets the few mtimes it cares about.
 *
 * Paths are `string | Buffer`; a Buffer path may hold bytes that are not UTF-8 (for names such as
 * 0xff 0xfe). External commands cannot take such a path as an argument (Node encodes argv as
 * UTF-8), so for those the command is run by `find` on the inode (see `runOnEntry`).
 *
 * Commands are always run with execFileSync and an argument array, never through a shell.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { removeAttributeSync, setAttributeSync } from "@napi-rs/xattr";

export type FsPath = string | Buffer;

/**
 * A point in time with nanosecond precision: an integer number of seconds, or a decimal string
 * "S" / "S.F" with up to 9 fraction digits; S may be negative ("-1.5" is 1.5 s before the epoch,
 * i.e. st_mtim = {-2, 500000000}).
 */
export type Timestamp = number | string;

/** 2023-11-14T22:13:20Z, the default mtime of fixture trees. */
export const T0 = 1700000000;
/** T0 + 1000 s, the mtime of "later" (modified) entries. */
export const T1 = 1700001000;

/** security.capability v2 value granting cap_net_bind_service=+ep (as `setcap` writes it). */
export const CAP_NET_BIND_SERVICE = Buffer.from("0100000200040000000000000000000000000000", "hex");

/** Metadata applied after an entry is created, in this order: owner, mode, xattrs, mtime. */
export interface EntryOptions {
    /** Permission bits incl. 0o4000/0o2000/0o1000. Default: 0o644 files, 0o755 dirs. */
    mode?: number;
    uid?: number;
    gid?: number;
    xattrs?: Record<string, string | Uint8Array>;
    mtime?: Timestamp;
}

/** Joins path parts; the result is a Buffer as soon as one part is a Buffer. */
export function joinPath(base: FsPath, ...parts: FsPath[]): FsPath {
    if (typeof base === "string" && parts.every((p): p is string => typeof p === "string")) {
        return path.join(base, ...parts);
    }
    const bufs: Buffer[] = [toBuffer(base)];
    for (const part of parts) {
        bufs.push(Buffer.from("/"), toBuffer(part));
    }
    return Buffer.concat(bufs);
}

/** Creates a regular file with `content` (default mode 0o644). Fails if it exists. */
export function writeFile(p: FsPath, content: string | Uint8Array, opts: EntryOptions = {}): void {
    fs.writeFileSync(p, content, { flag: "wx" });
    applyOptions(p, { mode: 0o644, ...opts });
}

/**
 * Creates a directory (default mode 0o755). Missing parents are created too, with mode 0o755
 * and no other metadata. An existing directory is left as it is except for the `opts` given.
 */
export function mkdir(p: FsPath, opts: EntryOptions = {}): void {
    const parent = dirnameOf(p);
    if (!fs.existsSync(parent)) {
        mkdir(parent);
    }
    if (fs.existsSync(p)) {
        applyOptions(p, opts);
        return;
    }
    fs.mkdirSync(p);
    applyOptions(p, { mode: 0o755, ...opts });
}

/** Writes several files below `root` (parents created as needed), all with the same options. */
export function writeFiles(
    root: FsPath,
    entries: Record<string, string | Uint8Array>,
    opts: EntryOptions = {},
): void {
    for (const [rel, content] of Object.entries(entries)) {
        const p = joinPath(root, rel);
        mkdir(dirnameOf(p));
        writeFile(p, content, opts);
    }
}

/** Replaces the content of an existing regular file in place (same inode, mode and owner). */
export function rewriteFile(p: FsPath, content: string | Uint8Array): void {
    fs.writeFileSync(p, content, { flag: "r+" });
    fs.truncateSync(p, typeof content === "string" ? Buffer.byteLength(content) : content.length);
}

/** Creates a symlink holding `target` verbatim. Its mode is always 0o777 on Linux. */
export function symlink(target: FsPath, p: FsPath, opts: Omit<EntryOptions, "mode"> = {}): void {
    fs.symlinkSync(target, p);
    applyOptions(p, opts);
}

/** Adds the name `newPath` to the inode of `existing` (a hard link; metadata is shared). */
export function hardlink(existing: FsPath, newPath: FsPath): void {
    fs.linkSync(existing, newPath);
}

/** Creates a fifo (default mode 0o644). */
export function mkfifo(p: FsPath, opts: EntryOptions = {}): void {
    createWithCommand(p, (tmp) => execFileSync("mkfifo", ["--", tmp]));
    applyOptions(p, { mode: 0o644, ...opts });
}

/**
 * Creates a character ("c") or block ("b") device node (default mode 0o644). A char device
 * 0:0 is an overlayfs whiteout.
 */
export function mknod(
    p: FsPath,
    kind: "c" | "b",
    major: number,
    minor: number,
    opts: EntryOptions = {},
): void {
    createWithCommand(p, (tmp) =>
        execFileSync("mknod", ["--", tmp, kind, String(major), String(minor)]));
    applyOptions(p, { mode: 0o644, ...opts });
}

/** Creates an overlayfs whiteout: a char device 0:0 (mode 0o644 unless given). */
export function whiteoutDevice(p: FsPath, opts: EntryOptions = {}): void {
    mknod(p, "c", 0, 0, opts);
}

/** Creates a unix-domain socket file bound at `p` (default mode 0o755); nothing listens on it. */
export function mksock(p: FsPath, opts: EntryOptions = {}): void {
    // Bound under a short name in a directory perl can name, then renamed: a sockaddr_un path
    // holds at most 107 bytes (longer ones are cut short), and the name must not start with "-"
    // (perl would read it as a switch).
    const tmp = path.join(utf8Ancestor(p), `.fsbuild-sock-${process.pid}`);
    const script =
        "use Socket; socket(my $s, PF_UNIX, SOCK_STREAM, 0) or die \"socket: $!\\n\"; " +
        "bind($s, pack_sockaddr_un($ARGV[0])) or die \"bind: $!\\n\";";
    execFileSync("perl", ["-e", script, path.basename(tmp)], { cwd: path.dirname(tmp) });
    fs.renameSync(tmp, p);
    applyOptions(p, { mode: 0o755, ...opts });
}

/** Sets a file's permission bits (follows symlinks, like chmod(2)). */
export function chmod(p: FsPath, mode: number): void {
    fs.chmodSync(p, mode);
}

/**
 * Sets owner and group without following symlinks. NOTE: on Linux this clears setuid/setgid on
 * executables and drops security.capability, so set modes and capabilities afterwards.
 */
export function lchown(p: FsPath, uid: number, gid: number): void {
    fs.lchownSync(p, uid, gid);
}

/** Sets one extended attribute without following symlinks (user.*, trusted.*, security.*). */
export function setXattr(p: FsPath, name: string, value: string | Uint8Array): void {
    const s = asUtf8String(p);
    if (s !== undefined) {
        setAttributeSync(s, name, value);
        return;
    }
    const bytes = typeof value === "string" ? Buffer.from(value) : Buffer.from(value);
    const hex = `0x${bytes.toString("hex")}`;
    runOnEntry(p, "setfattr", ["-h", "-n", name, "-v", hex]);
}

/** Removes one extended attribute without following symlinks. */
export function removeXattr(p: FsPath, name: string): void {
    const s = asUtf8String(p);
    if (s !== undefined) {
        removeAttributeSync(s, name);
        return;
    }
    runOnEntry(p, "setfattr", ["-h", "-x", name]);
}

/**
 * Sets atime and mtime of `p` (never following a symlink) to `t` with nanosecond precision.
 * Uses `touch -h -d @S.NNNNNNNNN`: Node's utimes/lutimes go through a double and lose precision.
 */
export function setMtime(p: FsPath, t: Timestamp): void {
    runOnEntry(p, "touch", ["-h", "-d", touchDate(t)]);
}

/** Sets the mtime of `dir` and everything below it to `t`, children before their directory. */
export function normalizeMtimes(dir: string, t: Timestamp): void {
    execFileSync("find", [dir, "-depth", "-exec", "touch", "-h", "-d", touchDate(t), "{}", "+"]);
}

/**
 * Copies the contents of `src` into `dst` (created if missing) preserving everything: `cp -a`
 * keeps owners, modes, ns mtimes, hard links within the copy, special files and all xattrs.
 * The root of `dst` gets the metadata of `src`.
 */
export function copyTree(src: string, dst: string): void {
    execFileSync("cp", ["-a", "--", `${src}/.`, dst]);
}

/** Removes a file or a whole tree. */
export function remove(p: FsPath): void {
    fs.rmSync(p, { recursive: true, force: false });
}

/**
 * `size` bytes of deterministic text: numbered 32-byte lines, distinct at every offset (so a
 * misplaced read shows up) yet compressible (so goldens stay small).
 */
export function patternBytes(size: number, tag = "layerscope"): Buffer {
    const out = Buffer.alloc(size);
    let off = 0;
    for (let i = 0; off < size; i++) {
        const line = `${String(i).padStart(10, "0")} ${tag}`.padEnd(31, ".").slice(0, 31) + "\n";
        off += out.write(line, off, "latin1");
    }
    return out;
}

/** Formats a Timestamp for GNU touch: "@S" or "@S.F". */
export function touchDate(t: Timestamp): string {
    if (typeof t === "number") {
        if (!Number.isSafeInteger(t)) {
            throw new Error(`timestamp ${t}: use a decimal string for fractional seconds`);
        }
        return `@${t}`;
    }
    if (!/^-?\d+(\.\d{1,9})?$/.test(t)) {
        throw new Error(`timestamp ${JSON.stringify(t)}: expected "S" or "S.F" (up to 9 digits)`);
    }
    return `@${t}`;
}

function applyOptions(p: FsPath, opts: EntryOptions): void {
    if (opts.uid !== undefined || opts.gid !== undefined) {
        const st = fs.lstatSync(p);
        lchown(p, opts.uid ?? st.uid, opts.gid ?? st.gid);
    }
    if (opts.mode !== undefined) {
        chmod(p, opts.mode);
    }
    for (const [name, value] of Object.entries(opts.xattrs ?? {})) {
        setXattr(p, name, value);
    }
    if (opts.mtime !== undefined) {
        setMtime(p, opts.mtime);
    }
}

/**
 * Runs `cmd ...args PATH` on the entry `p`. When `p` is not valid UTF-8 it cannot be passed in
 * argv, so `find` locates it by inode under its nearest UTF-8 ancestor and runs the command on
 * the raw bytes; other names of the same inode (hard links) share all metadata anyway.
 */
function runOnEntry(p: FsPath, cmd: string, args: string[]): void {
    const s = asUtf8String(p);
    if (s !== undefined) {
        execFileSync(cmd, [...args, "--", s]);
        return;
    }
    const ino = fs.lstatSync(p).ino;
    const root = utf8Ancestor(p);
    const found = execFileSync("find", [
        root, "-xdev", "-mindepth", "1", "-inum", String(ino),
        "-print", "-exec", cmd, ...args, "--", "{}", "+",
    ]);
    if (found.length === 0) {
        throw new Error(`${cmd}: could not locate inode ${ino} under ${root}`);
    }
}

/** Creates an entry with a command, through a temporary ASCII name when `p` is not UTF-8. */
function createWithCommand(p: FsPath, create: (tmp: string) => void): void {
    const s = asUtf8String(p);
    if (s !== undefined) {
        create(s);
        return;
    }
    const tmp = path.join(utf8Ancestor(p), `.fsbuild-tmp-${process.pid}`);
    create(tmp);
    fs.renameSync(tmp, p);
}

function utf8Ancestor(p: FsPath): string {
    let dir = dirnameOf(p);
    for (;;) {
        const s = asUtf8String(dir);
        if (s !== undefined) {
            return s;
        }
        dir = dirnameOf(dir);
    }
}

function dirnameOf(p: FsPath): FsPath {
    if (typeof p === "string") {
        return path.dirname(p);
    }
    let end = p.length;
    while (end > 1 && p[end - 1] === 0x2f) {
        end--;
    }
    const slash = p.lastIndexOf(0x2f, end - 1);
    if (slash < 0) {
        return Buffer.from(".");
    }
    return slash === 0 ? Buffer.from("/") : p.subarray(0, slash);
}

/** The path as a string if its bytes are valid UTF-8 (round-trip exact), else undefined. */
function asUtf8String(p: FsPath): string | undefined {
    if (typeof p === "string") {
        return p;
    }
    const s = p.toString("utf8");
    return Buffer.from(s, "utf8").equals(p) ? s : undefined;
}

function toBuffer(p: FsPath): Buffer {
    return typeof p === "string" ? Buffer.from(p, "utf8") : p;
}
