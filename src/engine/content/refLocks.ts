/**
 * Mirrors containerd `content/local/locks.go` (`tryLock`, `unlock`): at most one active writer
 * per ref in this process, failing at once with "locked since" rather than waiting. containerd
 * keeps one global map; here there is one table per state directory (by real path), shared by
 * every ContentStore opened on it in this thread, together with the thread's StoreLock queue.
 * Other processes' writers are seen through the ingest directory's owner record (ingests.ts).
 */
import type { Digest } from "../digest/hashSink";
import { EngineError } from "../errors";
import { LOCKED_CODE, ProcessMutex } from "./storeLock";

export interface ActiveIngest {
    readonly since: Date;
    /** The digest the writer was told to expect, kept alive by gc while it writes. */
    readonly expected?: Digest;
}

export class RefLocks {
    readonly mutex = new ProcessMutex();
    private readonly active = new Map<string, ActiveIngest>();

    tryLock(ref: string, expected: Digest | undefined): void {
        const held = this.active.get(ref);
        if (held) {
            throw new EngineError(
                LOCKED_CODE,
                `ref ${JSON.stringify(ref)} locked since ${held.since.toISOString()}: another writer is using it`,
                {
                    ref,
                },
            );
        }
        this.active.set(ref, expected ? { since: new Date(), expected } : { since: new Date() });
    }

    unlock(ref: string): void {
        this.active.delete(ref);
    }

    isLocked(ref: string): boolean {
        return this.active.has(ref);
    }

    expectedDigests(): Digest[] {
        return [...this.active.values()].flatMap((a) => (a.expected ? [a.expected] : []));
    }
}

const tables = new Map<string, RefLocks>();

export function refLocksFor(realRoot: string): RefLocks {
    let t = tables.get(realRoot);
    if (!t) {
        t = new RefLocks();
        tables.set(realRoot, t);
    }
    return t;
}
