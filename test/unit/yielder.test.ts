/**
 * The Yielder's slice is shared by every walker on the thread: when one walker has spent it, the
 * next one to check yields too, even if it has just resumed. (With a clock per walker, each
 * resumed walker started a slice of its own, and a chain's eight walkers could hold one loop
 * turn for several slices.)
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Yielder } from "../../src/engine/util/yielder";

const SLICE_MS = 20;

function busy(ms: number): void {
    const end = performance.now() + ms;
    while (performance.now() < end) {
        // spend the slice on purpose
    }
}

/** Counts loop turns: a probe that re-queues itself with setImmediate. */
function turnCounter(): { readonly turns: () => number; readonly stop: () => void } {
    let n = 0;
    let on = true;
    const tick = (): void => {
        n++;
        if (on) setImmediate(tick);
    };
    setImmediate(tick);
    return { turns: () => n, stop: () => (on = false) };
}

describe("Yielder", () => {
    it("a walker that just resumed still yields when another walker spent the slice", async () => {
        const a = new Yielder(undefined, SLICE_MS);
        const b = new Yielder(undefined, SLICE_MS);
        const probe = turnCounter();
        try {
            busy(SLICE_MS + 5);
            // Both find the slice spent and wait; a resumes first and spends the new slice.
            const walkA = (async () => {
                await a.maybeYield();
                busy(SLICE_MS + 5);
                await a.maybeYield();
            })();
            const walkB = (async () => {
                await b.maybeYield();
                const before = probe.turns();
                await b.maybeYield(); // a has spent the slice: b must give the loop a turn
                return probe.turns() - before;
            })();
            const [, turnsForB] = await Promise.all([walkA, walkB]);
            assert.ok(turnsForB >= 1, `b went on without a loop turn after a spent the slice (${turnsForB} turns)`);
        } finally {
            probe.stop();
        }
    });

    it("does not yield while the slice lasts, and stops on abort", async () => {
        const ac = new AbortController();
        const y = new Yielder(ac.signal, 10_000);
        busy(1);
        const probe = turnCounter();
        try {
            // A first call may yield once (the shared slice may have started long ago); after that
            // the slice is fresh and 100 calls run without a turn.
            await y.maybeYield();
            const start = probe.turns();
            for (let i = 0; i < 100; i++) await y.maybeYield();
            assert.equal(probe.turns(), start, "no turn inside a slice");
            ac.abort();
            await assert.rejects(y.maybeYield(), /canceled/);
        } finally {
            probe.stop();
        }
    });
});
