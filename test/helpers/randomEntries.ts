/**
 * Random values for tree entries: names, modes, owners, times, contents, symlink targets,
 * device numbers, xattrs. Chosen to sit on the edges that decide tar bytes: USTAR field limits
 * (name 100, prefix 155, ids 07777777, mtime 8^11), PAX triggers (non-ASCII, long), block and
 * compare-chunk boundaries, and continuity's 0-ns rule.
 */
import type { Rng } from "./rng";
import {
    CAPABILITY_XATTR,
    type EntryKind,
    type Inode,
    type Timespec,
    type Tree,
    joinPath,
    utf8,
} from "./treeModel";

export const SHORT_NAMES = [
    "a", "b", "c", "x", "y", "z", "A", "B", "Z", "_x", "~y", "a-b", "a.b", "a0", "a b", "aa", "0",
    "9", "f.txt", "data", "lib", ".hidden", "-dash", "a=b", "#h", "it's", "tab\there",
    "back\\slash", "sp ace ",
];
/** "😀…" sorts after "ｆ…" by UTF-8 bytes (F0 > EF) but before it by UTF-16 units (D83D < FF46). */
const UTF8_NAMES = [
    "héllo-wörld.txt", "répertoire", "日本語.txt", "ünïcödé", "émoji-😀", "Ω", "naïve café", "😀",
    "ｆｕｌｌ.txt",
].map(utf8);
/** Byte strings that are not valid UTF-8. */
const RAW_NAMES = [
    "\xff\xfe", "bad\x80name", "caf\xe9", "\xc3(", "\xed\xa0\x80x", "lat\xe9n1-\xff",
];
const LONG_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789-_.";

const FILE_MODES = [
    0o644, 0o644, 0o755, 0o600, 0o444, 0o000, 0o640, 0o4755, 0o2755, 0o6755, 0o1644, 0o4000, 0o7777,
];
const DIR_MODES = [0o755, 0o755, 0o700, 0o1777, 0o2775, 0o555, 0o750, 0o3755, 0o000];
const SPECIAL_MODES = [0o644, 0o600, 0o666, 0o620, 0o1600];
/** uid/gid values; 2097151 = 07777777 is the largest USTAR field, 2097152 needs PAX. */
const IDS = [1, 1000, 65534, 2097151, 2097152, 3000000, 4294967294, 123456];
/** Seconds at the edges of the USTAR mtime field (8^11), of 32-bit time_t, and before 1970. */
export const SPECIAL_SECONDS = [
    -1, -2, -1000000, 0, 1, 8589934591, 8589934592, 10000000000, 2147483647, 2147483648, 4294967296,
];
/** major:minor pairs; the kernel's dev_t allows 12-bit majors and 20-bit minors. */
const CHAR_DEVICES: ReadonlyArray<readonly [number, number]> = [
    [1, 3], [1, 5], [4, 64], [5, 1], [10, 200], [136, 5], [4095, 1048575],
];
const BLOCK_DEVICES: ReadonlyArray<readonly [number, number]> = [
    [7, 0], [8, 1], [259, 3], [253, 17], [0, 0],
];
/** Cumulative shares of the ns values that matter (0 above all); the rest is random. */
const NSEC_SHARES: ReadonlyArray<readonly [number, number]> = [
    [0.35, 0], [0.42, 999999999], [0.47, 1], [0.52, 500000000],
];
const CONTENT_SHAPES = [
    ["empty", 18], ["small", 45], ["edge", 10], ["medium", 22], ["text", 5],
] as const;
const TARGET_SHAPES = [
    ["existing", 25], ["simple", 15], ["absolute", 15], ["dangling", 10], ["long", 15],
    ["utf8", 10], ["raw", 5],
] as const;
const NAME_SHAPES = [
    ["short", 50], ["suffixed", 15], ["utf8", 10], ["raw", 6], ["long", 14], ["wh", 1],
] as const;
export const USER_XATTRS = ["user.a", "user.comment", "user.mime_type", "user.x.y"];

export class EntryFactory {
    private freshClock = 0;

    /** `allowCharZero`: may create char 0:0 devices (never in overlay seeds, see randomTrees). */
    constructor(
        readonly rng: Rng,
        private readonly allowCharZero: boolean,
    ) {}

    time(): Timespec {
        const rng = this.rng;
        const sec = rng.chance(0.06) ? rng.pick(SPECIAL_SECONDS) : 1700000000 + rng.int(0, 2000);
        const r = rng.float();
        const hit = NSEC_SHARES.find(([upTo]) => r < upTo);
        return { sec, nsec: hit ? hit[1] : rng.int(1, 999999999) };
    }

    /** A time no LOWER entry has: makes an inode "modified" for every name. */
    freshTime(): Timespec {
        return { sec: 1800000000 + this.freshClock++, nsec: this.rng.int(1, 999999999) };
    }

    mode(kind: EntryKind): number {
        if (kind === "symlink") {
            return 0o777;
        }
        if (this.rng.chance(0.12)) {
            return this.rng.int(0, 0o7777);
        }
        return this.rng.pick(
            kind === "file" ? FILE_MODES : kind === "dir" ? DIR_MODES : SPECIAL_MODES,
        );
    }

    id(): number {
        return this.rng.chance(0.7) ? 0 : this.rng.pick(IDS);
    }

    content(): Buffer {
        const rng = this.rng;
        switch (rng.weighted(CONTENT_SHAPES)) {
            case "empty":
                return Buffer.alloc(0);
            case "small":
                return rng.bytes(rng.int(1, 600));
            case "edge":
                // Block boundaries, and continuity's 32 KiB compare chunk.
                return rng.bytes(
                    rng.pick([1, 511, 512, 513, 1023, 1024, 1025, 4096, 32768, 32769]),
                );
            case "medium":
                return rng.bytes(rng.int(1000, 90000));
            case "text":
                return Buffer.from("hello\n".repeat(rng.int(1, 50)));
        }
    }

    /** 1-4 MiB: a random 64 KiB block repeated, each copy stamped so no two blocks are equal. */
    bigContent(): Buffer {
        const size = this.rng.int(1 << 20, 4 << 20) + this.rng.int(0, 511);
        const block = this.rng.bytes(65536);
        const out = Buffer.alloc(size);
        for (let off = 0; off < size; off += block.length) {
            block.copy(out, off, 0, Math.min(block.length, size - off));
            if (off + 4 <= size) {
                out.writeUInt32LE(this.rng.next(), off);
            }
        }
        return out;
    }

    /** A VFS_CAP_REVISION_2 security.capability value (20 bytes, little endian). */
    capability(): Buffer {
        const rng = this.rng;
        const b = Buffer.alloc(20);
        b.writeUInt32LE(0x02000000 | (rng.chance(0.7) ? 1 : 0), 0);
        b.writeUInt32LE(
            ((1 << rng.int(0, 31)) | (rng.chance(0.3) ? rng.next() & 0xffff : 0)) >>> 0,
            4,
        );
        b.writeUInt32LE(rng.chance(0.3) ? rng.next() : 0, 8);
        b.writeUInt32LE(rng.chance(0.2) ? rng.int(0, 0x1ff) : 0, 12);
        return b;
    }

    xattrs(kind: EntryKind): Map<string, Buffer> {
        const x = new Map<string, Buffer>();
        if ((kind === "file" || kind === "dir") && this.rng.chance(0.15)) {
            for (let i = this.rng.int(1, 2); i > 0; i--) {
                x.set(this.rng.pick(USER_XATTRS), this.rng.bytes(this.rng.int(0, 24)));
            }
        }
        // The kernel takes security.capability on any inode but a socket, and containerd
        // compares and writes it for every kind.
        if (kind !== "socket" && this.rng.chance(kind === "file" ? 0.08 : 0.02)) {
            x.set(CAPABILITY_XATTR, this.capability());
        }
        return x;
    }

    /** A symlink target for a link in `dir`; "existing" ones point at paths of `tree`. */
    target(tree: Tree, dir: string): Buffer {
        const rng = this.rng;
        const depth = dir === "" ? 0 : dir.split("/").length;
        const others = (): string[] => [...tree.keys()].filter((p) => p !== "");
        let t: string;
        switch (rng.weighted(TARGET_SHAPES)) {
            case "existing": {
                const o = others();
                t = o.length > 0 ? "../".repeat(depth) + rng.pick(o) : "a";
                break;
            }
            case "simple":
                t = rng.pick(["a", "./x", "../a", "sub/file", ".", ".."]);
                break;
            case "absolute": {
                const o = others();
                const inTree = "/" + (o.length > 0 ? rng.pick(o) : "x");
                t = rng.pick(["/etc/passwd", "/", "/usr/bin/env", inTree]);
                break;
            }
            case "dangling":
                t = rng.pick(["does-not-exist", "../../../../../../outside", "/nonexistent/path"]);
                break;
            case "long":
                t = this.longString(rng.pick([99, 100, 101, 150, 300, 1000]), "target/");
                break;
            case "utf8":
                t = utf8(rng.pick(["cible-été", "日本/語", "ünï"]));
                break;
            case "raw":
                t = "\xff\xfe-target";
                break;
        }
        return Buffer.from(t, "latin1");
    }

    device(kind: "char" | "block"): readonly [number, number] {
        if (kind === "char") {
            return this.allowCharZero && this.rng.chance(0.15)
                ? [0, 0]
                : this.rng.pick(CHAR_DEVICES);
        }
        return this.rng.pick(BLOCK_DEVICES);
    }

    inode(kind: EntryKind, tree: Tree, dir: string): Inode {
        const [major, minor] = kind === "char" || kind === "block" ? this.device(kind) : [0, 0];
        return {
            kind,
            mode: this.mode(kind),
            uid: this.id(),
            gid: this.id(),
            mtime: this.time(),
            xattrs: this.xattrs(kind),
            content: kind === "file" ? this.content() : Buffer.alloc(0),
            target: kind === "symlink" ? this.target(tree, dir) : Buffer.alloc(0),
            major,
            minor,
        };
    }

    longString(len: number, unit = ""): string {
        let s = "";
        while (s.length < len) {
            const useUnit = unit !== "" && this.rng.chance(0.15);
            s += useUnit ? unit : LONG_CHARS[this.rng.int(0, LONG_CHARS.length - 1)];
        }
        return s.slice(0, len);
    }

    /** `len` bytes; sometimes with a 2-byte UTF-8 character inside (forces PAX). */
    longName(len: number): string {
        let s = this.longString(len);
        if (len >= 4 && this.rng.chance(0.25)) {
            const at = this.rng.int(0, len - 2);
            s = s.slice(0, at) + utf8("é") + s.slice(at + 2);
        }
        return s;
    }

    private candidateName(dir: string): string {
        const rng = this.rng;
        switch (rng.weighted(NAME_SHAPES)) {
            case "short":
                return rng.pick(SHORT_NAMES);
            case "suffixed":
                return rng.pick(SHORT_NAMES) + String(rng.int(0, 99));
            case "utf8":
                return rng.pick(UTF8_NAMES);
            case "raw":
                return rng.pick(RAW_NAMES);
            case "wh":
                // A real file whose name looks like a whiteout: neither differ interprets it.
                return ".wh." + rng.pick(["x", "a", "gone"]);
            case "long": {
                let len: number = rng.pick([100, 101, 120, 150, 155, 156, 200, 255]);
                if (rng.chance(0.5)) {
                    // Aim the whole path at a USTAR boundary: name field 100, prefix 155.
                    const target = rng.pick([99, 100, 101, 154, 155, 156, 157, 200, 255, 256, 257]);
                    const want = target - (dir === "" ? 0 : dir.length + 1);
                    if (want >= 1 && want <= 255) {
                        len = want;
                    }
                }
                return this.longName(len);
            }
        }
    }

    /** A name not yet used in `dir` of `tree`. */
    nameFor(tree: Tree, dir: string, kind: EntryKind): string {
        for (let attempt = 0; ; attempt++) {
            let name = this.candidateName(dir);
            if (attempt > 12) {
                name = name.slice(0, 200) + String(attempt);
            }
            // Socket names stay short (fsbuild once bound them by the bare name, and sockaddr_un
            // holds 107 bytes); lifting this would reshuffle every seed.
            if (kind === "socket" && name.length > 100) {
                continue;
            }
            if (name === "." || name === ".." || name.length > 255 || /[/\0]/.test(name)) {
                continue;
            }
            const p = joinPath(dir, name);
            if (!tree.has(p) && p.length < 3000) {
                return name;
            }
        }
    }
}
