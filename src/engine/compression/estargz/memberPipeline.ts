/**
 * eStargz's gzip members compressed side by side, written in order. Members are independent
 * gzip streams (estargz `Writer` closes one and opens the next at every chunk), so several can
 * compress at once; their bytes must still reach the blob in the order they were opened, and a
 * member's offset (its TOC `offset`) is only known once every member before it is written.
 *
 * Each member writes into a sink of its own: the oldest unfinished member (the head) writes
 * straight through to the blob; the others collect their output until they become the head.
 * `open` waits while `limit` members are unfinished, which bounds memory (and the workers in
 * use). A member that closed small and went to a batch (`batched`) holds no worker and at most
 * 64 KiB, so it does not count against `limit`; up to MAX_SLOTS of those may wait, letting
 * batches form while a big member is still compressing. Before waiting, `open` and `drain`
 * flush the factory's batch, so the member waited for is on its way. The blob's bytes are
 * exactly the serial ones: same members, same order.
 */
import type { ByteSink } from "../../archive/tarStream";
import { recycle } from "../goflate/bufferPool";
import { Yielder } from "../../util/yielder";
import type { CountingSink } from "../serialSink";

export interface MemberWriter {
    write(chunk: Buffer): Promise<void>;
    close(): Promise<unknown>;
    abort(reason?: unknown): void;
    /** True once `close` queued it in a batch (read right after `close` returns). */
    readonly batched?: boolean;
}

/** Opens members; `flush` sends members queued in a batch, `abort` drops them. */
export interface MemberFactory {
    open(out: ByteSink, goLevel: number): Promise<MemberWriter>;
    flush?(): void;
    abort?(reason?: unknown): void;
}

/** Members waiting at most, batched ones included (each holds at most 64 KiB). */
const MAX_SLOTS = 256;

interface Slot {
    readonly buffered: Buffer[];
    /** The head with its buffer flushed: writes go straight to the blob. */
    live: boolean;
    closed: boolean;
    /** Counted against `limit` (not closed into a batch). */
    heavy: boolean;
    readonly onStart: ((offset: number) => void) | undefined;
    readonly done: Promise<void>;
    resolveDone(): void;
    member: MemberWriter | undefined;
}

export class MemberPipeline {
    private readonly slots: Slot[] = [];
    private pumping: Promise<void> = Promise.resolve();
    private error: unknown;
    private failed = false;
    /** Slots counted against `limit`. */
    private heavy = 0;
    /** Retiring a run of small members is one chain of microtasks: let the event loop in. */
    private readonly yielder = new Yielder();
    /** Members opened so far. */
    opened = 0;

    constructor(
        private readonly out: CountingSink,
        private readonly factory: MemberFactory,
        private readonly goLevel: number,
        private readonly limit: number,
    ) {}

    /**
     * Opens the next member; `onStart` receives its offset in the blob once every earlier member
     * is written. Closing the returned writer hands the member over without waiting for it.
     */
    async open(onStart?: (offset: number) => void): Promise<MemberWriter> {
        while (this.heavy >= this.limit || this.slots.length >= MAX_SLOTS) {
            this.factory.flush?.();
            await this.slots[0]!.done;
            this.check();
        }
        this.check();
        let resolveDone!: () => void;
        const done = new Promise<void>((r) => (resolveDone = r));
        const slot: Slot = {
            buffered: [],
            live: false,
            closed: false,
            heavy: true,
            onStart,
            done,
            resolveDone,
            member: undefined,
        };
        this.slots.push(slot);
        this.heavy++;
        this.opened++;
        this.kick();
        const sink: ByteSink = {
            write: (chunk: Buffer) => {
                if (slot.live) {
                    return afterWrite(this.out.write(chunk), chunk);
                }
                // NOTE: member writers hand over chunks they never reuse (goflate's output
                // queue, worker replies, zlib's output), so keeping the reference is safe.
                slot.buffered.push(chunk);
                return undefined;
            },
        };
        slot.member = await this.factory.open(sink, this.goLevel);
        return {
            write: (chunk) => slot.member!.write(chunk),
            close: async () => {
                const closing = slot.member!.close();
                if (slot.member!.batched === true) {
                    this.lighten(slot);
                }
                closing.then(
                    () => {
                        slot.closed = true;
                        this.kick();
                    },
                    (err: unknown) => this.fail(err),
                );
            },
            abort: (reason) => slot.member!.abort(reason),
        };
    }

    /** Waits until every member opened so far is in the blob. */
    async drain(): Promise<void> {
        while (this.slots.length > 0) {
            this.factory.flush?.();
            await this.slots[this.slots.length - 1]!.done;
            this.check();
        }
        await this.pumping;
        this.check();
    }

    abort(reason?: unknown): void {
        this.fail(reason);
    }

    private lighten(slot: Slot): void {
        if (slot.heavy) {
            slot.heavy = false;
            this.heavy--;
        }
    }

    private kick(): void {
        this.pumping = this.pumping.then(() => this.pump()).catch((err: unknown) => this.fail(err));
    }

    /** Makes the oldest member the head (flushing what it collected) and retires closed heads. */
    private async pump(): Promise<void> {
        for (;;) {
            await this.yielder.maybeYield();
            const s = this.slots[0];
            if (s === undefined || this.failed) {
                return;
            }
            if (!s.live) {
                s.onStart?.(this.out.bytes);
                while (s.buffered.length > 0) {
                    const chunk = s.buffered.shift()!;
                    await this.out.write(chunk);
                    recycle(chunk);
                }
                s.live = true;
            }
            if (!s.closed) {
                return;
            }
            this.slots.shift();
            this.lighten(s);
            s.resolveDone();
        }
    }

    private fail(err: unknown): void {
        if (this.failed) return;
        this.failed = true;
        this.error = err;
        this.factory.abort?.(err);
        for (const s of this.slots) {
            s.member?.abort(err);
            s.resolveDone();
        }
        this.slots.length = 0;
        this.heavy = 0;
    }

    private check(): void {
        if (this.failed) throw this.error;
    }
}

/**
 * The blob holds `chunk` once its write settles (a sink keeps nothing past that): a pooled
 * worker reply goes back to the pool then.
 */
function afterWrite(written: void | Promise<void>, chunk: Buffer): void | Promise<void> {
    if (written === undefined) {
        recycle(chunk);
        return undefined;
    }
    return written.then(() => recycle(chunk));
}
