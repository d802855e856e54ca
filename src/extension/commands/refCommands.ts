/**
 * Ref-scoped commands: compute, convert, verify, copy an ID or digest, reveal a blob file,
 * reveal a ref in the tree. Each resolves its target (tree node, RefTarget, or pickers).
 */
import * as path from "node:path";
import * as vscode from "vscode";
import { type BlobReport, EngineError, type ImageVerifyReport, type RefReport, type VerifyReport } from "../../engine";
import type { RefTarget } from "../model/hostApi";
import { parseRefTarget } from "../model/refTarget";
import type { CommandContext } from "./context";
import { PickCanceled, pickCompression, pickRef, pickSource } from "./pickers";
import { withProgress } from "./progress";
import { resolveTarget } from "./targets";
import { formatBytes, shortDigest } from "../tree/format";
import { showError, showInfo } from "../notify";
import { displayText, statusText } from "../../display/displayText";

export type Outcome = { readonly status: "done" };

/** Compute Blob Chain…: make sure every layer of the ref has a blob. */
export async function computeBlobChain(ctx: CommandContext, arg: unknown): Promise<Outcome> {
    return blobCommand(ctx, arg, "compute");
}

/** Convert Compression…: add a variant of another compression to every layer of the ref. */
export async function convertCompression(ctx: CommandContext, arg: unknown): Promise<Outcome> {
    return blobCommand(ctx, arg, "convert");
}

async function blobCommand(ctx: CommandContext, arg: unknown, operation: "compute" | "convert"): Promise<Outcome> {
    const title = operation === "compute" ? "Compute Blob Chain" : "Convert Compression";
    const resolved = await resolveTarget(ctx.model, arg, title);
    let target: RefTarget = resolved.target;
    if (resolved.via !== "code") {
        target = { ...target, ...(await pickCompression(ctx.model.settings(), `${title}: ${target.ref}`)) };
    }
    const comp = ctx.model.resolveCompression(target);
    const op = operation === "compute" ? ctx.model.compute(target) : ctx.model.convert(target);
    const what = `${comp.type}${comp.level !== undefined ? ` level ${comp.level}` : ""}${comp.type === "gzip" || comp.type === "estargz" ? `, ${comp.gzipImpl} deflate` : ""}`;
    const label = operation === "compute" ? `computing the blob chain of ${target.ref} (${what})` : `converting ${target.ref} to ${what}`;
    const steps = ctx.model.chainOf(target.source, target.ref).length;
    const reports = await withProgress(op, label, operation === "compute" ? steps : undefined);
    if (!op.joined) {
        ctx.log.block(`${operation} ${target.ref} (${what}) in ${sourceLabel(ctx, target.source)}: done`, reports.flatMap(reportLines));
        if (resolved.via !== "code") {
            const top = reports.find((r) => r.id === target.ref) ?? reports[reports.length - 1];
            const summary = top?.blobChainID ? `blobChainID ${shortDigest(top.blobChainID)}` : top?.diffID ? `diffID ${shortDigest(top.diffID)}` : "done";
            void showInfo(`Layerscope: ${target.ref}: ${operation === "compute" ? "blob chain computed" : `converted to ${comp.type}`} (${reports.length} ref${reports.length === 1 ? "" : "s"}; ${summary})`, "Show Log")
                .then((pick) => pick && ctx.log.channel.show(true));
        }
    }
    return { status: "done" };
}

/**
 * Verify: recompute every stored digest of a ref's chain, or of every ref of a source. On a
 * containerd root or Docker data-root it can check one of the root's images instead (`verify
 * ROOT --image NAME`); from code: `{ source, image }`.
 */
export async function verify(ctx: CommandContext, arg: unknown): Promise<VerifyReport | ImageVerifyReport | undefined> {
    let source: string;
    let ref: string | undefined;
    if (isImageTarget(arg)) {
        return verifyRootImage(ctx, arg.source, arg.image);
    } else if (isSourceNode(arg)) {
        source = arg.source;
        const image = await pickRootCheck(ctx, source);
        if (image) return verifyRootImage(ctx, source, image);
    } else if (arg === undefined) {
        source = (await pickSource(ctx.model, "Verify")).id;
        const image = await pickRootCheck(ctx, source);
        if (image) return verifyRootImage(ctx, source, image);
        ref = (await pickRef(ctx.model, source, "Verify", true)) || undefined;
    } else {
        ({ source, ref } = (await resolveTarget(ctx.model, arg, "Verify")).target);
    }
    const op = ctx.model.verify(source, ref);
    const report = await withProgress(op, `verifying ${ref ?? `every ref of ${sourceLabel(ctx, source)}`}`);
    if (op.joined) return report;
    const bad = report.checks.filter((c) => !c.ok);
    ctx.log.block(
        `verify ${ref ?? "(all refs)"} in ${sourceLabel(ctx, source)}: ${report.ok ? `${report.checks.length} digests match` : `${bad.length} mismatch(es)`}`,
        report.checks.map((c) => `${c.ok ? "ok      " : "MISMATCH"}  ${c.ref}  ${c.what}${c.ok ? "" : `: expected ${c.expected}, got ${c.actual}`}`),
    );
    const scope = ref ?? sourceLabel(ctx, source);
    if (report.ok) {
        void showInfo(
            report.checks.length ? `Layerscope: ${scope}: all ${report.checks.length} stored digests verified` : `Layerscope: ${scope}: nothing to verify yet (no blobs computed)`,
        );
    } else {
        void showError(`Layerscope: ${scope}: ${bad.length} of ${report.checks.length} digests do not match (details in the log)`, "Show Log")
            .then((pick) => pick && ctx.log.channel.show(true));
    }
    return report;
}

function isImageTarget(arg: unknown): arg is { source: string; image: string } {
    return typeof arg === "object" && arg !== null && typeof (arg as { image?: unknown }).image === "string" && typeof (arg as { source?: unknown }).source === "string";
}

/** On a root: its stored digests (null) or one of its images; on a workspace: null. */
async function pickRootCheck(ctx: CommandContext, source: string): Promise<string | null> {
    const info = ctx.model.sources().find((s) => s.id === source);
    if (!info || info.kind === "workspace") return null;
    const images = ctx.model.rootImages(source);
    if (images.length === 0) return null;
    const pick = await vscode.window.showQuickPick(
        [
            { label: "Stored digests", description: "recompute every blob Layerscope stored for this root", image: null as string | null },
            ...images.map((image) => ({ label: `Image ${displayText(image)}`, description: "recompute its layers from the root's snapshots and compare with the config's diff_ids", image })),
        ],
        { title: `Layerscope: Verify ${displayText(info.label)}`, placeHolder: "What to verify" },
    );
    if (!pick) throw new PickCanceled();
    return pick.image;
}

/** `verify ROOT --image NAME`, shown on the graph; exit-code semantics as the CLI's. */
async function verifyRootImage(ctx: CommandContext, source: string, image: string): Promise<ImageVerifyReport> {
    const op = ctx.model.verifyRootImage(source, image);
    const report = await withProgress(op, `verifying image ${image} in ${sourceLabel(ctx, source)}`);
    if (op.joined) return report;
    ctx.log.block(`verify ${sourceLabel(ctx, source)} --image ${image}: ${report.ok ? "every layer recomputes to its diff_id" : "some layers differ"}`, report.layers.map((l) => `${l.ok ? "ok      " : "MISMATCH"}  ${l.message}`));
    const bad = report.layers.filter((l) => !l.ok);
    const content = bad.filter((l) => !l.original?.contentMatches);
    const message = `Layerscope: ${image}: ${report.layers.length - bad.length} of ${report.layers.length} layer(s) recompute to their diff_ids${bad.length ? `; ${bad.length - content.length} differ only in the tar writer, ${content.length} in content` : ""}`;
    void (content.length === 0 ? showInfo(message, "Show Log") : showError(message, "Show Log")).then((pick) => pick && ctx.log.channel.show(true));
    return report;
}

type IdField = "diffID" | "chainID" | "blobChainID";

export async function copyId(ctx: CommandContext, arg: unknown, field: IdField): Promise<string> {
    const { target } = await resolveTarget(ctx.model, arg, `Copy ${field}`);
    const report = await ctx.model.report(target.source, target.ref);
    const value = report[field];
    if (!value) throw missing(report, field);
    return copy(field, value);
}

export async function copyBlobDigest(ctx: CommandContext, arg: unknown): Promise<string> {
    const blob = await blobOf(ctx, arg, "Copy Blob Digest");
    return copy("blob digest", blob.digest);
}

/** A click on an ID row in the tree. */
export async function copyValue(_ctx: CommandContext, name: unknown, value: unknown): Promise<string> {
    if (typeof name !== "string" || typeof value !== "string") throw new EngineError("InvalidArgument", "copyValue takes a name and a value");
    return copy(name, value);
}

async function copy(name: string, value: string): Promise<string> {
    await vscode.env.clipboard.writeText(value);
    vscode.window.setStatusBarMessage(statusText(`Layerscope: copied ${name} ${value}`), 4000);
    return value;
}

/** Reveal Blob File: in the Explorer when the store is inside an open folder, else in the OS. */
export async function revealBlob(ctx: CommandContext, arg: unknown): Promise<void> {
    const blob = await blobOf(ctx, arg, "Reveal Blob File");
    const uri = vscode.Uri.file(blob.path);
    if (vscode.workspace.getWorkspaceFolder(uri)) {
        await vscode.commands.executeCommand("revealInExplorer", uri);
    } else if (!vscode.env.remoteName && vscode.env.uiKind === vscode.UIKind.Desktop) {
        await vscode.commands.executeCommand("revealFileInOS", uri);
    } else {
        const pick = await showInfo(`Layerscope: blob ${shortDigest(blob.digest)} is ${blob.path}`, "Copy Path");
        if (pick) await vscode.env.clipboard.writeText(blob.path);
    }
}

/** The blob a command is about: a variant row's own, else the ref's main blob. */
async function blobOf(ctx: CommandContext, arg: unknown, title: string): Promise<BlobReport> {
    const resolved = await resolveTarget(ctx.model, arg, title);
    if (resolved.node?.type === "variant") return resolved.node.blob;
    const report = await ctx.model.report(resolved.target.source, resolved.target.ref);
    if (!report.blob) throw missing(report, "blob");
    return report.blob;
}

/** A parent row's click: select the parent's own row. */
export async function revealRef(ctx: CommandContext, arg: unknown): Promise<void> {
    const t = parseRefTarget(arg);
    await ctx.view.reveal(ctx.tree.refNode(t.source, t.ref), { select: true, focus: true, expand: false });
}

function missing(report: RefReport, what: string): EngineError {
    const why = report.kind === "Merge" && what !== "chainID" && what !== "blobChainID" ? "a Merge has no blob of its own; its layers do" : "run Compute Blob Chain… on it first";
    return new EngineError("FailedPrecondition", `ref ${JSON.stringify(report.id)} has no ${what} yet: ${why}`, { ref: report.id });
}

function isSourceNode(arg: unknown): arg is { type: "source"; source: string } {
    return typeof arg === "object" && arg !== null && (arg as { type?: unknown }).type === "source" && typeof (arg as { source?: unknown }).source === "string";
}

export function sourceLabel(ctx: CommandContext, source: string): string {
    return ctx.model.sources().find((s) => s.id === source)?.label ?? path.basename(source);
}

export function reportLines(r: RefReport): string[] {
    const lines = [`${r.id}  ${r.kind}${r.layers.length ? `  layers: ${r.layers.join(" ")}` : ""}`];
    if (r.diffID) lines.push(`  diffID       ${r.diffID}`);
    if (r.chainID) lines.push(`  chainID      ${r.chainID}`);
    if (r.blobChainID) lines.push(`  blobChainID  ${r.blobChainID}`);
    if (r.buildkit) lines.push(`  BuildKit records chainID ${r.buildkit.chainID || "(none)"}, blobChainID ${r.buildkit.blobChainID || "(none)"}`);
    for (const v of r.variants) {
        const role = v.digest === r.blob?.digest ? "blob   " : "variant";
        lines.push(`  ${role}      ${v.digest}  ${v.mediaType}  ${formatBytes(v.size)}${v.buildkitComparable ? "" : "  (not BuildKit-comparable)"}`);
    }
    return lines;
}
