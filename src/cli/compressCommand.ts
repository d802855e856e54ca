/** `layerscope compress TAR --compression T [--level N] [--gzip-impl go|fast] [--out FILE] [--json]` */
import { atomicFileSink, compressFile, parseCompressionType } from "../engine";
import { parseArgs, UsageError } from "./args";
import type { CommandContext } from "./context";
import { gzipImplFrom } from "./workspaceCommands";

export const compressUsage = `layerscope compress TAR --compression uncompressed|gzip|zstd|estargz [--level N] [--gzip-impl go|fast] [--out FILE] [--json]

  Compresses a layer tar as BuildKit would (gzip and eStargz through a port of Go's
  compress/gzip, so their digests are BuildKit's; --gzip-impl fast uses zlib instead) and prints
  {"digest","size","diffID","mediaType","annotations"}.`;

export async function compressCommand(argv: readonly string[], ctx: CommandContext): Promise<number> {
    const args = parseArgs(argv, { values: ["compression", "level", "gzip-impl", "out"], booleans: ["json"] });
    if (args.positionals.length !== 1) {
        throw new UsageError(`compress takes one TAR file, got ${args.positionals.length} argument(s)`);
    }
    const t = args.values.get("compression");
    if (!t) throw new UsageError("compress needs --compression T");
    const level = args.values.get("level");
    if (level !== undefined && !/^-?\d+$/.test(level)) throw new UsageError(`--level takes an integer, got ${JSON.stringify(level)}`);
    const config = {
        type: parseCompressionType(t),
        level: level === undefined ? undefined : Number(level),
        gzipImpl: gzipImplFrom(args),
    };
    const outPath = args.values.get("out");
    const file = outPath ? await atomicFileSink(outPath) : undefined;
    try {
        const blob = await compressFile(args.positionals[0]!, config, file, ctx.signal);
        await file?.commit();
        if (args.booleans.has("json")) {
            ctx.print(JSON.stringify(blob));
        } else {
            ctx.print(`${blob.digest}  ${blob.mediaType}  ${blob.size} bytes  diffID ${blob.diffID}${blob.buildkitComparable ? "" : "  (not BuildKit-comparable)"}`);
        }
        return 0;
    } finally {
        await file?.abort();
    }
}
