/**
 * The hostile-input corpus: one row per input, its class and the EngineError code (and reason)
 * it must get. Every row runs in its own sandbox: a `target` directory the operation may write
 * (an import's workspace, an apply root), and around it a sentinel directory and the inputs;
 * everything outside `target` is hashed (paths, types, modes, owners, sizes, mtimes, contents,
 * link targets) before and after, and must be unchanged. Errors other than EngineErrors
 * (TypeError, RangeError, ...) fail the row.
 *
 * Other corpora of the same kind: test/unit/imageApply.test.ts (layer tars, 18 rows),
 * test/integration/imageInterop.test.ts "hostile images" (8 rows), test/unit/bbolt.test.ts
 * (damaged databases), test/integration/diffErrors.test.ts (unreadable and changing files).
 * This file adds the classes and variants they do not have; the report at the end counts rows
 * per class.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { gzipSync } from "node:zlib";
import { after, describe, it } from "node:test";
import { compress as zstdCompress } from "@mongodb-js/zstd";
import { BoltDB, type Bucket } from "../../src/engine/bbolt";
import { openWorkspaceEngine, writeDiff } from "../../src/engine";
import { compressFile } from "../../src/engine/compression/compressFile";
import { footerBytes } from "../../src/engine/compression/estargz/footer";
import { isEngineError } from "../../src/engine/errors";
import { DirTree } from "../../src/engine/fs/dirTree";
import type { FileStat } from "../../src/engine/fs/fileStat";
import type { FileReader } from "../../src/engine/fs/tree";
import { applyLayer } from "../../src/engine/image/applyLayer";
import { importImage, type ImportOptions } from "../../src/engine/image/importImage";
import { fixtureDb } from "../helpers/boltDump";
import { cliForUser } from "../helpers/cliForUser";
import { headerBlock, paxPayload, type TarEntrySpec, tarOf } from "../helpers/tarBuilder";

const cli = join(__dirname, "..", "..", "..", "dist", "cli.js");
const work = fs.mkdtempSync(join(tmpdir(), "layerscope-hostile-"));
after(() => fs.rmSync(work, { recursive: true, force: true }));
const isRoot = process.getuid?.() === 0;

const GZ = "application/vnd.oci.image.layer.v1.tar+gzip";
const ZST = "application/vnd.oci.image.layer.v1.tar+zstd";
const TAR = "application/vnd.oci.image.layer.v1.tar";
const MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const INDEX = "application/vnd.oci.image.index.v1+json";
const CONFIG = "application/vnd.oci.image.config.v1+json";
const TOC_DIGEST = "containerd.io/snapshot/stargz/toc.digest";

const sha256 = (b: Buffer | string): string => `sha256:${createHash("sha256").update(b).digest("hex")}`;
const file = (name: string, data: string, o: Partial<TarEntrySpec> = {}): TarEntrySpec => ({ name, data: Buffer.from(data), mode: 0o644, mtime: 1700000000, ...o });
const dir = (name: string): TarEntrySpec => ({ name, type: "5", mode: 0o755, mtime: 1700000000 });

// ---------------------------------------------------------------------------------------------
// Sandbox: <row>/{sentinel,in,target}; everything but target is fingerprinted.

interface Sandbox {
    readonly base: string;
    readonly sentinel: string;
    readonly input: string;
    readonly target: string;
    /** The inputs are built: fingerprint everything outside the target now. */
    ready(): void;
    before: Map<string, string> | null;
    /** Inputs that change by design (a tree mutated while read). */
    volatile?: string;
}

let rowNo = 0;
function sandbox(): Sandbox {
    const base = join(work, `row-${rowNo++}`);
    const sb: Sandbox = {
        base,
        sentinel: join(base, "sentinel"),
        input: join(base, "in"),
        target: join(base, "target"),
        before: null,
        ready() {
            this.before = fingerprint(base, this.target);
        },
    };
    fs.mkdirSync(join(sb.sentinel, "etc"), { recursive: true });
    fs.writeFileSync(join(sb.sentinel, "keep"), "keep\n");
    fs.writeFileSync(join(sb.sentinel, "etc", "passwd"), "root:x:0:0::/root:/bin/sh\n");
    fs.symlinkSync("keep", join(sb.sentinel, "keep.link"));
    fs.mkdirSync(sb.input);
    fs.mkdirSync(sb.target);
    return sb;
}

/** path -> "type mode uid:gid size mtimeNs content-or-target", for everything under `root` except `skip`. */
function fingerprint(root: string, skip: string): Map<string, string> {
    const out = new Map<string, string>();
    const walk = (p: string): void => {
        const st = fs.lstatSync(p, { bigint: true });
        const rel = relative(root, p) || ".";
        let what = "";
        if (st.isFile()) what = sha256(fs.readFileSync(p));
        else if (st.isSymbolicLink()) what = `-> ${fs.readlinkSync(p)}`;
        out.set(rel, `${st.mode.toString(8)} ${st.uid}:${st.gid} ${st.nlink} ${st.size} ${st.mtimeNs} ${what}`);
        if (st.isDirectory() && p !== skip) for (const n of fs.readdirSync(p).sort()) walk(join(p, n));
    };
    walk(root);
    out.delete(relative(root, skip)); // the target's own mtime changes when it is written
    return out;
}

// ---------------------------------------------------------------------------------------------
// Inputs.

interface LayoutOptions {
    readonly layers: readonly { blob: Buffer; mediaType: string; diffID: string; annotations?: Record<string, string> }[];
    readonly manifest?: (m: Record<string, unknown>) => void;
    readonly config?: (c: Record<string, unknown>) => void;
    readonly configMediaType?: string;
    /** Change the index entry's descriptor (after the manifest blob is written). */
    readonly entry?: (e: Record<string, unknown>) => void;
    /** Replace a blob's bytes after its digest was taken: "manifest" | "config". */
    readonly tamper?: "manifest" | "config";
}

/** An OCI layout whose documents can be bent before and after their digests are taken. */
function layout(dir: string, o: LayoutOptions): void {
    fs.mkdirSync(join(dir, "blobs", "sha256"), { recursive: true });
    fs.writeFileSync(join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
    const put = (b: Buffer): string => {
        fs.writeFileSync(join(dir, "blobs", "sha256", sha256(b).slice(7)), b);
        return sha256(b);
    };
    const layers = o.layers.map((l) => ({ mediaType: l.mediaType, digest: put(l.blob), size: l.blob.length, ...(l.annotations ? { annotations: l.annotations } : {}) }));
    const arch = process.arch === "x64" ? "amd64" : process.arch;
    const config: Record<string, unknown> = { architecture: arch, os: "linux", rootfs: { type: "layers", diff_ids: o.layers.map((l) => l.diffID) } };
    o.config?.(config);
    const configBytes = Buffer.from(JSON.stringify(config));
    const configDigest = put(configBytes);
    const manifest: Record<string, unknown> = { schemaVersion: 2, mediaType: MANIFEST, config: { mediaType: o.configMediaType ?? CONFIG, digest: configDigest, size: configBytes.length }, layers };
    o.manifest?.(manifest);
    const manifestBytes = Buffer.from(JSON.stringify(manifest));
    const manifestDigest = put(manifestBytes);
    if (o.tamper) {
        const [d, b] = o.tamper === "config" ? [configDigest, configBytes] : [manifestDigest, manifestBytes];
        const evil = Buffer.from(b.toString("latin1").replace(/"linux"|"schemaVersion"/, (m) => m.toUpperCase()), "latin1");
        fs.writeFileSync(join(dir, "blobs", "sha256", d.slice(7)), evil);
    }
    const entry: Record<string, unknown> = { mediaType: MANIFEST, digest: manifestDigest, size: manifestBytes.length };
    o.entry?.(entry);
    fs.writeFileSync(join(dir, "index.json"), JSON.stringify({ schemaVersion: 2, manifests: [entry] }));
}

const gzLayer = (entries: TarEntrySpec[]): { blob: Buffer; mediaType: string; diffID: string } => {
    const tar = tarOf(entries);
    return { blob: gzipSync(tar), mediaType: GZ, diffID: sha256(tar) };
};
const GOOD = gzLayer([dir("etc/"), file("etc/a", "a")]);

/** A tar whose single header block is edited after the checksum (then optionally re-summed). */
function editedHeader(e: TarEntrySpec, edit: (h: Buffer) => void, resum = true): Buffer {
    const h = headerBlock(e);
    edit(h);
    if (resum) {
        h.fill(0x20, 148, 156);
        let sum = 0;
        for (const c of h) sum += c;
        h.write(sum.toString(8).padStart(6, "0") + "\0 ", 148, "latin1");
    }
    const data = e.data ?? Buffer.alloc(0);
    return Buffer.concat([h, data, Buffer.alloc((512 - (data.length % 512)) % 512), Buffer.alloc(1024)]);
}

/** A raw 'x' header whose payload is given as is (records that lie about their length). */
function rawPax(payload: Buffer, then: TarEntrySpec): Buffer {
    const h = headerBlock({ name: "PaxHeaders/x", type: "x", data: payload, mode: 0, mtime: 0 });
    return Buffer.concat([h, payload, Buffer.alloc((512 - (payload.length % 512)) % 512), tarOf([then])]);
}

let estargzCache: Promise<{ blob: Buffer; diffID: string; toc: string }> | undefined;
/** A real eStargz blob from our encoder. */
function estargz(): Promise<{ blob: Buffer; diffID: string; toc: string }> {
    estargzCache ??= (async () => {
        const tarPath = join(work, "estargz-input.tar");
        fs.writeFileSync(tarPath, tarOf([dir("etc/"), file("etc/a", "hello eStargz\n")]));
        const chunks: Buffer[] = [];
        const r = await compressFile(tarPath, { type: "estargz" }, { write: async (c: Buffer) => void chunks.push(Buffer.from(c)) });
        return { blob: Buffer.concat(chunks), diffID: r.diffID, toc: r.annotations[TOC_DIGEST]! };
    })();
    return estargzCache;
}

// ---------------------------------------------------------------------------------------------
// Operations a row runs.

async function importInto(sb: Sandbox, make: (dir: string) => void | Promise<void>, opts: ImportOptions = {}): Promise<unknown> {
    const img = join(sb.input, "img");
    await make(img);
    sb.ready();
    return importImage(img, join(sb.target, "ws"), opts);
}

async function applyTar(sb: Sandbox, tar: Buffer, opts: { privileged?: boolean; mode?: "native" | "overlayfs" } = {}): Promise<unknown> {
    const root = join(sb.target, "root");
    fs.mkdirSync(root);
    sb.ready();
    return applyLayer((async function* () { yield tar; })(), { root, mode: opts.mode ?? "native", privileged: opts.privileged });
}

function walkBolt(b: Bucket, depth = 0): number {
    let n = 0;
    for (const e of b.entries()) n += e.bucket ? 1 + walkBolt(e.bucket, depth + 1) : 1;
    return n;
}

/** Reads a damaged copy of a fixture database; `edit` changes it in place or returns new bytes. */
async function readBolt(sb: Sandbox, edit: (buf: Buffer, pageSize: number) => Buffer | void): Promise<unknown> {
    const src = fixtureDb("synthetic-sample", sb.input);
    const buf = fs.readFileSync(src);
    fs.writeFileSync(src, edit(buf, buf.readUInt32LE(24)) ?? buf);
    sb.ready();
    return BoltDB.read(src, (tx) => walkBolt(tx.root));
}

/** The current meta's fields (the valid meta with the higher txid; both are valid in the fixture). */
function currentMeta(buf: Buffer, pageSize: number): { root: number; pgid: number } {
    const at = buf.readBigUInt64LE(16 + 48) >= buf.readBigUInt64LE(pageSize + 16 + 48) ? 16 : pageSize + 16;
    return { root: Number(buf.readBigUInt64LE(at + 16)), pgid: Number(buf.readBigUInt64LE(at + 40)) };
}

let branchPage: number | undefined;
/** A branch page of the current tree: the root of a bucket too big for one page. */
function firstBranch(buf: Buffer, pageSize: number): number {
    if (branchPage !== undefined) return branchPage;
    const file = fixtureDb("synthetic-sample", work);
    const find = (b: Bucket): number | undefined => {
        if (b.rootPage !== 0 && buf.readUInt16LE(b.rootPage * pageSize + 8) === 0x01) return b.rootPage;
        for (const e of b.entries()) {
            const hit = e.bucket ? find(e.bucket) : undefined;
            if (hit !== undefined) return hit;
        }
        return undefined;
    };
    branchPage = BoltDB.read(file, (tx) => find(tx.root));
    if (branchPage === undefined) throw new Error("the fixture has no branch page");
    return branchPage;
}

/** Rewrites a field of both meta pages, checksums kept valid. */
function setBothMetas(buf: Buffer, pageSize: number, field: number, value: bigint): void {
    for (const page of [0, 1]) {
        const base = page * pageSize + 16;
        buf.writeBigUInt64LE(value, base + field);
        let h = 0xcbf29ce484222325n;
        for (const b of buf.subarray(base, base + 56)) h = ((h ^ BigInt(b)) * 0x100000001b3n) & 0xffffffffffffffffn;
        buf.writeBigUInt64LE(h, base + 56);
    }
}

/** A workspace in the target: refs over snapshot dirs the row builds. */
async function computeWorkspace(sb: Sandbox, build: (ws: string) => void, ref = "a"): Promise<unknown> {
    const ws = join(sb.target, "ws");
    fs.mkdirSync(join(ws, "snapshots"), { recursive: true });
    build(ws);
    sb.ready();
    const engine = await openWorkspaceEngine(ws);
    return engine.computeBlobChain(ref, { createIfNeeded: true });
}

class MutatingTree extends DirTree {
    constructor(root: string, private readonly mutate: (abs: string) => void) {
        super(root);
    }

    override openFile(rel: Buffer, expect: FileStat): FileReader {
        this.mutate(this.abs(rel).toString());
        return super.openFile(rel, expect);
    }
}

// ---------------------------------------------------------------------------------------------
// The corpus.

type HostileClass =
    | "path traversal"
    | "absolute name"
    | "symlink escape"
    | "hardlink escape"
    | "device node"
    | "header number"
    | "bad checksum"
    | "truncated"
    | "lying PAX"
    | "decompression bomb"
    | "eStargz TOC/footer"
    | "wrong digest"
    | "wrong media type"
    | "bbolt damage"
    | "symlink loop"
    | "unreadable"
    | "changed while read";

interface Row {
    readonly cls: HostileClass;
    readonly name: string;
    readonly code: string;
    readonly reason?: string;
    readonly skip?: string | false;
    readonly run: (sb: Sandbox) => Promise<unknown>;
}

const rows: Row[] = [
    // path traversal and absolute names
    { cls: "path traversal", name: "layer entry ../../sentinel/evil", code: "UnsafePath", reason: "path-traversal", run: (sb) => importInto(sb, (d) => layout(d, { layers: [gzLayer([file("../../sentinel/evil", "x")])] })) },
    { cls: "path traversal", name: "PAX path record with ..", code: "UnsafePath", reason: "path-traversal", run: (sb) => applyTar(sb, tarOf([file("innocent", "x", { pax: { path: "a/../../../sentinel/evil" } })])) },
    { cls: "path traversal", name: "GNU long name with ..", code: "UnsafePath", reason: "path-traversal", run: (sb) => applyTar(sb, tarOf([file(`${"d/".repeat(60)}${"../".repeat(62)}sentinel/evil`, "x", { format: "gnu" })])) },
    { cls: "path traversal", name: "USTAR prefix field with ..", code: "UnsafePath", reason: "path-traversal", run: (sb) => applyTar(sb, editedHeader(file("evil", "x"), (h) => h.write("../../sentinel", 345, "latin1"))) },
    { cls: "path traversal", name: "hard link target with ..", code: "UnsafePath", reason: "hardlink-escape", run: (sb) => applyTar(sb, tarOf([{ name: "h", type: "1", linkname: "a/../../sentinel/keep" }])) },
    { cls: "path traversal", name: "docker manifest.json config ../", code: "UnsafePath", reason: "path-traversal", run: (sb) => importInto(sb, (d) => { fs.mkdirSync(d); fs.writeFileSync(join(d, "manifest.json"), JSON.stringify([{ Config: "../../sentinel/keep", Layers: [] }])); }) },
    { cls: "absolute name", name: "layer entry /sentinel/evil", code: "UnsafePath", reason: "absolute-path", run: (sb) => importInto(sb, (d) => layout(d, { layers: [gzLayer([file(`${sb.sentinel}/evil`, "x")])] })) },
    { cls: "absolute name", name: "PAX path record that is absolute", code: "UnsafePath", reason: "absolute-path", run: (sb) => applyTar(sb, tarOf([file("innocent", "x", { pax: { path: `${sb.sentinel}/evil` } })])) },
    { cls: "absolute name", name: "hard link to an absolute path", code: "UnsafePath", reason: "hardlink-escape", run: (sb) => applyTar(sb, tarOf([{ name: "h", type: "1", linkname: `${sb.sentinel}/keep` }])) },
    { cls: "absolute name", name: "docker manifest.json layer path that is absolute", code: "UnsafePath", reason: "absolute-path", run: (sb) => importInto(sb, (d) => { fs.mkdirSync(d); fs.writeFileSync(join(d, "manifest.json"), JSON.stringify([{ Config: "c.json", Layers: [`${sb.sentinel}/keep`] }])); fs.writeFileSync(join(d, "c.json"), JSON.stringify({ os: "linux", architecture: "amd64", rootfs: { type: "layers", diff_ids: [GOOD.diffID] } })); }) },
    // symlink escapes
    { cls: "symlink escape", name: "symlink to ../.. then a file through it, one layer", code: "UnsafePath", reason: "symlink-escape", run: (sb) => importInto(sb, (d) => layout(d, { layers: [gzLayer([{ name: "up", type: "2", linkname: "../../../.." }, file("up/evil", "x")])] })) },
    { cls: "symlink escape", name: "absolute symlink /../.. then a file through it", code: "UnsafePath", reason: "symlink-escape", run: (sb) => applyTar(sb, tarOf([{ name: "s", type: "2", linkname: "/../../sentinel" }, file("s/evil", "x")])) },
    { cls: "symlink escape", name: "symlinked directory chain leading out", code: "UnsafePath", reason: "symlink-escape", run: (sb) => applyTar(sb, tarOf([dir("a/"), { name: "a/b", type: "2", linkname: ".." }, { name: "c", type: "2", linkname: "a/b/a/b/.." }, file("c/evil", "x")])) },
    { cls: "symlink escape", name: "a chain of symlinks with long targets (d/../ x 800 each) under an entry's path", code: "UnsafePath", reason: "symlink-loop", run: (sb) => applyTar(sb, tarOf([dir("d/"), ...Array.from({ length: 10 }, (_, i) => ({ name: `s${i}`, type: "2", linkname: "s", pax: { linkpath: `${"d/../".repeat(800)}${i < 9 ? `s${i + 1}` : "d"}` } })), file("s0/x", "x")])) },
    { cls: "symlink escape", name: "opaque whiteout through an escaping symlink", code: "UnsafePath", reason: "symlink-escape", run: (sb) => applyTar(sb, tarOf([{ name: "s", type: "2", linkname: "../../sentinel" }, file("s/.wh..wh..opq", "")])) },
    { cls: "symlink escape", name: "whiteout through an escaping symlink", code: "UnsafePath", reason: "symlink-escape", run: (sb) => applyTar(sb, tarOf([{ name: "s", type: "2", linkname: "../../sentinel" }, file("s/.wh.keep", "")])) },
    {
        cls: "symlink escape",
        name: "OCI layout blob that is a symlink to a file outside the layout",
        code: "UnsafePath",
        reason: "symlink-escape",
        run: (sb) => importInto(sb, (d) => {
            layout(d, { layers: [GOOD] });
            const p = join(d, "blobs", "sha256", sha256(GOOD.blob).slice(7));
            fs.renameSync(p, join(sb.sentinel, "blob"));
            fs.symlinkSync(join(sb.sentinel, "blob"), p);
        }),
    },
    // hard link escapes
    { cls: "hardlink escape", name: "hard link to ../sentinel/keep", code: "UnsafePath", reason: "hardlink-escape", run: (sb) => applyTar(sb, tarOf([{ name: "h", type: "1", linkname: "../sentinel/keep" }])) },
    { cls: "hardlink escape", name: "hard link through a symlink to the sentinel", code: "UnsafePath", reason: "symlink-escape", run: (sb) => applyTar(sb, tarOf([{ name: "s", type: "2", linkname: "../../sentinel" }, { name: "h", type: "1", linkname: "s/keep" }])) },
    { cls: "hardlink escape", name: "PAX linkpath that climbs out", code: "UnsafePath", reason: "hardlink-escape", run: (sb) => applyTar(sb, tarOf([{ name: "h", type: "1", linkname: "ok", pax: { linkpath: "../../sentinel/keep" } }])) },
    { cls: "hardlink escape", name: "hard link to a symlink's escaping target by name", code: "UnsafePath", reason: "symlink-escape", run: (sb) => applyTar(sb, tarOf([dir("d/"), { name: "d/up", type: "2", linkname: "../.." }, { name: "h", type: "1", linkname: "d/up/sentinel/keep" }])) },
    // device nodes (unprivileged)
    { cls: "device node", name: "character device", code: "PermissionDenied", reason: "device-unprivileged", run: (sb) => applyTar(sb, tarOf([{ name: "null", type: "3", devmajor: 1, devminor: 3 }]), { privileged: false }) },
    { cls: "device node", name: "block device", code: "PermissionDenied", reason: "device-unprivileged", run: (sb) => applyTar(sb, tarOf([{ name: "sda", type: "4", devmajor: 8, devminor: 0 }]), { privileged: false }) },
    { cls: "device node", name: "overlayfs whiteout (a 0/0 char device)", code: "PermissionDenied", reason: "device-unprivileged", run: (sb) => applyTar(sb, tarOf([file(".wh.gone", "")]), { privileged: false, mode: "overlayfs" }) },
    { cls: "device node", name: "device node in an imported layer, as a user", code: "PermissionDenied", reason: "device-unprivileged", skip: isRoot && "root may make device nodes", run: (sb) => importInto(sb, (d) => layout(d, { layers: [gzLayer([{ name: "dev/kmem", type: "3", devmajor: 1, devminor: 2 }])] })) },
    // oversized and negative header numbers
    { cls: "header number", name: "size 2^62 (base-256)", code: "Unsupported", reason: "bad-header-number", run: (sb) => applyTar(sb, tarOf([file("big", "", { size: 2 ** 62 })], { end: "none" })) },
    { cls: "header number", name: "negative size (base-256)", code: "Corrupt", reason: "bad-header-number", run: (sb) => applyTar(sb, tarOf([file("neg", "", { size: -1 })])) },
    { cls: "header number", name: "size that is not octal", code: "Corrupt", reason: "bad-header-number", run: (sb) => applyTar(sb, editedHeader(file("a", "x"), (h) => h.write("0000000009x\0", 124, "latin1"))) },
    { cls: "header number", name: "uid 2^40", code: "Corrupt", reason: "bad-header-number", run: (sb) => applyTar(sb, tarOf([file("a", "x", { uid: 2 ** 40 })])) },
    { cls: "header number", name: "negative gid", code: "Corrupt", reason: "bad-header-number", run: (sb) => applyTar(sb, tarOf([file("a", "x", { gid: -5 })])) },
    { cls: "header number", name: "devmajor 2^40", code: "Corrupt", reason: "bad-header-number", run: (sb) => applyTar(sb, tarOf([{ name: "p", type: "6", devmajor: 2 ** 40 }])) },
    { cls: "header number", name: "size field overflowing int64 (base-256, 12 bytes)", code: "Corrupt", reason: "bad-header-number", run: (sb) => applyTar(sb, editedHeader(file("a", "x"), (h) => h.fill(0xff, 125, 136).writeUInt8(0x80, 124))) },
    { cls: "header number", name: "PAX uid past int64", code: "Corrupt", reason: "bad-pax", run: (sb) => applyTar(sb, tarOf([file("a", "x", { pax: { uid: "99999999999999999999" } })])) },
    { cls: "header number", name: "PAX mtime that is not a number", code: "Corrupt", reason: "bad-pax", run: (sb) => applyTar(sb, tarOf([file("a", "x", { pax: { mtime: "soon" } })])) },
    // bad checksums
    { cls: "bad checksum", name: "layer tar header checksum off by one", code: "Corrupt", reason: "bad-checksum", run: (sb) => applyTar(sb, editedHeader(file("a", "x"), (h) => (h[0] = 0x62), false)) },
    { cls: "bad checksum", name: "layer tar checksum field not octal", code: "Corrupt", reason: "bad-checksum", run: (sb) => applyTar(sb, editedHeader(file("a", "x"), (h) => h.write("zzzzzz\0 ", 148, "latin1"), false)) },
    { cls: "bad checksum", name: "gzip member with a wrong CRC-32", code: "Corrupt", reason: "bad-compressed-data", run: (sb) => importInto(sb, (d) => { const b = Buffer.from(GOOD.blob); b.writeUInt32LE(b.readUInt32LE(b.length - 8) ^ 1, b.length - 8); layout(d, { layers: [{ ...GOOD, blob: b }] }); }) },
    { cls: "bad checksum", name: "OCI archive tar with a bad member checksum", code: "Corrupt", reason: "bad-checksum", run: (sb) => importInto(sb, (d) => { const t = tarOf([file("index.json", "{}")]); t[0] ^= 1; fs.writeFileSync(d, t); }) },
    { cls: "bad checksum", name: "bbolt: both meta pages with a bad checksum", code: "Corrupt", run: (sb) => readBolt(sb, (b, ps) => { b[16 + 60] ^= 1; b[ps + 16 + 60] ^= 1; }) },
    // truncated archives
    { cls: "truncated", name: "layer tar cut inside a header", code: "Corrupt", reason: "truncated", run: (sb) => applyTar(sb, tarOf([file("a", "hello")]).subarray(0, 300)) },
    { cls: "truncated", name: "layer tar cut inside a file", code: "Corrupt", reason: "truncated", run: (sb) => applyTar(sb, tarOf([file("a", "x".repeat(2000))]).subarray(0, 1024)) },
    { cls: "truncated", name: "gzip layer cut in half", code: "Corrupt", reason: "bad-compressed-data", run: (sb) => importInto(sb, (d) => { const big = gzLayer([file("r", createHash("sha512").update("x").digest("hex").repeat(500))]); layout(d, { layers: [{ ...big, blob: big.blob.subarray(0, big.blob.length >> 1) }] }); }) },
    { cls: "truncated", name: "zstd layer cut in half", code: "Corrupt", run: async (sb) => { const tar = tarOf([file("r", createHash("sha512").update("y").digest("hex").repeat(500))]); const z = await zstdCompress(tar); return importInto(sb, (d) => layout(d, { layers: [{ blob: z.subarray(0, z.length >> 1), mediaType: ZST, diffID: sha256(tar) }] })); } },
    { cls: "truncated", name: "OCI archive cut inside a member", code: "Corrupt", reason: "size-mismatch", run: (sb) => importInto(sb, (d) => fs.writeFileSync(d, tarOf([file("index.json", "{".repeat(3000))]).subarray(0, 1536))) },
    { cls: "truncated", name: "bbolt file cut after its meta pages", code: "Corrupt", run: (sb) => readBolt(sb, (b, ps) => b.subarray(0, 2 * ps + 100)) },
    // PAX records that lie
    { cls: "lying PAX", name: "PAX size larger than the data", code: "Corrupt", reason: "truncated", run: (sb) => applyTar(sb, tarOf([file("a", "short", { pax: { size: "100000" } })])) },
    { cls: "lying PAX", name: "PAX size smaller than the data", code: "Corrupt", reason: "bad-checksum", run: (sb) => applyTar(sb, tarOf([file("a", "y".repeat(1500), { pax: { size: "1" } })])) },
    { cls: "lying PAX", name: "PAX record length past the payload", code: "Corrupt", reason: "bad-pax", run: (sb) => applyTar(sb, rawPax(Buffer.from("99 path=a\n"), file("a", "x"))) },
    { cls: "lying PAX", name: "PAX record length shorter than its key", code: "Corrupt", reason: "bad-pax", run: (sb) => applyTar(sb, rawPax(Buffer.from("6 path=aaaa\n"), file("a", "x"))) },
    { cls: "lying PAX", name: "PAX record without a newline", code: "Corrupt", reason: "bad-pax", run: (sb) => applyTar(sb, rawPax(Buffer.from("11 path=abc"), file("a", "x"))) },
    { cls: "lying PAX", name: "PAX path holding a NUL", code: "Corrupt", reason: "bad-pax", run: (sb) => applyTar(sb, rawPax(paxPayload({ path: Buffer.from("a\0/../../x") }), file("a", "x"))) },
    { cls: "lying PAX", name: "PAX negative size", code: "Corrupt", reason: "bad-header-number", run: (sb) => applyTar(sb, tarOf([file("a", "x", { pax: { size: "-1" } })])) },
    { cls: "lying PAX", name: "extended header larger than 16 MiB", code: "Unsupported", reason: "too-large", run: (sb) => applyTar(sb, Buffer.concat([headerBlock({ name: "x", type: "x", size: 17 * 1024 * 1024, mode: 0, mtime: 0 }), Buffer.alloc(512)])) },
    // decompression bombs
    {
        cls: "decompression bomb",
        name: "zstd layer of 100 MiB of zeros (ratio over 1000:1)",
        code: "ResourceExhausted",
        reason: "compression-ratio",
        run: async (sb) => importInto(sb, async (d) => layout(d, { layers: [await zeroBomb()] })),
    },
    { cls: "decompression bomb", name: "gzip layer over --max-layer-bytes", code: "ResourceExhausted", reason: "too-large", run: (sb) => importInto(sb, (d) => layout(d, { layers: [gzLayer([file("z", "\0".repeat(1 << 20))])] }), { maxLayerBytes: 1 << 19 }) },
    { cls: "decompression bomb", name: "manifest over 8 MiB", code: "Corrupt", reason: "too-large", run: (sb) => importInto(sb, (d) => layout(d, { layers: [GOOD], manifest: (m) => (m.annotations = { pad: "x".repeat(9 << 20) }) })) },
    {
        cls: "decompression bomb",
        name: "eStargz TOC member inflating past the TOC bound",
        code: "Corrupt",
        reason: "bad-toc",
        run: async (sb) => {
            const e = await estargz();
            // A TOC member of 1 KiB that inflates to 1 MiB of zeros: not a TOC tar (and bounded).
            const member = gzipSync(Buffer.alloc(1 << 20));
            const blob = Buffer.concat([e.blob.subarray(0, tocOffsetOf(e.blob)), member, footerBytes(tocOffsetOf(e.blob))]);
            return importInto(sb, (d) => layout(d, { layers: [{ blob, mediaType: GZ, diffID: e.diffID, annotations: { [TOC_DIGEST]: e.toc } }] }));
        },
    },
    // eStargz
    { cls: "eStargz TOC/footer", name: "toc.digest annotation naming another TOC", code: "Corrupt", reason: "toc-digest-mismatch", run: async (sb) => { const e = await estargz(); return importInto(sb, (d) => layout(d, { layers: [{ blob: e.blob, mediaType: GZ, diffID: e.diffID, annotations: { [TOC_DIGEST]: sha256("another toc") } }] })); } },
    { cls: "eStargz TOC/footer", name: "footer's TOC offset past the end, annotated as eStargz", code: "Corrupt", reason: "bad-estargz-footer", run: async (sb) => { const e = await estargz(); const blob = Buffer.concat([e.blob.subarray(0, e.blob.length - 51), footerBytes(e.blob.length * 2)]); return importInto(sb, (d) => layout(d, { layers: [{ blob, mediaType: GZ, diffID: e.diffID, annotations: { [TOC_DIGEST]: e.toc } }] })); } },
    { cls: "eStargz TOC/footer", name: "footer's TOC offset past the end, no annotation", code: "Corrupt", reason: "bad-estargz-footer", run: async (sb) => { const e = await estargz(); const blob = Buffer.concat([e.blob.subarray(0, e.blob.length - 51), footerBytes(e.blob.length * 2)]); return importInto(sb, (d) => layout(d, { layers: [{ blob, mediaType: GZ, diffID: e.diffID }] })); } },
    { cls: "eStargz TOC/footer", name: "footer pointing at the first member (not a TOC)", code: "Corrupt", reason: "bad-toc", run: async (sb) => { const e = await estargz(); const blob = Buffer.concat([e.blob.subarray(0, e.blob.length - 51), footerBytes(0)]); return importInto(sb, (d) => layout(d, { layers: [{ blob, mediaType: GZ, diffID: e.diffID, annotations: { [TOC_DIGEST]: e.toc } }] })); } },
    { cls: "eStargz TOC/footer", name: "footer magic damaged, annotated as eStargz", code: "Corrupt", reason: "bad-estargz-footer", run: async (sb) => { const e = await estargz(); const blob = Buffer.from(e.blob); blob.write("STARGY", blob.length - 51 + 32, "latin1"); return importInto(sb, (d) => layout(d, { layers: [{ blob, mediaType: GZ, diffID: e.diffID, annotations: { [TOC_DIGEST]: e.toc } }] })); } },
    { cls: "eStargz TOC/footer", name: "TOC JSON with an entry of unknown type", code: "Corrupt", reason: "bad-toc", run: async (sb) => { const e = await estargz(); const off = tocOffsetOf(e.blob); const json = Buffer.from('{"version":1,"entries":[{"name":"x","type":"socket"}]}'); const member = gzipSync(tarOf([{ name: "stargz.index.json", data: json }])); const blob = Buffer.concat([e.blob.subarray(0, off), member, footerBytes(off)]); return importInto(sb, (d) => layout(d, { layers: [{ blob, mediaType: GZ, diffID: e.diffID, annotations: { [TOC_DIGEST]: sha256(json) } }] })); } },
    // wrong digests
    { cls: "wrong digest", name: "manifest bytes not matching the index's digest", code: "Corrupt", reason: "digest-mismatch", run: (sb) => importInto(sb, (d) => layout(d, { layers: [GOOD], tamper: "manifest" })) },
    { cls: "wrong digest", name: "config bytes not matching the manifest's digest", code: "Corrupt", reason: "digest-mismatch", run: (sb) => importInto(sb, (d) => layout(d, { layers: [GOOD], tamper: "config" })) },
    { cls: "wrong digest", name: "index entry with a sha512 digest", code: "Unsupported", reason: "digest-algorithm", run: (sb) => importInto(sb, (d) => layout(d, { layers: [GOOD], entry: (e) => (e.digest = `sha512:${"ab".repeat(64)}`) })) },
    { cls: "wrong digest", name: "index entry digest with ../ in it", code: "Corrupt", reason: "bad-digest", run: (sb) => importInto(sb, (d) => layout(d, { layers: [GOOD], entry: (e) => (e.digest = "sha256:../../../sentinel/keep") })) },
    { cls: "wrong digest", name: "config diff_id not a digest", code: "Corrupt", reason: "bad-digest", run: (sb) => importInto(sb, (d) => layout(d, { layers: [GOOD], config: (c) => ((c.rootfs as { diff_ids: string[] }).diff_ids = ["sha256:nothex"]) })) },
    { cls: "wrong digest", name: "index entry size smaller than the manifest", code: "Corrupt", reason: "size-mismatch", run: (sb) => importInto(sb, (d) => layout(d, { layers: [GOOD], entry: (e) => (e.size = 10) })) },
    { cls: "wrong digest", name: "negative descriptor size", code: "Corrupt", reason: "bad-descriptor", run: (sb) => importInto(sb, (d) => layout(d, { layers: [GOOD], entry: (e) => (e.size = -1) })) },
    // wrong media types
    { cls: "wrong media type", name: "index entry says index, the document is a manifest", code: "Corrupt", reason: "media-type-mismatch", run: (sb) => importInto(sb, (d) => layout(d, { layers: [GOOD], entry: (e) => (e.mediaType = INDEX) })) },
    { cls: "wrong media type", name: "manifest whose own mediaType is not its descriptor's", code: "Corrupt", reason: "media-type-mismatch", run: (sb) => importInto(sb, (d) => layout(d, { layers: [GOOD], manifest: (m) => (m.mediaType = "application/vnd.docker.distribution.manifest.v2+json") })) },
    { cls: "wrong media type", name: "index holding only an artifact", code: "Unsupported", reason: "media-type", run: (sb) => importInto(sb, (d) => layout(d, { layers: [GOOD], entry: (e) => (e.mediaType = "application/vnd.cncf.helm.chart.content.v1.tar+gzip") })) },
    { cls: "wrong media type", name: "config media type of an artifact (helm chart)", code: "Unsupported", reason: "media-type", run: (sb) => importInto(sb, (d) => layout(d, { layers: [GOOD], configMediaType: "application/vnd.cncf.helm.config.v1+json" })) },
    { cls: "wrong media type", name: "layer media type that is not a layer", code: "Unsupported", reason: "media-type", run: (sb) => importInto(sb, (d) => layout(d, { layers: [{ ...GOOD, mediaType: CONFIG }] })) },
    { cls: "wrong media type", name: "encrypted layer media type", code: "Unsupported", reason: "media-type", run: (sb) => importInto(sb, (d) => layout(d, { layers: [{ ...GOOD, mediaType: `${GZ}+encrypted` }] })) },
    { cls: "wrong media type", name: "gzip media type on a zstd blob", code: "Corrupt", reason: "media-type-mismatch", run: async (sb) => { const tar = tarOf([file("a", "a")]); const z = await zstdCompress(tar); return importInto(sb, (d) => layout(d, { layers: [{ blob: z, mediaType: GZ, diffID: sha256(tar) }] })); } },
    { cls: "wrong media type", name: "uncompressed media type on a gzip blob", code: "Corrupt", reason: "media-type-mismatch", run: (sb) => importInto(sb, (d) => layout(d, { layers: [{ ...GOOD, mediaType: TAR }] })) },
    // bbolt
    { cls: "bbolt damage", name: "root page id past the high-water mark", code: "Corrupt", run: (sb) => readBolt(sb, (b, ps) => setBothMetas(b, ps, 16, 1n << 40n)) },
    { cls: "bbolt damage", name: "root page id pointing at a meta page", code: "Corrupt", run: (sb) => readBolt(sb, (b, ps) => setBothMetas(b, ps, 16, 1n)) },
    { cls: "bbolt damage", name: "high-water mark below the root page", code: "Corrupt", run: (sb) => readBolt(sb, (b, ps) => setBothMetas(b, ps, 40, 2n)) },
    { cls: "bbolt damage", name: "branch page whose first child is itself (cycle)", code: "Corrupt", run: (sb) => readBolt(sb, (b, ps) => { const p = firstBranch(b, ps); b.writeBigUInt64LE(BigInt(p), p * ps + 16 + 8); }) },
    { cls: "bbolt damage", name: "branch page whose children are the same page twice", code: "Corrupt", run: (sb) => readBolt(sb, (b, ps) => { const p = firstBranch(b, ps); assert.ok(b.readUInt16LE(p * ps + 10) >= 2); b.writeBigUInt64LE(b.readBigUInt64LE(p * ps + 16 + 8), p * ps + 32 + 8); }) },
    { cls: "bbolt damage", name: "branch child id past the file", code: "Corrupt", run: (sb) => readBolt(sb, (b, ps) => { const p = firstBranch(b, ps); b.writeBigUInt64LE(1n << 52n, p * ps + 16 + 8); }) },
    { cls: "bbolt damage", name: "page size that is not a power of two", code: "Corrupt", run: (sb) => readBolt(sb, (b, ps) => { for (const page of [0, 1]) { const base = page * ps + 16; b.writeUInt32LE(4097, base + 8); let h = 0xcbf29ce484222325n; for (const x of b.subarray(base, base + 56)) h = ((h ^ BigInt(x)) * 0x100000001b3n) & 0xffffffffffffffffn; b.writeBigUInt64LE(h, base + 56); } }) },
    { cls: "bbolt damage", name: "root page's element count past the page", code: "Corrupt", run: (sb) => readBolt(sb, (b, ps) => void b.writeUInt16LE(0xffff, currentMeta(b, ps).root * ps + 10)) },
    // snapshot trees
    { cls: "symlink loop", name: "snapshot dir that is a symlink loop", code: "UnsafePath", run: (sb) => computeWorkspace(sb, (ws) => { fs.symlinkSync("loop-b", join(ws, "snapshots", "loop-a")); fs.symlinkSync("loop-a", join(ws, "snapshots", "loop-b")); writeRefs(ws, "snapshots/loop-a"); }) },
    { cls: "symlink loop", name: "snapshot dir through a symlink to the sentinel", code: "InvalidArgument", run: (sb) => computeWorkspace(sb, (ws) => { fs.symlinkSync(sb.sentinel, join(ws, "snapshots", "s")); writeRefs(ws, "snapshots/s"); }) },
    { cls: "symlink loop", name: "snapshot path with ../", code: "InvalidArgument", run: (sb) => computeWorkspace(sb, (ws) => writeRefs(ws, "../../sentinel")) },
    // unreadable and changing files
    { cls: "unreadable", name: "a file the user cannot read (CLI as nobody)", code: "PermissionDenied", skip: !isRoot && "needs root to drop to nobody", run: (sb) => cliAsNobody(sb, { "secret": 0o600 }) },
    { cls: "unreadable", name: "a directory the user cannot list (CLI as nobody)", code: "PermissionDenied", skip: !isRoot && "needs root to drop to nobody", run: (sb) => cliAsNobody(sb, { "sub": 0o700 }) },
    { cls: "changed while read", name: "a file whose mtime changed while read", code: "ChangedWhileReading", run: (sb) => changing(sb, (p) => fs.utimesSync(p, 1, 1)) },
    { cls: "changed while read", name: "a file replaced by a directory while read", code: "ChangedWhileReading", run: (sb) => changing(sb, (p) => (fs.rmSync(p), fs.mkdirSync(p))) },
    { cls: "changed while read", name: "a file replaced by a symlink to the sentinel while read (never followed)", code: "UnsafePath", run: (sb) => changing(sb, (p) => (fs.rmSync(p), fs.symlinkSync(join(sb.sentinel, "keep"), p))) },
    { cls: "changed while read", name: "a file whose mode changed while read", code: "ChangedWhileReading", run: (sb) => changing(sb, (p) => fs.chmodSync(p, 0o755)) },
    { cls: "changed while read", name: "a file rewritten with the same size while read", code: "ChangedWhileReading", run: (sb) => changing(sb, (p) => { fs.writeFileSync(p, "ORIGINAL CONTENT\n"); fs.utimesSync(p, 2, 2); }) },
];

function writeRefs(ws: string, snapshot: string): void {
    fs.writeFileSync(join(ws, "layerscope.json"), JSON.stringify({ snapshotter: "native", refs: [{ id: "a", snapshot }] }));
}

/** 100 MiB of zeros in a zstd frame of a few KiB. */
async function zeroBomb(): Promise<{ blob: Buffer; mediaType: string; diffID: string }> {
    const tar = tarOf([file("zeros", "", { data: Buffer.alloc(100 << 20) })]);
    return { blob: await zstdCompress(tar, 19), mediaType: ZST, diffID: sha256(tar) };
}

function tocOffsetOf(blob: Buffer): number {
    return parseInt(blob.toString("latin1", blob.length - 51 + 16, blob.length - 51 + 32), 16);
}

async function changing(sb: Sandbox, mutate: (abs: string) => void): Promise<unknown> {
    const lower = join(sb.input, "lower");
    const upper = join(sb.input, "upper");
    fs.mkdirSync(lower);
    fs.mkdirSync(upper);
    fs.writeFileSync(join(upper, "f.txt"), "original content\n");
    // The tree is the row's input; its change is the point, so it is not fingerprinted.
    sb.volatile = "in/upper";
    sb.ready();
    return writeDiff({ lower, upper: new MutatingTree(upper, mutate) });
}

/** Runs `layerscope diff` as nobody over a tree with entries of the given modes; maps its stderr back to a code. */
async function cliAsNobody(sb: Sandbox, modes: Record<string, number>): Promise<unknown> {
    fs.chmodSync(sb.base, 0o755);
    fs.chmodSync(sb.input, 0o755);
    const lower = join(sb.input, "lower");
    const upper = join(sb.input, "upper");
    fs.mkdirSync(lower, { mode: 0o755 });
    fs.mkdirSync(upper, { mode: 0o755 });
    for (const [name, mode] of Object.entries(modes)) {
        if (name === "sub") fs.mkdirSync(join(upper, name));
        else fs.writeFileSync(join(upper, name), "secret\n");
        fs.chmodSync(join(upper, name), mode);
    }
    sb.ready();
    const r = spawnSync("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", process.execPath, cliForUser(65534), "diff", lower, upper, "--json"], { encoding: "utf8" });
    assert.equal(r.status, 1, r.stderr);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    const code = /permission denied/.test(r.stderr) ? "PermissionDenied" : "unexpected";
    return Promise.reject(Object.assign(new (class extends Error {})(r.stderr), { code, data: {}, cliExit: r.status }));
}

// ---------------------------------------------------------------------------------------------

const tried = new Map<HostileClass, number>();

describe("hostile inputs: each refused with its own code, nothing written outside the target", () => {
    for (const row of rows) {
        it(`${row.cls}: ${row.name} -> ${row.code}${row.reason ? `/${row.reason}` : ""}`, { skip: row.skip }, async () => {
            const sb = sandbox();
            let caught: unknown = null;
            try {
                await row.run(sb);
            } catch (err) {
                caught = err;
            }
            assert.ok(caught !== null, "the input was accepted");
            const e = caught as { code?: string; data?: { reason?: string }; message?: string; cliExit?: number };
            if (e.cliExit === undefined) assert.ok(isEngineError(caught), `not an EngineError: ${caught instanceof Error ? caught.stack : String(caught)}`);
            assert.equal(e.code, row.code, e.message);
            if (row.reason) assert.equal(e.data?.reason, row.reason, e.message);
            assert.ok(sb.before, "the row fingerprinted its sandbox");
            const before = sb.before;
            const afterFp = fingerprint(sb.base, sb.target);
            const vol = (k: string): boolean => sb.volatile !== undefined && (k === sb.volatile || k.startsWith(`${sb.volatile}/`));
            afterFp.forEach((v, k) => { if (!vol(k)) assert.equal(v, before.get(k), `${k} changed`); });
            before.forEach((_, k) => { if (!vol(k)) assert.ok(afterFp.has(k), `${k} disappeared`); });
            // The sentinel specifically: same names, same bytes, no extra links to its files.
            assert.equal(fs.readFileSync(join(sb.sentinel, "keep"), "utf8"), "keep\n");
            assert.equal(fs.statSync(join(sb.sentinel, "keep")).nlink, 1);
            tried.set(row.cls, (tried.get(row.cls) ?? 0) + 1);
            fs.rmSync(sb.base, { recursive: true, force: true });
        });
    }

    after(() => {
        const lines = [...tried].map(([cls, n]) => `${cls}: ${n}`);
        process.stdout.write(`# hostile inputs refused, by class (${[...tried.values()].reduce((a, b) => a + b, 0)} rows): ${lines.join("; ")}\n`);
    });
});

/** The sentinel's own xattrs (none are set by the fixtures): a layer must never add one. */
function sentinelXattrs(sb: Sandbox): string[] {
    const r = spawnSync("python3", ["-c", "import os,sys\nfor r,ds,fs in os.walk(sys.argv[1]):\n  for n in ['.']+ds+fs:\n    p=os.path.join(r,n)\n    for a in os.listxattr(p, follow_symlinks=False): print(p, a)", sb.sentinel], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.split("\n").filter(Boolean);
}

describe("directory metadata set at the end of a layer stays inside the root", () => {
    // A directory's mode and times are set after the whole tar (a read-only directory must still
    // take its children). A later entry of the same layer may turn that directory, or a parent,
    // into a symlink to anywhere; what is set at the end must not follow it. Each case is a tar
    // containerd's archive.Apply takes, so it applies without error here too.
    const victimDir = (sb: Sandbox): string => sb.sentinel;
    const cases: { name: string; mode?: "native" | "overlayfs"; tar: (sb: Sandbox) => Buffer; inside: (root: string) => void }[] = [
        {
            name: "a parent turned into a symlink to a directory outside (setuid mode, owner, xattrs on the child)",
            tar: (sb) => tarOf([
                dir("a/"),
                { name: "a/etc/", type: "5", mode: 0o4777, uid: 4242, gid: 4343, mtime: 1, pax: { "SCHILY.xattr.user.evil": "1", "SCHILY.xattr.trusted.evil": "1" } },
                { name: "a", type: "2", linkname: victimDir(sb) },
            ]),
            inside: (root) => assert.ok(fs.lstatSync(join(root, "a")).isSymbolicLink()),
        },
        {
            name: "a parent turned into a symlink; the child's name is a file outside (mode 06777, owner 0)",
            tar: (sb) => tarOf([dir("a/"), { name: "a/keep/", type: "5", mode: 0o6777, uid: 0, gid: 0, mtime: 1 }, { name: "a", type: "2", linkname: victimDir(sb) }]),
            inside: (root) => assert.ok(fs.lstatSync(join(root, "a")).isSymbolicLink()),
        },
        {
            name: "the directory itself turned into a symlink to a file outside",
            tar: (sb) => tarOf([{ name: "d/", type: "5", mode: 0o777, mtime: 1 }, { name: "d", type: "2", linkname: join(victimDir(sb), "keep") }]),
            inside: (root) => assert.ok(fs.lstatSync(join(root, "d")).isSymbolicLink()),
        },
        {
            name: "a relative symlink climbing out replaces the directory",
            tar: () => tarOf([{ name: "d/", type: "5", mode: 0o777, mtime: 1 }, { name: "d", type: "2", linkname: "../../sentinel/keep" }]),
            inside: (root) => assert.ok(fs.lstatSync(join(root, "d")).isSymbolicLink()),
        },
        {
            name: "overlayfs: an opaque directory turned into a symlink to a directory outside",
            mode: "overlayfs",
            tar: (sb) => tarOf([dir("a/"), file("a/.wh..wh..opq", ""), { name: "a", type: "2", linkname: victimDir(sb) }]),
            inside: (root) => assert.ok(fs.lstatSync(join(root, "a")).isSymbolicLink()),
        },
        {
            name: "a directory deleted by a later whiteout of the same layer",
            tar: () => tarOf([{ name: "d/", type: "5", mode: 0o555, mtime: 1 }, file(".wh.d", "")]),
            inside: (root) => assert.equal(fs.existsSync(join(root, "d")), false),
        },
    ];
    for (const c of cases) {
        it(c.name, { skip: c.mode === "overlayfs" && !isRoot ? "overlayfs whiteouts need root" : false }, async () => {
            const sb = sandbox();
            const tar = c.tar(sb);
            await applyTar(sb, tar, { mode: c.mode, privileged: isRoot });
            assert.ok(sb.before);
            const afterFp = fingerprint(sb.base, sb.target);
            afterFp.forEach((v, k) => assert.equal(v, sb.before!.get(k), `${k} changed`));
            sb.before.forEach((_, k) => assert.ok(afterFp.has(k), `${k} disappeared`));
            assert.deepEqual(sentinelXattrs(sb), []);
            c.inside(join(sb.target, "root"));
            fs.rmSync(sb.base, { recursive: true, force: true });
        });
    }
});

describe("a failed unprivileged import leaves nothing behind", () => {
    // A layer may leave read-only directories, which an unprivileged user cannot empty without
    // opening them up first; the error reported must be the import's own (here the diffID).
    it("a layer with 0555 directories (one not UTF-8) and a wrong diffID: diffid-mismatch, no snapshot left", { skip: isRoot ? false : "needs root to switch to an unprivileged user" }, () => {
        const sb = sandbox();
        for (const d of [work, sb.base, sb.input, sb.target]) fs.chmodSync(d, 0o755);
        const odd = Buffer.from([0xff, 0x61]);
        const layer = gzLayer([
            { name: "ro/", type: "5", mode: 0o555, mtime: 1 },
            file("ro/f", "x"),
            { name: Buffer.concat([odd, Buffer.from("/")]), type: "5", mode: 0o555, mtime: 1 },
            file(Buffer.concat([odd, Buffer.from("/f")]) as unknown as string, "x"),
        ]);
        layout(join(sb.input, "img"), { layers: [{ ...layer, diffID: sha256("another layer") }] });
        const ws = join(sb.target, "ws");
        fs.mkdirSync(ws);
        fs.chownSync(ws, 65534, 65534);
        sb.ready();
        const r = spawnSync("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", process.execPath, cliForUser(65534), "import", join(sb.input, "img"), ws, "--json"], { encoding: "utf8" });
        assert.equal(r.status, 1, r.stderr);
        assert.match(r.stderr, /decompresses to sha256:[0-9a-f]{64}, the config.s diff_ids\[0\] says/, r.stderr);
        assert.doesNotMatch(r.stderr, /EACCES|permission denied/i, r.stderr);
        const snaps = join(ws, "snapshots");
        assert.deepEqual(fs.existsSync(snaps) ? fs.readdirSync(snaps) : [], [], "a snapshot directory was left behind");
        fs.rmSync(sb.base, { recursive: true, force: true });
    });
});

describe("an unprivileged import over a read-only directory of a lower layer", () => {
    it("a directory entry for it (mode 0755, a user.* xattr) and a file in it apply", { skip: isRoot ? false : "needs root to switch to an unprivileged user" }, () => {
        const sb = sandbox();
        for (const d of [work, sb.base, sb.input, sb.target]) fs.chmodSync(d, 0o755);
        const lower = gzLayer([{ name: "a/", type: "5", mode: 0o555, mtime: 1 }, file("a/old", "old")]);
        const upper = gzLayer([{ name: "a/", type: "5", mode: 0o755, mtime: 2, pax: { "SCHILY.xattr.user.k": "v" } }, file("a/new", "new")]);
        layout(join(sb.input, "img"), { layers: [lower, upper] });
        const ws = join(sb.target, "ws");
        fs.mkdirSync(ws);
        fs.chownSync(ws, 65534, 65534);
        const r = spawnSync("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", process.execPath, cliForUser(65534), "import", join(sb.input, "img"), ws, "--snapshotter", "native", "--json"], { encoding: "utf8" });
        assert.equal(r.status, 0, r.stderr);
        const top = (JSON.parse(r.stdout) as { layers: { snapshot: string }[] }).layers[1]!.snapshot;
        const a = join(ws, top, "a");
        assert.equal(fs.lstatSync(a).mode & 0o7777, 0o755);
        assert.deepEqual(fs.readdirSync(a).sort(), ["new", "old"]);
        const x = spawnSync("getfattr", ["--only-values", "-n", "user.k", a], { encoding: "utf8" });
        assert.equal(x.stdout, "v", x.stderr);
        fs.rmSync(sb.base, { recursive: true, force: true });
    });
});

describe("limits can be raised", () => {
    it("the zstd zero bomb imports with --max-ratio 0 (CLI), the same diffID", async () => {
        const sb = sandbox();
        const bomb = await zeroBomb();
        layout(join(sb.input, "img"), { layers: [bomb] });
        const refused = spawnSync(process.execPath, [cli, "import", join(sb.input, "img"), join(sb.target, "ws1")], { encoding: "utf8" });
        assert.equal(refused.status, 1);
        assert.match(refused.stderr, /--max-ratio/);
        const r = spawnSync(process.execPath, [cli, "import", join(sb.input, "img"), join(sb.target, "ws2"), "--max-ratio", "0", "--json"], { encoding: "utf8" });
        assert.equal(r.status, 0, r.stderr);
        assert.equal(JSON.parse(r.stdout).layers[0].diffID, bomb.diffID);
        const bad = spawnSync(process.execPath, [cli, "import", join(sb.input, "img"), join(sb.target, "ws3"), "--max-ratio", "-1"], { encoding: "utf8" });
        assert.equal(bad.status, 2, "a negative limit is a usage error");
        fs.rmSync(sb.base, { recursive: true, force: true });
    });

    it("a genuine eStargz layer with its toc.digest imports (the TOC check accepts it)", async () => {
        const sb = sandbox();
        const e = await estargz();
        const r = await importImage(await (async () => { layout(join(sb.input, "img"), { layers: [{ blob: e.blob, mediaType: GZ, diffID: e.diffID, annotations: { [TOC_DIGEST]: e.toc } }] }); return join(sb.input, "img"); })(), join(sb.target, "ws"));
        assert.equal(r.layers[0]!.blob.compression, "estargz");
        fs.rmSync(sb.base, { recursive: true, force: true });
    });

    it("symlink loops inside a snapshot are recorded as symlinks, never followed", async () => {
        const sb = sandbox();
        await computeWorkspace(sb, (ws) => {
            const s = join(ws, "snapshots", "a");
            fs.mkdirSync(s);
            fs.symlinkSync("b", join(s, "a"));
            fs.symlinkSync("a", join(s, "b"));
            fs.symlinkSync(".", join(s, "self"));
            fs.symlinkSync(sb.sentinel, join(s, "out"));
            writeRefs(ws, "snapshots/a");
        });
        fs.rmSync(sb.base, { recursive: true, force: true });
    });
});
