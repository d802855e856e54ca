/**
 * The compressed bytes on their way out: a fixed-size buffer that fills up and is handed over
 * whole, so the consumer may keep every chunk it receives. A chunk is reused only when its
 * consumer gives it back (`recycleChunk`) once it has copied it.
 */
const CHUNK_SIZE = 64 * 1024;

/**
 * Chunks given back, per thread (each worker loads its own copy of this module). A goflate
 * worker copies every chunk as soon as it gets it (goflateWorker.ts), and eStargz ends a member
 * per file: without this, each member's end took a new 64 KiB buffer, and the dead ones waited
 * for a collection. The bench's ~5 GB eStargz run, from smaps at its peak: the worker threads'
 * malloc arenas 45 -> 39 MiB, peak RSS 200-211 -> 194 MiB.
 */
const spare: Buffer[] = [];
const MAX_SPARE = 8;
/** Chunks handed out and not yet given back: only these are taken back, each once. */
const handedOut = new WeakSet<ArrayBufferLike>();

/** A chunk with an ArrayBuffer of its own (never a slice of node's shared pool). */
function newChunk(): Buffer {
    return spare.pop() ?? Buffer.allocUnsafeSlow(CHUNK_SIZE);
}

/**
 * Gives back a chunk an OutputQueue handed out, once nothing reads it any more. Anything else
 * (a gzip header or trailer, a chunk already given back) is ignored.
 */
export function recycleChunk(chunk: Uint8Array): void {
    const ab = chunk.buffer;
    if (!handedOut.has(ab) || ab.byteLength !== CHUNK_SIZE || chunk.byteOffset !== 0) {
        return;
    }
    handedOut.delete(ab);
    if (spare.length < MAX_SPARE) {
        spare.push(Buffer.from(ab, 0, CHUNK_SIZE));
    }
}

export class OutputQueue {
    buf: Buffer = newChunk();
    pos = 0;
    private readonly full: Buffer[] = [];

    /** Bytes waiting in complete chunks (the current partial chunk not counted). */
    get readyChunks(): number {
        return this.full.length;
    }

    /** Makes room for at least `n` more bytes in `buf` (n <= CHUNK_SIZE). */
    reserve(n: number): void {
        if (this.pos + n > this.buf.length) {
            this.rotate();
        }
    }

    writeByte(b: number): void {
        if (this.pos === this.buf.length) {
            this.rotate();
        }
        this.buf[this.pos++] = b;
    }

    writeBytes(src: Uint8Array, start: number, end: number): void {
        while (start < end) {
            if (this.pos === this.buf.length) {
                this.rotate();
            }
            const n = Math.min(end - start, this.buf.length - this.pos);
            this.buf.set(src.subarray(start, start + n), this.pos);
            this.pos += n;
            start += n;
        }
    }

    /** Complete chunks only; the partial one keeps filling. */
    takeReady(): Buffer[] {
        return this.full.splice(0, this.full.length);
    }

    /** Everything, the partial chunk included. */
    takeAll(): Buffer[] {
        if (this.pos > 0) {
            this.rotate();
        }
        return this.takeReady();
    }

    private rotate(): void {
        if (this.pos > 0) {
            this.full.push(this.buf.subarray(0, this.pos));
            handedOut.add(this.buf.buffer);
            this.buf = newChunk();
            this.pos = 0;
        }
    }
}
