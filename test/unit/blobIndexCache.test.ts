/**
 * The blob index cache shares one index among callers: one caller's cancel ends its own wait
 * only; the shared work stops (and is not cached) only when every waiting caller canceled.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import type { Digest } from "../../src/engine";
import { BlobIndexCache } from "../../src/engine/contents/blobLayers";
import type { BlobOrigin } from "../../src/engine/contents/types";
import { tarOf } from "../helpers/tarBuilder";

const dir = mkdtempSync(join(tmpdir(), "layerscope-blobindexcache-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function blob(name: string): BlobOrigin {
    // Enough entries that indexing takes several reads (so an abort lands mid-way).
    const tar = tarOf(Array.from({ length: 4000 }, (_, i) => ({ name: `d/f${i}`, data: Buffer.alloc(600, i), mode: 0o644 })));
    const path = join(dir, name);
    writeFileSync(path, tar);
    return { refId: name, digest: `sha256:${name.padEnd(64, "0")}` as Digest, mediaType: "application/vnd.oci.image.layer.v1.tar", compression: "uncompressed", size: tar.length, path };
}

describe("BlobIndexCache", () => {
    it("one caller's cancel fails only its own wait, not the others sharing the index", async () => {
        const cache = new BlobIndexCache();
        const b = blob("a");
        const first = new AbortController();
        const p1 = cache.index(b, first.signal);
        const other = new AbortController();
        const p2 = cache.index(b, other.signal);
        const p3 = cache.index(b);
        first.abort();
        await assert.rejects(p1, { code: "Canceled" });
        const [t2, t3] = await Promise.all([p2, p3]);
        assert.equal(t2, t3, "one shared index");
        assert.equal(t2.entries, 4000);
        assert.equal(await cache.index(b, new AbortController().signal), t2, "cached for the next caller");
    });

    it("when every caller cancels, the work stops and the next caller indexes afresh", async () => {
        const cache = new BlobIndexCache();
        const b = blob("b");
        const c1 = new AbortController();
        const c2 = new AbortController();
        const p1 = cache.index(b, c1.signal);
        const p2 = cache.index(b, c2.signal);
        c1.abort();
        c2.abort();
        await assert.rejects(p1, { code: "Canceled" });
        await assert.rejects(p2, { code: "Canceled" });
        const aborted = new AbortController();
        aborted.abort();
        await assert.rejects(cache.index(b, aborted.signal), { code: "Canceled" }, "an already canceled caller");
        const t = await cache.index(b, new AbortController().signal);
        assert.equal(t.entries, 4000, "not a cached cancel");
    });
});
