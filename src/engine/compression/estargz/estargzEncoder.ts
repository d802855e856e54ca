/**
 * Mirrors moby/buildkit v0.10.6 `cache/estargz.go` `compressEStargz` over stargz-snapshotter
 * estargz v0.12.0 `Writer` (`NewWriterLevel`, `AppendTarLossLess`, `Close`): spec §6.1-6.3.
 *
 * Every input byte goes, unchanged, into the current gzip member and into D' (`diffHash`). A new
 * member starts exactly where each regular-file data chunk (<= ChunkSize, 4 MiB) starts; headers,
 * padding and the end-of-archive blocks stay in whichever member is open. `Close` ends the open
 * member and appends the TOC member (a tar of `stargz.index.json`) and the 51-byte footer.
 */
import { createHash, type Hash } from "node:crypto";
import type { ByteSink } from "../../archive/tarStream";
import { HashSink } from "../../digest/hashSink";
import { GoGzipMemberWriter } from "../goflate/goGzipMember";
import { GzipMemberWriter } from "../gzipMember";

/** A gzip member writer: Go-exact (the default, BuildKit's bytes) or zlib (fast). */
interface MemberWriter {
    write(chunk: Buffer): Promise<void>;
    close(): Promise<unknown>;
    abort(reason?: unknown): void;
}
export type MemberOpener = (out: ByteSink, goLevel: number) => Promise<MemberWriter>;
export const goMembers: MemberOpener = (out, level) => GoGzipMemberWriter.open(out, level);
export const zlibMembers: MemberOpener = (out, level) => GzipMemberWriter.open(out, level);
import { abortedError, CountingSink, finishedError, SerialQueue } from "../serialSink";
import type { BlobEncoder, EncodeResult } from "../types";
import { footerBytes } from "./footer";
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
    chunk: Hash | undefined;
}

export class EStargzEncoder implements BlobEncoder, TarScanHandler {
    private readonly queue = new SerialQueue();
    private readonly out: CountingSink;
    private readonly scanner = new TarScanner(this);
    private readonly toc = new TocBuilder();
    /** D': everything decompressed, the TOC tar included. */
    private readonly diff = new HashSink();
    private member: MemberWriter | undefined;
    private file: OpenFile | undefined;
    private finished = false;

    constructor(
        out: ByteSink,
        private readonly goLevel: number,
        private readonly chunkSize = DEFAULT_CHUNK_SIZE,
        private readonly openMember: MemberOpener = goMembers,
    ) {
        this.out = new CountingSink(out);
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
        await this.queue.run(async () => {
            this.scanner.end();
            if (this.out.bytes === 0) {
                // appendTar's final io.Copy ends in a Write of nothing, which still opens a
                // member when none is open: an empty input tar gives one empty member first.
                this.member = await this.openMember(this.out, this.goLevel);
            }
            await this.closeMember();
            tocDigest = await this.writeTocAndFooter(this.out.bytes);
        });
        await this.queue.drain();
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
    }

    // --- TarScanHandler -------------------------------------------------------------------

    async raw(bytes: Buffer): Promise<void> {
        await this.emit(bytes);
    }

    entry(e: ScannedEntry): void {
        const ent = tocEntryFor(e, this.toc);
        if (ent.type !== "reg") {
            this.toc.add(ent);
            return;
        }
        const payload = createHash("sha256");
        if (e.size === 0) {
            // A 0-byte file gets a digest but no offset and no chunk digest.
            this.toc.add({ ...ent, digest: `sha256:${payload.digest("hex")}` });
            return;
        }
        this.file = { name: e.name, size: e.size, entries: [ent], payload, written: 0, chunkLeft: 0, chunk: undefined };
    }

    async data(bytes: Buffer): Promise<void> {
        const f = this.file!;
        let off = 0;
        while (off < bytes.length) {
            if (f.chunkLeft === 0) {
                await this.startChunk(f);
            }
            const n = Math.min(f.chunkLeft, bytes.length - off);
            const piece = bytes.subarray(off, off + n);
            f.payload.update(piece);
            f.chunk!.update(piece);
            await this.emit(piece);
            off += n;
            f.written += n;
            f.chunkLeft -= n;
            if (f.chunkLeft === 0) {
                f.entries[f.entries.length - 1]!.chunkDigest = `sha256:${f.chunk!.digest("hex")}`;
            }
        }
        if (f.written === f.size) {
            f.entries[0]!.digest = `sha256:${f.payload.digest("hex")}`;
            for (const ent of f.entries) {
                this.toc.add(ent);
            }
            this.file = undefined;
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
        ent.offset = this.out.bytes;
        ent.chunkOffset = f.written;
        if (remain >= this.chunkSize) {
            ent.chunkSize = this.chunkSize;
        }
        if (f.written > 0) {
            f.entries.push(ent);
        }
        f.chunkLeft = size;
        f.chunk = createHash("sha256");
        this.member = await this.openMember(this.out, this.goLevel);
    }

    private async emit(bytes: Buffer): Promise<void> {
        this.diff.write(bytes);
        this.member ??= await this.openMember(this.out, this.goLevel);
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
        const member = await this.openMember(this.out, this.goLevel);
        this.member = member;
        const parts = [tocTarHeader(json.length), ...json.pieces, tocTarTrailer(json.length)];
        for (const p of parts) {
            this.diff.write(p);
            await member.write(p);
        }
        this.member = undefined;
        await member.close();
        await this.out.write(footerBytes(tocOffset));
        return json.digest;
    }
}
