/**
 * A running operation shown as a progress notification whose Cancel aborts the engine's
 * AbortSignal. A caller that joined an operation already running waits for it without a second
 * notification (and without a second error message).
 */
import { AlreadyReported } from "../log";
import type { OperationEvent } from "../model/hostApi";
import { isCanceled, type RunningOperation } from "../model/operation";
import { shortDigest } from "../tree/format";
import { withProgressNotification } from "../notify";

/** `steps`: how many "done"/"reused" events make 100 %; `cancellable: false` for work the engine cannot abort (gc). */
export async function withProgress<T>(op: RunningOperation<T>, title: string, steps?: number, cancellable = true): Promise<T> {
    if (op.joined) {
        try {
            return await op.done;
        } catch (err) {
            throw isCanceled(err) ? err : new AlreadyReported(err);
        }
    }
    return withProgressNotification(`Layerscope: ${title}`, cancellable, async (report, token) => {
        const subs = [
            token.onCancellationRequested(() => op.cancel()),
            op.onEvent((e) => {
                const counted = steps && (e.phase === "done" || e.phase === "reused");
                report({ message: phaseMessage(e), ...(counted ? { increment: 100 / steps } : {}) });
            }),
        ];
        try {
            return await op.done;
        } finally {
            subs.forEach((d) => d.dispose());
        }
    });
}

export function phaseMessage(e: OperationEvent): string {
    switch (e.phase) {
        case "start":
            return "starting";
        case "diff":
            return `${e.ref}: diffing${e.detail ? ` → ${e.detail}` : ""}`;
        case "convert":
            return `${e.ref}: converting${e.detail ? ` to ${e.detail}` : ""}`;
        case "reused":
            return `${e.ref}: blob exists`;
        case "done":
            return `${e.ref}: ${e.detail ? shortDigest(e.detail) : "done"}`;
        case "end":
            return e.error ?? "done";
    }
}
