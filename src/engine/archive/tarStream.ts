/**
 * The byte stream of a layer tar, laid into a ring of shared 2 MiB blocks: headers are copied
 * in, file data is read straight into the block (`fill`), and each full block goes to the
 * digest worker (sha256, plus writing to a file when asked) and to any in-thread sinks. The main
 * thread only waits when it comes round to a block the consumers have not released yet.
 */
import type { DigestJob } from "../util/digestWorker";
import { BLOCK_SIZE } from "./goTar";

/** An in-thread consumer. It may keep a chunk only until its returned promise settles. */
export interface ByteSink {
    write(chunk: Buffer): void | Promise<void>;
}

/** A file descriptor the digest worker writes every byte to, in order. */
export interface FdSink {
    readonly fd: number;
    /** The file behind `fd`, named in errors. */
    readonly path?: string;
}

// 4 x 2 MiB: few enough blocks that the per-block worker message is noise (a 2 MiB block takes
// ~1.2 ms to hash), enough that the main thread fills one while the worker hashes the others.
// A ring per blob in the making, and each full block is one write to the blob's compressor
// (a Go-exact member copies it for its worker). 4 MiB blocks bought no speed (base 2.51 s
// either way) and cost the bench chain, two blobs at once, 219-231 MiB of peak RSS against
// 190-196 MiB with 2 MiB: 16 MiB of rings, the rest larger copies in flight.
export const RING_BLOCKS = 4;
export const RING_BLOCK_SIZE = 2 * 1024 * 1024;

export class BlockRing {
    readonly sabs: SharedArrayBuffer[] = [];
    readonly views: Buffer[] = [];

    constructor(count = RING_BLOCKS, size = RING_BLOCK_SIZE) {
        for (let i = 0; i < count; i++) {
            const sab = new SharedArrayBuffer(size);
            this.sabs.push(sab);
            this.views.push(Buffer.from(sab));
        }
    }
}

const ZEROS = Buffer.alloc(BLOCK_SIZE);

export class TarStream {
    private index = 0;
    private used = 0;
    private total = 0;
    private readonly busy: (Promise<void> | undefined)[];

    constructor(
        private readonly ring: BlockRing,
        private readonly job: DigestJob,
        private readonly sinks: readonly ByteSink[] = [],
    ) {
        this.busy = new Array(ring.views.length).fill(undefined);
    }

    /** Bytes written so far. */
    get size(): number {
        return this.total + this.used;
    }

    async writeSmall(buf: Buffer): Promise<void> {
        let off = 0;
        while (off < buf.length) {
            const block = await this.current();
            const n = Math.min(buf.length - off, block.length - this.used);
            buf.copy(block, this.used, off, off + n);
            this.used += n;
            off += n;
        }
    }

    /**
     * Lets `read(buf, offset, length)` put up to `length` bytes straight into the current block;
     * it returns how many it wrote. Returns that count (0 when the source has no more).
     */
    async fill(length: number, read: (buf: Buffer, offset: number, length: number) => number): Promise<number> {
        const block = await this.current();
        const n = read(block, this.used, Math.min(length, block.length - this.used));
        this.used += n;
        return n;
    }

    /** `fill` with a read that completes later (the thread pool's `fs.read`). */
    async fillAsync(length: number, read: (buf: Buffer, offset: number, length: number) => Promise<number>): Promise<number> {
        const block = await this.current();
        const n = await read(block, this.used, Math.min(length, block.length - this.used));
        this.used += n;
        return n;
    }

    /** Free bytes in the current block (after waiting for it, if it is still in use). */
    async room(): Promise<number> {
        const block = await this.current();
        return block.length - this.used;
    }

    async pad(size: bigint): Promise<void> {
        const rem = Number(size % BigInt(BLOCK_SIZE));
        if (rem !== 0) {
            await this.writeSmall(ZEROS.subarray(0, BLOCK_SIZE - rem));
        }
    }

    /** Ships the partly filled block and waits until every consumer has everything. */
    async flush(): Promise<void> {
        if (this.used > 0) {
            this.ship();
        }
        await Promise.all(this.busy);
    }

    private async current(): Promise<Buffer> {
        const block = this.ring.views[this.index]!;
        if (this.used === block.length) {
            this.ship();
        }
        const pending = this.busy[this.index];
        if (pending) {
            await pending;
            this.busy[this.index] = undefined;
        }
        return this.ring.views[this.index]!;
    }

    private ship(): void {
        const i = this.index;
        const n = this.used;
        const chunk = this.ring.views[i]!.subarray(0, n);
        const waits: Promise<void>[] = [this.job.submit(i, n)];
        for (const sink of this.sinks) {
            const r = sink.write(chunk);
            if (r) waits.push(r);
        }
        const all = Promise.all(waits).then(() => undefined);
        all.catch(() => undefined); // surfaced when the block is next awaited
        this.busy[i] = all;
        this.total += n;
        this.used = 0;
        this.index = (i + 1) % this.ring.views.length;
    }
}
