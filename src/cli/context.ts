/** What a command gets from the process: output, and a signal that fires on Ctrl-C. */
export interface CommandContext {
    readonly stdout: NodeJS.WritableStream;
    /** Prints one line on stdout. */
    print(line: string): void;
    readonly signal: AbortSignal;
}
