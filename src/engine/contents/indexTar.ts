/**
 * Indexes a layer tar read as a stream (any compression but eStargz's TOC path): one pass of
 * the decompressed bytes through the tar scanner, recording each entry and where its payload
 * starts. Nothing is kept but the index; the pass is cancelable.
 */
import type { Readable } from "node:stream";
import { TarScanner } from "../compression/estargz/tarScanner";
import type { ScannedEntry } from "../compression/estargz/tarEntry";
import { EngineError } from "../errors";
import { MAX_LAYER_NODES, type PayloadSource, TarIndexTree } from "./tarIndexTree";

/** Entries one layer may hold before we refuse it (memory is one node per entry). */
export const MAX_LAYER_ENTRIES = 4_000_000;

/** `maxNodes` bounds the index's nodes, implicit parents included (MAX_LAYER_NODES by default). */
export async function indexTarStream(tar: Readable, label: string, payloads: PayloadSource, signal?: AbortSignal, maxNodes = MAX_LAYER_NODES): Promise<TarIndexTree> {
    const tree = new TarIndexTree(label, payloads, "tar", maxNodes);
    let pos = 0;
    let waiting: ScannedEntry | null = null;
    const take = (e: ScannedEntry, offset: number): void => {
        if (tree.entries >= MAX_LAYER_ENTRIES) {
            throw new EngineError("Unsupported", `${label}: more than ${MAX_LAYER_ENTRIES} entries; too many to index`, { path: label });
        }
        tree.add(e, e.dataSize > 0 || e.size === 0 ? { offset, size: e.dataSize } : null);
    };
    const scanner = new TarScanner({
        raw: async (b) => {
            pos += b.length;
        },
        entry: (e) => {
            if (e.dataSize > 0) {
                waiting = e; // its payload starts where the first data() call is
            } else {
                take(e, pos);
            }
        },
        data: async (b) => {
            if (waiting) {
                take(waiting, pos);
                waiting = null;
            }
            pos += b.length;
        },
    });
    try {
        for await (const chunk of tar) {
            signal?.throwIfAborted();
            await scanner.push(chunk as Buffer);
        }
        scanner.end();
        tree.tarBytes = pos;
    } catch (err) {
        tar.destroy();
        if (signal?.aborted) throw new EngineError("Canceled", `${label}: canceled while reading the layer`, { path: label }, { cause: err });
        if (err instanceof EngineError) {
            if (err.code === "Corrupt" || err.code === "Unsupported" || err.code === "UnsafePath") {
                throw new EngineError(err.code, `${label}: ${err.message}`, { ...err.data, path: label }, { cause: err });
            }
            throw err;
        }
        throw new EngineError("Corrupt", `${label}: not a readable layer tar: ${(err as Error).message}`, { path: label }, { cause: err });
    }
    return tree;
}
