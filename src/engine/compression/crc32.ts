/**
 * CRC-32 (IEEE 802.3, as gzip's trailer and Go's `crc32.IEEETable` use it). Node has
 * `zlib.crc32` only from 20.15; VS Code's extension host runs an older Node 20 (Electron), so a
 * table-driven fallback (slicing by 4) stands in when it is missing.
 */
import * as zlib from "node:zlib";

type Crc32 = (data: Uint8Array, value?: number) => number;

function makeTables(): Uint32Array[] {
    const t0 = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
        let c = n;
        for (let k = 0; k < 8; k++) {
            c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
        }
        t0[n] = c >>> 0;
    }
    const tables = [t0];
    for (let i = 1; i < 4; i++) {
        const prev = tables[i - 1]!;
        const t = new Uint32Array(256);
        for (let n = 0; n < 256; n++) {
            t[n] = (prev[n]! >>> 8) ^ t0[prev[n]! & 0xff]!;
        }
        tables.push(t);
    }
    return tables;
}

let tables: Uint32Array[] | undefined;

/** The JS CRC-32, exported for tests (it must agree with zlib's). */
export function crc32js(data: Uint8Array, value = 0): number {
    const [t0, t1, t2, t3] = (tables ??= makeTables()) as [Uint32Array, Uint32Array, Uint32Array, Uint32Array];
    let crc = ~value >>> 0;
    let i = 0;
    for (const end = data.length - 3; i < end; i += 4) {
        crc ^= data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
        crc = t3[crc & 0xff]! ^ t2[(crc >>> 8) & 0xff]! ^ t1[(crc >>> 16) & 0xff]! ^ t0[crc >>> 24]!;
    }
    for (; i < data.length; i++) {
        crc = t0[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
    }
    return ~crc >>> 0;
}

const native = (zlib as { crc32?: Crc32 }).crc32;

/** crc32(data, previous) -> the running CRC-32, unsigned. */
export const crc32: Crc32 = typeof native === "function" ? native : crc32js;
