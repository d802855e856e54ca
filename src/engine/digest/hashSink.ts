/** sha256 over a byte stream, as an OCI digest. */
import { createHash, type Hash } from "node:crypto";
import type { ByteSink } from "../archive/tarStream";

export type Digest = `sha256:${string}`;

export class HashSink implements ByteSink {
    private readonly hash: Hash = createHash("sha256");
    private bytes = 0;

    write(chunk: Buffer): void {
        this.hash.update(chunk);
        this.bytes += chunk.length;
    }

    get size(): number {
        return this.bytes;
    }

    digest(): Digest {
        return `sha256:${this.hash.digest("hex")}`;
    }
}
