/**
 * The eStargz annotations of an imported layer, read from the blob itself: the TOC digest
 * (sha256 of the `stargz.index.json` bytes in the TOC member the footer points to; stargz-
 * snapshotter `estargz.go` `TOCJSONDigestAnnotation`) and the uncompressed size (the whole
 * decompressed blob, TOC included: `io.containers.estargz.uncompressed-size`). A descriptor
 * that carries either must agree with the blob; one that carries none (a docker save archive, a
 * copy that dropped annotations) gets them recorded, so an export as eStargz reuses the blob
 * with the annotations a lazy puller needs.
 */
import { createHash } from "node:crypto";
import { readBlobEnds } from "../compression/blobEnds";
import { gunzipFileRange } from "../compression/decode";
import { footerTocOffset } from "../compression/detect";
import { TOCTarName } from "../compression/estargz/entryToToc";
import { StoreUncompressedSizeAnnotation, TOCJSONDigestAnnotation } from "../compression/estargz/estargzEncoder";
import { TarScanner } from "../compression/estargz/tarScanner";
import type { Digest } from "../digest/hashSink";
import { EngineError } from "../errors";

export { StoreUncompressedSizeAnnotation, TOCJSONDigestAnnotation };

/** The TOC digest of an eStargz blob, from its footer and TOC member. */
export async function readTocDigest(blobPath: string, what: string, signal?: AbortSignal): Promise<Digest> {
    const ends = await readBlobEnds(blobPath);
    const offset = footerTocOffset(ends);
    const bad = (why: string): EngineError => new EngineError("Corrupt", `${what}: not a readable eStargz blob: ${why}`, { path: blobPath, reason: "estargz-toc" });
    if (offset === undefined || offset < 0 || offset >= ends.size) throw bad("its footer names no TOC inside the blob");
    const hash = createHash("sha256");
    let names = 0;
    let isToc = false;
    const scanner = new TarScanner({
        raw: async () => undefined,
        entry: (e) => {
            names++;
            isToc = e.name.toString("latin1") === TOCTarName;
        },
        data: async (b) => {
            if (isToc) hash.update(b);
        },
    });
    const gunzip = gunzipFileRange(blobPath, offset);
    try {
        for await (const chunk of gunzip) {
            signal?.throwIfAborted();
            await scanner.push(chunk as Buffer);
            if (names > 1) throw bad(`its TOC member holds more than ${TOCTarName}`);
            if (scanner.atEnd) break;
        }
        if (!scanner.atEnd) scanner.end();
    } catch (err) {
        if (err instanceof EngineError || (err as Error).name === "AbortError") throw err;
        throw bad((err as Error).message);
    } finally {
        gunzip.destroy();
    }
    if (names !== 1 || !isToc) throw bad(`its TOC member does not hold ${TOCTarName}`);
    return `sha256:${hash.digest("hex")}` as Digest;
}

/**
 * The annotations to record for an imported eStargz layer: the descriptor's, checked against the
 * blob, completed with what the blob says.
 */
export async function estargzAnnotations(
    blobPath: string,
    decompressedSize: number,
    descriptor: Readonly<Record<string, string>> | undefined,
    what: string,
    signal?: AbortSignal,
): Promise<Record<string, string>> {
    const toc = await readTocDigest(blobPath, what, signal);
    const claimed = descriptor?.[TOCJSONDigestAnnotation];
    if (claimed !== undefined && claimed !== toc) {
        throw new EngineError("Corrupt", `${what}: the descriptor's ${TOCJSONDigestAnnotation} is ${claimed}, the blob's TOC hashes to ${toc}`, { path: blobPath, reason: "toc-digest-mismatch" });
    }
    const size = descriptor?.[StoreUncompressedSizeAnnotation];
    if (size !== undefined && size !== String(decompressedSize)) {
        throw new EngineError("Corrupt", `${what}: the descriptor's ${StoreUncompressedSizeAnnotation} is ${size}, the blob decompresses to ${decompressedSize} bytes`, { path: blobPath, reason: "estargz-size-mismatch" });
    }
    return { [TOCJSONDigestAnnotation]: toc, [StoreUncompressedSizeAnnotation]: String(decompressedSize) };
}
