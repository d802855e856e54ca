/**
 * The `layerscope` command: argv → engine. Every failure is one line on stderr that says what
 * went wrong and where; the exit code is 2 for usage errors, 1 otherwise.
 */
import { isEngineError } from "../engine";
import { UsageError } from "./args";
import { chainCommand, chainUsage } from "./chainCommand";
import type { CommandContext } from "./context";
import { compressCommand, compressUsage } from "./compressCommand";
import { catCommand, catUsage, lsCommand, lsUsage, sizeCommand, sizeUsage } from "./contentsCommands";
import { diffCommand, diffUsage } from "./diffCommand";
import { exportCommand, exportUsage, importCommand, importUsage, verifyImageCommand, verifyImageUsage } from "./imageCommands";
import {
    computeCommand,
    computeUsage,
    convertCommand,
    convertUsage,
    gcCommand,
    gcUsage,
    refsCommand,
    refsUsage,
    verifyCommand,
    verifyUsage,
} from "./workspaceCommands";

type Command = (argv: readonly string[], ctx: CommandContext) => Promise<number>;

const commands: Record<string, { run: Command; usage: string }> = {
    diff: { run: diffCommand, usage: diffUsage },
    chain: { run: chainCommand, usage: chainUsage },
    compress: { run: compressCommand, usage: compressUsage },
    compute: { run: computeCommand, usage: computeUsage },
    convert: { run: convertCommand, usage: convertUsage },
    refs: { run: refsCommand, usage: refsUsage },
    verify: { run: verifyCommand, usage: verifyUsage },
    gc: { run: gcCommand, usage: gcUsage },
    import: { run: importCommand, usage: importUsage },
    "verify-image": { run: verifyImageCommand, usage: verifyImageUsage },
    export: { run: exportCommand, usage: exportUsage },
    ls: { run: lsCommand, usage: lsUsage },
    cat: { run: catCommand, usage: catUsage },
    size: { run: sizeCommand, usage: sizeUsage },
};

function usage(): string {
    return ["usage:", ...Object.values(commands).map((c) => c.usage), ""].join("\n\n");
}

export async function main(argv: readonly string[]): Promise<number> {
    const [name, ...rest] = argv;
    if (!name || name === "--help" || name === "-h" || name === "help") {
        process.stdout.write(usage());
        return name ? 0 : 2;
    }
    const command = commands[name];
    if (!command) {
        process.stderr.write(`layerscope: unknown command ${JSON.stringify(name)} (commands: ${Object.keys(commands).join(", ")})\n`);
        return 2;
    }
    if (rest.includes("--help") || rest.includes("-h")) {
        process.stdout.write(`usage: ${command.usage}\n`);
        return 0;
    }
    const abort = new AbortController();
    const onSignal = (): void => abort.abort();
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
    const ctx: CommandContext = {
        stdout: process.stdout,
        print: (line) => process.stdout.write(`${line}\n`),
        signal: abort.signal,
    };
    try {
        return await command.run(rest, ctx);
    } catch (err) {
        if (err instanceof UsageError) {
            process.stderr.write(`layerscope ${name}: ${err.message} (usage: ${command.usage.split("\n")[0]})\n`);
            return 2;
        }
        const message = isEngineError(err) ? err.message : err instanceof Error ? err.message : String(err);
        process.stderr.write(`layerscope ${name}: ${message.replace(/\s*\n\s*/g, " ")}\n`);
        return 1;
    } finally {
        process.off("SIGINT", onSignal);
        process.off("SIGTERM", onSignal);
    }
}

if (require.main === module) {
    let settled = false;
    // A command whose promise never settles (a bug: some write's callback lost) would otherwise
    // end with exit code 0 and no output once the event loop runs dry: a silent "success".
    process.on("exit", () => {
        if (!settled) {
            process.stderr.write("layerscope: internal error: the command stopped before it finished (nothing left to wait for); please report it\n");
            process.exitCode = 70;
        }
    });
    main(process.argv.slice(2)).then(
        (code) => {
            settled = true;
            process.exitCode = code;
        },
        (err: unknown) => {
            settled = true;
            process.stderr.write(`layerscope: internal error: ${err instanceof Error ? err.stack : String(err)}\n`);
            process.exitCode = 1;
        },
    );
}
