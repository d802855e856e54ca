/**
 * zstd decompression with bounded memory, for what containerd's `DecompressStream` reads with
 * klauspost's streaming decoder: any number of frames, skippable frames skipped (RFC 8878).
 *
 * The stream is walked frame by frame and block by block from the headers alone (no decoding),
 * which bounds what each frame can produce: a raw or RLE block exactly its Block_Size, a
 * compressed block at most min(Window_Size, 128 KiB). A frame whose bound is at most
 * NATIVE_LIMIT (all of ours: 4 MiB each) is buffered and decoded in one call of the native
 * binding, off the main thread, checksum verified. A larger frame (klauspost writes the whole
 * layer as one) is fed block by block to fzstd's streaming decoder, so memory stays within its
 * window plus one block. fzstd skips content checksums, so they are checked here (XXH64), along
 * with the declared content size.
 */
import { zstdDecompress as decompress } from "./zstdNative";
import { Decompress as FzstdDecompress } from "fzstd";
import { EngineError } from "../errors";
import { ByteQueue } from "./byteQueue";
import { Xxh64 } from "./xxh64";
import {
    BLOCK_HEADER_SIZE,
    frameHeaderSize,
    type FrameHeader,
    isSkippableMagic,
    parseBlockHeader,
    parseFrameHeader,
    ZSTD_MAGIC,
} from "./zstdFrame";

/** Largest output a buffered frame may have (decoded in one piece). */
export const NATIVE_LIMIT = 32 * 1024 * 1024;
/**
 * Largest window streamed through fzstd. fzstd 0.1.1 silently decodes frames with a 128 MiB
 * window wrongly (`zstd --long=27`; 64 MiB ones are right), so larger windows are refused
 * rather than trusted. klauspost's default window, what BuildKit writes, is 8 MiB.
 */
export const MAX_STREAM_WINDOW = 64 * 1024 * 1024;

export async function* decodeZstd(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    const q = new ByteQueue(source, "zstd stream");
    try {
        let frames = 0;
        while (await q.fill(1)) {
            await q.need(4);
            const magic = q.peek(4).readUInt32LE(0);
            if (isSkippableMagic(magic)) {
                await q.need(8);
                const size = q.take(8).readUInt32LE(4);
                await q.skip(size);
                continue;
            }
            if (magic !== ZSTD_MAGIC) {
                throw new EngineError("Corrupt", `zstd stream: bad magic number in frame ${frames}`);
            }
            await q.need(5);
            const headerSize = frameHeaderSize(q.peek(5)[4]!);
            await q.need(headerSize);
            const header = parseFrameHeader(q.peek(headerSize));
            if (header.dictionaryId !== 0) {
                throw new EngineError("Unsupported", "zstd frames that need a dictionary are not supported");
            }
            yield* decodeFrame(q, header);
            frames++;
        }
        if (frames === 0) {
            throw new EngineError("Corrupt", "zstd stream: no frame");
        }
    } finally {
        await q.close();
    }
}

async function* decodeFrame(q: ByteQueue, header: FrameHeader): AsyncGenerator<Buffer> {
    let buffered: Buffer[] | undefined = [q.take(header.headerSize)];
    let stream: FrameStream | undefined;
    let bound = 0;
    for (let last = false; !last; ) {
        await q.need(BLOCK_HEADER_SIZE);
        const block = parseBlockHeader(q.peek(BLOCK_HEADER_SIZE), 0, header.windowSize);
        await q.need(BLOCK_HEADER_SIZE + block.contentBytes);
        const bytes = q.take(BLOCK_HEADER_SIZE + block.contentBytes);
        bound += block.maxOutput;
        last = block.last;
        if (buffered !== undefined && bound > NATIVE_LIMIT) {
            stream = new FrameStream(header);
            for (const part of buffered) yield* stream.push(part);
            buffered = undefined;
        }
        if (stream !== undefined) yield* stream.push(bytes);
        else buffered!.push(bytes);
    }
    let sum: Buffer | undefined;
    if (header.hasChecksum) {
        await q.need(4);
        sum = q.take(4);
        if (stream !== undefined) yield* stream.push(sum);
        else buffered!.push(sum);
    }
    if (stream !== undefined) {
        yield* stream.end(sum);
        return;
    }
    try {
        const out = await decompress(Buffer.concat(buffered!));
        if (out.length > 0) yield out;
    } catch (err) {
        throw corrupt(err);
    }
}

/** fzstd's streaming decoder on one frame, fed whole blocks so each push yields <= 1 block. */
class FrameStream {
    private readonly out: Buffer[] = [];
    private readonly dec: FzstdDecompress;
    private readonly hash = new Xxh64();
    private produced = 0;

    constructor(private readonly header: FrameHeader) {
        if (header.windowSize > MAX_STREAM_WINDOW) {
            const message = `zstd frame window of ${header.windowSize} bytes exceeds ${MAX_STREAM_WINDOW}`;
            throw new EngineError("Unsupported", message);
        }
        this.dec = new FzstdDecompress((chunk) => {
            if (chunk.length > 0) this.out.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length));
        });
    }

    *push(bytes: Buffer, final = false): Generator<Buffer> {
        try {
            this.dec.push(bytes, final);
        } catch (err) {
            throw corrupt(err);
        }
        for (const chunk of this.out.splice(0)) {
            this.hash.update(chunk);
            this.produced += chunk.length;
            yield chunk;
        }
    }

    /** Flushes the decoder and checks the content size and checksum the frame declares. */
    *end(sum: Buffer | undefined): Generator<Buffer> {
        yield* this.push(Buffer.alloc(0), true);
        const size = this.header.contentSize;
        if (size !== undefined && size !== this.produced) {
            throw new EngineError("Corrupt", `zstd frame: ${this.produced} bytes decoded, the header says ${size}`);
        }
        if (sum !== undefined && sum.readUInt32LE(0) !== this.hash.digest()[1]) {
            throw new EngineError("Corrupt", "zstd frame: content checksum mismatch");
        }
    }
}

function corrupt(err: unknown): EngineError {
    const detail = err instanceof Error ? err.message : String(err);
    return new EngineError("Corrupt", `zstd frame: ${detail}`, {}, { cause: err });
}
