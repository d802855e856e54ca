/**
 * Test hook for the end-to-end tests: when env LAYERSCOPE_E2E_EVENTS names a file, every
 * operation event and every command error is appended to it as one JSON line.
 */
import { appendFileSync } from "node:fs";
import type { Log } from "./log";
import type { SourceModel } from "./model/sourceModel";

export function recordE2eEvents(model: SourceModel, log: Log, file = process.env["LAYERSCOPE_E2E_EVENTS"]): { dispose(): void } | undefined {
    if (!file) return undefined;
    const write = (o: object): void => appendFileSync(file, `${JSON.stringify({ time: Date.now(), ...o })}\n`);
    log.onCommandError = (command, error) => write({ type: "error", command, error });
    return model.onOperation((e) => write({ type: "operation", ...e }));
}
