/**
 * Decompressed tar bytes of a blob, with bounded memory. Mirrors containerd v1.6.3
 * `archive/compression` `DecompressStream` for gzip (multi-member), zstd (multi-frame) and
 * uncompressed blobs, and stargz-snapshotter estargz `Unpack` (BuildKit's eStargz decompressor,
 * spec §6.4): gunzip of [0, tocOffset), i.e. the original tar without the TOC tar.
 */
import { createReadStream } from "node:fs";
import { Readable, pipeline } from "node:stream";
import { createGunzip } from "node:zlib";
import { assertNever, EngineError, fromSystemError } from "../errors";
import { FOOTER_SIZE, LEGACY_FOOTER_SIZE, openFooter } from "./estargz/footer";
import type { CompressionType } from "./types";
import { decodeZstd } from "./zstdDecoder";
import { readBlobEnds } from "./blobEnds";

/** A blob file, or its bytes as a stream. eStargz needs a file (the footer is at the end). */
export type DecodeSource = string | Readable | AsyncIterable<Buffer>;

const READ_CHUNK = 1024 * 1024;

/**
 * The uncompressed tar of a blob compressed as `type`, as a byte stream. Errors surface on the
 * stream: `Corrupt` for undecodable data, `NotFound`/`Io` for the file, `InvalidArgument` for
 * eStargz given a stream.
 */
export function openDecoded(source: DecodeSource, type: CompressionType): Readable {
    return Readable.from(decodedChunks(source, type), { objectMode: false });
}

async function* decodedChunks(source: DecodeSource, type: CompressionType): AsyncGenerator<Buffer> {
    const what = typeof source === "string" ? source : `${type} stream`;
    try {
        switch (type) {
            case "uncompressed":
                yield* toReadable(source) as AsyncIterable<Buffer>;
                return;
            case "gzip":
                yield* gunzipReadable(toReadable(source)) as AsyncIterable<Buffer>;
                return;
            case "zstd":
                yield* decodeZstd(toReadable(source) as AsyncIterable<Buffer>);
                return;
            case "estargz":
                if (typeof source !== "string") {
                    throw new EngineError(
                        "InvalidArgument",
                        "unpacking eStargz needs the blob file (its footer is at the end)",
                    );
                }
                yield* unpackEStargz(source);
                return;
            default:
                assertNever(type, "compression type");
        }
    } catch (err) {
        throw decodeError(err, what, type);
    }
}

/** estargz.Unpack: gunzip [0, tocOffset) as one multi-member stream. */
async function* unpackEStargz(path: string): AsyncGenerator<Buffer> {
    const ends = await readBlobEnds(path);
    const footer = openFooter(ends.tail);
    if (footer === undefined) {
        const where = `the last ${FOOTER_SIZE} (or ${LEGACY_FOOTER_SIZE}) bytes`;
        throw new EngineError("Corrupt", `${path}: no eStargz footer in ${where}`, { path, reason: "bad-estargz-footer" });
    }
    const { tocOffset, footerSize } = footer;
    if (tocOffset < 0 || tocOffset > ends.size - footerSize) {
        throw new EngineError("Corrupt", `${path}: eStargz TOC offset ${tocOffset} is outside the blob`, { path, reason: "bad-estargz-footer" });
    }
    if (tocOffset === 0) {
        return; // the tar was empty (Go's gzip reader would fail on the empty range instead)
    }
    yield* gunzipFileRange(path, 0, tocOffset - 1) as AsyncIterable<Buffer>;
}

function toReadable(source: DecodeSource): Readable {
    if (typeof source === "string") {
        return createReadStream(source, { highWaterMark: READ_CHUNK });
    }
    return source instanceof Readable ? source : Readable.from(source, { objectMode: false });
}

function gunzipReadable(src: Readable): Readable {
    const gunzip = createGunzip({ chunkSize: 64 * 1024 });
    pipeline(src, gunzip, () => undefined); // errors of either side surface on `gunzip`
    return gunzip;
}

/** Gunzip of the file's bytes [start, end] (end inclusive, default the end of the file). */
export function gunzipFileRange(path: string, start: number, end?: number): Readable {
    return gunzipReadable(createReadStream(path, { start, end, highWaterMark: READ_CHUNK }));
}

function decodeError(err: unknown, what: string, type: CompressionType): EngineError {
    if (err instanceof EngineError) {
        return err;
    }
    const e = err as NodeJS.ErrnoException;
    if (typeof e?.code === "string" && (e.code.startsWith("Z_") || e.code === "ERR_STREAM_PREMATURE_CLOSE")) {
        const message = `${what}: not valid ${type} data: ${e.message}`;
        return new EngineError("Corrupt", message, { path: what, reason: "bad-compressed-data" }, { cause: err });
    }
    return fromSystemError(err, what, `decompressing ${type}`);
}
