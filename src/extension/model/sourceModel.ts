/**
 * The source model: the snapshot sources of the open folders (and those the user added), one
 * engine per source, cached reports, and the long operations on them. Pure Node (the `vscode`
 * types it names are erased): the extension gives it a ModelHost, tests give it a fake one.
 *
 * NOTE: reports are cached per source and dropped on every onDidChangeRefs, which is fired
 * before an operation's "end" event; a view that refetches on "end" sees fresh data.
 */
import { createHash } from "node:crypto";
import { realpathSync } from "node:fs";
import * as path from "node:path";
import {
    type CompressionConfig,
    computeLayerSizes,
    detectSource,
    EngineError,
    type GcReport,
    type ImageVerification,
    type ImageVerifyReport,
    isEngineError,
    openSourceEngine,
    type ProgressEvent,
    type RefReport,
    type RefSummary,
    RootEngine,
    type SizeReport,
    type SnapshotInfo,
    type SourceKind,
    type VerifyReport,
    type WorkspaceEngine,
} from "../../engine";
import { findWorkspaces, sourceLabels, WORKSPACE_FILE } from "./discovery";
import { Emitter } from "./emitter";
import type { CompressionRequest, LayerscopeModel, OperationEvent, RefTarget, SourceInfo } from "./hostApi";
import { errorMessage, OperationRunner, type RunningOperation } from "./operation";
import type { Settings } from "./settings";
import { type VerificationRecord, VerificationStore } from "./verifications";

/** What the model needs from its surroundings (VS Code in the extension, a fake in tests). */
export interface ModelHost {
    /** File-system paths of the open workspace folders. */
    folders(): readonly string[];
    /** Source roots the user added with "Open Snapshot Source…". */
    remembered(): readonly string[];
    remember(roots: readonly string[]): Promise<void>;
    /** Read at each operation; throws a clear error for a bad value. */
    settings(): Settings;
    /** Where per-source state lives when stateLocation is "global". */
    readonly globalStorage: string;
}

interface Source {
    readonly info: SourceInfo;
    readonly engine: WorkspaceEngine | null;
    readonly engineKey: string;
    readonly reports: Map<string, Promise<RefReport>>;
}

export type ComputeResult = readonly RefReport[];

const REPORT_CONCURRENCY = 8;

export class SourceModel implements LayerscopeModel {
    private readonly sourcesChanged = new Emitter<void>();
    private readonly refsChanged = new Emitter<{ readonly source: string; readonly refs?: readonly string[] }>();
    private readonly operations = new Emitter<OperationEvent>();
    private readonly runner = new OperationRunner(this.operations);
    private byId = new Map<string, Source>();
    private readonly timings = new Map<string, number>();
    private readonly verifications = new VerificationStore();
    /** Refs being diffed or converted right now, per source (the tree shows a spinner). */
    private readonly busy = new Map<string, Set<string>>();
    private refreshing: Promise<void> = Promise.resolve();

    readonly onDidChangeSources = this.sourcesChanged.event;
    readonly onDidChangeRefs = this.refsChanged.event;
    readonly onOperation = this.operations.event;

    constructor(private readonly host: ModelHost) {
        this.operations.event((e) => this.trackBusy(e));
    }

    /** The settings as they are now (read fresh; throws naming a bad setting). */
    settings(): Settings {
        return this.host.settings();
    }

    sources(): readonly SourceInfo[] {
        return [...this.byId.values()].map((s) => s.info);
    }

    /**
     * Finds the sources again and opens their engines. `reopen: false` keeps an engine whose
     * options did not change (a settings change); the Refresh command reopens every engine.
     */
    refresh(opts: { reopen?: boolean } = {}): Promise<void> {
        const next = this.refreshing.then(() => this.doRefresh(opts.reopen ?? true));
        this.refreshing = next.catch(() => undefined);
        return next;
    }

    /** Settles when the refreshes asked for so far are done (commands and the tree wait on it at startup). */
    settled(): Promise<void> {
        return this.refreshing;
    }

    private async doRefresh(reopen: boolean): Promise<void> {
        const folders = this.host.folders();
        const snapshotRoots = folders.filter(isRoot);
        const discovered = [...snapshotRoots, ...(await findWorkspaces(folders.filter((f) => !snapshotRoots.includes(f))))];
        const realDiscovered = discovered.map(resolveReal);
        const manual = this.host.remembered().map(resolveReal).filter((r) => !realDiscovered.includes(r));
        const roots = [...realDiscovered, ...manual];
        const labels = sourceLabels(roots);
        const next = new Map<string, Source>();
        for (const root of roots) {
            const label = labels.get(root) ?? root;
            const prev = this.byId.get(root);
            const key = this.engineKeyOrError(root);
            if (prev?.engine && !reopen && prev.engineKey === key) {
                next.set(root, { ...prev, info: { ...prev.info, label } });
            } else {
                next.set(root, await this.open(root, label));
            }
        }
        this.byId = next;
        this.sourcesChanged.fire();
        for (const id of next.keys()) this.refsChanged.fire({ source: id });
    }

    private async open(root: string, label: string): Promise<Source> {
        let kind: SourceKind = "workspace";
        let settings: Settings | undefined;
        try {
            // A root the user cannot list (containerd's is 0700) fails here with what to do.
            kind = detectSource(root) ?? "workspace";
            settings = this.host.settings();
            const engine = await openSourceEngine(root, {
                stateDir: this.stateDir(root, settings, kind),
                whiteoutTime: settings.whiteoutTime,
                concurrency: settings.concurrency,
            });
            return { info: { id: root, kind, label, root }, engine, engineKey: this.engineKey(root, settings), reports: new Map() };
        } catch (err) {
            let error = errorMessage(err);
            const inState = isEngineError(err, "PermissionDenied") && String(err.data.path ?? "").startsWith(path.join(root, ".layerscope"));
            if (inState && settings?.stateLocation === "workspace") {
                error += ` (to keep Layerscope's state outside ${root}, set layerscope.stateLocation to "global")`;
            }
            return { info: { id: root, kind, label, root, error }, engine: null, engineKey: "", reports: new Map() };
        }
    }

    /**
     * WORKSPACE/.layerscope, or a folder of the extension's global storage named after the root.
     * A containerd or Docker root is never written: "workspace" means the engine's own default
     * outside it (undefined here).
     */
    stateDir(root: string, settings: Settings, kind: SourceKind = "workspace"): string | undefined {
        if (settings.stateLocation === "workspace") return kind === "workspace" ? path.join(root, ".layerscope") : undefined;
        const hash = createHash("sha256").update(root).digest("hex").slice(0, 16);
        return path.join(this.host.globalStorage, "sources", `${path.basename(root)}-${hash}`);
    }

    private engineKey(root: string, s: Settings): string {
        return JSON.stringify([s.stateLocation, this.stateDir(root, s), s.whiteoutTimeText, s.concurrency]);
    }

    private engineKeyOrError(root: string): string {
        try {
            return this.engineKey(root, this.host.settings());
        } catch {
            return "";
        }
    }

    /** Adds a snapshot source (a layerscope.json workspace, a containerd root, a Docker data-root) and remembers it. */
    async addSource(dir: string): Promise<SourceInfo> {
        const root = resolveReal(dir);
        if (detectSource(root) === null) {
            throw new EngineError(
                "NotFound",
                `${root} is not a snapshot source: it has no ${WORKSPACE_FILE}, and is neither a containerd root (io.containerd.* folders), a buildkitd root (runc-<snapshotter>/) nor a Docker data-root (buildkit/ and image/)`,
                { path: root },
            );
        }
        const remembered = this.host.remembered().map(resolveReal);
        if (!remembered.includes(root)) await this.host.remember([...remembered, root]);
        await this.refresh({ reopen: false });
        return this.source(root).info;
    }

    /** Forgets a source added by hand (discovered sources come back on refresh). */
    async removeSource(id: string): Promise<void> {
        await this.host.remember(this.host.remembered().map(resolveReal).filter((r) => r !== id));
        await this.refresh({ reopen: false });
        if (!this.byId.has(id)) this.verifications.forget(id);
    }

    isRemembered(id: string): boolean {
        return this.host.remembered().map(resolveReal).includes(id);
    }

    async refIds(source: string): Promise<readonly string[]> {
        return this.engineOf(source).refIds();
    }

    /** A ref's row without I/O; undefined when the source or ref is unknown. */
    summary(source: string, ref: string): RefSummary | undefined {
        try {
            return this.byId.get(source)?.engine?.refSummary(ref);
        } catch {
            return undefined;
        }
    }

    /** For a ref of a containerd or Docker root: its snapshot (key, committed/active/view). */
    snapshotInfo(source: string, ref: string): SnapshotInfo | null {
        const engine = this.byId.get(source)?.engine;
        return engine instanceof RootEngine ? engine.snapshotInfo(ref) : null;
    }

    report(source: string, ref: string): Promise<RefReport> {
        const s = this.source(source);
        const engine = this.engineOf(source);
        let p = s.reports.get(ref);
        if (!p) {
            p = engine.report(ref);
            s.reports.set(ref, p);
            p.catch(() => s.reports.get(ref) === p && s.reports.delete(ref));
        }
        return p;
    }

    async reports(source: string): Promise<readonly RefReport[]> {
        const ids = await this.refIds(source);
        const out: RefReport[] = new Array(ids.length);
        let next = 0;
        const worker = async (): Promise<void> => {
            while (next < ids.length) {
                const i = next++;
                out[i] = await this.report(source, ids[i]!);
            }
        };
        await Promise.all(Array.from({ length: Math.min(REPORT_CONCURRENCY, ids.length) }, worker));
        return out;
    }

    sizes(source: string, ref: string, signal?: AbortSignal): Promise<SizeReport> {
        return computeLayerSizes(this.engineOf(source), ref, signal ? { signal } : {});
    }

    timing(_source: string, digest: string): number | undefined {
        return this.timings.get(digest);
    }

    /** Whether any operation runs on the source now. */
    isBusy(source: string): boolean {
        return this.runner.list().some((o) => o.source === source);
    }

    /** Refs of the source being diffed or converted now. */
    busyRefs(source: string): ReadonlySet<string> {
        return this.busy.get(source) ?? new Set();
    }

    /** The ref's layer chain and then the ref (what a compute touches), for progress totals. */
    chainOf(source: string, ref: string): string[] {
        return this.engineOf(source).chainOf(ref);
    }

    /** Makes sure every layer of the ref has a blob (BuildKit's computeBlobChain). */
    compute(target: RefTarget): RunningOperation<ComputeResult> {
        return this.blobOperation("compute", target, target.force ?? false);
    }

    /** Adds a compression variant to every layer of the ref (computeBlobChain with Force). */
    convert(target: RefTarget): RunningOperation<ComputeResult> {
        return this.blobOperation("convert", target, true);
    }

    /** The compression a request asks for, with the settings filling what it leaves out. */
    resolveCompression(req: CompressionRequest, settings: Settings = this.host.settings()): CompressionConfig {
        return {
            type: req.compression ?? settings.defaultCompression,
            level: req.level ?? settings.compressionLevel,
            force: req.force ?? false,
            gzipImpl: req.gzipImpl ?? settings.gzipImplementation,
        };
    }

    private blobOperation(operation: "compute" | "convert", target: RefTarget, force: boolean): RunningOperation<ComputeResult> {
        this.requireRef(this.engineOf(target.source), target);
        const comp = { ...this.resolveCompression(target), force };
        this.refuseDuringGc(target.source);
        let used: WorkspaceEngine | undefined;
        return this.runner.start({
            operation,
            source: target.source,
            ref: target.ref,
            key: JSON.stringify([operation, target.source, target.ref, comp.type, comp.level ?? null, comp.force, comp.gzipImpl]),
            body: async (ctx) => {
                const engine = (used = await this.engineFor(target.source));
                const starts = new Map<string, number>();
                const onProgress = (e: ProgressEvent): void => {
                    if (e.phase === "diff" || e.phase === "convert") starts.set(e.ref, Date.now());
                    if (e.phase === "done" && e.detail && starts.has(e.ref)) this.timings.set(e.detail, Date.now() - starts.get(e.ref)!);
                    if (e.phase === "done" || e.phase === "reused") this.invalidate(target.source, [e.ref]);
                    ctx.emit(e.phase, e.ref, e.detail);
                };
                await engine.computeBlobChain(target.ref, { createIfNeeded: true, compression: comp, signal: ctx.signal, onProgress });
                return Promise.all(engine.chainOf(target.ref).map((id) => engine.report(id)));
            },
            beforeEnd: () => this.afterWrite(target.source, used),
        });
    }

    /** Recomputes every stored digest of the ref's chain (ref undefined: of every ref). */
    verify(source: string, ref?: string): RunningOperation<VerifyReport> {
        if (ref !== undefined) this.requireRef(this.engineOf(source), { source, ref });
        return this.runner.start({
            operation: "verify",
            source,
            ref: ref ?? "",
            key: JSON.stringify(["verify", source, ref ?? null]),
            body: async (ctx) => {
                const report = await (await this.engineFor(source)).verify(ref, ctx.signal);
                this.refsChanged.fire({ source, refs: this.verifications.recordVerify(source, report) });
                return report;
            },
        });
    }

    /** The images a containerd root or Docker data-root holds (for Verify Image Layers). */
    rootImages(source: string): string[] {
        const engine = this.engineOf(source);
        if (!(engine instanceof RootEngine)) throw new EngineError("Unsupported", `${this.source(source).info.label} is a snapshot workspace, not a containerd root or Docker data-root`, { source });
        return engine.summary.images.map((i) => i.name);
    }

    /** `verify ROOT --image NAME`: the image's layers recomputed from the root's snapshots. */
    verifyRootImage(source: string, image: string): RunningOperation<ImageVerifyReport> {
        this.rootImages(source);
        return this.runner.start({
            operation: "verify",
            source,
            ref: "",
            key: JSON.stringify(["verify-image", source, image]),
            body: async (ctx) => {
                const engine = await this.engineFor(source);
                if (!(engine instanceof RootEngine)) throw new EngineError("Unsupported", `${this.source(source).info.label} is not a snapshot root`, { source });
                const report = await engine.verifyImage(image, ctx.signal);
                this.refsChanged.fire({ source, refs: this.verifications.recordRootImage(source, report) });
                return report;
            },
        });
    }

    /** Verify Image of an image file: shown on every open ref whose chainID is one of its layers'. */
    recordImageVerification(report: ImageVerification): void {
        this.verifications.recordImage(report);
        for (const s of this.byId.values()) if (s.engine) this.refsChanged.fire({ source: s.info.id });
    }

    verification(source: string, ref: { readonly id: string; readonly chainID: string | null }): VerificationRecord | undefined {
        return this.verifications.lookup(source, ref);
    }

    /** Garbage-collects the source's store; refused while another operation runs on the source. */
    gc(source: string): RunningOperation<GcReport> {
        this.engineOf(source);
        const key = JSON.stringify(["gc", source]);
        const others = this.runner.list().filter((o) => o.source === source && o.operation !== "gc");
        if (others.length > 0) {
            throw new EngineError(
                "FailedPrecondition",
                `garbage collection of ${this.source(source).info.label} waits for its running ${others[0]!.operation} of ${others[0]!.ref || "all refs"}; try again when it is done`,
                { source },
            );
        }
        let used: WorkspaceEngine | undefined;
        return this.runner.start({
            operation: "gc",
            source,
            ref: "",
            key,
            body: async () => (used = await this.engineFor(source)).gc(),
            beforeEnd: () => this.afterWrite(source, used),
        });
    }

    private refuseDuringGc(source: string): void {
        if (this.runner.list().some((o) => o.source === source && o.operation === "gc")) {
            throw new EngineError("FailedPrecondition", `the store of ${this.source(source).info.label} is being garbage-collected; try again when it is done`, { source });
        }
    }

    /**
     * After an operation wrote the store: drop cached reports. If the source was reopened while
     * it ran (Refresh, a settings change), the new engine loaded its records before the write:
     * reopen it again so lists show the new blobs.
     */
    private afterWrite(source: string, used: WorkspaceEngine | undefined): void {
        const s = this.byId.get(source);
        if (s && used && s.engine && s.engine !== used) {
            void this.open(s.info.root, s.info.label).then((fresh) => {
                if (this.byId.get(source) !== s) return;
                this.byId.set(source, fresh);
                this.sourcesChanged.fire();
                this.refsChanged.fire({ source });
            });
        }
        this.invalidate(source);
    }

    private invalidate(source: string, refs?: readonly string[]): void {
        const s = this.byId.get(source);
        if (!s) return;
        if (refs) refs.forEach((r) => s.reports.delete(r));
        else s.reports.clear();
        this.refsChanged.fire(refs ? { source, refs } : { source });
    }

    private trackBusy(e: OperationEvent): void {
        let set = this.busy.get(e.source);
        if (!set) this.busy.set(e.source, (set = new Set()));
        if (e.phase === "diff" || e.phase === "convert") set.add(e.ref);
        else if (e.phase === "done" || e.phase === "reused") set.delete(e.ref);
        else if (e.phase === "end" && !this.runner.list().some((o) => o.source === e.source)) set.clear();
    }

    private source(id: string): Source {
        const s = this.byId.get(id);
        if (!s) {
            const known = [...this.byId.values()].map((x) => x.info.root).join(", ") || "none";
            throw new EngineError("NotFound", `no snapshot source ${JSON.stringify(id)} is open (open sources: ${known})`, { source: id });
        }
        return s;
    }

    /** The source's open engine, for readers of its files (layer contents); throws naming why there is none. */
    engine(id: string): WorkspaceEngine {
        return this.engineOf(id);
    }

    private engineOf(id: string): WorkspaceEngine {
        const s = this.source(id);
        if (!s.engine) throw new EngineError("FailedPrecondition", `snapshot source ${s.info.label} could not be opened: ${s.info.error}`, { source: id });
        return s.engine;
    }

    /**
     * The source's engine for a new operation, reopened first when the settings it was opened
     * with (state location, whiteout time, concurrency) changed since: settings are read fresh.
     */
    private async engineFor(id: string): Promise<WorkspaceEngine> {
        const s = this.source(id);
        const settings = this.host.settings();
        if (s.engine && s.engineKey !== this.engineKey(s.info.root, settings)) {
            const reopened = await this.open(s.info.root, s.info.label);
            if (this.byId.get(id) === s) {
                this.byId.set(id, reopened);
                this.sourcesChanged.fire();
                this.refsChanged.fire({ source: id });
            }
        }
        return this.engineOf(id);
    }

    private requireRef(engine: WorkspaceEngine, t: { source: string; ref: string }): void {
        engine.workspace.get(t.ref); // NotFound names the workspace file and its refs
    }

    dispose(): void {
        this.sourcesChanged.dispose();
        this.refsChanged.dispose();
        this.operations.dispose();
    }
}

/** An open folder that is itself a containerd root, buildkitd root or Docker data-root (never searched below). */
function isRoot(folder: string): boolean {
    try {
        const kind = detectSource(folder);
        return kind === "containerd" || kind === "buildkit" || kind === "docker";
    } catch {
        return false;
    }
}

function resolveReal(p: string): string {
    try {
        return realpathSync(path.resolve(p));
    } catch {
        return path.resolve(p);
    }
}
