/**
 * The compressed bytes on their way out: a fixed-size buffer that fills up and is handed over
 * whole, so the consumer may keep every chunk it receives (none is ever reused).
 */
const CHUNK_SIZE = 64 * 1024;

export class OutputQueue {
    buf: Buffer = Buffer.allocUnsafe(CHUNK_SIZE);
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
            this.buf = Buffer.allocUnsafe(CHUNK_SIZE);
            this.pos = 0;
        }
    }
}
