/**
 * One blob from one tar file, as BuildKit's compressors make it (the oracle's `compress`):
 * streams the tar through the encoder, hashing the input (diffID) and the output (digest).
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import type { ByteSink } from "../archive/tarStream";
import { type Digest, HashSink } from "../digest/hashSink";
import { EngineError, fromSystemError } from "../errors";
import { createEncoder } from "./createEncoder";
import { validateLevel } from "./levels";
import { defaultMediaType } from "./mediaTypes";
import { type CompressionConfig, isBuildkitComparable } from "./types";

export interface CompressedBlob {
    readonly digest: Digest;
    readonly size: number;
    /** The blob's diffID: sha256 of the input tar; for eStargz D' (input tar + TOC tar). */
    readonly diffID: Digest;
    readonly mediaType: string;
    readonly annotations: Record<string, string>;
    readonly buildkitComparable: boolean;
}

export async function compressFile(input: string, config: CompressionConfig, output?: ByteSink, signal?: AbortSignal): Promise<CompressedBlob> {
    const comp = validateLevel(config);
    const blobHash = new HashSink();
    const sink: ByteSink = output
        ? { write: async (c) => { blobHash.write(c); await output.write(c); } }
        : blobHash;
    const encoder = createEncoder(comp, sink);
    const inputHash = createHash("sha256");
    try {
        for await (const chunk of createReadStream(input, { highWaterMark: 1 << 20 })) {
            if (signal?.aborted) throw new EngineError("Canceled", "canceled");
            inputHash.update(chunk as Buffer);
            await encoder.write(chunk as Buffer);
        }
    } catch (err) {
        encoder.abort(err);
        throw err instanceof EngineError ? err : fromSystemError(err, input, "reading the tar");
    }
    const enc = await encoder.finish();
    const diffID = comp.type === "estargz" && enc.uncompressedDigest ? enc.uncompressedDigest : (`sha256:${inputHash.digest("hex")}` as Digest);
    return {
        digest: blobHash.digest(),
        size: blobHash.size,
        diffID,
        mediaType: defaultMediaType(comp.type),
        annotations: { ...enc.annotations, "containerd.io/uncompressed": diffID },
        buildkitComparable: isBuildkitComparable(comp),
    };
}
