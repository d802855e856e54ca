/**
 * One ref-graph panel over one snapshot source: answers the webview's messages (each checked on
 * arrival), forwards the model's live progress, and re-sends only the refs a change touched.
 */
import * as path from "node:path";
import * as vscode from "vscode";
import type { RefReport } from "../../engine";
import type { ContentsAction, HostToWebview, WebviewToHost } from "../../protocol/messages";
import { isWebviewToHost } from "../../protocol/guards";
import type { LayerscopeModel, OperationEvent, RefTarget } from "../model/hostApi";
import { graphHtml, webviewOptions } from "./graphHtml";
import { toSizesView } from "./sizesViewModel";
import { parentsOf, toDetailsView, toGraphView, toNodeView, type VerificationOf } from "./toViewModel";
import { displayText } from "../../display/displayText";

const COMMANDS = { compute: "layerscope.computeBlobChain", convert: "layerscope.convertCompression" } as const;
const CONTENTS_COMMANDS: Readonly<Record<ContentsAction, string>> = {
    browseLayer: "layerscope.browseLayer",
    browseMerged: "layerscope.browseMerged",
    openAllChanges: "layerscope.openAllLayerChanges",
};

export class GraphPanel implements vscode.Disposable {
    private readonly disposables: vscode.Disposable[] = [];
    /** The last reports sent, by ref id (derivations read the layer chain's reports from here). */
    private readonly reports = new Map<string, RefReport>();
    private ready = false;
    private selected = "";
    private pendingFocus: string | undefined;
    private pendingSizes = false;
    /** The last load failed (e.g. a revived panel whose source the model has not opened yet). */
    private failed = false;
    private disposed = false;
    /** The sizes being read (one at a time: a new request or closing the panel cancels it). */
    private sizesRead: AbortController | undefined;

    constructor(
        readonly panel: vscode.WebviewPanel,
        readonly source: string,
        extensionUri: vscode.Uri,
        private readonly model: LayerscopeModel,
        private readonly log: vscode.OutputChannel,
        onDispose: () => void,
    ) {
        panel.webview.options = webviewOptions(extensionUri);
        panel.title = displayText(`Ref Graph: ${this.label()}`);
        panel.iconPath = vscode.Uri.joinPath(extensionUri, "media", "layerscope.svg");
        this.disposables.push(
            panel.webview.onDidReceiveMessage((m: unknown) => this.receive(m)),
            model.onDidChangeRefs((e) => {
                if (e.source === this.source) void this.guard("refresh", () => this.refresh(e.refs));
            }),
            model.onOperation((e) => this.operation(e)),
            model.onDidChangeSources(() => {
                if (this.ready && this.failed) void this.guard("reload", () => this.loadAll());
            }),
            // NOTE: without retainContextWhenHidden a hidden webview is torn down and says "ready"
            // again when shown; until then messages would be lost (a focus from Show in Graph).
            panel.onDidChangeViewState(() => {
                if (!panel.visible) this.ready = false;
            }),
            panel.onDidDispose(() => {
                this.dispose();
                onDispose();
            }),
        );
        panel.webview.html = graphHtml(panel.webview, extensionUri);
    }

    /** Select and centre a ref once the graph is there; with `sizes`, also read its sizes. */
    focus(ref: string | undefined, sizes = false): void {
        if (!ref) return;
        if (this.ready) this.post(sizes ? { type: "readSizes", ref } : { type: "focus", ref });
        else {
            this.pendingFocus = ref;
            this.pendingSizes = sizes;
        }
    }

    private label(): string {
        return this.model.sources().find((s) => s.id === this.source)?.label ?? path.basename(this.source);
    }

    private readonly verification: VerificationOf = (r) => this.model.verification(this.source, { id: r.id, chainID: r.chainID });

    private post(message: HostToWebview): void {
        if (!this.disposed) void this.panel.webview.postMessage(message);
    }

    private receive(message: unknown): void {
        if (!isWebviewToHost(message)) {
            this.log.appendLine(`[graph] ignored a malformed message from the webview: ${describe(message)}`);
            return;
        }
        void this.guard(message.type, () => this.handle(message));
    }

    private async handle(message: WebviewToHost): Promise<void> {
        switch (message.type) {
            case "ready":
                this.ready = true;
                await this.loadAll();
                if (this.pendingFocus) this.post(this.pendingSizes ? { type: "readSizes", ref: this.pendingFocus } : { type: "focus", ref: this.pendingFocus });
                this.pendingFocus = undefined;
                this.pendingSizes = false;
                return;
            case "select":
                this.selected = message.ref;
                await this.sendDetails(message.ref);
                return;
            case "run":
                await this.run(message);
                return;
            case "copy":
                await vscode.env.clipboard.writeText(message.text);
                return;
            case "contents":
                // The command reports its own errors to the user; the rejection only reaches the log here.
                await vscode.commands.executeCommand(CONTENTS_COMMANDS[message.action], { source: this.source, ref: message.ref });
                return;
            case "sizes":
                await this.sendSizes(message.ref);
                return;
        }
    }

    private async loadAll(): Promise<void> {
        let reports: readonly RefReport[];
        try {
            reports = await this.model.reports(this.source);
        } catch (err) {
            this.failed = true;
            this.post({ type: "failure", message: `Cannot read ${this.source}: ${errorMessage(err)}` });
            throw err;
        }
        this.failed = false;
        this.reports.clear();
        for (const r of reports) this.reports.set(r.id, r);
        const all = [...reports, ...(await this.hiddenParents(reports))];
        this.panel.title = displayText(`Ref Graph: ${this.label()}`);
        this.post({ type: "graph", graph: toGraphView(this.source, this.label(), all, this.verification) });
    }

    /**
     * Parents the source does not list itself: the per-layer Diffs BuildKit makes of a Diff across
     * several layers (it becomes a Merge of them). Drawn too, so every edge has both ends.
     */
    private async hiddenParents(listed: readonly RefReport[]): Promise<RefReport[]> {
        const found: RefReport[] = [];
        const queue = listed.flatMap((r) => parentsOf(r).map((p) => p.ref));
        while (queue.length > 0) {
            const id = queue.pop()!;
            if (this.reports.has(id)) continue;
            const r = await this.model.report(this.source, id);
            this.reports.set(id, r);
            found.push(r);
            queue.push(...parentsOf(r).map((p) => p.ref));
        }
        return found;
    }

    private async refresh(refs: readonly string[] | undefined): Promise<void> {
        if (!this.ready) return;
        if (!refs) {
            await this.loadAll();
        } else {
            const fresh = await Promise.all(refs.map((id) => this.model.report(this.source, id)));
            for (const r of fresh) this.reports.set(r.id, r);
            // Only refs the graph shows become nodes; synthetic layers just feed derivations.
            this.post({ type: "nodes", source: this.source, nodes: fresh.map((r) => toNodeView(r, this.verification)) });
        }
        const sel = this.selected && this.reports.get(this.selected);
        if (sel && (!refs || sel.layers.some((l) => refs.includes(l)) || refs.includes(sel.id))) {
            await this.sendDetails(this.selected);
        }
    }

    private async sendDetails(ref: string): Promise<void> {
        const report = await this.model.report(this.source, ref);
        this.reports.set(ref, report);
        // A layer chain may hold refs the graph does not list (a Diff's per-layer diffs).
        for (const id of report.layers) {
            if (!this.reports.has(id)) this.reports.set(id, await this.model.report(this.source, id));
        }
        const details = toDetailsView(report, (id) => this.reports.get(id), (d) => this.model.timing(this.source, d), this.verification);
        if (this.selected === ref) this.post({ type: "details", source: this.source, details });
    }

    private async sendSizes(ref: string): Promise<void> {
        this.sizesRead?.abort();
        const abort = (this.sizesRead = new AbortController());
        try {
            const report = await this.model.sizes(this.source, ref, abort.signal);
            if (!abort.signal.aborted) this.post({ type: "sizes", source: this.source, sizes: toSizesView(report) });
        } catch (err) {
            if (!abort.signal.aborted) this.post({ type: "sizesFailed", source: this.source, ref, message: errorMessage(err) });
            throw err;
        } finally {
            if (this.sizesRead === abort) this.sizesRead = undefined;
        }
    }

    private async run(message: Extract<WebviewToHost, { type: "run" }>): Promise<void> {
        const target: RefTarget = {
            source: this.source,
            ref: message.ref,
            compression: message.compression,
            ...(message.level >= 0 ? { level: message.level } : {}),
            force: message.force,
        };
        try {
            await vscode.commands.executeCommand(COMMANDS[message.command], target);
            this.post({ type: "reply", id: message.id, ok: true, error: "" });
        } catch (err) {
            this.post({ type: "reply", id: message.id, ok: false, error: errorMessage(err) });
            throw err;
        }
    }

    private operation(e: OperationEvent): void {
        if (e.source !== this.source || !this.ready) return;
        this.post({
            type: "progress",
            source: this.source,
            progress: {
                ref: e.ref,
                operation: e.operation,
                phase: e.phase,
                detail: e.detail ?? "",
                error: e.error ?? "",
                elapsedMs: e.elapsedMs ?? 0,
            },
        });
    }

    /** One error boundary per message: the log gets the details, the webview stays usable. */
    private async guard(what: string, body: () => Promise<void>): Promise<void> {
        try {
            await body();
        } catch (err) {
            this.log.appendLine(`[graph] ${what} failed for ${this.source}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
        }
    }

    dispose(): void {
        if (this.disposed) return;
        this.disposed = true;
        this.sizesRead?.abort();
        this.disposables.splice(0).forEach((d) => d.dispose());
        this.panel.dispose();
    }
}

function errorMessage(err: unknown): string {
    return err instanceof Error ? err.message : String(err);
}

function describe(message: unknown): string {
    const text = JSON.stringify(message) ?? String(message);
    return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}
