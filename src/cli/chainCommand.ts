/** `layerscope chain SNAPSHOT... [--whiteout-time S] [--json]`: a chain of native snapshots. */
import * as path from "node:path";
import { chainIDs, type Digest, parseWhiteoutTime, writeDiff } from "../engine";
import { parseArgs, UsageError } from "./args";
import type { CommandContext } from "./context";
import { withEmptyDir } from "./emptyDir";

export const chainUsage = `layerscope chain SNAPSHOT... [--whiteout-time UNIX_SECONDS] [--json]

  Treats each SNAPSHOT as a full root filesystem on top of the one before it (as containerd's
  native snapshotter keeps them): diffs each against its parent (the first against nothing) and
  prints every layer's diffID, size and chainID.`;

export async function chainCommand(argv: readonly string[], ctx: CommandContext): Promise<number> {
    const args = parseArgs(argv, { values: ["whiteout-time"], booleans: ["json"] });
    if (args.positionals.length === 0) {
        throw new UsageError("chain needs at least one SNAPSHOT directory");
    }
    const wt = args.values.get("whiteout-time");
    const whiteoutTime = wt === undefined ? undefined : parseWhiteoutTime(wt);
    const layers: { snapshot: string; diffID: Digest; size: number }[] = [];
    await withEmptyDir(async (empty) => {
        let lower = empty;
        for (const snapshot of args.positionals) {
            const r = await writeDiff({ lower, upper: snapshot, whiteoutTime, signal: ctx.signal });
            layers.push({ snapshot: path.resolve(snapshot), diffID: r.diffID, size: r.size });
            lower = snapshot;
        }
    });
    const chain = chainIDs(layers.map((l) => l.diffID));
    const rows = layers.map((l, i) => ({ ...l, chainID: chain[i]! }));
    if (args.booleans.has("json")) {
        ctx.print(JSON.stringify({ layers: rows, chainID: chain[chain.length - 1] }));
    } else {
        rows.forEach((r, i) => {
            ctx.print(`layer ${i}  ${path.relative(process.cwd(), r.snapshot) || "."}`);
            ctx.print(`  diffID   ${r.diffID}  (${r.size} bytes uncompressed)`);
            ctx.print(`  chainID  ${r.chainID}`);
        });
    }
    return 0;
}
