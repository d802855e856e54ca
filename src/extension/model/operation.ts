/**
 * Long operations (compute, convert, verify, gc): one AbortController each, events bracketed by
 * "start" and "end", and deduplication: asking for an operation whose key is already running
 * joins it (same promise, `joined: true`, so the caller shows no second notification).
 *
 * NOTE: ordering on completion is fixed: the key is released, then `beforeEnd` runs (the model
 * invalidates its caches and fires onDidChangeRefs), then "end" is fired. A listener reacting to
 * "end" therefore reads fresh reports and may start the same operation again.
 */
import { EngineError, isEngineError } from "../../engine";
import { Emitter, type Event } from "./emitter";
import type { OperationEvent, OperationKind } from "./hostApi";

export interface RunningOperation<T> {
    readonly operation: OperationKind;
    readonly source: string;
    /** The target ref; "" for an operation on the whole source. */
    readonly ref: string;
    /** True when this call joined an operation that was already running. */
    readonly joined: boolean;
    /** Settles when the work is done; rejects with the error, or EngineError "Canceled". */
    readonly done: Promise<T>;
    /** This operation's events only (the model's onOperation carries every operation's). */
    readonly onEvent: Event<OperationEvent>;
    cancel(): void;
}

export interface OperationContext {
    readonly signal: AbortSignal;
    /** Fires a phase event for one ref of the operation. */
    emit(phase: OperationEvent["phase"], ref: string, detail?: string): void;
    /** Milliseconds since "start". */
    elapsed(): number;
}

export interface OperationSpec<T> {
    readonly operation: OperationKind;
    readonly source: string;
    readonly ref: string;
    /** Equal keys are the same work. */
    readonly key: string;
    readonly body: (ctx: OperationContext) => Promise<T>;
    /** Runs after the work settled, before "end" (cache invalidation). */
    readonly beforeEnd?: () => void;
}

export class OperationRunner {
    private readonly running = new Map<string, RunningOperation<unknown>>();

    constructor(private readonly all: Emitter<OperationEvent>) {}

    /** The running operations (for "is the source busy" checks). */
    list(): RunningOperation<unknown>[] {
        return [...this.running.values()];
    }

    start<T>(spec: OperationSpec<T>): RunningOperation<T> {
        const existing = this.running.get(spec.key) as RunningOperation<T> | undefined;
        if (existing) return { ...existing, joined: true };
        const abort = new AbortController();
        const events = new Emitter<OperationEvent>();
        const t0 = Date.now();
        const elapsed = (): number => Date.now() - t0;
        const fire = (e: OperationEvent): void => {
            events.fire(e);
            this.all.fire(e);
        };
        const base = { operation: spec.operation, source: spec.source };
        const ctx: OperationContext = {
            signal: abort.signal,
            elapsed,
            emit: (phase, ref, detail) => {
                fire({ ...base, ref, phase, ...(detail !== undefined ? { detail } : {}), ...(phase === "done" ? { elapsedMs: elapsed() } : {}) });
            },
        };
        const finish = (error?: string): void => {
            this.running.delete(spec.key);
            try {
                spec.beforeEnd?.();
            } finally {
                fire({ ...base, ref: spec.ref, phase: "end", elapsedMs: elapsed(), ...(error !== undefined ? { error } : {}) });
                events.dispose();
            }
        };
        const done = (async () => {
            // Let the caller subscribe to onEvent before the first engine event.
            await Promise.resolve();
            try {
                if (abort.signal.aborted) throw canceled();
                const result = await spec.body(ctx);
                finish();
                return result;
            } catch (err) {
                const e = abort.signal.aborted || isCanceled(err) ? canceled(err) : err;
                finish(isEngineError(e, "Canceled") ? "canceled" : errorMessage(e));
                throw e;
            }
        })();
        // The creator awaits `done`; this keeps a joined caller that stops listening from
        // turning a failure into an unhandled rejection.
        done.catch(() => undefined);
        const op: RunningOperation<T> = {
            operation: spec.operation,
            source: spec.source,
            ref: spec.ref,
            joined: false,
            done,
            onEvent: events.event,
            cancel: () => abort.abort(),
        };
        this.running.set(spec.key, op);
        fire({ ...base, ref: spec.ref, phase: "start" });
        return op;
    }
}

export function isCanceled(err: unknown): boolean {
    return isEngineError(err, "Canceled") || (err instanceof Error && err.name === "AbortError");
}

function canceled(cause?: unknown): EngineError {
    return isEngineError(cause, "Canceled") ? cause : new EngineError("Canceled", "canceled", {}, { cause });
}

export function errorMessage(err: unknown): string {
    return err instanceof Error ? err.message : String(err);
}
