/**
 * The XXH64 stripe loop as a tiny WebAssembly module, assembled here from its instructions so
 * no binary blob lives in the repository. It is the spec's inner loop, nothing more:
 *
 *   for (p = start; p < end; p += 32)
 *       for k in 0..3: v[k] = rotl64(v[k] + load64le(p + 8k) * PRIME64_2, 31) * PRIME64_1
 *
 * with v[0..3] read from and written back to memory[0..32). Everything else of XXH64 (setup,
 * convergence, tail, avalanche) stays in xxh64.ts.
 */

const PRIME64_1 = 0x9e3779b185ebca87n;
const PRIME64_2 = 0xc2b2ae3d27d4eb4fn;
const STATE_BYTES = 32;
const PAGE = 65536;

// Opcodes (WebAssembly core spec §5.4).
const LOCAL_GET = 0x20, LOCAL_SET = 0x21, I64_LOAD = 0x29, I64_STORE = 0x37, I64_CONST = 0x42;
const I32_CONST = 0x41, I32_ADD = 0x6a, I32_GE_U = 0x4f, I64_ADD = 0x7c, I64_MUL = 0x7e, I64_ROTL = 0x89;
const BLOCK = 0x02, LOOP = 0x03, BR = 0x0c, BR_IF = 0x0d, END = 0x0b, VOID = 0x40;
const I32 = 0x7f, I64 = 0x7e, ALIGN_8 = 3;

function uleb(n: number): number[] {
    const out: number[] = [];
    do {
        let b = n & 0x7f;
        n >>>= 7;
        if (n !== 0) b |= 0x80;
        out.push(b);
    } while (n !== 0);
    return out;
}

/** Signed LEB128 of a 64-bit constant given as unsigned. */
function sleb64(u: bigint): number[] {
    let v = u >= 1n << 63n ? u - (1n << 64n) : u;
    const out: number[] = [];
    for (;;) {
        const b = Number(v & 0x7fn);
        v >>= 7n;
        if ((v === 0n && (b & 0x40) === 0) || (v === -1n && (b & 0x40) !== 0)) {
            out.push(b);
            return out;
        }
        out.push(b | 0x80);
    }
}

function section(id: number, body: number[]): number[] {
    return [id, ...uleb(body.length), ...body];
}

function name(s: string): number[] {
    return [...uleb(s.length), ...Buffer.from(s, "latin1")];
}

function moduleBytes(): Uint8Array {
    // Params: 0 = p, 1 = end, 2 = state; locals 3..6 = v1..v4.
    const lane = (k: number): number[] => [
        LOCAL_GET, 3 + k, LOCAL_GET, 0, I64_LOAD, ALIGN_8, ...uleb(8 * k),
        I64_CONST, ...sleb64(PRIME64_2), I64_MUL, I64_ADD,
        I64_CONST, 31, I64_ROTL, I64_CONST, ...sleb64(PRIME64_1), I64_MUL, LOCAL_SET, 3 + k,
    ];
    const body: number[] = [1, 4, I64];
    for (let k = 0; k < 4; k++) body.push(LOCAL_GET, 2, I64_LOAD, ALIGN_8, ...uleb(8 * k), LOCAL_SET, 3 + k);
    body.push(BLOCK, VOID, LOOP, VOID, LOCAL_GET, 0, LOCAL_GET, 1, I32_GE_U, BR_IF, 1);
    for (let k = 0; k < 4; k++) body.push(...lane(k));
    body.push(LOCAL_GET, 0, I32_CONST, 32, I32_ADD, LOCAL_SET, 0, BR, 0, END, END);
    for (let k = 0; k < 4; k++) body.push(LOCAL_GET, 2, LOCAL_GET, 3 + k, I64_STORE, ALIGN_8, ...uleb(8 * k));
    body.push(END);
    return Uint8Array.from([
        0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
        ...section(1, [1, 0x60, 3, I32, I32, I32, 0]),
        ...section(3, [1, 0]),
        ...section(5, [1, 0x00, 1]),
        ...section(7, [2, ...name("memory"), 0x02, 0, ...name("stripes"), 0x00, 0]),
        ...section(10, [1, ...uleb(body.length), ...body]),
    ]);
}

/** The part of the WebAssembly JS API used here (TypeScript's DOM lib is not loaded). */
interface WasmMemory {
    readonly buffer: ArrayBuffer;
    grow(pages: number): number;
}
interface WasmApi {
    Module: new (bytes: Uint8Array) => object;
    Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}
interface Stripes {
    memory: WasmMemory;
    run: (p: number, end: number, state: number) => void;
}

let instance: Stripes | null | undefined;

function load(): Stripes | null {
    if (instance === undefined) {
        try {
            const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
            const inst = new wasm.Instance(new wasm.Module(moduleBytes()), {});
            instance = { memory: inst.exports.memory as WasmMemory, run: inst.exports.stripes as Stripes["run"] };
        } catch {
            instance = null; // no WebAssembly: the caller runs the JS loop
        }
    }
    return instance;
}

/**
 * Runs the stripe loop over data[0, n) (n a multiple of 32) on `lanes` = [v1h, v1l, ... v4l],
 * updating them in place. Returns false when WebAssembly is unavailable.
 */
export function wasmStripes(data: Uint8Array, n: number, lanes: number[]): boolean {
    const w = load();
    if (w === null) {
        return false;
    }
    const need = STATE_BYTES + n;
    if (w.memory.buffer.byteLength < need) {
        w.memory.grow(Math.ceil((need - w.memory.buffer.byteLength) / PAGE));
    }
    const view = new DataView(w.memory.buffer);
    for (let k = 0; k < 4; k++) {
        view.setUint32(8 * k, lanes[2 * k + 1]!, true);
        view.setUint32(8 * k + 4, lanes[2 * k]!, true);
    }
    new Uint8Array(w.memory.buffer, STATE_BYTES, n).set(data.subarray(0, n));
    w.run(STATE_BYTES, STATE_BYTES + n, 0);
    for (let k = 0; k < 4; k++) {
        lanes[2 * k + 1] = view.getUint32(8 * k, true);
        lanes[2 * k] = view.getUint32(8 * k + 4, true);
    }
    return true;
}
