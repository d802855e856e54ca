/**
 * The "Layerscope" output channel and the one error boundary every command runs in: the user
 * gets one specific message, the channel gets the details (stack, error code and data).
 */
import * as vscode from "vscode";
import { isEngineError } from "../engine";
import { isCanceled } from "./model/operation";
import { showError } from "./notify";

export class Log implements vscode.Disposable {
    readonly channel = vscode.window.createOutputChannel("Layerscope");
    /** Called for every command failure (the e2e event file listens here). */
    onCommandError: ((command: string, message: string) => void) | undefined;

    line(text: string): void {
        this.channel.appendLine(`[${new Date().toISOString()}] ${text}`);
    }

    /** Indented result lines under a heading, without timestamps. */
    block(heading: string, lines: readonly string[]): void {
        this.line(heading);
        for (const l of lines) this.channel.appendLine(`    ${l}`);
    }

    failure(title: string, err: unknown): string {
        const message = err instanceof Error ? err.message : String(err);
        const code = isEngineError(err) ? ` [${err.code}]${Object.keys(err.data).length ? ` ${safeJson(err.data)}` : ""}` : "";
        this.line(`${title} failed${code}: ${err instanceof Error ? (err.stack ?? message) : message}`);
        const cause = err instanceof Error ? err.cause : undefined;
        if (cause instanceof Error) this.channel.appendLine(`    caused by: ${cause.stack ?? cause.message}`);
        return message;
    }

    dispose(): void {
        this.channel.dispose();
    }
}

/** Marks an error the user has already been told about (a joined operation's failure). */
export class AlreadyReported extends Error {
    constructor(readonly original: unknown) {
        super(original instanceof Error ? original.message : String(original));
    }
}

/**
 * Runs a command body: canceled → nothing; other errors → one message + log. `rethrow` hands
 * the error back to a caller that invoked the command from code (the graph) after reporting it.
 */
export async function guarded<T>(log: Log, command: string, title: string, body: () => Promise<T>, rethrow = false): Promise<T | undefined> {
    try {
        return await body();
    } catch (err) {
        if (isCanceled(err)) return undefined;
        if (!(err instanceof AlreadyReported)) {
            const message = log.failure(title, err);
            log.onCommandError?.(command, message);
            void showError(`Layerscope: ${title}: ${message}`, "Show Log").then((pick) => pick && log.channel.show(true));
        }
        if (rethrow) throw err instanceof AlreadyReported ? err.original : err;
        return undefined;
    }
}

function safeJson(v: unknown): string {
    try {
        return JSON.stringify(v);
    } catch {
        return String(v);
    }
}
