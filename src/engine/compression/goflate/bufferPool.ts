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
 * Batches of small members (memberBatch.ts) go the same way: the batch's input in a pooled
 * buffer, the worker's reply written over it, and the reply cut into one view per member.
 *
 * Only buffers this module handed out and got back as a reply (`adoptReply`)
 * are ever taken back, and only once every view handed out of them was given back (one per
 * member for a batch): a buffer a consumer might still read is never reused.
 */

/** Room for a 1 MiB write (the tar is read 1 MiB at a time) and its reply, which may be larger. */
export const POOL_BUFFER_BYTES = (1 << 20) + (64 << 10);
/** Writes smaller than this get a buffer of their own size: a pooled one would be mostly empty. */
const MIN_POOLED_WRITE = 256 << 10;
/** Idle buffers kept at most (~9 MiB). */
const MAX_IDLE = 8;

const idle: ArrayBuffer[] = [];
/** Pooled copies made so far, and how many of them reused a buffer that came back. */
const counts = { pooled: 0, reused: 0 };
/** Replies in pooled buffers, with how many of their views are still to come back. */
const adopted = new WeakMap<ArrayBuffer, number>();

/** A copy of `chunk` in a buffer of its own, to transfer to a worker: a pooled one when large. */
export function copyForWorker(chunk: Uint8Array): Uint8Array {
    if (chunk.length < MIN_POOLED_WRITE || chunk.length > POOL_BUFFER_BYTES) {
        return new Uint8Array(chunk);
    }
    const view = pooledView(chunk.length);
    view.set(chunk);
    return view;
}

/** `n` bytes to fill and transfer to a worker: the start of a pooled buffer when n fits one. */
export function bufferForWorker(n: number): Uint8Array {
    return n <= POOL_BUFFER_BYTES ? pooledView(n) : new Uint8Array(n);
}

function pooledView(n: number): Uint8Array {
    counts.pooled++;
    let ab = idle.pop();
    if (ab === undefined) {
        ab = new ArrayBuffer(POOL_BUFFER_BYTES);
    } else {
        counts.reused++;
    }
    return new Uint8Array(ab, 0, n);
}

/**
 * Called on a worker's reply, pooled buffer or not, cut into `views` views (a member's reply is
 * one; a batch's, one per member), each given back once.
 */
export function adoptReply(out: Uint8Array, views = 1): void {
    if (out.byteOffset === 0 && out.buffer.byteLength === POOL_BUFFER_BYTES && out.buffer instanceof ArrayBuffer && views > 0) {
        adopted.set(out.buffer, views);
    }
}

/**
 * Gives back one view of an adopted reply once nothing reads `chunk` any more; its buffer returns
 * to the pool with the last one. Anything else (zlib's output, replies in buffers of their own)
 * is left to the garbage collector.
 */
export function recycle(chunk: Uint8Array): void {
    const ab = chunk.buffer;
    if (!(ab instanceof ArrayBuffer)) {
        return;
    }
    const left = adopted.get(ab);
    if (left === undefined) {
        return;
    }
    if (left > 1) {
        adopted.set(ab, left - 1);
        return;
    }
    adopted.delete(ab);
    if (idle.length < MAX_IDLE) {
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
