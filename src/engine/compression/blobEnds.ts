/** The first and last bytes of a blob file: enough for magic numbers and the eStargz footer. */
import { open } from "node:fs/promises";
import { fromSystemError } from "../errors";
import { FOOTER_SIZE } from "./estargz/footer";

export interface BlobEnds {
    readonly size: number;
    /** Up to the first 10 bytes. */
    readonly head: Buffer;
    /** The last 51 bytes, or fewer for a shorter blob. */
    readonly tail: Buffer;
}

export async function readBlobEnds(path: string): Promise<BlobEnds> {
    let fh;
    try {
        fh = await open(path, "r");
        const { size } = await fh.stat();
        const head = Buffer.alloc(Math.min(10, size));
        const tail = Buffer.alloc(Math.min(FOOTER_SIZE, size));
        await fh.read(head, 0, head.length, 0);
        await fh.read(tail, 0, tail.length, size - tail.length);
        return { size, head, tail };
    } catch (err) {
        throw fromSystemError(err, path, "reading the blob's first and last bytes");
    } finally {
        await fh?.close();
    }
}
