/**
 * An image blob into the workspace's content store, verified while it streams: never more bytes
 * than the descriptor's size, and the digest checked before the commit makes it visible
 * (containerd `content.Copy` with an expected descriptor). A blob already in the store is
 * taken as it is (the store only ever holds verified content).
 */
import { createHash } from "node:crypto";
import type { Readable } from "node:stream";
import type { ContentStore } from "../content";
import type { Digest } from "../digest/hashSink";
import { EngineError, isEngineError } from "../errors";

export interface IngestedBlob {
    readonly digest: Digest;
    readonly size: number;
}

export async function ingestBlob(
    store: ContentStore,
    open: () => Readable,
    expected: { digest: Digest; size: number } | null,
    ingestRef: string,
    what: string,
    signal?: AbortSignal,
): Promise<IngestedBlob> {
    if (expected && (await store.exists(expected.digest))) return expected;
    let writer;
    try {
        writer = await store.writer(ingestRef, expected ? { expected } : {});
    } catch (err) {
        if (expected && isEngineError(err, "AlreadyExists")) return expected;
        throw err;
    }
    const hash = createHash("sha256");
    let size = 0;
    const src = open();
    try {
        for await (const chunk of src) {
            if (signal?.aborted) throw new EngineError("Canceled", "canceled");
            const b = chunk as Buffer;
            size += b.length;
            if (expected && size > expected.size) {
                throw new EngineError("Corrupt", `${what}: more than the ${expected.size} bytes its descriptor says`, { path: what, reason: "size-mismatch" });
            }
            hash.update(b);
            await writer.write(b);
        }
        const digest = `sha256:${hash.digest("hex")}` as Digest;
        if (expected && size !== expected.size) {
            throw new EngineError("Corrupt", `${what}: ${size} bytes, its descriptor says ${expected.size}`, { path: what, reason: "size-mismatch" });
        }
        if (expected && digest !== expected.digest) {
            throw new EngineError("Corrupt", `${what}: digest ${digest}, its descriptor says ${expected.digest}`, { path: what, reason: "digest-mismatch" });
        }
        const r = await writer.commit({ expectedDigest: digest, expectedSize: size });
        return { digest: r.digest, size: r.size };
    } catch (err) {
        src.destroy();
        await writer.abort();
        throw err;
    }
}
