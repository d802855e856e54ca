/**
 * The tar inside the TOC member, as stargz-snapshotter estargz v0.12.0 `gzip.go`
 * `WriteTOCAndFooter` writes it with Go's archive/tar: one header
 * `tar.Header{Typeflag: TypeReg, Name: "stargz.index.json", Size: len(json)}` (Format unset, so
 * USTAR: mode 0, uid/gid 0, mtime 0, no user/group names), the JSON, its padding to 512, and
 * `tw.Close()`'s 1024-byte end of archive. All of it counts towards D'.
 */
import { encodeHeader, END_OF_ARCHIVE, TypeReg, zeroPad } from "../../archive/goTar";
import { TOCTarName } from "./entryToToc";

export function tocTarHeader(jsonLength: number): Buffer {
    return encodeHeader(
        {
            name: Buffer.from(TOCTarName),
            linkname: Buffer.alloc(0),
            typeflag: TypeReg,
            mode: 0,
            uid: 0,
            gid: 0,
            size: BigInt(jsonLength),
            mtime: 0n,
            devmajor: 0n,
            devminor: 0n,
        },
        "unknown",
    );
}

/** The JSON's padding and the end-of-archive blocks. */
export function tocTarTrailer(jsonLength: number): Buffer {
    return Buffer.concat([zeroPad(jsonLength), END_OF_ARCHIVE]);
}
