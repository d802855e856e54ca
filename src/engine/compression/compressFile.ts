/**
 * One blob from one tar file, as BuildKit's compressors make it (the oracle's `compress`):
 * streams the tar through the encoder, hashing the input (diffID) and the output (digest).
 */
import { createHash } from "node:crypto";
import { type FileHandle, open } from "node:fs/promises";
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
    // eStargz's diffID is its own output tar's (the input plus the TOC), which the encoder hashes.
    const inputHash = comp.type === "estargz" ? undefined : createHash("sha256");
    try {
        const fh = await open(input, "r");
        try {
            for await (const chunk of reusedChunks(fh)) {
                if (signal?.aborted) throw new EngineError("Canceled", "canceled");
                inputHash?.update(chunk);
                await encoder.write(chunk);
            }
        } finally {
            await fh.close();
        }
    } catch (err) {
        encoder.abort(err);
        throw err instanceof EngineError ? err : fromSystemError(err, input, "reading the tar");
    }
    const enc = await encoder.finish();
    const diffID = inputHash ? (`sha256:${inputHash.digest("hex")}` as Digest) : enc.uncompressedDigest;
    if (diffID === undefined) {
        throw new EngineError("Internal", `${comp.type} encoder gave no uncompressed digest`);
    }
    return {
        digest: blobHash.digest(),
        size: blobHash.size,
        diffID,
        mediaType: defaultMediaType(comp.type),
        annotations: { ...enc.annotations, "containerd.io/uncompressed": diffID },
        buildkitComparable: isBuildkitComparable(comp),
    };
}

const READ_CHUNK = 1 << 20;

/**
 * The file's bytes in READ_CHUNK pieces read into two buffers taken in turn, the next read
 * running while the caller handles the current piece. A piece is valid until the caller asks
 * for the next one (encoders keep nothing past their write's promise: ByteSink). A fresh
 * buffer per read, as a read stream makes, left ~40 MiB of dead 1 MiB buffers between
 * mark-compacts on the bench's eStargz run, most of them promoted while members waited.
 * Reads go from the current position, so pipes and character devices work too.
 */
async function* reusedChunks(fh: FileHandle): AsyncGenerator<Buffer> {
    const bufs = [Buffer.allocUnsafeSlow(READ_CHUNK), Buffer.allocUnsafeSlow(READ_CHUNK)];
    let i = 0;
    const read = (b: Buffer): Promise<number> => {
        const p = fh.read(b, 0, READ_CHUNK, null).then((r) => r.bytesRead);
        p.catch(() => undefined); // awaited below; not an unhandled rejection meanwhile
        return p;
    };
    let next = read(bufs[0]!);
    try {
        for (;;) {
            const n = await next;
            if (n === 0) return;
            const cur = bufs[i]!.subarray(0, n);
            i ^= 1;
            next = read(bufs[i]!);
            yield cur;
        }
    } finally {
        await next.catch(() => undefined); // never close the file under a read in flight
    }
}
