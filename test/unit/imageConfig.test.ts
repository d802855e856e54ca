/**
 * Image configs as the importer reads them: only rootfs is checked; history is a description, so a
 * history of the wrong JSON type is dropped rather than carried through to layerHistory (the CI
 * fuzz run found `"history": true`, `0` and `{}` crashing it with "is not iterable").
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { checkConfig, layerHistory, parseJson } from "../../src/engine/image/imageTypes";

const diffID = `sha256:${"a".repeat(64)}`;
const config = (history: unknown): Record<string, unknown> =>
    parseJson(Buffer.from(JSON.stringify({ os: "linux", architecture: "amd64", rootfs: { type: "layers", diff_ids: [diffID] }, history })), "config.json");

describe("image config history", () => {
    for (const history of [true, false, 0, 1, "RUN x", {}, { created_by: "RUN x" }, null]) {
        it(`a history of ${JSON.stringify(history)} reads as none`, () => {
            const c = checkConfig(config(history), "config.json");
            assert.equal(c.history, undefined);
            assert.equal("history" in c, false);
            assert.deepEqual(layerHistory(c, 3), [null, null, null]);
        });
    }

    it("entries that are not objects read as empty; empty layers are skipped; created_by, then comment", () => {
        const c = checkConfig(
            config([
                { created_by: "FROM scratch", empty_layer: true },
                { created_by: "ADD rootfs" },
                7,
                { comment: "imported" },
                { created_by: 5, comment: ["x"] },
                "RUN y",
                { created_by: "extra" },
            ]),
            "config.json",
        );
        assert.deepEqual(layerHistory(c, 7), ["ADD rootfs", null, "imported", null, null, "extra", null]);
        assert.deepEqual(layerHistory(c, 2), ["ADD rootfs", null]);
    });

    it("the other fields stay as given; rootfs is still checked", () => {
        const c = checkConfig(config(undefined), "config.json");
        assert.deepEqual(c.rootfs, { type: "layers", diff_ids: [diffID] });
        assert.equal(c.os, "linux");
        assert.throws(() => checkConfig({ rootfs: { type: "layers", diff_ids: [true] } }, "config.json"), /config\.json rootfs\.diff_ids\[0\]/);
    });
});
