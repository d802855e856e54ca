/**
 * Concurrent compute/convert requests on one workspace engine, as the extension issues them when
 * a user clicks around the tree and the graph: overlapping refs, the same ref asked for several
 * times, conversions to two compressions of the same layers. Counts the work actually done from
 * the engine's progress events ("diff" = a blob made from snapshots, "convert" = a variant made).
 * Also a child process (not a test file): `node loadRequests.js <workspace> <state> <n> <seed>`
 * prints one JSON line {diff, convert, failures}.
 */
import { openWorkspaceEngine, type ProgressEvent } from "../../src/engine/index";
import { Rng } from "./rng";

export interface LoadCounts {
    /** "<ref>" → how many times its blob was made from the snapshots. */
    readonly diff: Record<string, number>;
    /** "<ref> <type>" → how many times a variant was converted. */
    readonly convert: Record<string, number>;
    readonly failures: string[];
}

export type LoadRequest = { readonly kind: "compute"; readonly ref: string } | { readonly kind: "convert"; readonly ref: string; readonly type: "zstd" | "estargz" };

/** `n` requests over `refs`, drawn with `seed`: half computes (gzip), half conversions. */
export function loadRequests(refs: readonly string[], n: number, seed: number): LoadRequest[] {
    const rng = new Rng(seed);
    return Array.from({ length: n }, (): LoadRequest => {
        const ref = refs[rng.int(0, refs.length - 1)]!;
        return rng.chance(0.5) ? { kind: "compute", ref } : { kind: "convert", ref, type: rng.chance(0.5) ? "zstd" : "estargz" };
    });
}

/** Runs every request at once on one engine; returns what was done. */
export async function runLoad(workspace: string, state: string, requests: readonly LoadRequest[]): Promise<LoadCounts> {
    const engine = await openWorkspaceEngine(workspace, { stateDir: state, concurrency: 2 });
    const diff: Record<string, number> = {};
    const convert: Record<string, number> = {};
    const onProgress = (e: ProgressEvent): void => {
        if (e.phase === "diff") diff[e.ref] = (diff[e.ref] ?? 0) + 1;
        if (e.phase === "convert") convert[`${e.ref} ${e.detail}`] = (convert[`${e.ref} ${e.detail}`] ?? 0) + 1;
    };
    // A conversion is asked for right after the compute it needs (as a user converting a ref
    // that is still computing), so every main blob is gzip whichever request comes first.
    const results = await Promise.allSettled(
        requests.map(async (r) => {
            await engine.computeBlobChain(r.ref, { createIfNeeded: true, compression: { type: "gzip" }, onProgress });
            if (r.kind === "convert") {
                await engine.computeBlobChain(r.ref, { createIfNeeded: true, compression: { type: r.type, force: true }, onProgress });
            }
        }),
    );
    const failures = results.flatMap((r, i) => (r.status === "rejected" ? [`${JSON.stringify(requests[i])}: ${(r.reason as Error).message}`] : []));
    return { diff, convert, failures };
}

if (require.main === module) {
    const [workspace, state, n, seed, refs] = process.argv.slice(2);
    void runLoad(workspace!, state!, loadRequests(refs!.split(","), Number(n), Number(seed))).then(
        (c) => process.stdout.write(`${JSON.stringify(c)}\n`),
        (err: unknown) => {
            process.stderr.write(`${(err as Error).stack}\n`);
            process.exit(1);
        },
    );
}
