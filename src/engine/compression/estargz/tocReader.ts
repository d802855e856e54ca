/**
 * Reads an eStargz blob's TOC back: the footer (footer.ts), the TOC member it points at (a gzip
 * member holding a tar of one entry, `stargz.index.json`), and the TOC JSON, checked for the
 * shape stargz-snapshotter estargz v0.12.0 `types.go` `JTOC` gives it (`version`, `entries`
 * with a string `name` and a known `type`). Mirrors `estargz.go` `OpenFooter` + `parseTOC`
 * (spec §6.3: the TOC digest annotation `containerd.io/snapshot/stargz/toc.digest` is the
 * sha256 of the TOC JSON bytes).
 *
 * For hostile blobs: every offset is checked against the blob, the decompressed TOC is bounded
 * (`maxTocBytes`), and each failure has its reason: bad-estargz-footer, bad-toc, too-large.
 */
import { createHash } from "node:crypto";
import { open } from "node:fs/promises";
import { gunzipSync } from "node:zlib";
import type { Digest } from "../../digest/hashSink";
import { EngineError, fromSystemError } from "../../errors";
import { TOCTarName } from "./entryToToc";
import { FOOTER_SIZE, openFooter } from "./footer";
import { BLOCK, decodeHeaderBlock } from "./tarBlock";

/** A TOC lists every file of a layer; 256 MiB of JSON is ~1M entries, far past real layers. */
export const DEFAULT_MAX_TOC_BYTES = 256 * 1024 * 1024;

const TOC_TYPES: ReadonlySet<string> = new Set(["dir", "reg", "symlink", "hardlink", "char", "block", "fifo", "chunk"]);

export interface TocInfo {
    readonly tocOffset: number;
    readonly footerSize: number;
    /** sha256 of the TOC JSON: what the toc.digest annotation must say. */
    readonly digest: Digest;
    readonly entries: number;
}

export interface TocReadOptions {
    readonly maxTocBytes?: number;
}

function bad(what: string, message: string, reason: string): EngineError {
    return new EngineError("Corrupt", `${what}: ${message}`, { path: what, reason });
}

/** The footer of a blob of `size` bytes whose last (up to) 51 bytes are `tail`. */
export function locateToc(tail: Buffer, size: number, what: string): { tocOffset: number; footerSize: number } {
    const footer = tail.length === FOOTER_SIZE ? openFooter(tail) : undefined;
    if (footer === undefined) throw bad(what, "no eStargz footer in the blob's last 51 (or 47) bytes", "bad-estargz-footer");
    const { tocOffset, footerSize } = footer;
    if (!Number.isSafeInteger(tocOffset) || tocOffset < 0 || tocOffset >= size - footerSize) {
        throw bad(what, `the eStargz footer's TOC offset ${tocOffset} is outside the blob (${size} bytes)`, "bad-estargz-footer");
    }
    return footer;
}

/** The TOC JSON inside the TOC member (gzip of a one-entry tar), its shape checked. */
export function parseTocMember(member: Buffer, what: string, opts: TocReadOptions = {}): { json: Buffer; digest: Digest; entries: number } {
    const max = opts.maxTocBytes ?? DEFAULT_MAX_TOC_BYTES;
    let tar: Buffer;
    try {
        // The member may be followed by other members (never in a valid blob); gunzipSync reads all.
        tar = gunzipSync(member, { maxOutputLength: max + 3 * BLOCK });
    } catch (err) {
        const e = err as NodeJS.ErrnoException;
        if (e?.code === "ERR_BUFFER_TOO_LARGE") {
            throw new EngineError("ResourceExhausted", `${what}: the eStargz TOC decompresses to more than ${max} bytes`, { path: what, reason: "too-large", limit: max });
        }
        throw bad(what, `the eStargz TOC member is not valid gzip (${e?.message ?? String(err)})`, "bad-toc");
    }
    if (tar.length < BLOCK) throw bad(what, `the eStargz TOC tar is ${tar.length} bytes, shorter than a header`, "bad-toc");
    let hdr;
    try {
        hdr = decodeHeaderBlock(tar.subarray(0, BLOCK));
    } catch (err) {
        throw bad(what, `the eStargz TOC tar header: ${(err as Error).message}`, "bad-toc");
    }
    if (hdr.name.toString("latin1") !== TOCTarName || (hdr.typeflag !== 0x30 && hdr.typeflag !== 0)) {
        throw bad(what, `the eStargz TOC tar holds ${JSON.stringify(hdr.name.toString("utf8"))}, not ${TOCTarName}`, "bad-toc");
    }
    if (hdr.size < 0n || hdr.size > BigInt(tar.length - BLOCK)) {
        throw bad(what, `the eStargz TOC entry claims ${hdr.size} bytes; the tar has ${tar.length - BLOCK}`, "bad-toc");
    }
    const json = tar.subarray(BLOCK, BLOCK + Number(hdr.size));
    const entries = checkTocJson(json, what);
    return { json, digest: `sha256:${createHash("sha256").update(json).digest("hex")}` as Digest, entries };
}

/** JTOC's shape: { version: int, entries: [ { name: string, type: known, ... } ] | null }. */
function checkTocJson(json: Buffer, what: string): number {
    let doc: unknown;
    try {
        doc = JSON.parse(json.toString("utf8"));
    } catch (err) {
        throw bad(what, `the eStargz TOC is not valid JSON (${(err as Error).message})`, "bad-toc");
    }
    if (typeof doc !== "object" || doc === null || Array.isArray(doc)) throw bad(what, "the eStargz TOC is not a JSON object", "bad-toc");
    const { version, entries } = doc as { version?: unknown; entries?: unknown };
    if (typeof version !== "number" || !Number.isSafeInteger(version)) throw bad(what, `the eStargz TOC version ${JSON.stringify(version)} is not an integer`, "bad-toc");
    if (entries === null || entries === undefined) return 0;
    if (!Array.isArray(entries)) throw bad(what, "the eStargz TOC entries are not an array", "bad-toc");
    for (const [i, e] of entries.entries()) {
        const o = e as { name?: unknown; type?: unknown; size?: unknown; offset?: unknown };
        if (typeof o !== "object" || o === null || typeof o.name !== "string" || typeof o.type !== "string" || !TOC_TYPES.has(o.type)) {
            throw bad(what, `eStargz TOC entry ${i} needs a string name and a known type`, "bad-toc");
        }
        for (const k of ["size", "offset"] as const) {
            const v = o[k];
            if (v !== undefined && (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0)) {
                throw bad(what, `eStargz TOC entry ${i} (${JSON.stringify(o.name)}): ${k} ${JSON.stringify(v)} is not a non-negative integer`, "bad-toc");
            }
        }
    }
    return entries.length;
}

/** The TOC of a whole blob held in memory (tests, fuzzing). */
export function tocFromBlob(blob: Buffer, what = "eStargz blob", opts: TocReadOptions = {}): TocInfo {
    const { tocOffset, footerSize } = locateToc(blob.subarray(Math.max(0, blob.length - FOOTER_SIZE)), blob.length, what);
    const member = blob.subarray(tocOffset, blob.length - footerSize);
    const { digest, entries } = parseTocMember(member, what, opts);
    return { tocOffset, footerSize, digest, entries };
}

/** The TOC of a blob file: reads only the footer and the TOC member. */
export async function readToc(path: string, opts: TocReadOptions = {}): Promise<TocInfo> {
    const max = opts.maxTocBytes ?? DEFAULT_MAX_TOC_BYTES;
    let fh;
    try {
        fh = await open(path, "r");
        const { size } = await fh.stat();
        const tail = Buffer.alloc(Math.min(FOOTER_SIZE, size));
        await fh.read(tail, 0, tail.length, size - tail.length);
        const { tocOffset, footerSize } = locateToc(tail, size, path);
        const length = size - footerSize - tocOffset;
        // Deflate cannot shrink below ~1/1032; a member larger than the bound cannot fit in it.
        if (length > max) {
            throw new EngineError("ResourceExhausted", `${path}: the eStargz TOC member is ${length} bytes, more than the ${max} a TOC may have`, { path, reason: "too-large", limit: max });
        }
        const member = Buffer.alloc(length);
        await fh.read(member, 0, length, tocOffset);
        const { digest, entries } = parseTocMember(member, path, opts);
        return { tocOffset, footerSize, digest, entries };
    } catch (err) {
        throw fromSystemError(err, path, "reading the eStargz TOC");
    } finally {
        await fh?.close();
    }
}
