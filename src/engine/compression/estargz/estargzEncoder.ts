/**
 * Mirrors moby/buildkit v0.10.6 `cache/estargz.go` `compressEStargz` over stargz-snapshotter
 * estargz v0.12.0 `Writer` (`NewWriterLevel`, `AppendTarLossLess`, `Close`): spec §6.1-6.3.
 *
 * Every input byte goes, unchanged, into the current gzip member and into D' (`diffHash`). A new
 * member starts exactly where each regular-file data chunk (<= ChunkSize, 4 MiB) starts; headers,
 * padding and the end-of-archive blocks stay in whichever member is open. `Close` ends the open
 * member and appends the TOC member (a tar of `stargz.index.json`) and the 51-byte footer.
 *
 * Members are independent gzip streams, so they compress side by side (memberPipeline.ts; the
 * Go-exact ones on goflate worker threads) and are written in order: the blob is the serial one.
 * A TOC entry's offset is known once the members before it are written, so TOC entries wait in
 * order until then.
 */
import { createHash, type Hash } from "node:crypto";
import { availableParallelism } from "node:os";
import type { ByteSink } from "../../archive/tarStream";
import { HashSink } from "../../digest/hashSink";
import { Yielder } from "../../util/yielder";
import { releaseIdleBuffers } from "../goflate/bufferPool";
import { GoMemberBatcher } from "../goflate/memberBatch";
import { openSmallFirstGoGzipMember } from "../goflate/workerGzip";
import { GzipMemberWriter } from "../gzipMember";

/** Gzip member writers for one blob: Go-exact (the default, BuildKit's bytes) or zlib (fast). */
export type MemberOpener = () => MemberFactory;
/** Go-exact members; the small ones batched onto the goflate workers (memberBatch.ts). */
export const goMembers: MemberOpener = () => {
    const batcher = new GoMemberBatcher();
    return {
        open: (out, level) => openSmallFirstGoGzipMember(out, level, batcher),
        flush: () => batcher.flush(),
        abort: (reason) => batcher.abort(reason),
    };
};
export const zlibMembers: MemberOpener = () => ({ open: (out, level) => GzipMemberWriter.open(out, level) });
import { abortedError, CountingSink, finishedError, SerialQueue } from "../serialSink";
import type { BlobEncoder, EncodeResult } from "../types";
import { footerBytes } from "./footer";
import { type MemberFactory, MemberPipeline, type MemberWriter } from "./memberPipeline";
import { tocEntryFor } from "./entryToToc";
import type { ScannedEntry } from "./tarEntry";
import { type TarScanHandler, TarScanner } from "./tarScanner";
import { TocBuilder, type TocEntry } from "./toc";
import { tocTarHeader, tocTarTrailer } from "./tocTar";

/** `Writer.chunkSize()` default: 4 MiB. */
export const DEFAULT_CHUNK_SIZE = 4 << 20;

/** Annotation keys (estargz types.go and containerd). */
export const TOCJSONDigestAnnotation = "containerd.io/snapshot/stargz/toc.digest";
export const StoreUncompressedSizeAnnotation = "io.containers.estargz.uncompressed-size";
export const UncompressedAnnotation = "containerd.io/uncompressed";

interface OpenFile {
    readonly name: Buffer;
    readonly size: number;
    /** The `reg` entry; chunk entries follow it. Serialised once the digest is known. */
    readonly entries: TocEntry[];
    readonly payload: Hash;
    written: number;
    chunkLeft: number;
    /** The open chunk's digest; `payload` itself when the file is one chunk. */
    chunk: Hash | undefined;
}

export class EStargzEncoder implements BlobEncoder, TarScanHandler {
    private readonly queue = new SerialQueue();
    private readonly out: CountingSink;
    private readonly scanner = new TarScanner(this);
    private readonly toc = new TocBuilder();
    /** D': everything decompressed, the TOC tar included. */
    private readonly diff = new HashSink();
    private readonly members: MemberPipeline;
    private member: MemberWriter | undefined;
    /** TOC entries in order, held while an earlier one still waits for its offset. */
    private readonly tocWaiting: TocEntry[] = [];
    private readonly unplaced = new Set<TocEntry>();
    private file: OpenFile | undefined;
    private finished = false;
    /**
     * A read chunk of small files is hundreds of members, opened, hashed and queued in one
     * chain of microtasks; a turn of the event loop every 20 ms keeps the host responsive.
     */
    private readonly yielder = new Yielder();

    constructor(
        out: ByteSink,
        goLevel: number,
        private readonly chunkSize = DEFAULT_CHUNK_SIZE,
        openMember: MemberOpener = goMembers,
    ) {
        this.out = new CountingSink(out);
        // One member per core at a time (goflate workers), plus the one being filled.
        this.members = new MemberPipeline(this.out, openMember(), goLevel, availableParallelism() + 1);
    }

    write(chunk: Buffer): Promise<void> {
        if (this.finished) {
            return Promise.reject(finishedError());
        }
        return this.queue.run(() => this.scanner.push(chunk));
    }

    async finish(): Promise<EncodeResult> {
        if (this.finished) {
            throw finishedError();
        }
        this.finished = true;
        let tocDigest = "";
        try {
            await this.queue.run(async () => {
                this.scanner.end();
                if (this.members.opened === 0) {
                    // appendTar's final io.Copy ends in a Write of nothing, which still opens a
                    // member when none is open: an empty input tar gives one empty member first.
                    this.member = await this.members.open();
                }
                await this.closeMember();
                // Every member in the blob: every offset known, the whole TOC released.
                await this.members.drain();
                this.flushToc();
                tocDigest = await this.writeTocAndFooter(this.out.bytes);
                releaseIdleBuffers(); // every reply is in the blob, the TOC's too: no member needs the pool now
            });
            await this.queue.drain();
        } catch (err) {
            // A truncated tar fails here, at its end: members still holding a goflate worker
            // must give it back (a referenced worker kept the CLI from ever exiting).
            this.abort(err);
            throw err;
        }
        const diffID = this.diff.digest();
        return {
            annotations: {
                [TOCJSONDigestAnnotation]: tocDigest,
                [StoreUncompressedSizeAnnotation]: String(this.diff.size),
                [UncompressedAnnotation]: diffID,
            },
            uncompressedDigest: diffID,
            uncompressedSize: this.diff.size,
            tocDigest: tocDigest as EncodeResult["tocDigest"],
        };
    }

    abort(reason?: unknown): void {
        this.queue.fail(abortedError(reason));
        this.member?.abort();
        this.members.abort(abortedError(reason));
    }

    // --- TarScanHandler -------------------------------------------------------------------

    async raw(bytes: Buffer): Promise<void> {
        await this.yielder.maybeYield();
        await this.emit(bytes);
    }

    entry(e: ScannedEntry): void {
        const ent = tocEntryFor(e, this.toc);
        if (ent.type !== "reg") {
            this.addToc(ent);
            return;
        }
        const payload = createHash("sha256");
        if (e.size === 0) {
            // A 0-byte file gets a digest but no offset and no chunk digest.
            this.addToc({ ...ent, digest: `sha256:${payload.digest("hex")}` });
            return;
        }
        this.file = { name: e.name, size: e.size, entries: [ent], payload, written: 0, chunkLeft: 0, chunk: undefined };
    }

    async data(bytes: Buffer): Promise<void> {
        await this.yielder.maybeYield();
        const f = this.file!;
        let off = 0;
        while (off < bytes.length) {
            if (f.chunkLeft === 0) {
                await this.startChunk(f);
            }
            const n = Math.min(f.chunkLeft, bytes.length - off);
            const piece = bytes.subarray(off, off + n);
            f.payload.update(piece);
            if (f.chunk !== f.payload) {
                f.chunk!.update(piece);
            }
            await this.emit(piece);
            off += n;
            f.written += n;
            f.chunkLeft -= n;
            if (f.chunkLeft === 0 && f.chunk !== f.payload) {
                f.entries[f.entries.length - 1]!.chunkDigest = `sha256:${f.chunk!.digest("hex")}`;
            }
        }
        if (f.written === f.size) {
            f.entries[0]!.digest = `sha256:${f.payload.digest("hex")}`;
            if (f.chunk === f.payload) {
                f.entries[0]!.chunkDigest = f.entries[0]!.digest;
            }
            for (const ent of f.entries) {
                this.addToc(ent);
            }
            this.file = undefined;
        }
    }

    private addToc(e: TocEntry): void {
        this.tocWaiting.push(e);
        this.flushToc();
    }

    private flushToc(): void {
        let i = 0;
        while (i < this.tocWaiting.length && !this.unplaced.has(this.tocWaiting[i]!)) {
            this.toc.add(this.tocWaiting[i++]!);
        }
        if (i > 0) {
            this.tocWaiting.splice(0, i);
        }
    }

    // --- members ---------------------------------------------------------------------------

    /** closeGz, note the offset, then the chunk's own member (appendTar's chunk loop). */
    private async startChunk(f: OpenFile): Promise<void> {
        await this.closeMember();
        const remain = f.size - f.written;
        const size = Math.min(remain, this.chunkSize);
        // NOTE: ChunkSize is recorded whenever a full ChunkSize fits, so a file of exactly
        // n * ChunkSize bytes has it on its last chunk too; only a shorter tail has none.
        const ent: TocEntry = f.written === 0 ? f.entries[0]! : { name: f.name, type: "chunk" };
        // The offset is known once every earlier member is in the blob; until then this entry
        // (and every TOC entry after it) waits.
        this.unplaced.add(ent);
        const placed = (offset: number): void => {
            ent.offset = offset;
            this.unplaced.delete(ent);
            this.flushToc();
        };
        ent.chunkOffset = f.written;
        if (remain >= this.chunkSize) {
            ent.chunkSize = this.chunkSize;
        }
        if (f.written > 0) {
            f.entries.push(ent);
        }
        f.chunkLeft = size;
        // A file in one chunk (most files) has the same bytes for both digests: hash them once.
        f.chunk = size === f.size ? f.payload : createHash("sha256");
        this.member = await this.members.open(placed);
    }

    private async emit(bytes: Buffer): Promise<void> {
        this.diff.write(bytes);
        this.member ??= await this.members.open();
        await this.member.write(bytes);
    }

    private async closeMember(): Promise<void> {
        const m = this.member;
        this.member = undefined;
        await m?.close();
    }

    /** GzipCompressor.WriteTOCAndFooter: the TOC tar in its own member, then the footer. */
    private async writeTocAndFooter(tocOffset: number): Promise<string> {
        const json = this.toc.finish();
        const member = await this.members.open();
        this.member = member;
        const write = async (p: Buffer): Promise<void> => {
            this.diff.write(p);
            await member.write(p);
        };
        await write(tocTarHeader(json.length));
        for (const p of json.pieces()) {
            await write(p);
        }
        await write(tocTarTrailer(json.length));
        this.member = undefined;
        await member.close();
        await this.members.drain();
        await this.out.write(footerBytes(tocOffset));
        return json.digest;
    }
}
