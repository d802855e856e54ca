/**
 * A bbolt bucket, read-only: cursor iteration in key order and point lookups. Mirrors
 * go.etcd.io/bbolt `bucket.go` (`openBucket`, inline buckets) and `cursor.go` (`first`/`next`,
 * `search`), over pages checked by the transaction (boltDB.ts).
 *
 * A bucket's B+tree: branch elements hold the smallest key of their child page; leaf elements
 * hold a key and a value, or (BUCKET_LEAF_FLAG) a nested bucket's 16-byte header. A header with
 * root 0 is an inline bucket: a complete leaf page follows it inside the value. Element `pos`
 * is relative to the element itself.
 */
import type { BoltTx } from "./boltDB";
import {
    BRANCH_ELEMENT_SIZE,
    type BranchElement,
    BUCKET_HEADER_SIZE,
    BUCKET_LEAF_FLAG,
    LEAF_ELEMENT_SIZE,
    LEAF_PAGE_FLAG,
    type LeafElement,
    PAGE_HEADER_SIZE,
    readU64,
} from "./page";

/** B+tree depth bound: bbolt trees are a handful of levels deep even for huge files. */
const MAX_DEPTH = 64;
/** Nested-bucket depth bound (containerd nests 6 deep). */
const MAX_NESTING = 256;

export type BoltEntry =
    | { readonly key: Buffer; readonly value: Buffer; readonly bucket?: undefined }
    | { readonly key: Buffer; readonly bucket: Bucket; readonly value?: undefined };

export class Bucket {
    /** Identifies the bucket in corruption checks: its key path, hex. */
    private readonly owner: string;

    constructor(
        private readonly tx: BoltTx,
        /** Keys from the root bucket down to this one. */
        readonly path: readonly Buffer[],
        /** Root page id; 0 for an inline bucket. */
        readonly rootPage: number,
        readonly sequence: bigint,
        /** An inline bucket's leaf page (bytes after the bucket header). */
        private readonly inline: Buffer | null,
    ) {
        this.owner = path.map((k) => k.toString("hex")).join("/");
        if (path.length > MAX_NESTING) {
            throw tx.corrupt(rootPage, `buckets nested more than ${MAX_NESTING} deep`);
        }
    }

    get name(): string {
        return this.path.map((k) => k.toString("utf8")).join("/");
    }

    /** Every entry in key order (bytewise). */
    *entries(): Generator<BoltEntry> {
        let prev: Buffer | null = null;
        for (const e of this.leafElements()) {
            if (prev && Buffer.compare(prev, e.key) >= 0) {
                throw this.tx.corrupt(this.rootPage || null, `bucket ${this.describe()}: keys out of order (${e.key.toString("hex")} after ${prev.toString("hex")})`);
            }
            prev = e.key;
            yield this.toEntry(e);
        }
    }

    /** The value stored under `key`; null when absent or when `key` names a nested bucket. */
    get(key: Buffer | string): Buffer | null {
        const e = this.seek(toKey(key));
        return e && (e.flags & BUCKET_LEAF_FLAG) === 0 ? e.value : null;
    }

    /** The nested bucket `key`; null when absent or when `key` holds a plain value. */
    bucket(key: Buffer | string): Bucket | null {
        const e = this.seek(toKey(key));
        return e && (e.flags & BUCKET_LEAF_FLAG) !== 0 ? this.openNested(e) : null;
    }

    /** Follows a path of nested buckets; null if any is missing. */
    dig(...keys: Array<Buffer | string>): Bucket | null {
        let b: Bucket | null = this;
        for (const k of keys) {
            b = b.bucket(k);
            if (!b) return null;
        }
        return b;
    }

    private toEntry(e: LeafElement): BoltEntry {
        return (e.flags & BUCKET_LEAF_FLAG) !== 0 ? { key: e.key, bucket: this.openNested(e) } : { key: e.key, value: e.value };
    }

    private openNested(e: LeafElement): Bucket {
        if (e.value.length < BUCKET_HEADER_SIZE) {
            throw this.tx.corrupt(this.rootPage || null, `bucket ${this.describe()}: nested bucket ${show(e.key)} has a ${e.value.length}-byte header`);
        }
        const root = readU64(e.value, 0);
        if (root === null) {
            throw this.tx.corrupt(this.rootPage || null, `bucket ${this.describe()}: nested bucket ${show(e.key)} has a root page id out of range`);
        }
        const seq = e.value.readBigUInt64LE(8);
        const path = [...this.path, e.key];
        if (root !== 0) return new Bucket(this.tx, path, root, seq, null);
        const inline = e.value.subarray(BUCKET_HEADER_SIZE);
        if (inline.length < PAGE_HEADER_SIZE) {
            throw this.tx.corrupt(this.rootPage || null, `bucket ${this.describe()}: inline bucket ${show(e.key)} is ${inline.length} bytes, shorter than a page header`);
        }
        return new Bucket(this.tx, path, 0, seq, inline);
    }

    /** Leaf elements in tree order: a depth-first walk that visits each page once. */
    private *leafElements(): Generator<LeafElement> {
        if (this.inline) {
            yield* this.parseLeaf(this.inline, null);
            return;
        }
        const visited = new Set<number>();
        const stack: number[][] = [[this.rootPage]];
        while (stack.length > 0) {
            const top = stack[stack.length - 1]!;
            const pgid = top.shift();
            if (pgid === undefined) {
                stack.pop();
                continue;
            }
            if (visited.has(pgid)) {
                throw this.tx.corrupt(pgid, `bucket ${this.describe()}: the page is linked twice (a cycle in the B+tree)`);
            }
            visited.add(pgid);
            const page = this.visit(pgid);
            if (page.flags === LEAF_PAGE_FLAG) {
                yield* this.parseLeaf(page.buf, pgid);
            } else {
                if (stack.length >= MAX_DEPTH) {
                    throw this.tx.corrupt(pgid, `bucket ${this.describe()}: B+tree deeper than ${MAX_DEPTH} levels`);
                }
                stack.push(this.parseBranch(page.buf, pgid).map((b) => b.pgid));
            }
        }
    }

    /** cursor.search: descends to the leaf that would hold `key` and finds it there. */
    private seek(key: Buffer): LeafElement | null {
        if (this.inline) {
            return findExact(this.parseLeafArray(this.inline, null), key);
        }
        let pgid = this.rootPage;
        for (let depth = 0; depth <= MAX_DEPTH; depth++) {
            const page = this.visit(pgid);
            if (page.flags === LEAF_PAGE_FLAG) {
                return findExact(this.parseLeafArray(page.buf, pgid), key);
            }
            const elems = this.parseBranch(page.buf, pgid);
            if (elems.length === 0) {
                throw this.tx.corrupt(pgid, `bucket ${this.describe()}: empty branch page`);
            }
            // The last child whose smallest key is <= key (or the first child).
            let lo = 0;
            let hi = elems.length - 1;
            while (lo < hi) {
                const mid = (lo + hi + 1) >> 1;
                if (Buffer.compare(elems[mid]!.key, key) <= 0) lo = mid;
                else hi = mid - 1;
            }
            pgid = elems[lo]!.pgid;
        }
        throw this.tx.corrupt(pgid, `bucket ${this.describe()}: B+tree deeper than ${MAX_DEPTH} levels`);
    }

    private visit(pgid: number) {
        this.tx.claim(pgid, this.owner);
        return this.tx.page(pgid);
    }

    private parseBranch(buf: Buffer, pgid: number): BranchElement[] {
        const count = buf.readUInt16LE(10);
        const fail = (why: string) => this.tx.corrupt(pgid, `bucket ${this.describe()}: branch page ${why}`);
        if (PAGE_HEADER_SIZE + count * BRANCH_ELEMENT_SIZE > buf.length) throw fail(`has ${count} elements, more than fit in it`);
        const out: BranchElement[] = [];
        for (let i = 0; i < count; i++) {
            const el = PAGE_HEADER_SIZE + i * BRANCH_ELEMENT_SIZE;
            const pos = buf.readUInt32LE(el);
            const ksize = buf.readUInt32LE(el + 4);
            const child = readU64(buf, el + 8);
            const start = el + pos;
            if (start + ksize > buf.length) throw fail(`element ${i}: key runs past the page`);
            if (child === null) throw fail(`element ${i}: child page id out of range`);
            out.push({ key: buf.subarray(start, start + ksize), pgid: child });
        }
        return out;
    }

    private parseLeafArray(buf: Buffer, pgid: number | null): LeafElement[] {
        return [...this.parseLeaf(buf, pgid)];
    }

    private *parseLeaf(buf: Buffer, pgid: number | null): Generator<LeafElement> {
        const fail = (why: string) => this.tx.corrupt(pgid, `bucket ${this.describe()}: ${pgid === null ? "inline " : ""}leaf page ${why}`);
        const flags = buf.readUInt16LE(8);
        if (pgid === null && flags !== LEAF_PAGE_FLAG) throw fail(`has flags 0x${flags.toString(16)}, not a leaf`);
        const count = buf.readUInt16LE(10);
        if (PAGE_HEADER_SIZE + count * LEAF_ELEMENT_SIZE > buf.length) throw fail(`has ${count} elements, more than fit in it`);
        for (let i = 0; i < count; i++) {
            const el = PAGE_HEADER_SIZE + i * LEAF_ELEMENT_SIZE;
            const eflags = buf.readUInt32LE(el);
            const pos = buf.readUInt32LE(el + 4);
            const ksize = buf.readUInt32LE(el + 8);
            const vsize = buf.readUInt32LE(el + 12);
            const start = el + pos;
            if (start + ksize + vsize > buf.length) throw fail(`element ${i}: key and value run past the page`);
            yield { flags: eflags, key: buf.subarray(start, start + ksize), value: buf.subarray(start + ksize, start + ksize + vsize) };
        }
    }

    private describe(): string {
        return this.owner === "" ? "(root)" : JSON.stringify(this.name);
    }
}

function findExact(elems: readonly LeafElement[], key: Buffer): LeafElement | null {
    let lo = 0;
    let hi = elems.length - 1;
    while (lo <= hi) {
        const mid = (lo + hi) >> 1;
        const c = Buffer.compare(elems[mid]!.key, key);
        if (c === 0) return elems[mid]!;
        if (c < 0) lo = mid + 1;
        else hi = mid - 1;
    }
    return null;
}

function toKey(k: Buffer | string): Buffer {
    return typeof k === "string" ? Buffer.from(k, "utf8") : k;
}

function show(k: Buffer): string {
    return JSON.stringify(k.toString("utf8"));
}
