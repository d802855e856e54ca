/**
 * A FIFO of byte chunks pulled from an async source on demand, for parsers that need a few bytes
 * of lookahead (zstd frame and block headers) without joining the stream into one buffer.
 */
import { EngineError } from "../errors";

export class ByteQueue {
    private readonly chunks: Buffer[] = [];
    private head = 0;
    private total = 0;
    private done = false;
    private readonly it: AsyncIterator<Buffer>;

    constructor(source: AsyncIterable<Buffer>, private readonly what: string) {
        this.it = source[Symbol.asyncIterator]();
    }

    get length(): number {
        return this.total;
    }

    /** Pulls until at least `n` bytes are queued; false if the source ends first. */
    async fill(n: number): Promise<boolean> {
        while (this.total < n && !this.done) {
            const r = await this.it.next();
            if (r.done) {
                this.done = true;
            } else if (r.value.length > 0) {
                this.chunks.push(r.value);
                this.total += r.value.length;
            }
        }
        return this.total >= n;
    }

    /** Like fill, but a short source is a truncated stream. */
    async need(n: number): Promise<void> {
        if (!(await this.fill(n))) {
            throw new EngineError("Corrupt", `${this.what}: unexpected end of data`);
        }
    }

    /** The first n queued bytes (n <= length), without consuming them. */
    peek(n: number): Buffer {
        const first = this.chunks[0]!;
        if (first.length - this.head >= n) {
            return first.subarray(this.head, this.head + n);
        }
        const out = Buffer.allocUnsafe(n);
        let got = 0;
        for (let i = 0; got < n; i++) {
            const c = this.chunks[i]!;
            const from = i === 0 ? this.head : 0;
            const k = Math.min(n - got, c.length - from);
            c.copy(out, got, from, from + k);
            got += k;
        }
        return out;
    }

    /** Consumes and returns the first n queued bytes (n <= length). */
    take(n: number): Buffer {
        const out = this.peek(n);
        this.skipQueued(n);
        return out;
    }

    /** Consumes n bytes, pulling more as needed; a short source is a truncated stream. */
    async skip(n: number): Promise<void> {
        while (n > 0) {
            if (this.total === 0) {
                await this.need(1);
            }
            const k = Math.min(n, this.total);
            this.skipQueued(k);
            n -= k;
        }
    }

    async close(): Promise<void> {
        await this.it.return?.();
    }

    private skipQueued(n: number): void {
        this.total -= n;
        while (n > 0) {
            const first = this.chunks[0]!;
            const k = Math.min(n, first.length - this.head);
            this.head += k;
            n -= k;
            if (this.head === first.length) {
                this.chunks.shift();
                this.head = 0;
            }
        }
    }
}
