/**
 * layerscope.schema.json (for editors and the extension) and LAYERSCOPE_SCHEMA (the engine's
 * copy) are the same document, and the schema and the loader's shape checks agree on which
 * documents are valid.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { isEngineError } from "../../src/engine/errors";
import { LAYERSCOPE_SCHEMA, validateWorkspaceFile } from "../../src/engine/refs";
import { schemaAccepts } from "../helpers/miniSchema";

const schemaFile = join(__dirname, "..", "..", "..", "src", "engine", "refs", "layerscope.schema.json");
const schema = JSON.parse(readFileSync(schemaFile, "utf8")) as Record<string, unknown>;

const B = { id: "base", snapshot: "snapshots/base" };
const doc = (...refs: unknown[]): unknown => ({ snapshotter: "native", refs });

const valid: Array<[string, unknown]> = [
    ["every kind", doc(
        B,
        { id: "app", parent: "base", snapshot: "s/app", layerType: "linux", description: "x" },
        { id: "m", merge: ["base", null, "app"] },
        { id: "d", diff: { lower: "base", upper: null } },
        { id: "e", diff: { lower: "base", upper: "app" }, layerType: "windows" },
    )],
    ["overlayfs and $schema", { $schema: "x", snapshotter: "overlayfs", refs: [] }],
];

const invalid: Array<[string, unknown]> = [
    ["not an object", []],
    ["no snapshotter", { refs: [] }],
    ["unknown snapshotter", { snapshotter: "btrfs", refs: [] }],
    ["no refs", { snapshotter: "native" }],
    ["unknown top-level field", { snapshotter: "native", refs: [], extra: 1 }],
    ["ref without id", doc({ snapshot: "s" })],
    ["id with a slash", doc({ id: "a/b", snapshot: "s" })],
    ["id too long", doc({ id: "a".repeat(129), snapshot: "s" })],
    ["unknown ref field", doc({ ...B, parnet: "x" })],
    ["BaseLayer without snapshot", doc({ id: "b" })],
    ["Layer without snapshot", doc({ id: "b", parent: "a" })],
    ["parent and merge", doc({ id: "b", parent: "a", merge: ["a"] })],
    ["merge with a snapshot", doc({ id: "m", merge: ["a"], snapshot: "s" })],
    ["empty merge", doc({ id: "m", merge: [] })],
    ["merge entry a number", doc({ id: "m", merge: [1] })],
    ["diff without upper", doc({ id: "d", diff: { lower: "a" } })],
    ["diff with null lower", doc({ id: "d", diff: { lower: null, upper: "a" } })],
    ["diff with extra field", doc({ id: "d", diff: { lower: "a", upper: null, x: 1 } })],
    ["diff with a snapshot", doc({ id: "d", diff: { lower: "a", upper: null }, snapshot: "s" })],
    ["empty snapshot", doc({ id: "b", snapshot: "" })],
    ["bad layerType", doc({ ...B, layerType: "Windows" })],
];

describe("layerscope.json schema", () => {
    it("the .json file and LAYERSCOPE_SCHEMA are the same document", () => {
        assert.deepEqual(JSON.parse(JSON.stringify(LAYERSCOPE_SCHEMA)), schema);
    });

    for (const [name, d] of valid) {
        it(`accepts: ${name}`, () => {
            assert.ok(schemaAccepts(schema, d), "schema");
            assert.doesNotThrow(() => validateWorkspaceFile(d, "layerscope.json"));
        });
    }
    for (const [name, d] of invalid) {
        it(`refuses: ${name}`, () => {
            assert.ok(!schemaAccepts(schema, d), "schema");
            assert.throws(() => validateWorkspaceFile(d, "layerscope.json"), (e: unknown) => isEngineError(e, "InvalidArgument"));
        });
    }

    it("accepts the bundled sample", () => {
        const sample = join(__dirname, "..", "..", "..", "test", "fixtures", "sample", "layerscope.json");
        assert.ok(schemaAccepts(schema, JSON.parse(readFileSync(sample, "utf8"))));
    });
});
