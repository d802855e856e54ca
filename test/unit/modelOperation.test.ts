/**
 * OperationRunner: events bracketed by start and end, deduplication by key, cancel as an
 * "end" with error "canceled", failures as an "end" with the message.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { EngineError } from "../../src/engine";
import { Emitter } from "../../src/extension/model/emitter";
import type { OperationEvent } from "../../src/extension/model/hostApi";
import { OperationRunner } from "../../src/extension/model/operation";

function runner(): { runner: OperationRunner; events: OperationEvent[] } {
    const all = new Emitter<OperationEvent>();
    const events: OperationEvent[] = [];
    all.event((e) => events.push(e));
    return { runner: new OperationRunner(all), events };
}

const spec = { operation: "compute" as const, source: "/s", ref: "app", key: "k" };

describe("OperationRunner", () => {
    it("brackets the body's events with start and end, end carrying elapsedMs", async () => {
        const { runner: r, events } = runner();
        const op = r.start({ ...spec, body: async (ctx) => {
            ctx.emit("diff", "base", "gzip");
            ctx.emit("done", "base", "sha256:aa");
            return 42;
        } });
        assert.equal(await op.done, 42);
        assert.deepEqual(events.map((e) => `${e.phase}:${e.ref}`), ["start:app", "diff:base", "done:base", "end:app"]);
        assert.equal(typeof events[2]!.elapsedMs, "number");
        assert.equal(typeof events[3]!.elapsedMs, "number");
        assert.equal(events[3]!.error, undefined);
        assert.ok(events.every((e) => e.operation === "compute" && e.source === "/s"));
    });

    it("joins a running operation with the same key: one body, one start, the same promise", async () => {
        const { runner: r, events } = runner();
        let runs = 0;
        let release!: () => void;
        const gate = new Promise<void>((res) => (release = res));
        const body = async (): Promise<string> => {
            runs++;
            await gate;
            return "x";
        };
        const a = r.start({ ...spec, body });
        const b = r.start({ ...spec, body });
        assert.equal(a.joined, false);
        assert.equal(b.joined, true);
        assert.equal(b.done, a.done);
        release();
        assert.deepEqual(await Promise.all([a.done, b.done]), ["x", "x"]);
        assert.equal(runs, 1);
        assert.equal(events.filter((e) => e.phase === "start").length, 1);
        const c = r.start({ ...spec, body: async () => "y" });
        assert.equal(c.joined, false, "a finished operation is not joined");
        assert.equal(await c.done, "y");
    });

    it("cancel aborts the signal; end carries error \"canceled\" and done rejects with Canceled", async () => {
        const { runner: r, events } = runner();
        const op = r.start({ ...spec, body: (ctx) => new Promise((_res, rej) => {
            ctx.signal.addEventListener("abort", () => rej(new EngineError("Canceled", "canceled while diffing")));
        }) });
        setTimeout(() => op.cancel(), 5);
        await assert.rejects(op.done, { code: "Canceled" });
        assert.deepEqual(events.map((e) => e.phase), ["start", "end"]);
        assert.equal(events[1]!.error, "canceled");
    });

    it("a body that finishes although canceled still reports canceled (the user asked to stop)", async () => {
        const { runner: r, events } = runner();
        const op = r.start({ ...spec, body: async () => {
            await new Promise((res) => setTimeout(res, 10));
            throw new Error("AbortError-like failure");
        } });
        op.cancel();
        await assert.rejects(op.done, { code: "Canceled" });
        assert.equal(events.at(-1)!.error, "canceled");
    });

    it("a failure ends with its message; beforeEnd runs before end and the key is free by then", async () => {
        const { runner: r, events } = runner();
        const order: string[] = [];
        let rejoin: boolean | undefined;
        const op = r.start({
            ...spec,
            body: async () => {
                throw new EngineError("NotFound", "no snapshot dir");
            },
            beforeEnd: () => {
                order.push("beforeEnd");
                rejoin = r.list().length > 0;
            },
        });
        await assert.rejects(op.done, { code: "NotFound" });
        order.push(`end:${events.at(-1)!.error}`);
        assert.deepEqual(order, ["beforeEnd", "end:no snapshot dir"]);
        assert.equal(rejoin, false);
    });
});
