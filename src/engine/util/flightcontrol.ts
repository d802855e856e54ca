/**
 * Mirrors BuildKit `util/flightcontrol` `Group.Do`: concurrent calls with the same key share one
 * execution and its result; the key is forgotten when the call settles (nothing is memoised, so
 * callers re-check state inside `fn`).
 */
export class FlightGroup {
    private readonly calls = new Map<string, Promise<unknown>>();
    /** How many times `fn` actually ran, per key (for tests and progress). */
    readonly executions = new Map<string, number>();

    do<T>(key: string, fn: () => Promise<T>): Promise<T> {
        const running = this.calls.get(key);
        if (running) {
            return running as Promise<T>;
        }
        this.executions.set(key, (this.executions.get(key) ?? 0) + 1);
        const p = (async () => {
            try {
                return await fn();
            } finally {
                this.calls.delete(key);
            }
        })();
        this.calls.set(key, p);
        return p;
    }
}
