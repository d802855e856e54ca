/**
 * Docker's original layer tar, reassembled the way Docker does it (vbatts/tar-split, used by
 * moby `layer/layer_store.go` `assembleTarTo`): `tar-split.json.gz` holds, one JSON object a
 * line, the raw header and padding bytes (type 2, base64 `payload`) and, for each file, its name
 * and size (type 1) whose bytes come from the layer's diff directory.
 *
 * File names are checked before they are opened: relative, no "..", and resolved inside the
 * diff directory (no symlink out of it).
 */
import { createReadStream, realpathSync } from "node:fs";
import * as path from "node:path";
import { createInterface } from "node:readline";
import { createGunzip } from "node:zlib";
import { EngineError, fromSystemError } from "../errors";
import { TarSummary } from "./tarSummary";

interface Entry {
    type: number;
    name?: string;
    size?: number;
    payload?: string | null;
}

export async function summarizeTarSplit(file: string, diffDir: string, signal?: AbortSignal): Promise<{ summary: TarSummary; diffID: string } | null> {
    const summary = new TarSummary(file);
    const lines = createInterface({ input: createReadStream(file).pipe(createGunzip()), crlfDelay: Infinity });
    const realDiff = realpathSync(diffDir);
    try {
        for await (const line of lines) {
            signal?.throwIfAborted();
            if (!line.trim()) continue;
            const e = JSON.parse(line) as Entry;
            if (e.type === 2) {
                if (e.payload) summary.write(Buffer.from(e.payload, "base64"));
            } else if (e.type === 1) {
                const size = e.size ?? 0;
                if (size > 0) await copyFile(realDiff, e.name ?? "", size, summary, file);
            }
        }
    } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT" && (err as NodeJS.ErrnoException).path === file) return null;
        if (err instanceof SyntaxError) throw new EngineError("Corrupt", `${file}: not tar-split JSON lines`, { path: file }, { cause: err });
        throw fromSystemError(err, file, "reassembling Docker's original layer tar");
    }
    return { summary, diffID: summary.digest() };
}

async function copyFile(diffDir: string, name: string, size: number, out: TarSummary, file: string): Promise<void> {
    const rel = path.normalize(name.replace(/^\/+/, ""));
    if (rel.startsWith("..") || path.isAbsolute(rel)) {
        throw new EngineError("UnsafePath", `${file}: entry ${JSON.stringify(name)} leaves the layer`, { path: file });
    }
    const p = path.join(diffDir, rel);
    const real = realpathSync(p);
    if (real !== p && !real.startsWith(diffDir + path.sep)) {
        throw new EngineError("UnsafePath", `${file}: entry ${JSON.stringify(name)} resolves outside the layer (${real})`, { path: file });
    }
    let left = size;
    for await (const chunk of createReadStream(real, { start: 0, end: size - 1 })) {
        out.write(chunk as Buffer);
        left -= (chunk as Buffer).length;
    }
    if (left > 0) out.write(Buffer.alloc(left)); // the file shrank since: the sum will not match
}
