/**
 * Keeps long synchronous stretches short: `maybeYield()` gives the event loop a turn once
 * `sliceMs` have passed since the last one, so signals (Ctrl-C, AbortSignal) and other work get
 * through while a differ runs on the main thread.
 */
import { EngineError } from "../errors";

export class Yielder {
    private last = performance.now();

    constructor(
        private readonly signal?: AbortSignal,
        private readonly sliceMs = 20,
    ) {}

    async maybeYield(): Promise<void> {
        const now = performance.now();
        if (now - this.last >= this.sliceMs) {
            await new Promise<void>((resolve) => setImmediate(resolve));
            this.last = performance.now();
        }
        if (this.signal?.aborted) {
            throw new EngineError("Canceled", "canceled");
        }
    }
}
