/**
 * An import's intent, written to STATE/imports/<nonce>.json before the import creates anything
 * in the workspace and removed when layerscope.json names its refs. A process killed in between
 * leaves the journal of a dead owner; the next import or gc of that workspace rolls it back:
 * the snapshot directories (and their `.<id>.tmp-*` build directories) of refs that
 * layerscope.json does not name are removed, so an interrupted import can simply be run again.
 * containerd needs no such thing (its snapshots are rolled back by the metadata transaction
 * that never committed); here the workspace file is the commit.
 *
 * NOTE: a journal only names ref ids; paths are rebuilt from the workspace root under
 * snapshots/, so a tampered journal cannot point the rollback anywhere else. Journals are
 * written, read and removed under the store lock, and an import appends its refs to
 * layerscope.json under that lock too (re-reading it first), so the rollback's reading of
 * layerscope.json names every ref committed so far: a journal's ref that it names is never
 * rolled back, whatever became of the process.
 */
import { promises as fsp } from "node:fs";
import * as path from "node:path";
import type { ContentStore } from "../content";
import { readJson, removeDurable, writeJsonDurable } from "../content/durableFs";
import { currentOwner, isProcessAlive, parseOwner, type ProcessOwner } from "../content/processOwner";
import { EngineError, fromSystemError } from "../errors";
import { removeTree } from "../fs/removeTree";
import { REF_ID_PATTERN } from "../refs/workspaceFile";

interface Journal {
    readonly owner: ProcessOwner;
    readonly workspace: string;
    readonly refs: readonly string[];
}

export interface ImportIntent {
    readonly file: string;
}

function journalDir(store: ContentStore): string {
    return path.join(store.root, "imports");
}

/**
 * The ref ids and snapshot paths (relative, normalized) layerscope.json names, or null when it
 * cannot be read (then nothing is removed).
 */
async function named(wsFile: string): Promise<{ ids: Set<string>; snapshots: Set<string> } | null> {
    try {
        const doc = JSON.parse(await fsp.readFile(wsFile, "utf8")) as { refs?: Array<{ id?: unknown; snapshot?: unknown }> };
        const refs = doc.refs ?? [];
        return {
            ids: new Set(refs.map((r) => String(r.id))),
            snapshots: new Set(refs.filter((r) => typeof r.snapshot === "string").map((r) => path.normalize(r.snapshot as string))),
        };
    } catch (err) {
        return (err as NodeJS.ErrnoException).code === "ENOENT" ? { ids: new Set(), snapshots: new Set() } : null;
    }
}

async function readJournals(dir: string): Promise<Array<{ file: string; journal: Journal | null }>> {
    let names: string[];
    try {
        names = (await fsp.readdir(dir)).filter((n) => n.endsWith(".json")).sort();
    } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
        throw fromSystemError(err, dir, "listing import journals");
    }
    const out: Array<{ file: string; journal: Journal | null }> = [];
    for (const name of names) {
        const file = path.join(dir, name);
        const v = (await readJson(file).catch(() => undefined)) as Partial<Journal> | undefined;
        const owner = parseOwner(v?.owner);
        const ok = owner && typeof v?.workspace === "string" && Array.isArray(v.refs) && v.refs.every((r) => typeof r === "string" && REF_ID_PATTERN.test(r));
        out.push({ file, journal: ok ? { owner, workspace: v.workspace!, refs: v.refs! } : null });
    }
    return out;
}

/** Whether `name` under snapshots/ is ref `id`'s snapshot directory or its build directory. */
export function isSnapshotDirOf(name: string, id: string): boolean {
    return name === id || name.startsWith(`.${id}.tmp-`);
}

/** Store lock held. Rolls back the journals of dead imports into `root`; returns the ids rolled back. */
async function rollBackLocked(store: ContentStore, root: string): Promise<string[]> {
    const rolled: string[] = [];
    const ws = await named(path.join(root, "layerscope.json"));
    for (const { file, journal } of await readJournals(journalDir(store))) {
        if (journal === null) {
            await removeDurable(file); // not a journal this code wrote: it never took effect
            continue;
        }
        if (journal.workspace !== root || isProcessAlive(journal.owner)) continue;
        if (ws === null) continue; // an unreadable layerscope.json: leave everything as it is
        const snapDir = path.join(root, "snapshots");
        // A workspace can come from anywhere, journal included: never through a symlinked snapshots/.
        const isDir = await fsp.lstat(snapDir).then((st) => st.isDirectory(), () => false);
        const names = isDir ? await fsp.readdir(snapDir).catch(() => [] as string[]) : [];
        for (const id of journal.refs.filter((r) => !ws.ids.has(r))) {
            for (const n of names.filter((n) => isSnapshotDirOf(n, id))) {
                if (ws.snapshots.has(path.join("snapshots", n))) continue; // another ref's
                await removeTree(path.join(snapDir, n));
            }
            rolled.push(id);
        }
        await removeDurable(file);
    }
    return rolled;
}

/** Rolls back dead imports into `root` (gc of a workspace does this). */
export function rollBackImports(store: ContentStore, root: string): Promise<string[]> {
    return store.lock.withLock(() => rollBackLocked(store, root));
}

/**
 * Rolls back dead imports into `root`, then records this one's intent to create the refs `ids`
 * (whose snapshot directories must not exist: AlreadyExists). A live import into the same
 * workspace claiming one of them fails with Unavailable.
 */
export async function beginImport(store: ContentStore, root: string, ids: readonly string[]): Promise<ImportIntent> {
    return store.lock.withLock(async () => {
        await rollBackLocked(store, root);
        for (const { journal } of await readJournals(journalDir(store))) {
            const clash = journal?.workspace === root ? journal.refs.find((r) => ids.includes(r)) : undefined;
            if (clash !== undefined) {
                throw new EngineError(
                    "Unavailable",
                    `${root}: process ${journal!.owner.pid} is importing ref ${JSON.stringify(clash)} into this workspace; wait for it or use another --id prefix`,
                    { path: root, ref: clash, holder: journal!.owner.pid },
                );
            }
        }
        for (const id of ids) {
            const dir = path.join(root, "snapshots", id);
            const there = await fsp.lstat(dir).then(
                () => true,
                () => false,
            );
            if (there) {
                throw new EngineError("AlreadyExists", `${dir} already exists; import with another --id prefix`, { path: dir, reason: "snapshot-exists" });
            }
        }
        const owner = currentOwner();
        const file = path.join(journalDir(store), `${owner.nonce}.json`);
        try {
            await fsp.mkdir(journalDir(store), { recursive: true });
        } catch (err) {
            throw fromSystemError(err, journalDir(store), "creating the import journal directory");
        }
        const journal: Journal = { owner, workspace: root, refs: [...ids] };
        await writeJsonDurable(store.layout.tmpPath("import"), file, journal);
        return { file };
    });
}

/** The import is committed (its refs are in layerscope.json) or fully undone. */
export function endImport(store: ContentStore, intent: ImportIntent): Promise<void> {
    return store.lock.withLock(async () => {
        await removeDurable(intent.file);
    });
}
