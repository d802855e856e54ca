/**
 * The random edits that turn a copy of LOWER into UPPER, one function per kind of edit, picked
 * by weight. Each one mirrors something a build step does to a filesystem.
 */
import { SPECIAL_SECONDS, USER_XATTRS } from "./randomEntries";
import type { TreeEditor } from "./treeEditor";
import {
    CAPABILITY_XATTR,
    cloneInode,
    joinPath,
    linkGroups,
    parentOf,
    showPath,
} from "./treeModel";

type Edit = (e: TreeEditor) => void;

function editContent(e: TreeEditor): void {
    const p = e.pick((n) => n.kind === "file");
    if (p === undefined) {
        return;
    }
    const n = e.tree.get(p)!;
    const variant =
        n.content.length === 0
            ? "resize"
            : e.rng.pick([
                  "resize",
                  "sameSizeSameTime",
                  "sameSizeSameTime",
                  "sameSizeNewNs",
                  "lastByte",
              ] as const);
    switch (variant) {
        case "resize":
            n.content = e.f.content();
            if (e.rng.chance(0.8)) {
                n.mtime = e.f.time();
            }
            break;
        case "sameSizeSameTime":
            // Found only by the byte compare, and only when both mtimes have 0 ns.
            n.content = e.rng.bytes(n.content.length);
            break;
        case "sameSizeNewNs":
            n.content = e.rng.bytes(n.content.length);
            n.mtime = {
                sec: n.mtime.sec,
                nsec: (n.mtime.nsec + e.rng.int(1, 999999998)) % 1000000000,
            };
            break;
        case "lastByte": {
            const c = Buffer.from(n.content);
            c[c.length - 1] = c[c.length - 1]! ^ 0x01;
            n.content = c;
            break;
        }
    }
    e.note("content", p, `${variant}, mtime ns ${n.mtime.nsec}`);
}

function touch(e: TreeEditor): void {
    const p = e.pick((n) => n.kind !== "dir");
    if (p === undefined) {
        return;
    }
    const n = e.tree.get(p)!;
    const variant = e.rng.pick(["ns", "toZeroNs", "fromZeroNs", "sec", "special", "same"] as const);
    switch (variant) {
        case "ns":
            n.mtime = { sec: n.mtime.sec, nsec: e.rng.int(1, 999999999) };
            break;
        case "toZeroNs":
            n.mtime = { sec: n.mtime.sec, nsec: 0 };
            break;
        case "fromZeroNs":
            // T vs T.000000001: differs only in the ns part.
            n.mtime = { sec: n.mtime.sec, nsec: n.mtime.nsec === 0 ? 1 : 0 };
            break;
        case "sec":
            n.mtime = { sec: n.mtime.sec + e.rng.int(1, 1000), nsec: n.mtime.nsec };
            break;
        case "special":
            n.mtime = {
                sec: e.rng.pick(SPECIAL_SECONDS),
                nsec: e.rng.pick([0, 1, 500000000, 999999999]),
            };
            break;
        case "same":
            break;
    }
    e.note("touch", p, `${variant} -> ${n.mtime.sec}.${n.mtime.nsec}`);
}

function chmod(e: TreeEditor): void {
    const p = e.pick((n) => n.kind !== "symlink");
    if (p !== undefined) {
        const n = e.tree.get(p)!;
        n.mode = e.f.mode(n.kind);
        e.note("chmod", p, n.mode.toString(8));
    }
}

function chown(e: TreeEditor): void {
    const p = e.pick(() => true);
    if (p !== undefined) {
        const n = e.tree.get(p)!;
        [n.uid, n.gid] = [e.f.id(), e.rng.chance(0.5) ? n.gid : e.f.id()];
        e.note("chown", p, `${n.uid}:${n.gid}`);
    }
}

function userXattr(e: TreeEditor): void {
    const p = e.pick((n) => n.kind === "file" || n.kind === "dir");
    if (p !== undefined) {
        e.tree.get(p)!.xattrs.set(e.rng.pick(USER_XATTRS), e.rng.bytes(e.rng.int(0, 16)));
        e.note("set user xattr", p);
    }
}

function capability(e: TreeEditor): void {
    const p = e.pick((n) => n.kind === "file" || (n.kind !== "socket" && e.rng.chance(0.15)));
    if (p === undefined) {
        return;
    }
    const x = e.tree.get(p)!.xattrs;
    if (x.has(CAPABILITY_XATTR) && e.rng.chance(0.4)) {
        x.delete(CAPABILITY_XATTR);
        e.note("remove capability", p);
    } else {
        x.set(CAPABILITY_XATTR, e.f.capability());
        e.note("set capability", p);
    }
}

function remove(e: TreeEditor): void {
    const p = e.pick(() => true);
    if (p !== undefined) {
        e.note("delete", p, e.tree.get(p)!.kind);
        e.remove(p);
    }
}

function add(e: TreeEditor): void {
    const dir = e.rng.pick(e.dirs());
    const kind = e.randomKind(2);
    e.note("add", e.addEntry(dir, kind, 2), kind);
}

/** Into a LOWER directory: a socket alone must not make its parent appear. */
function addSocket(e: TreeEditor): void {
    const dir = e.rng.pick(e.dirs().filter((d) => e.lower.has(d)));
    e.note("add", e.addEntry(dir, "socket", 0), "socket");
}

function retarget(e: TreeEditor): void {
    const p = e.pick((n) => n.kind === "symlink");
    if (p === undefined) {
        return;
    }
    const n = e.tree.get(p)!;
    const variant = e.rng.pick(["sameLength", "sameLengthNewNs", "new"] as const);
    if (variant === "new") {
        n.target = e.f.target(e.tree, parentOf(p));
        n.mtime = e.rng.chance(0.5) ? e.f.time() : n.mtime;
    } else {
        // Same size: found by readlink only when both mtimes have 0 ns.
        const t = Buffer.from(n.target);
        t[t.length - 1] = t[t.length - 1] === 0x41 ? 0x42 : 0x41;
        n.target = t;
        if (variant === "sameLengthNewNs") {
            n.mtime = { sec: n.mtime.sec, nsec: e.rng.int(1, 999999999) };
        }
    }
    e.note("retarget", p, `${variant}, mtime ns ${n.mtime.nsec}`);
}

/** Any non-directory can have several names; the ChangeWriter links them all. */
function linkNew(e: TreeEditor): void {
    const dir = e.rng.pick(e.dirs());
    const kind = e.rng.weighted([
        ["file", 6],
        ["symlink", 2],
        ["fifo", 1],
        ["char", 1],
        ["block", 1],
    ] as const);
    const p = e.addEntry(dir, kind, 0);
    const more = e.addLinkNames(p, e.rng.int(1, 2));
    e.note("new link group", p, more.map(showPath).join(", "));
}

function linkAddName(e: TreeEditor): void {
    const p = e.pick((n, q) => n.kind !== "dir" && e.lower.has(q));
    if (p === undefined) {
        return;
    }
    const q = e.rng.chance(0.4) ? e.pick((n, r) => n.kind !== "dir" && r !== p) : undefined;
    if (q !== undefined) {
        // `ln -f`: an existing name now points at another existing inode.
        e.tree.set(q, e.tree.get(p)!);
        e.note("replace by link", q, `-> ${showPath(p)}`);
    } else {
        e.note("add link name for", p, e.addLinkNames(p, 1).map(showPath).join(", "));
    }
}

/**
 * A new name, late in walk order, for an entry that stays unchanged deep in LOWER: the
 * ChangeWriter holds the unchanged names back and writes them as links right after the new
 * one, with their (unchanged) parent directories, out of walk order (oracle README §4).
 */
function linkLater(e: TreeEditor): void {
    const p = e.pick((n, q) => n.kind !== "dir" && e.lower.has(q) && q.includes("/"));
    if (p === undefined) {
        return;
    }
    const dir = e.rng.chance(0.5) ? "" : e.rng.pick(e.dirs());
    const q = joinPath(dir, `~~late-${e.rng.int(0, 99)}`);
    if (!e.tree.has(q)) {
        e.tree.set(q, e.tree.get(p)!);
        e.note("add late link name for", p, showPath(q));
    }
}

/** A 1-4 MiB file: added, or changed in its last byte with size and mtime kept. */
function bigFile(e: TreeEditor): void {
    const big = e.pick((n) => n.kind === "file" && n.content.length >= 1 << 20);
    if (big !== undefined && e.rng.chance(0.6)) {
        const n = e.tree.get(big)!;
        const c = Buffer.from(n.content);
        c[c.length - 1] = c[c.length - 1]! ^ 0x01;
        n.content = c;
        e.note("big file last byte", big, `mtime ns ${n.mtime.nsec}`);
        return;
    }
    const dir = e.rng.pick(e.dirs());
    const p = joinPath(dir, e.nameFor(dir, "file"));
    e.put(p, { ...e.inode("file", dir), content: e.f.bigContent() });
    e.note("add big file", p);
}

function linkBreak(e: TreeEditor): void {
    const groups = [...linkGroups(e.tree).values()];
    if (groups.length > 0) {
        const p = e.rng.pick(e.rng.pick(groups));
        const copy = cloneInode(e.tree.get(p)!);
        if (copy.kind === "file" && e.rng.chance(0.5)) {
            copy.content = e.f.content();
            copy.mtime = e.f.time();
        }
        e.tree.set(p, copy);
        e.note("break link", p);
    }
}

function linkDeleteName(e: TreeEditor): void {
    const groups = [...linkGroups(e.tree).values()];
    if (groups.length > 0) {
        const p = e.rng.pick(e.rng.pick(groups));
        e.note("delete link name", p);
        e.remove(p);
    }
}

function rdev(e: TreeEditor): void {
    const p = e.pick((n) => n.kind === "char" || n.kind === "block");
    if (p !== undefined) {
        const n = e.tree.get(p)!;
        [n.major, n.minor] = e.f.device(n.kind as "char" | "block");
        e.note("rdev", p, `${n.major}:${n.minor}`);
    }
}

/** Never an entry by itself: directories compare mode, owner, rdev and capabilities only. */
function dirMeta(e: TreeEditor): void {
    const p = e.pick((n) => n.kind === "dir");
    if (p === undefined) {
        return;
    }
    const n = e.tree.get(p)!;
    if (e.rng.chance(0.7)) {
        n.mtime = e.f.time();
        e.note("dir mtime only", p);
    } else {
        n.xattrs.set(e.rng.pick(USER_XATTRS), e.rng.bytes(4));
        e.note("dir user xattr", p);
    }
}

/** The root is never an entry. */
function rootMeta(e: TreeEditor): void {
    const n = e.tree.get("")!;
    n.mode = e.f.mode("dir");
    n.mtime = e.f.time();
    e.note("root meta", "", n.mode.toString(8));
}

const EDITS: ReadonlyArray<readonly [Edit, number]> = [
    [editContent, 14],
    [touch, 12],
    [chmod, 6],
    [chown, 5],
    [userXattr, 4],
    [capability, 4],
    [remove, 10],
    [(e) => e.recreateDir(), 5],
    [add, 12],
    [addSocket, 2],
    [retarget, 5],
    [(e) => e.typeSwap(), 8],
    [linkNew, 4],
    [linkAddName, 4],
    [linkLater, 8],
    [bigFile, 1],
    [linkBreak, 2],
    [linkDeleteName, 3],
    [rdev, 2],
    [dirMeta, 3],
    [rootMeta, 1],
];

/** Applies `count` random edits to `e.tree`. */
export function applyRandomEdits(e: TreeEditor, count: number): void {
    for (let i = 0; i < count; i++) {
        e.rng.weighted(EDITS)(e);
    }
}
