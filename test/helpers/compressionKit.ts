/** Small drivers for the compression tests: encode to memory, decode to memory, tool lookup. */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import type { Readable } from "node:stream";
import {
    type CompressionConfig,
    type CompressionType,
    createEncoder,
    type EncodeResult,
    type EncoderOptions,
    openDecoded,
} from "../../src/engine/compression/index";

export function sha256(b: Buffer): string {
    return `sha256:${createHash("sha256").update(b).digest("hex")}`;
}

export interface Encoded {
    readonly blob: Buffer;
    readonly result: EncodeResult;
}

/**
 * Feeds `input` in `chunk`-byte writes. With `overlapping`, writes are issued without waiting
 * for the previous one, as TarStream does; each chunk buffer is reused (scribbled over) only
 * after its promise settled, which the encoder must tolerate.
 */
export async function encode(
    config: CompressionConfig,
    input: Buffer,
    options: EncoderOptions & { chunk?: number; overlapping?: boolean } = {},
): Promise<Encoded> {
    const out: Buffer[] = [];
    const enc = createEncoder(config, { write: async (b) => void out.push(Buffer.from(b)) }, options);
    const step = options.chunk ?? 1024 * 1024;
    const pending: Promise<void>[] = [];
    for (let off = 0; off < input.length; off += step) {
        const copy = Buffer.from(input.subarray(off, off + step));
        const p = enc.write(copy).then(() => void copy.fill(0xa5));
        if (options.overlapping) pending.push(p);
        else await p;
    }
    await Promise.all(pending);
    const result = await enc.finish();
    return { blob: Buffer.concat(out), result };
}

export async function readAll(stream: Readable | AsyncIterable<Buffer>): Promise<Buffer> {
    const parts: Buffer[] = [];
    for await (const c of stream) parts.push(c as Buffer);
    return Buffer.concat(parts);
}

export function decode(source: string | Readable | AsyncIterable<Buffer>, type: CompressionType): Promise<Buffer> {
    return readAll(openDecoded(source, type));
}

/** Whether a command-line tool is on PATH (`zstd`, `gzip`). */
export function hasTool(name: string): boolean {
    return spawnSync("sh", ["-c", `command -v ${name}`]).status === 0;
}

/** Runs a tool with `input` on stdin; returns stdout or throws with its stderr. */
export function runTool(cmd: string, args: string[], input?: Buffer): Buffer {
    const r = spawnSync(cmd, args, { input, maxBuffer: 1 << 30 });
    if (r.status !== 0) {
        throw new Error(`${cmd} ${args.join(" ")} failed (${r.status}): ${r.stderr?.toString()}`);
    }
    return r.stdout;
}

/** Deterministic pseudo-random bytes (xorshift), so failures reproduce. */
export function randomBytes(n: number, seed = 1): Buffer {
    const b = Buffer.allocUnsafe(n);
    let x = seed >>> 0 || 1;
    for (let i = 0; i < n; i++) {
        x ^= x << 13; x >>>= 0;
        x ^= x >>> 17;
        x ^= x << 5; x >>>= 0;
        b[i] = x & 0xff;
    }
    return b;
}

/** Compressible bytes: repeated text with a counter. */
export function textBytes(n: number): Buffer {
    const parts: string[] = [];
    let len = 0;
    for (let i = 0; len < n; i++) {
        const line = `line ${i} of some fairly compressible layer content\n`;
        parts.push(line);
        len += line.length;
    }
    return Buffer.from(parts.join("")).subarray(0, n);
}
