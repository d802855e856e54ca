/**
 * The store lock: what bbolt's flock on meta.db gives containerd (one writer of metadata at a
 * time), done with plain files so it works without native code on any filesystem Node can
 * create files on.
 *
 * Protocol (STATE/lock):
 * 1. In this process, callers queue on a promise chain first, so at most one async operation
 *    per thread ever competes for the file.
 * 2. Acquire: create STATE/lock with O_CREAT|O_EXCL ("wx") and write a ProcessOwner record
 *    (pid, process start time, boot id, thread, nonce). EEXIST means someone holds it.
 * 3. Held by a live process: wait with backoff (2..50 ms) until `timeoutMs`, then fail with
 *    LOCKED_CODE. An empty or unreadable record younger than EMPTY_GRACE_MS is a holder still
 *    writing its record, so it counts as live.
 * 4. Held by a dead process (or a leftover of this very thread): break it. Breakers serialise
 *    on STATE/lock.break (same O_EXCL create); holding it, a breaker re-reads STATE/lock and
 *    unlinks it only if it is still the same stale record (same inode and nonce). Then retry 2.
 * 5. Release: unlink STATE/lock if it still holds our nonce.
 *
 * NOTE: only holders create or remove files under tmp/, meta/ and ingest/<h>/ and rename into
 * blobs/, so a holder may treat what it finds in tmp/ as garbage of a dead holder.
 * NOTE: not re-entrant: code running under withLock must not call withLock again.
 * NOTE: the one unguarded step is breaking a stale lock.break itself (a breaker SIGKILLed in
 * the microseconds it holds it); two processes doing that at once could both pass step 4.
 */
import { promises as fsp } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { EngineError, type ErrorCode, fromSystemError } from "../errors";
import {
    currentOwner,
    isCurrentThread,
    isProcessAlive,
    parseOwner,
    type ProcessOwner,
} from "./processOwner";

/**
 * The code for "held by someone else, try again later" (containerd's ErrUnavailable). The
 * engine's ErrorCode has no "Unavailable" yet; this is the one place to change when it does.
 */
export const LOCKED_CODE: ErrorCode = "Unavailable";

/** A record is written microseconds after the file is created; 5 s is far past that. */
const EMPTY_GRACE_MS = 5000;

type LockState =
    | { readonly kind: "gone" }
    | { readonly kind: "live"; readonly owner?: ProcessOwner }
    | { readonly kind: "stale"; readonly ino: number; readonly nonce?: string };

/** Serialises async callers inside one thread. */
export class ProcessMutex {
    private tail: Promise<unknown> = Promise.resolve();

    run<T>(fn: () => Promise<T>): Promise<T> {
        const result = this.tail.then(fn, fn);
        this.tail = result.catch(() => undefined);
        return result;
    }
}

async function tryCreate(file: string, owner: ProcessOwner): Promise<boolean> {
    let fh: fsp.FileHandle;
    try {
        fh = await fsp.open(file, "wx", 0o644);
    } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "EEXIST") {
            return false;
        }
        throw fromSystemError(err, file, "creating the store lock");
    }
    try {
        await fh.writeFile(JSON.stringify(owner));
        await fh.close();
    } catch (err) {
        await fh.close().catch(() => undefined);
        await fsp.rm(file, { force: true });
        throw fromSystemError(err, file, "writing the store lock");
    }
    return true;
}

async function inspect(file: string): Promise<LockState> {
    let fh: fsp.FileHandle;
    try {
        fh = await fsp.open(file, "r");
    } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") {
            return { kind: "gone" };
        }
        throw fromSystemError(err, file, "reading the store lock");
    }
    try {
        const st = await fh.stat();
        let owner: ProcessOwner | undefined;
        try {
            owner = parseOwner(JSON.parse(await fh.readFile("utf8")));
        } catch {
            owner = undefined;
        }
        if (!owner) {
            const young = Date.now() - st.mtimeMs < EMPTY_GRACE_MS;
            return young ? { kind: "live" } : { kind: "stale", ino: st.ino };
        }
        // NOTE: inspect runs inside this thread's mutex, so our own record here is a leftover.
        if (isCurrentThread(owner) || !isProcessAlive(owner)) {
            return { kind: "stale", ino: st.ino, nonce: owner.nonce };
        }
        return { kind: "live", owner };
    } finally {
        await fh.close();
    }
}

async function unlinkIfNonce(file: string, nonce: string): Promise<void> {
    const st = await inspect(file);
    if (st.kind === "stale" && st.nonce === nonce) {
        await fsp.rm(file, { force: true });
    }
}

export class StoreLock {
    private readonly breakFile: string;

    constructor(
        readonly file: string,
        private readonly mutex: ProcessMutex,
        private readonly timeoutMs: number,
    ) {
        this.breakFile = `${file}.break`;
    }

    /** Runs `fn` holding the store lock (in this thread and across processes). */
    withLock<T>(fn: () => Promise<T>): Promise<T> {
        return this.mutex.run(async () => {
            const me = await this.acquire();
            try {
                return await fn();
            } finally {
                await this.release(me);
            }
        });
    }

    private async acquire(): Promise<ProcessOwner> {
        const deadline = Date.now() + this.timeoutMs;
        let delay = 2;
        for (;;) {
            const me = currentOwner();
            if (await tryCreate(this.file, me)) {
                return me;
            }
            const st = await inspect(this.file);
            if (st.kind === "stale") {
                await this.breakStale(st);
                continue;
            }
            if (st.kind === "live") {
                if (Date.now() >= deadline) {
                    const by = st.owner ? `process ${st.owner.pid}` : "another process";
                    throw new EngineError(
                        LOCKED_CODE,
                        `${this.file}: the content store is locked by ${by}; try again when it finishes`,
                        {
                            path: this.file,
                            holder: st.owner?.pid,
                        },
                    );
                }
                await sleep(delay + Math.random() * delay);
                delay = Math.min(delay * 2, 50);
            }
        }
    }

    private async breakStale(seen: { ino: number; nonce?: string }): Promise<void> {
        const me = currentOwner();
        if (!(await tryCreate(this.breakFile, me))) {
            const b = await inspect(this.breakFile);
            if (b.kind === "stale") {
                await fsp.rm(this.breakFile, { force: true }); // see the NOTE in the header
            } else {
                await sleep(2);
            }
            return;
        }
        try {
            const now = await inspect(this.file);
            if (now.kind === "stale" && now.ino === seen.ino && now.nonce === seen.nonce) {
                await fsp.rm(this.file, { force: true });
            }
        } finally {
            await unlinkIfNonce(this.breakFile, me.nonce);
        }
    }

    private async release(me: ProcessOwner): Promise<void> {
        // Our own record reads as "stale" to ourselves (isCurrentThread), so match on the nonce.
        await unlinkIfNonce(this.file, me.nonce).catch(() => undefined);
    }
}
