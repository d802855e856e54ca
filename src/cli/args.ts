/** A small argv parser: `--flag`, `--opt VALUE`, `--opt=VALUE`, positionals anywhere, `--` ends flags. */
export class UsageError extends Error {
    override readonly name = "UsageError";
}

export interface FlagSpec {
    /** Flags that take a value. */
    readonly values: readonly string[];
    /** Flags that take none. */
    readonly booleans: readonly string[];
}

export interface ParsedArgs {
    readonly positionals: string[];
    readonly values: Map<string, string>;
    readonly booleans: Set<string>;
}

export function parseArgs(argv: readonly string[], spec: FlagSpec): ParsedArgs {
    const positionals: string[] = [];
    const values = new Map<string, string>();
    const booleans = new Set<string>();
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i]!;
        if (arg === "--") {
            positionals.push(...argv.slice(i + 1));
            break;
        }
        if (!arg.startsWith("--") || arg === "-") {
            positionals.push(arg);
            continue;
        }
        const eq = arg.indexOf("=");
        const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
        if (spec.values.includes(name)) {
            const value = eq < 0 ? argv[++i] : arg.slice(eq + 1);
            if (value === undefined) {
                throw new UsageError(`--${name} needs a value`);
            }
            values.set(name, value);
        } else if (spec.booleans.includes(name) && eq < 0) {
            booleans.add(name);
        } else {
            throw new UsageError(`unknown option ${arg}`);
        }
    }
    return { positionals, values, booleans };
}
