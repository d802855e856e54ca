/**
 * Quick picks for commands run from the palette: source (when several), ref, compression type
 * (the setting's default first), level.
 */
import * as vscode from "vscode";
import { type CompressionType, EngineError } from "../../engine";
import type { CompressionRequest, SourceInfo } from "../model/hostApi";
import { COMPRESSIONS, type Settings } from "../model/settings";
import type { SourceModel } from "../model/sourceModel";
import { shortDigest } from "../tree/format";
import { displayText } from "../../display/displayText";

/** Thrown when the user dismisses a picker: the command ends quietly. */
export class PickCanceled extends EngineError {
    constructor() {
        super("Canceled", "canceled");
    }
}

export async function pickSource(model: SourceModel, title: string): Promise<SourceInfo> {
    const open = model.sources().filter((s) => !s.error);
    if (open.length === 0) {
        const broken = model.sources().filter((s) => s.error);
        throw new EngineError(
            "NotFound",
            broken.length
                ? `no snapshot source could be opened (${broken.map((s) => `${s.label}: ${s.error}`).join("; ")})`
                : "no snapshot source is open: open a folder with a layerscope.json, or run Layerscope: Open Snapshot Source…",
        );
    }
    if (open.length === 1) return open[0]!;
    const pick = await vscode.window.showQuickPick(
        open.map((s) => ({ label: displayText(s.label), description: displayText(s.root), source: s })),
        { title: displayText(title), placeHolder: "Snapshot source", matchOnDescription: true },
    );
    if (!pick) throw new PickCanceled();
    return pick.source;
}

/** A ref id; with `allRefs`, the first item is "All refs" and picking it returns "". */
export async function pickRef(model: SourceModel, source: string, title: string, allRefs = false): Promise<string> {
    const ids = await model.refIds(source);
    const all = allRefs ? [{ label: "All refs", description: `${ids.length} refs`, detail: undefined as string | undefined, id: "" }] : [];
    const items = ids.map((id) => {
        const s = model.summary(source, id);
        return {
            label: displayText(id),
            description: `${s?.kind ?? ""} · ${s?.diffID ? shortDigest(s.diffID) : "no blob"}`,
            detail: s?.description ? displayText(s.description) : undefined,
            id,
        };
    });
    const pick = await vscode.window.showQuickPick([...all, ...items], { title: displayText(title), placeHolder: "Ref (type to filter by id, kind or diffID)", matchOnDescription: true, matchOnDetail: true });
    if (!pick) throw new PickCanceled();
    return pick.id;
}

const TYPE_DETAIL: Readonly<Record<CompressionType, (s: Settings) => string>> = {
    gzip: (s) => (s.gzipImplementation === "go" ? "Go-exact deflate: the digest BuildKit would push" : "zlib (gzipImplementation: fast): digest not BuildKit-comparable"),
    zstd: () => "libzstd: digest not BuildKit-comparable (BuildKit uses klauspost/compress)",
    estargz: (s) => (s.gzipImplementation === "go" ? "lazy-pullable gzip with a TOC: BuildKit-comparable" : "zlib (gzipImplementation: fast): digest not BuildKit-comparable"),
    uncompressed: () => "the layer tar itself: blob digest = diffID",
};

export async function pickCompression(settings: Settings, title: string): Promise<CompressionRequest> {
    const order = [settings.defaultCompression, ...COMPRESSIONS.filter((t) => t !== settings.defaultCompression)];
    const pick = await vscode.window.showQuickPick(
        order.map((t) => ({ label: t, description: t === settings.defaultCompression ? "default (layerscope.defaultCompression)" : "", detail: TYPE_DETAIL[t](settings), type: t })),
        { title: displayText(title), placeHolder: "Compression" },
    );
    if (!pick) throw new PickCanceled();
    if (pick.type === "uncompressed") return { compression: pick.type };
    const level = await pickLevel(pick.type, settings, title);
    return level === undefined ? { compression: pick.type } : { compression: pick.type, level };
}

/** Levels BuildKit accepts: Go's gzip levels, or the ints toZstdEncoderLevel maps to klauspost's four levels. */
const LEVELS: Readonly<Record<"gzip" | "zstd", readonly { level: number; label: string }[]>> = {
    gzip: [
        { level: 1, label: "BestSpeed" },
        { level: 6, label: "(same bytes as Default)" },
        { level: 9, label: "BestCompression" },
        { level: 0, label: "NoCompression" },
        { level: -2, label: "HuffmanOnly" },
        ...[2, 3, 4, 5, 7, 8].map((level) => ({ level, label: "" })),
    ],
    zstd: [
        { level: 1, label: "SpeedFastest (levels < 3)" },
        { level: 3, label: "SpeedDefault (levels 3-6)" },
        { level: 7, label: "SpeedBetterCompression (levels 7-8)" },
        { level: 9, label: "SpeedBestCompression (levels ≥ 9)" },
    ],
};

async function pickLevel(type: Exclude<CompressionType, "uncompressed">, settings: Settings, title: string): Promise<number | undefined> {
    const def = settings.compressionLevel;
    const items = [
        { label: "Default", description: def === undefined ? "the compressor's default level" : `layerscope.compressionLevel: ${def}`, level: undefined as number | undefined },
        ...LEVELS[type === "zstd" ? "zstd" : "gzip"].map((l) => ({ label: String(l.level), description: l.label, level: l.level as number | undefined })),
    ];
    const pick = await vscode.window.showQuickPick(items, { title: displayText(title), placeHolder: `${type} level` });
    if (!pick) throw new PickCanceled();
    return pick.level;
}
