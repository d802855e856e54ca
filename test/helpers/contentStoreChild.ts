/**
 * A child process for the content-store crash and cross-process tests (not a test file itself).
 * Run as `node out/test/helpers/contentStoreChild.js <mode> <stateDir> ...`; it reports on
 * stdout one line per event so the parent can time a SIGKILL:
 *
 *   write <state> <ref> <mib>   streams crashBlobChunk(0..mib-1) into a writer under lease
 *                               "crash", prints "started", "progress <i>", "committing",
 *                               "committed <digest> <existed>"
 *   pause <state> <ref>         opens a writer, writes one chunk, prints "paused", waits forever
 *   hold-lock <state>           takes the store lock, prints "locked", waits forever
 *   labels <state> <digest> <prefix> <n>   n label updates `<prefix>.<i>=<i>`, prints "done"
 */
import { ContentStore } from "../../src/engine/content";
import type { Digest } from "../../src/engine/digest/hashSink";
import { isEngineError } from "../../src/engine/errors";

export const CRASH_CHUNK = 1024 * 1024;
export const CRASH_LEASE = "crash";

/** Chunk `i` of the crash blob: deterministic, and different for every index. */
export function crashBlobChunk(i: number): Buffer {
    const b = Buffer.alloc(CRASH_CHUNK, i % 251);
    b.writeUInt32BE(i, 0);
    b.writeUInt32BE((i * 2654435761) >>> 0, CRASH_CHUNK - 4);
    return b;
}

function say(line: string): void {
    process.stdout.write(`${line}\n`);
}

function forever(): Promise<never> {
    return new Promise(() => setInterval(() => undefined, 1 << 30));
}

async function ensureLease(store: ContentStore): Promise<void> {
    try {
        await store.createLease(CRASH_LEASE);
    } catch (err) {
        if (!isEngineError(err, "AlreadyExists")) throw err;
    }
}

async function write(store: ContentStore, ref: string, mib: number): Promise<void> {
    await ensureLease(store);
    const w = await store.writer(ref, {
        lease: CRASH_LEASE,
        expected: { size: mib * CRASH_CHUNK },
    });
    say("started");
    for (let i = 0; i < mib; i++) {
        await w.write(crashBlobChunk(i));
        say(`progress ${i}`);
    }
    say("committing");
    const r = await w.commit({
        labels: { "test/origin": "crash-child", "containerd.io/gc.ref.content.self": "" },
    });
    say(`committed ${r.digest} ${r.existed}`);
}

async function main(argv: string[]): Promise<void> {
    const [mode, state, ...rest] = argv;
    const store = await ContentStore.open(state!);
    switch (mode) {
        case "write":
            return write(store, rest[0]!, Number(rest[1]));
        case "pause": {
            const w = await store.writer(rest[0]!);
            await w.write(crashBlobChunk(0));
            say("paused");
            return forever();
        }
        case "hold-lock":
            return store.lock.withLock(async () => {
                say("locked");
                await forever();
            });
        case "labels": {
            const n = Number(rest[2]);
            for (let i = 0; i < n; i++) {
                await store.updateLabels(rest[0] as Digest, { [`${rest[1]}.${i}`]: String(i) });
            }
            say("done");
            return;
        }
        default:
            throw new Error(`unknown mode ${mode}`);
    }
}

if (require.main === module) {
    main(process.argv.slice(2)).catch((err: unknown) => {
        process.stderr.write(
            `${isEngineError(err) ? `${err.code}: ` : ""}${String((err as Error)?.message ?? err)}\n`,
        );
        process.exit(1);
    });
}
