/** RefTarget and settings validation: what arrives from a webview or settings.json is checked at the door. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseRefTarget } from "../../src/extension/model/refTarget";
import { parseSettings } from "../../src/extension/model/settings";

describe("parseRefTarget", () => {
    it("keeps the known fields of a valid target", () => {
        assert.deepEqual(parseRefTarget({ source: "/w", ref: "app" }), { source: "/w", ref: "app" });
        assert.deepEqual(
            parseRefTarget({ source: "/w", ref: "app", compression: "zstd", level: 3, force: true, gzipImpl: "fast", extra: "dropped" }),
            { source: "/w", ref: "app", compression: "zstd", level: 3, force: true, gzipImpl: "fast" },
        );
        assert.deepEqual(parseRefTarget({ source: "/w", ref: "app", level: null }), { source: "/w", ref: "app" }, "null level = default");
    });

    for (const [name, arg] of [
        ["not an object", "app"],
        ["null", null],
        ["an array", ["/w", "app"]],
        ["no source", { ref: "app" }],
        ["empty ref", { source: "/w", ref: "" }],
        ["numeric ref", { source: "/w", ref: 7 }],
        ["unknown compression", { source: "/w", ref: "a", compression: "brotli" }],
        ["fractional level", { source: "/w", ref: "a", level: 1.5 }],
        ["level out of range", { source: "/w", ref: "a", level: 99 }],
        ["string level", { source: "/w", ref: "a", level: "9" }],
        ["non-boolean force", { source: "/w", ref: "a", force: "yes" }],
        ["unknown gzipImpl", { source: "/w", ref: "a", gzipImpl: "pigz" }],
        ["huge id", { source: "/w", ref: "x".repeat(5000) }],
    ] as const) {
        it(`rejects ${name} with InvalidArgument`, () => {
            assert.throws(() => parseRefTarget(arg), { code: "InvalidArgument" });
        });
    }
});

describe("parseSettings", () => {
    it("defaults: gzip, compressor level, Go deflate, one per CPU, epoch whiteouts, workspace state", () => {
        const s = parseSettings(() => undefined);
        assert.equal(s.defaultCompression, "gzip");
        assert.equal(s.compressionLevel, undefined);
        assert.equal(s.gzipImplementation, "go");
        assert.equal(s.concurrency, 0);
        assert.equal(s.whiteoutTime.seconds, 0n);
        assert.equal(s.stateLocation, "workspace");
    });

    it("reads valid values", () => {
        const raw: Record<string, unknown> = { defaultCompression: "zstd", compressionLevel: 9, gzipImplementation: "fast", concurrency: 2, whiteoutTime: "1700000000", stateLocation: "global" };
        const s = parseSettings((k) => raw[k]);
        assert.equal(s.defaultCompression, "zstd");
        assert.equal(s.compressionLevel, 9);
        assert.equal(s.gzipImplementation, "fast");
        assert.equal(s.concurrency, 2);
        assert.equal(s.whiteoutTime.seconds, 1700000000n);
        assert.equal(s.stateLocation, "global");
    });

    for (const [key, value] of [
        ["defaultCompression", "lz4"],
        ["compressionLevel", 2.5],
        ["gzipImplementation", "zlib"],
        ["concurrency", -1],
        ["whiteoutTime", "yesterday"],
        ["stateLocation", "tmp"],
    ] as const) {
        it(`names the bad setting layerscope.${key}`, () => {
            assert.throws(() => parseSettings((k) => (k === key ? value : undefined)), (err: Error & { code?: string }) => {
                assert.equal(err.code, "InvalidArgument");
                assert.match(err.message, new RegExp(`layerscope\\.${key}`));
                return true;
            });
        });
    }
});
