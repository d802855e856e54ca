/** `layerscope diff LOWER UPPER [--overlay] [--whiteout-time S] [--out FILE] [--json]` */
import { atomicFileSink, type ByteSink, parseWhiteoutTime, writeDiff } from "../engine";
import { parseArgs, UsageError } from "./args";
import type { CommandContext } from "./context";

export const diffUsage = `layerscope diff LOWER UPPER [--overlay] [--whiteout-time UNIX_SECONDS] [--out FILE|-] [--json]

  Writes the OCI layer tar of the changes from LOWER to UPPER exactly as containerd's differ
  does, and prints its diffID and size.
    LOWER, UPPER       root filesystems (LOWER may be an empty directory)
    --overlay          UPPER is an overlayfs upperdir on top of LOWER
    --whiteout-time S  mtime of whiteout entries (default 0, as containerd 2.x / BuildKit >= 0.19)
    --out FILE         also write the tar to FILE (atomically) or to stdout with "-"
    --json             print one JSON object: {"diffID","size"}`;

export async function diffCommand(argv: readonly string[], ctx: CommandContext): Promise<number> {
    const args = parseArgs(argv, { values: ["whiteout-time", "out"], booleans: ["overlay", "json"] });
    if (args.positionals.length !== 2) {
        throw new UsageError(`diff takes LOWER and UPPER, got ${args.positionals.length} argument(s)`);
    }
    const [lower, upper] = args.positionals as [string, string];
    const json = args.booleans.has("json");
    const outPath = args.values.get("out");
    if (outPath === "-" && json) {
        throw new UsageError("--out - writes the tar to stdout, so --json cannot print there too");
    }
    const wt = args.values.get("whiteout-time");
    const whiteoutTime = wt === undefined ? undefined : parseWhiteoutTime(wt);

    let file: Awaited<ReturnType<typeof atomicFileSink>> | undefined;
    let output: ByteSink | NodeJS.WritableStream | undefined;
    if (outPath === "-") {
        output = ctx.stdout;
    } else if (outPath !== undefined) {
        file = await atomicFileSink(outPath);
        output = file;
    }
    try {
        const result = await writeDiff({ lower, upper, overlay: args.booleans.has("overlay"), whiteoutTime, output, signal: ctx.signal });
        await file?.commit();
        if (json) {
            ctx.print(JSON.stringify({ diffID: result.diffID, size: result.size }));
        } else if (outPath !== "-") {
            ctx.print(`${result.diffID}  ${result.size} bytes${outPath ? `  -> ${outPath}` : ""}`);
        }
        return 0;
    } finally {
        await file?.abort();
    }
}
