/**
 * Mirrors containerd `content/local/store.go` `writer` (the ingest directory with `data`, `ref`
 * and `startedat`), `ListStatuses`/`status` and `Abort`, plus the ingest half of
 * `metadata/gc.go` (stale ingests are removed). Differences, on purpose:
 * - an `owner` record names the writing process, so a writer's ingest survives only as long as
 *   its process: a dead owner's ingest is stale (no 24 h expiry is needed to find it);
 * - a stale ingest is discarded, never resumed: every write streams from byte 0;
 * - the directory is built in tmp/ and renamed into place, so it is never half set up.
 * Every function that creates or removes an ingest directory runs under the store lock.
 */
import { promises as fsp } from "node:fs";
import * as path from "node:path";
import type { Digest } from "../digest/hashSink";
import { EngineError, fromSystemError } from "../errors";
import { readJson, removeTree } from "./durableFs";
import { type StoreLayout, isDigest } from "./layout";
import {
    type ProcessOwner,
    currentOwner,
    isCurrentThread,
    isProcessAlive,
    parseOwner,
} from "./processOwner";
import type { RefLocks } from "./refLocks";
import { LOCKED_CODE } from "./storeLock";

export interface ExpectedContent {
    readonly digest?: Digest;
    readonly size?: number;
}

export interface IngestStatus {
    readonly ref: string;
    /** Bytes in the ingest file so far. */
    readonly offset: number;
    readonly startedAt: Date;
    readonly updatedAt: Date;
    /** A writer (in this or another live process) still owns it. */
    readonly active: boolean;
    readonly expected?: ExpectedContent;
}

interface IngestDir {
    readonly dir: string;
    readonly ref?: string;
    readonly startedAt?: Date;
    readonly owner?: ProcessOwner;
    readonly expected?: ExpectedContent;
}

async function readText(file: string): Promise<string | undefined> {
    try {
        return await fsp.readFile(file, "utf8");
    } catch {
        return undefined;
    }
}

async function readIngestDir(dir: string): Promise<IngestDir | undefined> {
    const ref = await readText(path.join(dir, "ref"));
    if (ref === undefined && !(await exists(dir))) {
        return undefined;
    }
    const started = await readText(path.join(dir, "startedat"));
    const owner = parseOwner(await readJson(path.join(dir, "owner")).catch(() => undefined));
    const exp = (await readJson(path.join(dir, "expected")).catch(() => undefined)) as
        | ExpectedContent
        | undefined;
    return {
        dir,
        ...(ref !== undefined ? { ref } : {}),
        ...(started ? { startedAt: new Date(started.trim()) } : {}),
        ...(owner ? { owner } : {}),
        ...(exp && typeof exp === "object" ? { expected: exp } : {}),
    };
}

async function exists(p: string): Promise<boolean> {
    return fsp.lstat(p).then(
        () => true,
        () => false,
    );
}

function isActive(ing: IngestDir, locks: RefLocks): boolean {
    if (!ing.owner || ing.ref === undefined) {
        return false;
    }
    if (isCurrentThread(ing.owner)) {
        return locks.isLocked(ing.ref);
    }
    return isProcessAlive(ing.owner);
}

async function allIngests(layout: StoreLayout): Promise<IngestDir[]> {
    let names: string[];
    try {
        names = await fsp.readdir(layout.ingestDir);
    } catch (err) {
        throw fromSystemError(err, layout.ingestDir, "listing ingests");
    }
    const out: IngestDir[] = [];
    for (const name of names.sort()) {
        const ing = await readIngestDir(path.join(layout.ingestDir, name));
        if (ing) out.push(ing);
    }
    return out;
}

/**
 * Sets up a fresh ingest directory for `ref` (which the caller has locked in RefLocks) and
 * returns the path of its data file. A stale ingest of the same ref is discarded; one owned by
 * a live process fails with LOCKED_CODE. Store lock held.
 */
export async function createIngest(
    layout: StoreLayout,
    ref: string,
    expected: ExpectedContent,
): Promise<string> {
    const dir = layout.ingestPath(ref);
    const old = await readIngestDir(dir);
    if (old) {
        if (
            old.owner &&
            old.ref === ref &&
            !isCurrentThread(old.owner) &&
            isProcessAlive(old.owner)
        ) {
            throw new EngineError(
                LOCKED_CODE,
                `ref ${JSON.stringify(ref)} is being written by process ${old.owner.pid}`,
                { ref, holder: old.owner.pid },
            );
        }
        await removeTree(dir, layout.tmpPath("trash"));
    }
    const tmp = layout.tmpPath("ingest");
    try {
        await fsp.mkdir(tmp, { mode: 0o755 });
        await fsp.writeFile(path.join(tmp, "ref"), ref);
        await fsp.writeFile(path.join(tmp, "startedat"), new Date().toISOString());
        await fsp.writeFile(path.join(tmp, "owner"), JSON.stringify(currentOwner()));
        if (expected.digest !== undefined || expected.size !== undefined) {
            await fsp.writeFile(path.join(tmp, "expected"), JSON.stringify(expected));
        }
        await fsp.writeFile(path.join(tmp, "data"), "", { mode: 0o644 });
        await fsp.rename(tmp, dir);
    } catch (err) {
        await fsp.rm(tmp, { recursive: true, force: true });
        throw fromSystemError(err, dir, "creating the ingest directory");
    }
    return path.join(dir, "data");
}

/** Removes `ref`'s ingest directory (after commit or abort). Store lock held. */
export async function removeIngest(layout: StoreLayout, ref: string): Promise<boolean> {
    return removeTree(layout.ingestPath(ref), layout.tmpPath("trash"));
}

export async function listIngests(layout: StoreLayout, locks: RefLocks): Promise<IngestStatus[]> {
    const out: IngestStatus[] = [];
    for (const ing of await allIngests(layout)) {
        const st = await fsp.stat(path.join(ing.dir, "data")).catch(() => undefined);
        const updatedAt = st?.mtime ?? ing.startedAt ?? new Date(0);
        out.push({
            ref: ing.ref ?? "",
            offset: st?.size ?? 0,
            startedAt: ing.startedAt ?? updatedAt,
            updatedAt,
            active: isActive(ing, locks),
            ...(ing.expected ? { expected: ing.expected } : {}),
        });
    }
    return out.sort((a, b) => (a.ref < b.ref ? -1 : a.ref > b.ref ? 1 : 0));
}

/** Expected digests of active ingests: gc keeps them (containerd's ResourceIngest edge). */
export async function activeExpectedDigests(
    layout: StoreLayout,
    locks: RefLocks,
): Promise<Digest[]> {
    const out = locks.expectedDigests();
    for (const ing of await allIngests(layout)) {
        if (isActive(ing, locks) && isDigest(ing.expected?.digest)) {
            out.push(ing.expected.digest);
        }
    }
    return out;
}

/**
 * Removes ingests no live writer owns whose data was last written more than `olderThan` ms ago,
 * and everything left in tmp/ by dead lock holders. Returns how many ingests it removed (or
 * would, with `dryRun`). Store lock held.
 */
export async function removeStaleIngests(
    layout: StoreLayout,
    locks: RefLocks,
    olderThan: number,
    dryRun: boolean,
): Promise<number> {
    let removed = 0;
    const now = Date.now();
    for (const ing of await allIngests(layout)) {
        if (isActive(ing, locks)) {
            continue;
        }
        const st = await fsp.stat(path.join(ing.dir, "data")).catch(() => undefined);
        const last = st?.mtimeMs ?? ing.startedAt?.getTime() ?? 0;
        if (now - last < olderThan) {
            continue;
        }
        removed++;
        if (!dryRun) {
            await removeTree(ing.dir, layout.tmpPath("trash"));
        }
    }
    if (!dryRun) {
        // NOTE: tmp/ is only written under the store lock, which we hold: all of it is garbage.
        for (const name of await fsp.readdir(layout.tmpDir)) {
            await fsp.rm(path.join(layout.tmpDir, name), { recursive: true, force: true });
        }
    }
    return removed;
}
