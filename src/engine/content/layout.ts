/**
 * Mirrors containerd `content/local/store.go` `blobPath` and `ingestRoot` (and the
 * `digest.Validate` / `identifiers.Validate` checks at its doors): where everything lives under
 * the state directory.
 *
 *   STATE/blobs/sha256/<hex>                committed blobs, 0444, only ever renamed into place
 *   STATE/ingest/<sha256(ref)>/             one in-progress write: data, ref, startedat, owner,
 *                                           expected (optional)
 *   STATE/meta/labels/sha256/<hex>.json     a blob's createdAt/updatedAt/labels (bolt in containerd)
 *   STATE/meta/leases/<id>.json             one lease: labels and resources
 *   STATE/tmp/                              every temporary file or directory, renamed out of here
 *   STATE/lock, STATE/lock.break            the store lock (storeLock.ts)
 *
 * NOTE: temporaries live in tmp/, never beside their destination, so every file under blobs/
 * and meta/ is complete. tmp/ is only written while holding the store lock, so whatever a lock
 * holder finds there belongs to a dead holder and may be removed.
 */
import { createHash, randomBytes } from "node:crypto";
import * as path from "node:path";
import type { Digest } from "../digest/hashSink";
import { EngineError } from "../errors";

const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;
// identifiers.Validate: alphanumerics joined by single '.', '_' or '-', at most 76 characters.
const IDENTIFIER_RE = /^[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*$/;
const IDENTIFIER_MAX = 76;

export function isDigest(s: unknown): s is Digest {
    return typeof s === "string" && DIGEST_RE.test(s);
}

export function checkDigest(s: unknown, what = "digest"): Digest {
    if (!isDigest(s)) {
        throw new EngineError(
            "InvalidArgument",
            `${what} ${JSON.stringify(s)} is not a sha256 digest (sha256:<64 hex>)`,
            { digest: s },
        );
    }
    return s;
}

export function checkIdentifier(s: string, what: string): string {
    if (s.length === 0 || s.length > IDENTIFIER_MAX || !IDENTIFIER_RE.test(s)) {
        throw new EngineError(
            "InvalidArgument",
            `${what} ${JSON.stringify(s)} must be 1-${IDENTIFIER_MAX} letters or digits joined by single '.', '_' or '-'`,
            { id: s },
        );
    }
    return s;
}

function hexOf(d: Digest): string {
    return d.slice("sha256:".length);
}

export class StoreLayout {
    readonly blobsDir: string;
    readonly ingestDir: string;
    readonly labelsDir: string;
    readonly leasesDir: string;
    readonly tmpDir: string;
    readonly lockFile: string;

    constructor(readonly root: string) {
        this.blobsDir = path.join(root, "blobs", "sha256");
        this.ingestDir = path.join(root, "ingest");
        this.labelsDir = path.join(root, "meta", "labels", "sha256");
        this.leasesDir = path.join(root, "meta", "leases");
        this.tmpDir = path.join(root, "tmp");
        this.lockFile = path.join(root, "lock");
    }

    /** Every directory the store needs, parents first. */
    get dirs(): string[] {
        return [this.blobsDir, this.ingestDir, this.labelsDir, this.leasesDir, this.tmpDir];
    }

    blobPath(d: Digest): string {
        return path.join(this.blobsDir, hexOf(checkDigest(d)));
    }

    labelsPath(d: Digest): string {
        return path.join(this.labelsDir, `${hexOf(checkDigest(d))}.json`);
    }

    leasePath(id: string): string {
        return path.join(this.leasesDir, `${checkIdentifier(id, "lease id")}.json`);
    }

    /** The ingest directory of a ref: a digest of the ref keeps the path short and safe. */
    ingestPath(ref: string): string {
        return path.join(this.ingestDir, createHash("sha256").update(ref).digest("hex"));
    }

    /** A fresh name under tmp/ (the pid tells a reader whose it was). */
    tmpPath(kind: string): string {
        return path.join(this.tmpDir, `${kind}-${process.pid}-${randomBytes(6).toString("hex")}`);
    }
}
