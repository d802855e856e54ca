/**
 * The byte stream of a layer tar: small writes (headers) are staged and flushed in batches, file
 * data passes straight through, and every byte goes to each sink in order. A sink may keep a
 * chunk only until the promise its `write` returns has settled; after that the buffer is reused.
 */
import { BLOCK_SIZE } from "./goTar";

export interface ByteSink {
    write(chunk: Buffer): void | Promise<void>;
}

const STAGE_SIZE = 1024 * 1024;

export class TarStream {
    private stage = Buffer.allocUnsafe(STAGE_SIZE);
    private staged = 0;
    private written = 0;

    constructor(private readonly sinks: readonly ByteSink[]) {}

    /** Bytes written so far (staged ones included). */
    get size(): number {
        return this.written + this.staged;
    }

    async writeSmall(buf: Buffer): Promise<void> {
        if (this.staged + buf.length > STAGE_SIZE) {
            await this.flush();
        }
        if (buf.length > STAGE_SIZE) {
            await this.emit(buf);
            return;
        }
        buf.copy(this.stage, this.staged);
        this.staged += buf.length;
    }

    /** Writes a chunk of file data without copying it. */
    async writeData(chunk: Buffer): Promise<void> {
        await this.flush();
        await this.emit(chunk);
    }

    async pad(size: bigint): Promise<void> {
        const rem = Number(size % BigInt(BLOCK_SIZE));
        if (rem !== 0) {
            await this.writeSmall(ZEROS.subarray(0, BLOCK_SIZE - rem));
        }
    }

    async flush(): Promise<void> {
        if (this.staged > 0) {
            const chunk = this.stage.subarray(0, this.staged);
            this.staged = 0;
            await this.emit(chunk);
        }
    }

    private async emit(chunk: Buffer): Promise<void> {
        this.written += chunk.length;
        for (const sink of this.sinks) {
            const r = sink.write(chunk);
            if (r) {
                await r;
            }
        }
    }
}

const ZEROS = Buffer.alloc(BLOCK_SIZE);
