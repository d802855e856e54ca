/**
 * Keeps long synchronous stretches short: `maybeYield()` gives the event loop a turn once
 * `sliceMs` have passed since the last one, so signals (Ctrl-C, AbortSignal), timers and other
 * work get through while differs and encoders run on the main thread.
 *
 * The clock is shared by every Yielder in the thread. A chain computes several layers at once,
 * each with its own walker; with a clock per walker, each one resumed in its own setImmediate
 * callback and ran a full slice from there, so one loop turn could hold several slices back to
 * back (64 ms measured on the bench chain). With one clock, every walker that finds the slice
 * spent waits on the same immediate and they all resume in that one callback: a turn holds one
 * slice plus, for each other waiter, the work up to its next check (it then waits again).
 * Waiters resume in the order they came, so none starves.
 */
import { EngineError } from "../errors";

let sliceStart = performance.now();
let turn: Promise<void> | undefined;

function nextTurn(): Promise<void> {
    turn ??= new Promise<void>((resolve) =>
        setImmediate(() => {
            turn = undefined;
            sliceStart = performance.now();
            resolve();
        }),
    );
    return turn;
}

export class Yielder {
    constructor(
        private readonly signal?: AbortSignal,
        private readonly sliceMs = 20,
    ) {}

    async maybeYield(): Promise<void> {
        if (performance.now() - sliceStart >= this.sliceMs) {
            await nextTurn();
        }
        if (this.signal?.aborted) {
            throw new EngineError("Canceled", "canceled");
        }
    }
}
