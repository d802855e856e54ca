/**
 * Mirrors BuildKit `cache/converter.go` `getConverter` + `conversion.convert`: decompress the
 * source blob (eStargz through Unpack, which strips the TOC), hash the decompressed stream (the
 * source's diffID), compress to the target, commit with `containerd.io/uncompressed`.
 */
import { randomBytes } from "node:crypto";
import { createHash } from "node:crypto";
import type { ContentStore } from "../content";
import {
    type CompressionConfig,
    type CompressionType,
    createEncoder,
    defaultMediaType,
    fromMediaType,
    isBuildkitComparable,
    openDecoded,
} from "../compression";
import type { Digest } from "../digest/hashSink";
import { EngineError } from "../errors";
import { type BlobDescriptor, LABEL_UNCOMPRESSED } from "./labels";
import { blobIsEStargz } from "./variants";

export async function convertBlob(store: ContentStore, src: BlobDescriptor, comp: CompressionConfig, signal?: AbortSignal): Promise<BlobDescriptor> {
    const from = fromMediaType(src.mediaType);
    if (from === "unknown") {
        throw new EngineError(
            "Unsupported",
            `unsupported source compression type ${JSON.stringify(from)} from mediatype ${JSON.stringify(src.mediaType)}`,
            { digest: src.digest },
        );
    }
    const sourceType: CompressionType = from === "gzip" && (await blobIsEStargz(store, src.digest)) ? "estargz" : from;
    const writer = await store.writer(`convert-from-${src.digest}-to-${comp.type}-${randomBytes(8).toString("hex")}`);
    try {
        const encoder = createEncoder(comp, writer);
        const hash = createHash("sha256");
        try {
            for await (const chunk of openDecoded(store.blobPath(src.digest), sourceType)) {
                if (signal?.aborted) throw new EngineError("Canceled", "canceled");
                hash.update(chunk as Buffer);
                await encoder.write(chunk as Buffer);
            }
        } catch (err) {
            encoder.abort(err);
            throw err;
        }
        const enc = await encoder.finish();
        const diffID = `sha256:${hash.digest("hex")}` as Digest;
        const uncompressed = enc.uncompressedDigest && comp.type === "estargz" ? enc.uncompressedDigest : diffID;
        const committed = await writer.commit({ labels: { [LABEL_UNCOMPRESSED]: uncompressed } });
        return {
            digest: committed.digest,
            mediaType: defaultMediaType(comp.type),
            size: committed.size,
            annotations: { ...enc.annotations, [LABEL_UNCOMPRESSED]: uncompressed },
            buildkitComparable: isBuildkitComparable(comp),
        };
    } catch (err) {
        await writer.abort();
        throw err;
    }
}
