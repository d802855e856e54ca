/**
 * Compression from a blob's bytes. Mirrors moby/buildkit v0.10.6
 * `util/compression/compression.go` `detectCompressionType` (spec §5.4), with containerd's
 * zstd skippable-frame magic (`archive/compression` `DecompressStream`), and `cache/estargz.go`
 * `isEStargz` (spec §4.1): a footer, and a TOC member holding exactly `stargz.index.json`.
 */
import { type BlobEnds, readBlobEnds } from "./blobEnds";
import { gunzipFileRange } from "./decode";
import { openFooter } from "./estargz/footer";
import { TOCTarName } from "./estargz/entryToToc";
import { TarScanner } from "./estargz/tarScanner";
import type { CompressionType } from "./types";
import { isSkippableMagic, ZSTD_MAGIC } from "./zstdFrame";

/** The eStargz TOC offset from the blob's footer (51-byte or legacy 47-byte), if it has one. */
export function footerTocOffset(ends: BlobEnds): number | undefined {
    return openFooter(ends.tail)?.tocOffset;
}

export function detectFromEnds(ends: BlobEnds): CompressionType {
    if (footerTocOffset(ends) !== undefined) {
        return "estargz";
    }
    const h = ends.head;
    if (h.length >= 3 && h[0] === 0x1f && h[1] === 0x8b && h[2] === 0x08) {
        return "gzip";
    }
    if (h.length >= 4 && (h.readUInt32LE(0) === ZSTD_MAGIC || isSkippableMagic(h.readUInt32LE(0)))) {
        return "zstd";
    }
    return "uncompressed";
}

/** detectCompressionType: the footer first, then gzip/zstd magic, else uncompressed. */
export async function detectCompression(path: string): Promise<CompressionType> {
    return detectFromEnds(await readBlobEnds(path));
}

/**
 * isEStargz: the footer parses, and gunzipping from the TOC offset gives a tar whose first entry
 * is `stargz.index.json` and whose next read is end-of-archive. A missing blob is not eStargz
 * (BuildKit's `cs.Info` failing); a malformed one is not either.
 */
export async function isEStargz(path: string): Promise<boolean> {
    let ends: BlobEnds;
    try {
        ends = await readBlobEnds(path);
    } catch (err) {
        if ((err as { code?: string }).code === "NotFound") {
            return false;
        }
        throw err;
    }
    const tocOffset = footerTocOffset(ends);
    if (tocOffset === undefined || tocOffset < 0 || tocOffset >= ends.size) {
        return false;
    }
    const names: string[] = [];
    const scanner = new TarScanner({
        raw: async () => undefined,
        data: async () => undefined,
        entry: (e) => {
            names.push(e.name.toString("latin1"));
        },
    });
    const gunzip = gunzipFileRange(path, tocOffset);
    try {
        for await (const chunk of gunzip) {
            await scanner.push(chunk as Buffer);
            if (names.length > 1) {
                return false;
            }
            if (scanner.atEnd) {
                break; // Go's tar reader stops at the end blocks and reads no further
            }
        }
        if (!scanner.atEnd) {
            scanner.end();
        }
    } catch {
        return false;
    } finally {
        gunzip.destroy();
    }
    return names.length === 1 && names[0] === TOCTarName;
}
