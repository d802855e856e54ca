/** Values of BuildKit's metadata_v2.db that a damaged or hostile file may hold. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isoOfUnixNs } from "../../src/engine/roots/buildkitMeta";

describe("buildkitMeta: cache.createdAt", () => {
    it("is read as Unix nanoseconds", () => {
        assert.equal(isoOfUnixNs(1_700_000_000_123_456_789), "2023-11-14T22:13:20.123Z");
    });
    it("is null, not a RangeError, when absent or outside what a Date holds", () => {
        for (const v of [undefined, null, "1700000000", 1e25, -1e25, Number.NaN, Number.POSITIVE_INFINITY]) assert.equal(isoOfUnixNs(v), null, String(v));
    });
});
