/**
 * The files of layers and views behind `layerscope:` URIs, in plain Node (no `vscode` import):
 * the FileSystemProvider, the Layer Files tree and the commands all go through here, and tests
 * drive it against real workspaces.
 *
 * One LayerContents is opened per (source, ref, view) and shared; a bounded number stay open.
 * NOTE: a LayerContents dropped from the cache (evicted, or its source reopened) is closed only
 * once the calls using it have finished, so a read in flight never loses its blob handle.
 */
import { pipeline } from "node:stream/promises";
import {
    atomicFileSink,
    EngineError,
    isEngineError,
    type LayerContents,
    type LayerEntry,
    openLayerContents,
    type WorkspaceEngine,
} from "../../engine";
import type { SourceInfo } from "../model/hostApi";
import { formatBytes } from "../tree/format";
import { type LayerLocation, type LayerView, sourceKey } from "./layerUri";

/** What the service needs from the source model. */
export interface ContentsModel {
    sources(): readonly SourceInfo[];
    /** The source's open engine; throws naming why there is none. */
    engine(source: string): WorkspaceEngine;
    /** Settles once the sources are known (a URI restored at startup waits for them). */
    settled(): Promise<void>;
    onDidChangeSources(listener: () => void): { dispose(): void };
    onDidChangeRefs(listener: (e: { readonly source: string }) => void): { dispose(): void };
}

/** An entry, or the one made-up entry of the `absent` view. */
export type ViewEntry = LayerEntry | AbsentEntry;

export interface AbsentEntry {
    readonly type: "absent";
    readonly path: string;
}

/** Default for readFile: larger files are refused with a pointer to Save File As…. */
export const DEFAULT_MAX_OPEN_BYTES = 64 * 1024 * 1024;
const MAX_OPEN_CONTENTS = 16;

interface Held {
    readonly key: string;
    readonly contents: Promise<LayerContents>;
    users: number;
    dropped: boolean;
}

export class ContentsService {
    private readonly held = new Map<string, Held>();
    private readonly subscriptions: { dispose(): void }[] = [];

    constructor(private readonly model: ContentsModel) {
        this.subscriptions.push(
            model.onDidChangeSources(() => this.dropAll()),
            // A compute adds blobs: "auto" may now read a blob instead of the snapshots (the same files).
            model.onDidChangeRefs((e) => this.dropAll(e.source)),
        );
    }

    /** Settles once the model knows its sources (a URI restored at startup arrives before). */
    settled(): Promise<void> {
        return this.model.settled();
    }

    /** The source a URI's key names; NotFound when no open source has that key. */
    source(key: string): SourceInfo {
        const found = this.model.sources().find((s) => sourceKey(s.id) === key);
        if (!found) {
            const open = this.model.sources().map((s) => s.label).join(", ") || "none";
            throw new EngineError(
                "NotFound",
                `no open snapshot source has the key ${key} (open sources: ${open}); open its folder or run Layerscope: Open Snapshot Source…`,
                { source: key },
            );
        }
        return found;
    }

    /** A location from a source id (not its key). */
    location(source: string, ref: string, view: LayerView, path = "/"): LayerLocation {
        return { source: sourceKey(source), ref, view, path };
    }

    async stat(loc: LayerLocation): Promise<ViewEntry> {
        if (loc.view === "absent") return { type: "absent", path: loc.path };
        return this.use(loc, (c) => c.stat(loc.path));
    }

    async list(loc: LayerLocation): Promise<readonly ViewEntry[]> {
        if (loc.view === "absent") return [];
        return this.use(loc, (c) => c.list(loc.path));
    }

    /**
     * A file's whole content, for an editor. Refused above `maxBytes` (FailedPrecondition naming
     * the size and Save File As…): an editor holds the whole file in memory.
     */
    async readFile(loc: LayerLocation, maxBytes = DEFAULT_MAX_OPEN_BYTES, signal?: AbortSignal): Promise<Uint8Array> {
        if (loc.view === "absent") return new Uint8Array(0);
        loc = await this.followLink(loc);
        return this.use(loc, async (c) => {
            const entry = await c.stat(loc.path);
            readable(entry, loc);
            if (entry.size > maxBytes) {
                throw new EngineError(
                    "FailedPrecondition",
                    `${describe(loc)} is ${formatBytes(entry.size)}, more than an editor is given (layerscope.maxOpenFileSize: ${formatBytes(maxBytes)}); use Save File As… to extract it`,
                    { path: loc.path, size: entry.size },
                );
            }
            const out = Buffer.allocUnsafe(entry.size);
            let at = 0;
            for await (const chunk of c.read(loc.path, { ...(signal ? { signal } : {}) })) {
                const b = chunk as Buffer;
                if (at + b.length > out.length) throw changed(loc);
                b.copy(out, at);
                at += b.length;
            }
            if (at !== out.length) throw changed(loc);
            return out;
        });
    }

    /**
     * Streams a file to `dest` (a temporary file beside it, renamed into place when complete):
     * any size, never through memory or the snapshot folders. Returns the bytes written.
     */
    async saveAs(loc: LayerLocation, dest: string, signal?: AbortSignal): Promise<number> {
        loc = await this.followLink(loc);
        return this.use(loc, async (c) => {
            const entry = await c.stat(loc.path);
            readable(entry, loc);
            const sink = await atomicFileSink(dest);
            let written = 0;
            try {
                await pipeline(c.read(loc.path, { ...(signal ? { signal } : {}) }), async (source: AsyncIterable<Buffer>) => {
                    for await (const chunk of source) {
                        await sink.write(chunk);
                        written += chunk.length;
                    }
                }, ...(signal ? [{ signal }] : []));
                if (written !== entry.size) throw changed(loc);
                await sink.commit();
                return written;
            } catch (err) {
                await sink.abort();
                throw err;
            }
        });
    }

    /** A symbolic link reads as its target, looked up in the ref's root filesystem; anything else as itself. */
    private async followLink(loc: LayerLocation): Promise<LayerLocation> {
        const e = await this.stat(loc);
        return e.type === "symlink" && e.change !== "deleted" ? this.resolveLink(loc) : loc;
    }

    /**
     * Where a symbolic link leads in the ref's merged view, as the kernel resolves it inside a
     * chroot: absolute targets from the view's root, ".." never above it, links in the middle
     * followed too, at most 40 of them (Linux's MAXSYMLINKS). NotFound for a dangling link.
     */
    async resolveLink(loc: LayerLocation): Promise<LayerLocation> {
        const merged = (p: string): LayerLocation => ({ ...loc, view: "merged", path: p });
        const split = (p: string): string[] => p.split("/").filter((n) => n !== "");
        const resolved: string[] = [];
        const queue = split(loc.path);
        let hops = 0;
        while (queue.length > 0) {
            const name = queue.shift()!;
            if (name === ".") continue;
            if (name === "..") {
                resolved.pop();
                continue;
            }
            const here = `/${[...resolved, name].join("/")}`;
            let e: ViewEntry;
            try {
                e = await this.stat(merged(here));
            } catch (err) {
                if (!isNotFound(err)) throw err;
                throw new EngineError("NotFound", `${describe(loc)} is a symbolic link that leads to ${here}, which ${loc.ref}'s root filesystem does not have`, { path: loc.path }, { cause: err });
            }
            if (e.type === "symlink") {
                if (++hops > 40) throw new EngineError("InvalidArgument", `${describe(loc)}: too many levels of symbolic links (more than 40)`, { path: loc.path });
                const target = e.linkTarget ?? "";
                if (target.startsWith("/")) resolved.length = 0;
                queue.unshift(...split(target));
            } else {
                resolved.push(name);
            }
        }
        return merged(`/${resolved.join("/")}`);
    }

    /** The ref whose merged view is the "before" of `ref`'s layer (its parent, a Diff's lower); null for none. */
    async lowerRef(source: string, ref: string): Promise<string | null> {
        return this.use(this.location(source, ref, "layer"), async (c) => c.lowerRefId);
    }

    /** Runs `fn` on the shared LayerContents of the location's (source, ref, view). */
    async use<T>(loc: LayerLocation, fn: (c: LayerContents) => Promise<T>): Promise<T> {
        if (loc.view === "absent") throw new EngineError("InvalidArgument", "the absent view has no contents");
        const info = this.source(loc.source);
        const key = JSON.stringify([info.id, loc.ref, loc.view]);
        let h = this.held.get(key);
        if (!h) {
            const engine = this.model.engine(info.id);
            // NOTE: no caller's signal here: the contents are shared, one caller's cancel is not another's.
            const contents = openLayerContents(engine, loc.ref, { view: loc.view });
            h = { key, contents, users: 0, dropped: false };
            this.held.set(key, h);
            const opened = h;
            contents.catch(() => this.held.get(key) === opened && this.held.delete(key));
            this.evict();
        } else {
            // Most recently used last.
            this.held.delete(key);
            this.held.set(key, h);
        }
        h.users++;
        try {
            return await fn(await h.contents);
        } finally {
            h.users--;
            if (h.dropped && h.users === 0) void close(h);
        }
    }

    private evict(): void {
        for (const h of this.held.values()) {
            if (this.held.size <= MAX_OPEN_CONTENTS) break;
            this.drop(h);
        }
    }

    private drop(h: Held): void {
        if (this.held.get(h.key) === h) this.held.delete(h.key);
        h.dropped = true;
        if (h.users === 0) void close(h);
    }

    private dropAll(source?: string): void {
        for (const h of [...this.held.values()]) {
            if (source === undefined || (JSON.parse(h.key) as string[])[0] === source) this.drop(h);
        }
    }

    dispose(): void {
        this.subscriptions.splice(0).forEach((s) => s.dispose());
        this.dropAll();
    }
}

async function close(h: Held): Promise<void> {
    try {
        await (await h.contents).close();
    } catch {
        // failed to open, or already closed: nothing to release
    }
}

/** Throws unless the entry has content an editor can show (a file, or a hard link to one). */
function readable(entry: LayerEntry, loc: LayerLocation): void {
    if (entry.change === "deleted") {
        throw new EngineError("NotFound", `${describe(loc)} is deleted by this layer: it has no content here; Open Changes shows what it deleted`, { path: loc.path });
    }
    switch (entry.type) {
        case "file":
        case "hardlink":
            return;
        case "dir":
            throw new EngineError("InvalidArgument", `${describe(loc)} is a directory`, { path: loc.path, type: entry.type });
        case "symlink":
            throw new EngineError("InvalidArgument", `${describe(loc)} is a symbolic link to ${entry.linkTarget ?? "?"}; open its target instead`, { path: loc.path, type: entry.type });
        case "whiteout":
            throw new EngineError("NotFound", `${describe(loc)} is a deletion (whiteout) in this layer: it has no content; Open Changes shows what it deleted`, { path: loc.path, type: entry.type });
        default:
            throw new EngineError("InvalidArgument", `${describe(loc)} is a ${entry.type} node: it has no content to show`, { path: loc.path, type: entry.type });
    }
}

function changed(loc: LayerLocation): EngineError {
    return new EngineError("ChangedWhileReading", `${describe(loc)}: the content read does not have the size its entry gives; the layer changed while it was read, or its blob is damaged (run Verify)`, { path: loc.path });
}

/** "app:/etc/hostname (layer)" for messages. */
export function describe(loc: LayerLocation): string {
    return `${loc.ref}:${loc.path} (${loc.view === "layer" ? "layer files" : loc.view === "merged" ? "merged view" : "nothing"})`;
}

/** Whether the error says the path is not there (FileNotFound for VS Code). */
export function isNotFound(err: unknown): boolean {
    return isEngineError(err, "NotFound");
}
