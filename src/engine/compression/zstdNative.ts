/**
 * The native libzstd binding, called directly. `@mongodb-js/zstd` 1.2.x's `index.js` wraps the
 * N-API functions in `compress(data)`, dropping the level argument its own typings declare, so
 * every call compressed at the binding's default (3) whatever level BuildKit's mapping chose.
 * `bindings.js` is the package's loader of the per-platform `.node` file (shipped inside the npm
 * packages, no download); its `compress(data, level)` takes the level.
 */
import type { compress as typedCompress, decompress as typedDecompress } from "@mongodb-js/zstd";

interface NativeZstd {
    compress: typeof typedCompress;
    decompress: typeof typedDecompress;
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const native = require("@mongodb-js/zstd/bindings") as NativeZstd;

/** N-API errors carry no JS stack: rethrown as Errors made here (as index.js does). */
async function withStack<T>(p: Promise<T>): Promise<T> {
    try {
        return await p;
    } catch (e) {
        throw new Error(`zstd: ${e instanceof Error ? e.message : String(e)}`);
    }
}

/** One zstd frame of `data` at libzstd level `level` (no content size, no checksum). */
export function zstdCompress(data: Buffer, level: number): Promise<Buffer> {
    return withStack(native.compress(data, level));
}

/** The whole content of a complete zstd stream (bounded input only). */
export function zstdDecompress(data: Buffer): Promise<Buffer> {
    return withStack(native.decompress(data));
}
