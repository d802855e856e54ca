/**
 * Buffers that go round between the main thread and the goflate workers instead of being
 * allocated per write. A large write to a worker member is copied into a pooled buffer and
 * transferred; the worker writes its compressed reply into the same buffer and transfers it
 * back (goflateWorker.ts); the reply's final consumer (eStargz's member pipeline, once the
 * bytes are in the blob) gives it back here.
 *
 * Why: each reply used to be a new buffer, and those that waited behind the head member were
 * promoted before they died, so tens of MiB of dead buffers sat in the old generation until
 * the next mark-compact (the bench's eStargz run: ~25 MiB of RSS).
 *
 * Only buffers this module handed out and got back as a whole reply (`adoptReply`) are ever
 * taken back, and each at most once: a buffer a consumer might still read is never reused.
 */

/** Room for a 1 MiB write (the tar is read 1 MiB at a time) and its reply, which may be larger. */
export const POOL_BUFFER_BYTES = (1 << 20) + (64 << 10);
/** Writes smaller than this get a buffer of their own size: a pooled one would be mostly empty. */
const MIN_POOLED_WRITE = 256 << 10;
/** Idle buffers kept at most (~9 MiB). */
const MAX_IDLE = 8;

const idle: ArrayBuffer[] = [];
/** Pooled copies made so far, and how many of them reused a buffer that came back. */
const counts = ((globalThis as any).__bp = { pooled: 0, reused: 0 });
/** Replies in pooled buffers, not yet given back. */
const adopted = new WeakSet<ArrayBuffer>();

/** A copy of `chunk` in a buffer of its own, to transfer to a worker: a pooled one when large. */
export function copyForWorker(chunk: Uint8Array): Uint8Array {
    if (chunk.length < MIN_POOLED_WRITE || chunk.length > POOL_BUFFER_BYTES) {
        return new Uint8Array(chunk);
    }
    counts.pooled++;
    let ab = idle.pop();
    if (ab === undefined) {
        ab = new ArrayBuffer(POOL_BUFFER_BYTES);
    } else {
        counts.reused++;
    }
    const view = new Uint8Array(ab, 0, chunk.length);
    view.set(chunk);
    return view;
}

/** Called on a worker's reply: a reply that fills the start of a pool-sized buffer may come back. */
export function adoptReply(out: Uint8Array): void {
    if (out.byteOffset === 0 && out.buffer.byteLength === POOL_BUFFER_BYTES && out.buffer instanceof ArrayBuffer) {
        adopted.add(out.buffer);
    }
}

/**
 * Gives a reply's buffer back once nothing reads `chunk` any more. Anything else (zlib's output,
 * batch replies, a buffer given back already) is left to the garbage collector.
 */
export function recycle(chunk: Uint8Array): void {
    const ab = chunk.buffer;
    if (ab instanceof ArrayBuffer && adopted.delete(ab) && idle.length < MAX_IDLE) {
        idle.push(ab);
    }
}

/** Drops the idle buffers (when no eStargz blob is being written, nothing should hold them). */
export function releaseIdleBuffers(): void {
    idle.length = 0;
}

/** For tests and diagnostics: pooled copies so far, reuses among them, idle buffers now. */
export function bufferPoolState(): { pooled: number; reused: number; idle: number } {
    return { ...counts, idle: idle.length };
}
