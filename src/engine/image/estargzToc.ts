/**
 * The eStargz annotations recorded on an imported layer's variant: the TOC digest (read from the
 * blob by importImage's checkBlobKind, stargz-snapshotter `TOCJSONDigestAnnotation`) and the
 * uncompressed size (the whole decompressed blob, TOC included:
 * `io.containers.estargz.uncompressed-size`). A descriptor that carries the size must agree with
 * the blob; one that carries neither (a docker save archive, a copy that dropped annotations)
 * gets them recorded, so an export as eStargz reuses the blob with the annotations a lazy puller
 * needs.
 */
import { StoreUncompressedSizeAnnotation, TOCJSONDigestAnnotation } from "../compression/estargz/estargzEncoder";
import type { Digest } from "../digest/hashSink";
import { EngineError } from "../errors";

export function estargzAnnotations(tocDigest: Digest, decompressedSize: number, descriptor: Readonly<Record<string, string>> | undefined, what: string): Record<string, string> {
    const size = descriptor?.[StoreUncompressedSizeAnnotation];
    if (size !== undefined && size !== String(decompressedSize)) {
        throw new EngineError("Corrupt", `${what}: the descriptor's ${StoreUncompressedSizeAnnotation} is ${size}, the blob decompresses to ${decompressedSize} bytes`, { path: what, reason: "estargz-size-mismatch" });
    }
    return { [TOCJSONDigestAnnotation]: tocDigest, [StoreUncompressedSizeAnnotation]: String(decompressedSize) };
}
