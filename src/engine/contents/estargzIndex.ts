/**
 * An eStargz blob indexed from its table of contents, without reading the layer: the footer
 * (last 51 bytes) gives the TOC's offset, the TOC (one gzip member holding a tar of
 * `stargz.index.json`) lists every entry and, for regular files, the offset of the gzip member
 * where each chunk of the file starts (stargz-snapshotter `estargz/types.go` `TOCEntry`; spec:
 * stargz-snapshotter docs/estargz.md). A read then inflates only the members of the chunks it
 * covers, from their offsets, and checks each chunk's digest when the TOC records one.
 *
 * Go's JSON encoder writes a name that is not valid UTF-8 with U+FFFD in place of the bad bytes:
 * such a TOC cannot name those entries, so the caller indexes the tar stream instead
 * (`LossyToc`). The TOC's digest is checked against the blob's annotation when there is one.
 */
import { createHash } from "node:crypto";
import { createGunzip } from "node:zlib";
import { TarScanner } from "../compression/estargz/tarScanner";
import type { ScannedEntry } from "../compression/estargz/tarEntry";
import { FOOTER_SIZE, LEGACY_FOOTER_SIZE, openFooter } from "../compression/estargz/footer";
import { DEFAULT_MAX_TOC_BYTES } from "../compression/estargz/tocReader";
import { EngineError } from "../errors";
import type { FileReader } from "../fs/tree";
import { type BlobFile, type BlobOpener, openBlobFile, readExactly } from "./blobFile";
import { MAX_LAYER_ENTRIES } from "./indexTar";
import { MAX_LAYER_NODES, type PayloadChunk, type PayloadRef, type PayloadSource, TarIndexTree } from "./tarIndexTree";

/**
 * A chunk is inflated whole into memory to be read (and its digest checked), so the TOC's chunk
 * sizes are bounded: stargz-snapshotter writes 4 MiB chunks by default; 64 MiB leaves room for
 * any chunk size a builder sets while refusing a TOC that would make one read hold gigabytes.
 */
export const MAX_CHUNK_BYTES = 64 * 1024 * 1024;
const TOC_NAME = "stargz.index.json";
/** Compressed bytes read at a time while inflating a chunk. */
const READ_STEP = 64 * 1024;

export class LossyToc extends Error {}

interface TocEntryJson {
    name?: unknown; type?: unknown; size?: unknown; modtime?: unknown; linkName?: unknown; mode?: unknown;
    uid?: unknown; gid?: unknown; offset?: unknown; devMajor?: unknown; devMinor?: unknown;
    xattrs?: unknown; digest?: unknown; chunkOffset?: unknown; chunkSize?: unknown; chunkDigest?: unknown;
}

const TYPEFLAGS: Readonly<Record<string, number>> = { reg: 0x30, hardlink: 0x31, symlink: 0x32, char: 0x33, block: 0x34, dir: 0x35, fifo: 0x36 };

export interface EStargzIndexOptions {
    readonly label: string;
    /** sha256 of the TOC JSON (the blob's `containerd.io/snapshot/stargz/toc.digest` annotation). */
    readonly tocDigest?: string;
    /** The layer's uncompressed size, as the blob records it (`io.containers.estargz.uncompressed-size`). */
    readonly tarBytes?: number;
    readonly openFile?: BlobOpener;
    readonly signal?: AbortSignal;
    /** Bytes of TOC JSON accepted (it is held whole to be parsed); tocReader's limit by default. */
    readonly maxTocBytes?: number;
    /** TOC entries accepted (MAX_LAYER_ENTRIES by default, as for a tar). */
    readonly maxEntries?: number;
    /** Index nodes accepted (MAX_LAYER_NODES by default). */
    readonly maxNodes?: number;
}

/** The TOC offset from the blob's footer: where the layer's own gzip members end. */
export async function estargzTocOffset(path: string, openFile: BlobOpener = openBlobFile): Promise<number> {
    const file = await openFile(path);
    try {
        const tail = file.size >= FOOTER_SIZE ? await readExactly(file, path, file.size - FOOTER_SIZE, FOOTER_SIZE, "the eStargz footer") : Buffer.alloc(0);
        const footer = openFooter(tail);
        if (!footer || footer.tocOffset < 0 || footer.tocOffset >= file.size - footer.footerSize) throw corrupt(path, "no valid eStargz footer");
        return footer.tocOffset;
    } finally {
        await file.close();
    }
}

export async function indexEStargz(path: string, opts: EStargzIndexOptions): Promise<TarIndexTree> {
    const openFile = opts.openFile ?? openBlobFile;
    const file = await openFile(path);
    let toc: { entries: TocEntryJson[]; tocOffset: number };
    try {
        toc = await readToc(file, path, opts);
    } finally {
        await file.close();
    }
    const maxEntries = opts.maxEntries ?? MAX_LAYER_ENTRIES;
    if (toc.entries.length > maxEntries) {
        throw new EngineError(
            "ResourceExhausted",
            `${path}: the eStargz TOC lists ${toc.entries.length} entries, more than the ${maxEntries} a layer may have (a limit that stops hostile layers from exhausting memory); the layer cannot be shown`,
            { path, reason: "too-many-entries", limit: maxEntries },
        );
    }
    const payloads = new EStargzPayloads(path, openFile);
    const tree = new TarIndexTree(opts.label, payloads, "toc", opts.maxNodes ?? MAX_LAYER_NODES);
    tree.tarBytes = opts.tarBytes ?? null;
    const ends = memberEnds(toc.entries, toc.tocOffset, path);
    const entries = toc.entries;
    for (let i = 0; i < entries.length; i++) {
        opts.signal?.throwIfAborted();
        const e = entries[i]!;
        const type = str(e.type, "type", path);
        if (type === "chunk") continue; // folded into the file entry before it
        const typeflag = TYPEFLAGS[type];
        if (typeflag === undefined) throw corrupt(path, `TOC entry of unknown type ${JSON.stringify(type)}`);
        const name = str(e.name, "name", path);
        const linkName = e.linkName === undefined ? "" : str(e.linkName, "linkName", path);
        if (name.includes("\ufffd") || linkName.includes("\ufffd")) throw new LossyToc(name);
        let payload: PayloadRef | null = null;
        const size = int(e.size, "size", path);
        if (typeflag === 0x30 && size > 0) {
            const chunks: PayloadChunk[] = [];
            for (let j = i; j < entries.length && (j === i || entries[j]!.type === "chunk"); j++) {
                const c = entries[j]!;
                if (j > i && str(c.name, "name", path) !== name) break;
                const offset = int(c.offset, "offset", path);
                const chunkOffset = int(c.chunkOffset, "chunkOffset", path);
                const end = ends.get(offset);
                if (end === undefined || offset <= 0) throw corrupt(path, `TOC offset ${offset} of ${JSON.stringify(name)} is outside the layer`);
                chunks.push({ chunkOffset, chunkSize: int(c.chunkSize, "chunkSize", path), offset, end, digest: c.chunkDigest === undefined ? undefined : str(c.chunkDigest, "chunkDigest", path) });
            }
            payload = { offset: 0, size, chunks: sizeChunks(chunks, size, name, path) };
        }
        tree.add(scannedOf(e, name, linkName, typeflag, size, path), payload ?? (typeflag === 0x30 ? { offset: 0, size: 0 } : null));
    }
    return tree;
}

/** Fills in chunk sizes (the TOC omits it on a short last chunk) and checks they tile the file. */
function sizeChunks(chunks: PayloadChunk[], size: number, name: string, path: string): PayloadChunk[] {
    let expect = 0;
    return chunks.map((c, k) => {
        const next = k + 1 < chunks.length ? chunks[k + 1]!.chunkOffset : size;
        const chunkSize = c.chunkSize > 0 ? c.chunkSize : next - c.chunkOffset;
        if (c.chunkOffset !== expect || chunkSize <= 0 || c.chunkOffset + chunkSize !== next) {
            throw corrupt(path, `TOC chunks of ${JSON.stringify(name)} do not cover its ${size} bytes`);
        }
        if (chunkSize > MAX_CHUNK_BYTES) {
            throw new EngineError(
                "ResourceExhausted",
                `${path}: the eStargz TOC gives ${JSON.stringify(name)} a chunk of ${chunkSize} bytes at ${c.chunkOffset}, more than the ${MAX_CHUNK_BYTES} a chunk may have (it is held in memory to be read; stargz-snapshotter writes 4 MiB chunks); the layer cannot be shown`,
                { path, reason: "chunk-too-large", limit: MAX_CHUNK_BYTES },
            );
        }
        expect = next;
        return { ...c, chunkSize };
    });
}

/** For each member offset in the TOC, where the next one starts (the TOC's for the last). */
function memberEnds(entries: readonly TocEntryJson[], tocOffset: number, path: string): Map<number, number> {
    const offsets = new Set<number>();
    for (const e of entries) {
        if (e.offset !== undefined) {
            const o = int(e.offset, "offset", path);
            if (o >= tocOffset) throw corrupt(path, `TOC offset ${o} is past the TOC (${tocOffset})`);
            offsets.add(o);
        }
    }
    const sorted = [...offsets].sort((a, b) => a - b);
    return new Map(sorted.map((o, k) => [o, k + 1 < sorted.length ? sorted[k + 1]! : tocOffset]));
}

async function readToc(file: BlobFile, path: string, opts: EStargzIndexOptions): Promise<{ entries: TocEntryJson[]; tocOffset: number }> {
    const tail = file.size >= FOOTER_SIZE ? await readExactly(file, path, file.size - FOOTER_SIZE, FOOTER_SIZE, "the eStargz footer") : Buffer.alloc(0);
    const footer = openFooter(tail);
    if (!footer) throw corrupt(path, `no eStargz footer in the last ${FOOTER_SIZE} (or ${LEGACY_FOOTER_SIZE}) bytes`);
    const { tocOffset, footerSize } = footer;
    const tocEnd = file.size - footerSize;
    if (tocOffset < 0 || tocOffset >= tocEnd) throw corrupt(path, `eStargz TOC offset ${tocOffset} is outside the blob`);
    const max = opts.maxTocBytes ?? DEFAULT_MAX_TOC_BYTES;
    // The JSON is copied once, into a buffer of the size its tar header gives (checked first).
    const got: { json: Buffer | null } = { json: null };
    let inToc = false;
    let total = 0;
    const scanner = new TarScanner({
        raw: async () => undefined,
        entry: (e) => {
            inToc = e.name.toString("latin1").replace(/^\.?\//, "") === TOC_NAME;
            if (!inToc) return;
            if (got.json) throw corrupt(path, `the TOC member holds ${TOC_NAME} twice`);
            if (e.size > max) {
                throw new EngineError("ResourceExhausted", `${path}: the eStargz TOC is ${e.size} bytes of JSON, more than the ${max} a TOC may have (a limit that stops hostile layers from exhausting memory); the layer cannot be shown`, { path, reason: "too-large", limit: max });
            }
            got.json = Buffer.allocUnsafe(e.size);
        },
        data: async (b) => {
            const json = got.json;
            if (!inToc || !json) return;
            if (total + b.length > json.length) throw corrupt(path, `${TOC_NAME} holds more bytes than its tar header says`);
            total += b.copy(json, total);
        },
    });
    await inflateRange(file, path, tocOffset, tocEnd, Infinity, (chunk) => scanner.push(chunk), opts.signal, "the eStargz TOC");
    const json = got.json;
    if (!json) throw corrupt(path, `the TOC member holds no ${TOC_NAME}`);
    if (total !== json.length) throw corrupt(path, `${TOC_NAME} ends after ${total} of its ${json.length} bytes`);
    if (opts.tocDigest) {
        const digest = `sha256:${createHash("sha256").update(json).digest("hex")}`;
        if (digest !== opts.tocDigest) throw corrupt(path, `eStargz TOC digest ${digest} is not the annotated ${opts.tocDigest}`);
    }
    let doc: unknown;
    try {
        doc = JSON.parse(json.toString("utf8"));
    } catch (err) {
        throw corrupt(path, `eStargz TOC is not JSON: ${(err as Error).message}`);
    }
    if (typeof doc !== "object" || doc === null || Array.isArray(doc)) throw corrupt(path, "eStargz TOC is not a JSON object");
    const entries = (doc as { entries?: unknown }).entries ?? [];
    if (!Array.isArray(entries) || entries.some((e) => typeof e !== "object" || e === null)) throw corrupt(path, "eStargz TOC has no entry list");
    return { entries: entries as TocEntryJson[], tocOffset };
}

/**
 * Inflates the gzip members in [start, end) of the file, passing decompressed bytes on, until
 * `want` bytes came out (then stops reading) or the range is used up.
 */
async function inflateRange(file: BlobFile, path: string, start: number, end: number, want: number, sink: (b: Buffer) => Promise<void> | void, signal: AbortSignal | undefined, what: string): Promise<number> {
    const gunzip = createGunzip();
    let got = 0;
    let failure: Error | null = null;
    let wake: (() => void) | null = null;
    const pending: Buffer[] = [];
    gunzip.on("data", (b: Buffer) => {
        got += b.length;
        pending.push(b);
    });
    gunzip.on("error", (err) => {
        failure ??= err;
        wake?.();
    });
    gunzip.on("end", () => wake?.());
    /** Resolves when `step` calls back, the stream fails or it ends, whichever is first. */
    const until = (step: (done: () => void) => void): Promise<void> =>
        new Promise<void>((resolve) => {
            wake = resolve;
            if (failure) resolve();
            else step(resolve);
        });
    const drain = async (): Promise<void> => {
        while (pending.length) await sink(pending.shift()!);
    };
    try {
        for (let pos = start; pos < end && got < want && !failure; ) {
            signal?.throwIfAborted();
            const n = Math.min(READ_STEP, end - pos);
            const buf = Buffer.alloc(n);
            const read = await file.read(buf, 0, n, pos);
            if (read === 0) throw corrupt(path, `ends at byte ${pos}, inside ${what}`);
            pos += read;
            await until((done) => gunzip.write(buf.subarray(0, read), () => done()));
            await drain();
        }
        if (got < want && !failure) await until(() => gunzip.end());
        if (failure) throw corrupt(path, `${what}: not valid gzip data (${(failure as Error).message})`);
        await drain();
        return got;
    } finally {
        gunzip.destroy();
    }
}

function scannedOf(e: TocEntryJson, name: string, linkName: string, typeflag: number, size: number, path: string): ScannedEntry {
    const pax = new Map<string, Buffer>();
    if (e.xattrs !== undefined) {
        if (typeof e.xattrs !== "object" || e.xattrs === null) throw corrupt(path, `TOC xattrs of ${JSON.stringify(name)} are not an object`);
        for (const [k, v] of Object.entries(e.xattrs)) pax.set(`SCHILY.xattr.${k}`, Buffer.from(str(v, "xattr", path), "base64"));
    }
    const modtime = e.modtime === undefined ? "" : str(e.modtime, "modtime", path);
    const ms = modtime === "" ? 0 : Date.parse(modtime);
    if (Number.isNaN(ms)) throw corrupt(path, `TOC modtime ${JSON.stringify(modtime)} of ${JSON.stringify(name)}`);
    return {
        typeflag,
        name: Buffer.from(name, "utf8"),
        linkname: Buffer.from(linkName, "utf8"),
        mode: BigInt(int(e.mode, "mode", path)),
        uid: BigInt(int(e.uid, "uid", path)),
        gid: BigInt(int(e.gid, "gid", path)),
        uname: Buffer.alloc(0),
        gname: Buffer.alloc(0),
        size: typeflag === 0x30 ? size : 0,
        dataSize: 0,
        mtime: { sec: BigInt(Math.floor(ms / 1000)), nsec: 0 },
        devmajor: BigInt(int(e.devMajor, "devMajor", path)),
        devminor: BigInt(int(e.devMinor, "devMinor", path)),
        pax,
    };
}

/** Reads files chunk by chunk: each chunk inflated from its own member, verified, the last one kept. */
class EStargzPayloads implements PayloadSource {
    constructor(
        private readonly path: string,
        private readonly openFile: BlobOpener,
    ) {}

    open(payload: PayloadRef, where: string): FileReader {
        const chunks = payload.chunks ?? [];
        let file: Promise<BlobFile> | null = null;
        let cached: { chunk: PayloadChunk; bytes: Buffer } | null = null;
        const chunkAt = async (pos: number): Promise<{ chunk: PayloadChunk; bytes: Buffer }> => {
            if (cached && pos >= cached.chunk.chunkOffset && pos < cached.chunk.chunkOffset + cached.chunk.chunkSize) return cached;
            let lo = 0;
            let hi = chunks.length - 1;
            while (lo < hi) {
                const mid = (lo + hi + 1) >> 1;
                if (chunks[mid]!.chunkOffset <= pos) lo = mid;
                else hi = mid - 1;
            }
            const chunk = chunks[lo]!;
            file ??= this.openFile(this.path);
            const f = await file;
            const parts: Buffer[] = [];
            let have = 0;
            await inflateRange(f, this.path, chunk.offset, chunk.end, chunk.chunkSize, (b) => {
                const take = Math.min(b.length, chunk.chunkSize - have);
                if (take > 0) parts.push(b.subarray(0, take));
                have += take;
            }, undefined, `chunk ${chunk.chunkOffset} of ${where}`);
            if (have < chunk.chunkSize) throw corrupt(this.path, `chunk at ${chunk.chunkOffset} of ${where} has ${have} of its ${chunk.chunkSize} bytes`);
            const bytes = Buffer.concat(parts, have);
            if (chunk.digest) {
                const digest = `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
                if (digest !== chunk.digest) throw corrupt(this.path, `chunk at ${chunk.chunkOffset} of ${where} has digest ${digest}, the TOC says ${chunk.digest}`);
            }
            cached = { chunk, bytes };
            return cached;
        };
        return {
            readSync: () => {
                throw new EngineError("Unsupported", `${where}: a blob's files are read asynchronously only`);
            },
            readAsync: async (buf, offset, length, position) => {
                const n = Math.max(0, Math.min(length, payload.size - position));
                if (n === 0) return 0;
                const { chunk, bytes } = await chunkAt(position);
                const from = position - chunk.chunkOffset;
                return bytes.copy(buf, offset, from, Math.min(bytes.length, from + n));
            },
            close: () => {
                void file?.then((f) => f.close()).catch(() => undefined);
            },
        };
    }
}

function str(v: unknown, field: string, path: string): string {
    if (typeof v !== "string") throw corrupt(path, `TOC field ${field} is not a string`);
    return v;
}

function int(v: unknown, field: string, path: string): number {
    if (v === undefined) return 0;
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) throw corrupt(path, `TOC field ${field} is not a non-negative integer`);
    return v;
}

function corrupt(path: string, message: string): EngineError {
    return new EngineError("Corrupt", `${path}: ${message}`, { path });
}
