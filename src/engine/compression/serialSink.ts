/**
 * Plumbing shared by the encoders: in-order processing of writes that may arrive before the
 * previous one settled (TarStream ships blocks without waiting), first-error latching, and a
 * byte counter in front of the output sink (eStargz offsets are compressed byte counts, like
 * estargz's `countWriter`).
 */
import type { ByteSink } from "../archive/tarStream";
import { EngineError } from "../errors";

export class SerialQueue {
    private tail: Promise<void> = Promise.resolve();
    private failure: unknown;
    private failed = false;

    /** Runs `fn` after every earlier task; once any task failed, every later one rejects. */
    run(fn: () => Promise<void> | void): Promise<void> {
        const p = this.tail.then(() => {
            if (this.failed) {
                throw this.failure;
            }
            return fn();
        });
        this.tail = p.catch((err: unknown) => {
            this.fail(err);
        });
        return p;
    }

    /** Waits for every queued task; rejects with the first failure. */
    async drain(): Promise<void> {
        await this.tail;
        if (this.failed) {
            throw this.failure;
        }
    }

    fail(err: unknown): void {
        if (!this.failed) {
            this.failed = true;
            this.failure = err;
        }
    }

    get hasFailed(): boolean {
        return this.failed;
    }
}

/** Forwards to `out` and counts the bytes; `out` sees every chunk in order. */
export class CountingSink implements ByteSink {
    private count = 0;

    constructor(private readonly out: ByteSink) {}

    get bytes(): number {
        return this.count;
    }

    async write(chunk: Buffer): Promise<void> {
        if (chunk.length === 0) {
            return;
        }
        this.count += chunk.length;
        await this.out.write(chunk);
    }
}

export function finishedError(): EngineError {
    return new EngineError("FailedPrecondition", "the blob encoder is already finished; start a new one");
}

export function abortedError(reason: unknown): EngineError {
    if (reason instanceof EngineError) {
        return reason;
    }
    return new EngineError("Canceled", "the blob encoder was aborted", {}, { cause: reason });
}
