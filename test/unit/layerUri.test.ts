/**
 * `layerscope:` URIs: every layer path (names that are not UTF-8, '%', spaces, '#', '?', new
 * lines) and every ref id ('/', '%', ':') survives format → VS Code's string form → parse; forged
 * or malformed URIs are refused with InvalidArgument.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { encodeLayerPath, isEngineError } from "../../src/engine";
import {
    formatLayerUri, innerPathBytes, innerPathOf, joinInner, LAYER_VIEWS, type LayerLocation, normalizeInnerPath, parentInner, parseLayerUri, sourceKey,
} from "../../src/extension/contents/layerUri";
import { Rng } from "../helpers/rng";

/**
 * What VS Code does with a Uri's path between two calls: `toString()` percent-encodes it (every
 * '%' included) and `Uri.parse` decodes it once. Modelled per segment with the URI component
 * functions, which encode a superset of what VS Code encodes (the decoded path is the same).
 */
function throughUriString(authority: string, path: string): { authority: string; path: string } {
    const text = `layerscope://${authority}${path.split("/").map(encodeURIComponent).join("/")}`;
    const m = /^layerscope:\/\/([^/]*)(\/.*)$/.exec(text)!;
    return { authority: m[1]!, path: m[2]!.split("/").map(decodeURIComponent).join("/") };
}

function roundTrip(loc: LayerLocation): LayerLocation {
    const f = formatLayerUri(loc);
    const back = throughUriString(f.authority, f.path);
    return parseLayerUri(back.authority, back.path);
}

const KEY = sourceKey("/work/sample");

function loc(ref: string, path: string, view: LayerLocation["view"] = "layer"): LayerLocation {
    return { source: KEY, ref, view, path };
}

describe("layerscope: URIs", () => {
    it("source keys are 16 lower-case hex digits, stable per root", () => {
        assert.match(KEY, /^[0-9a-f]{16}$/);
        assert.equal(sourceKey("/work/sample"), KEY);
        assert.notEqual(sourceKey("/work/sample2"), KEY);
    });

    it("reads /<ref>/<view>/<path>", () => {
        const f = formatLayerUri(loc("app", "/etc/hostname"));
        assert.deepEqual(f, { authority: KEY, path: "/app/layer/etc/hostname" });
        assert.deepEqual(formatLayerUri(loc("app", "/", "merged")), { authority: KEY, path: "/app/merged" });
        assert.deepEqual(parseLayerUri(KEY, "/app/merged"), loc("app", "/", "merged"));
        assert.deepEqual(parseLayerUri(KEY, "/app/merged/"), loc("app", "/", "merged"));
        assert.deepEqual(parseLayerUri(KEY.toUpperCase(), "/app/absent/x"), loc("app", "/x", "absent"));
    });

    it("ref ids with '/', '%' and ':' stay one segment", () => {
        for (const ref of ["sha256:0123abcd", "default/12/sha256:ab", "a%2Fb", "100%", "%", "x y#z?w", "é/ü"]) {
            const f = formatLayerUri(loc(ref, "/a"));
            assert.equal(f.path.split("/").length, 4, `${ref} → ${f.path}`);
            assert.deepEqual(roundTrip(loc(ref, "/a")), loc(ref, "/a"), ref);
        }
        assert.equal(formatLayerUri(loc("sha256:ab", "/")).path, "/sha256:ab/layer", "ids read as they are");
    });

    it("names that are not UTF-8, and '%', survive: bytes → URI → the same bytes", () => {
        const names = [
            Buffer.from([0xff, 0xfe]),
            Buffer.from("caf\xe9", "latin1"), // Latin-1 é: not UTF-8
            Buffer.from("100%"),
            Buffer.from("%41"), // must not decode to "A"
            Buffer.from("a b#c?d&e=f+g"),
            Buffer.from("line\nbreak\ttab"),
            Buffer.from("日本語.txt"),
            Buffer.from([0xe2, 0x82]), // a truncated UTF-8 sequence
            Buffer.from([0xed, 0xa0, 0x80]), // a UTF-16 surrogate in UTF-8 form: not valid UTF-8
        ];
        for (const name of names) {
            const bytes = Buffer.concat([Buffer.from("/dir/"), name]);
            const p = innerPathOf(bytes);
            const back = roundTrip(loc("app", p));
            assert.deepEqual(innerPathBytes(back.path), bytes, `${name.toString("hex")} → ${p}`);
            assert.equal(p, encodeLayerPath(bytes), "the engine's encoding, so the CLI's JSON paths match");
        }
    });

    it("random byte names round-trip", () => {
        const rng = new Rng(10);
        for (let i = 0; i < 500; i++) {
            const parts: Buffer[] = [];
            for (let k = rng.int(1, 3); k > 0; k--) {
                let name = Buffer.from(Array.from({ length: rng.int(1, 8) }, () => rng.int(1, 255)).filter((b) => b !== 0x2f));
                if (name.length === 0 || name.equals(Buffer.from(".")) || name.equals(Buffer.from(".."))) name = Buffer.from("n");
                parts.push(Buffer.from("/"), name);
            }
            const bytes = Buffer.concat(parts);
            const back = roundTrip(loc("r", innerPathOf(bytes), LAYER_VIEWS[i % 3]!));
            assert.deepEqual(innerPathBytes(back.path), bytes);
        }
    });

    it("refuses forged or malformed URIs (InvalidArgument)", () => {
        const bad: [string, string][] = [
            ["not-a-key", "/app/layer/x"],
            [KEY, "/app"],
            [KEY, "/app/tarball/x"],
            [KEY, "//layer/x"],
            [KEY, "/app/layer/../../etc/passwd"],
            [KEY, "/app/layer/a/./b"],
            [KEY, "/a%zz/layer/x"],
        ];
        for (const [a, p] of bad) {
            assert.throws(() => parseLayerUri(a, p), (e) => isEngineError(e, "InvalidArgument"), `${a} ${p}`);
        }
        assert.throws(() => formatLayerUri(loc("", "/")), (e) => isEngineError(e, "InvalidArgument"));
    });

    it("path helpers", () => {
        assert.equal(normalizeInnerPath("a//b/"), "/a/b");
        assert.equal(normalizeInnerPath(""), "/");
        assert.equal(joinInner("/", "a"), "/a");
        assert.equal(joinInner("/a", "b"), "/a/b");
        assert.equal(parentInner("/a/b"), "/a");
        assert.equal(parentInner("/a"), "/");
    });
});
