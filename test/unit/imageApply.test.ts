/**
 * Applying layer tars (src/engine/image/applyLayer.ts): OCI whiteouts and opaque directories in
 * native and overlayfs-upperdir mode, hard links, xattrs, owners, modes, times; and a corpus of
 * hostile tars, each refused with its own code and reason, writing nothing outside the root.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { applyLayer, type ApplyMode } from "../../src/engine/image/applyLayer";
import { isEngineError } from "../../src/engine/errors";
import { tarOf, type TarEntrySpec } from "../helpers/tarBuilder";

const work = fs.mkdtempSync(join(tmpdir(), "layerscope-apply-"));
after(() => fs.rmSync(work, { recursive: true, force: true }));
const isRoot = process.getuid?.() === 0;
let n = 0;

/** A sandbox: `root` to apply into and a sibling `outside` that must stay empty. */
function sandbox(): { root: string; outside: string } {
    const dir = join(work, `s${n++}`);
    fs.mkdirSync(join(dir, "root"), { recursive: true });
    fs.mkdirSync(join(dir, "outside"));
    return { root: join(dir, "root"), outside: join(dir, "outside") };
}

async function apply(root: string, entries: TarEntrySpec[], mode: ApplyMode = "native", extra: { privileged?: boolean; maxBytes?: number; raw?: Buffer } = {}) {
    const tar = extra.raw ?? tarOf(entries);
    return applyLayer((async function* () { yield tar; })(), { root, mode, privileged: extra.privileged, maxBytes: extra.maxBytes });
}

const file = (name: string, data: string, o: Partial<TarEntrySpec> = {}): TarEntrySpec => ({ name, data: Buffer.from(data), mode: 0o644, mtime: 1700000000, ...o });
const dir = (name: string, o: Partial<TarEntrySpec> = {}): TarEntrySpec => ({ name, type: "5", mode: 0o755, mtime: 1700000000, ...o });

describe("applyLayer: semantics", () => {
    it("applies files, dirs, symlinks, hard links, modes, owners, times and PAX xattrs", async () => {
        const { root } = sandbox();
        const r = await apply(root, [
            dir("etc/", { mode: 0o750, mtime: 1600000000 }),
            file("etc/a", "alpha", { mode: 0o4755, uid: 1234, gid: 5678, mtime: 1650000000, pax: { "SCHILY.xattr.user.demo": "v1" } }),
            { name: "etc/hl", type: "1", linkname: "etc/a", mtime: 1650000000 },
            { name: "etc/sym", type: "2", linkname: "../nowhere", mtime: 1650000001 },
        ]);
        assert.equal(r.entries, 4);
        assert.equal(fs.readFileSync(join(root, "etc/a"), "utf8"), "alpha");
        const a = fs.statSync(join(root, "etc/a"));
        assert.equal(a.ino, fs.statSync(join(root, "etc/hl")).ino, "hard link shares the inode");
        assert.equal(a.mtimeMs, 1650000000 * 1000);
        assert.equal(fs.readlinkSync(join(root, "etc/sym")), "../nowhere");
        assert.equal(fs.statSync(join(root, "etc")).mtimeMs, 1600000000 * 1000, "directory time set last");
        assert.equal(fs.statSync(join(root, "etc")).mode & 0o7777, 0o750);
        if (isRoot) {
            assert.equal(a.uid, 1234);
            assert.equal(a.gid, 5678);
            assert.equal(a.mode & 0o7777, 0o4755, "setuid survives chown");
        }
        const x = require("@napi-rs/xattr") as { getAttributeSync(p: string, n: string): Buffer | null };
        assert.equal(x.getAttributeSync(join(root, "etc/a"), "user.demo")?.toString(), "v1");
    });

    it("native: .wh.<name> deletes from the parent, .wh..wh..opq empties the directory but keeps this layer's entries", async () => {
        const { root } = sandbox();
        await apply(root, [dir("d/"), file("d/keep", "k"), file("d/gone", "g"), dir("o/"), file("o/old", "o"), dir("x/"), file("x/y", "y")]);
        await apply(root, [file("d/.wh.gone", ""), file(".wh.x", ""), dir("o/"), file("o/new", "n"), file("o/.wh..wh..opq", "")]);
        assert.deepEqual(fs.readdirSync(join(root, "d")), ["keep"]);
        assert.equal(fs.existsSync(join(root, "x")), false);
        assert.deepEqual(fs.readdirSync(join(root, "o")), ["new"]);
    });

    it("overlayfs: whiteouts become 0/0 character devices, opaque directories get the opaque xattr", { skip: !isRoot && "needs root (mknod, trusted.*)" }, async () => {
        const { root } = sandbox();
        await apply(root, [dir("d/"), file("d/.wh.gone", ""), dir("o/"), file("o/.wh..wh..opq", ""), file("o/new", "n")], "overlayfs");
        const st = fs.lstatSync(join(root, "d/gone"));
        assert.ok(st.isCharacterDevice());
        assert.equal(st.rdev, 0);
        const x = require("@napi-rs/xattr") as { getAttributeSync(p: string, n: string): Buffer | null };
        assert.equal(x.getAttributeSync(join(root, "o"), "trusted.overlay.opaque")?.toString(), "y");
        assert.deepEqual(fs.readdirSync(join(root, "o")), ["new"]);
    });

    it("hard links to a device node or fifo made earlier in the same layer (their creation is queued)", { skip: !isRoot && "needs root (mknod)" }, async () => {
        const { root } = sandbox();
        await apply(root, [
            dir("dev/"),
            { name: "dev/null", type: "3", mode: 0o666, devmajor: 1, devminor: 3, mtime: 1700000000 },
            { name: "dev/null-again", type: "1", linkname: "dev/null", mtime: 1700000000 },
            { name: "dev/pipe", type: "6", mode: 0o600, mtime: 1700000000 },
            { name: "dev/pipe-again", type: "1", linkname: "dev/pipe", mtime: 1700000000 },
        ], "native", { privileged: true });
        const dev = fs.lstatSync(join(root, "dev/null"));
        assert.ok(dev.isCharacterDevice());
        assert.equal(fs.lstatSync(join(root, "dev/null-again")).ino, dev.ino, "the link shares the device node's inode");
        assert.equal(fs.lstatSync(join(root, "dev/pipe-again")).ino, fs.lstatSync(join(root, "dev/pipe")).ino);
    });

    it("follows a symlinked parent directory inside the root (absolute targets start at the root)", async () => {
        const { root, outside } = sandbox();
        await apply(root, [dir("usr/"), dir("usr/lib/"), { name: "lib", type: "2", linkname: "/usr/lib" }, { name: "esc", type: "2", linkname: outside }, file("lib/x", "x"), file("esc/y", "y")]);
        assert.equal(fs.readFileSync(join(root, "usr/lib/x"), "utf8"), "x");
        assert.equal(fs.readFileSync(join(root, outside, "y"), "utf8"), "y", "an absolute target is taken inside the root");
        assert.deepEqual(fs.readdirSync(outside), []);
    });

    it("overlay.* xattrs from a layer are never set; trusted.* need privilege", async () => {
        const { root } = sandbox();
        const r = await apply(root, [dir("d/", { pax: { "SCHILY.xattr.trusted.overlay.opaque": "y" } }), file("f", "f", { pax: { "SCHILY.xattr.trusted.x": "1" } })], "native", { privileged: false });
        assert.equal(r.skippedXattrs, 2);
    });
});

interface Hostile {
    readonly name: string;
    readonly entries?: TarEntrySpec[];
    readonly raw?: () => Buffer;
    readonly code: string;
    readonly reason: string;
    readonly privileged?: boolean;
    readonly maxBytes?: number;
    readonly before?: (root: string, outside: string) => TarEntrySpec[];
}

function badChecksum(): Buffer {
    const t = tarOf([file("a", "a")]);
    t[148] = 0x37; // checksum field
    t[149] = 0x37;
    return t;
}

const corpus: Hostile[] = [
    { name: "dot-dot name", entries: [file("../evil", "x")], code: "UnsafePath", reason: "path-traversal" },
    { name: "dot-dot inside a name", entries: [dir("a/"), file("a/../../evil", "x")], code: "UnsafePath", reason: "path-traversal" },
    { name: "absolute name", entries: [file("/evil", "x")], code: "UnsafePath", reason: "absolute-path" },
    { name: "symlink to .. then a file through it", entries: [{ name: "l", type: "2", linkname: "../outside" }, file("l/evil", "x")], code: "UnsafePath", reason: "symlink-escape" },
    {
        name: "escape two symlinks deep",
        entries: [dir("a/"), { name: "a/s1", type: "2", linkname: "." }, { name: "a/s1/s2", type: "2", linkname: "../.." }, file("a/s1/s2/evil", "x")],
        code: "UnsafePath",
        reason: "symlink-escape",
    },
    { name: "symlink loop", entries: [{ name: "a", type: "2", linkname: "b" }, { name: "b", type: "2", linkname: "a" }, file("a/x", "x")], code: "UnsafePath", reason: "symlink-loop" },
    { name: "hard link to ..", entries: [{ name: "h", type: "1", linkname: "../outside/target" }], code: "UnsafePath", reason: "hardlink-escape" },
    { name: "hard link to an absolute path", entries: [{ name: "h", type: "1", linkname: "/etc/passwd" }], code: "UnsafePath", reason: "hardlink-escape" },
    { name: "hard link through an escaping symlink", entries: [{ name: "l", type: "2", linkname: "../../.." }, { name: "h", type: "1", linkname: "l/etc/passwd" }], code: "UnsafePath", reason: "symlink-escape" },
    { name: "hard link to a name not yet extracted", entries: [{ name: "h", type: "1", linkname: "later" }, file("later", "x")], code: "Corrupt", reason: "hardlink-missing" },
    { name: "hard link to a directory", entries: [dir("d/"), { name: "h", type: "1", linkname: "d" }], code: "UnsafePath", reason: "hardlink-dir" },
    { name: "device node unprivileged", entries: [{ name: "dev/null", type: "3", devmajor: 1, devminor: 3 }], code: "PermissionDenied", reason: "device-unprivileged", privileged: false },
    { name: "header size larger than the data", raw: () => tarOf([file("a", "short", { size: 4096 })], { end: "none" }), code: "Corrupt", reason: "truncated" },
    { name: "bad header checksum", raw: badChecksum, code: "Corrupt", reason: "bad-checksum" },
    { name: "decompressed size over the limit", entries: [file("big", "x".repeat(64 * 1024))], maxBytes: 16 * 1024, code: "ResourceExhausted", reason: "too-large" },
    { name: "a file where a directory is needed", entries: [file("f", "x"), file("f/g", "y")], code: "Corrupt", reason: "not-a-directory" },
    { name: "whiteout of ..", entries: [file(".wh..", "")], code: "UnsafePath", reason: "bad-whiteout" },
    { name: "unknown entry type", entries: [{ name: "s", type: "S", data: Buffer.alloc(0) }], code: "Unsupported", reason: "entry-type" },
];

describe("applyLayer: hostile tars", () => {
    for (const h of corpus) {
        it(`refuses ${h.name} (${h.code}/${h.reason}) and writes nothing outside`, async () => {
            const { root, outside } = sandbox();
            fs.writeFileSync(join(outside, "target"), "keep");
            const before = fs.readdirSync(join(root, ".."));
            await assert.rejects(
                apply(root, h.entries ?? [], "native", { privileged: h.privileged, maxBytes: h.maxBytes, raw: h.raw?.() }),
                (err: unknown) => {
                    assert.ok(isEngineError(err), String(err));
                    assert.equal(err.code, h.code, err.message);
                    assert.equal(err.data.reason, h.reason, err.message);
                    return true;
                },
            );
            assert.deepEqual(fs.readdirSync(outside), ["target"]);
            assert.equal(fs.readFileSync(join(outside, "target"), "utf8"), "keep");
            assert.deepEqual(fs.readdirSync(join(root, "..")), before);
            assert.equal(fs.statSync(join(outside, "target")).nlink, 1, "no hard link to the outside file");
        });
    }
});
