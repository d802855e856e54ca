/**
 * The model's record of the latest verification per ref: Verify's per-ref digest checks, a root's
 * image check per snapshot ref, Verify Image of an image file per chainID, the newest winning;
 * and the DTOs the graph gets from them (valid by the protocol guards).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { toVerificationView } from "../../src/extension/graph/toViewModel";
import { stateOfVerdict, VerificationStore } from "../../src/extension/model/verifications";
import { isRefDetailsView } from "../../src/protocol/guards";
import { imageWith, rootImageReport } from "../helpers/verificationReports";

const D = (c: string): string => `sha256:${c.repeat(64)}`;

describe("verification records", () => {
    it("Verify: a ref whose checks all pass is verified, one with a failing tar check's content differs", () => {
        const s = new VerificationStore();
        const refs = s.recordVerify("/ws", {
            ok: false,
            checks: [
                { ref: "base", what: "layer tar recomputed from the snapshots", ok: true, expected: D("a"), actual: D("a") },
                { ref: "base", what: "blob x content", ok: true, expected: D("b"), actual: D("b") },
                { ref: "app", what: "layer tar recomputed from the snapshots", ok: false, expected: D("c"), actual: D("d") },
            ],
        }, 10);
        assert.deepEqual(refs, ["base", "app"]);
        const base = s.lookup("/ws", { id: "base", chainID: null })!;
        assert.equal(base.state, "verified");
        assert.equal(base.verdict, "all 2 stored digests recomputed and equal");
        const app = s.lookup("/ws", { id: "app", chainID: null })!;
        assert.equal(app.state, "content-differs");
        assert.match(app.explanation[0]!, /^✗ layer tar recomputed from the snapshots: expected sha256:c+, got sha256:d+$/);
        assert.equal(s.lookup("/other", { id: "app", chainID: null }), undefined, "records belong to their source");
        s.forget("/ws");
        assert.equal(s.lookup("/ws", { id: "app", chainID: null }), undefined);
    });

    it("verify --image on a root: identical after inference, another tar writer, content differs; the profile kept", () => {
        const s = new VerificationStore();
        assert.deepEqual(s.recordRootImage("/root", rootImageReport(["l0", "l1", "l2"]), 5), ["l0", "l1", "l2"]);
        const [l0, l1, l2] = ["l0", "l1", "l2"].map((id) => s.lookup("/root", { id, chainID: null })!);
        assert.equal(l0!.state, "verified");
        assert.equal(l0!.verdict, "identical after inference", "names were replayed");
        assert.equal(l0!.nameLookup, 'uid 0 → "root"; gid 0 → "root"');
        assert.equal(l1!.state, "different-writer");
        assert.equal(l1!.verdict, "same files, different tar writer");
        assert.match(l1!.writerTraits[0]!, /^written by Docker's moby pkg\/archive/);
        assert.equal(l1!.whiteoutTime, "1795890076 (from the original layer's whiteouts)");
        assert.equal(l2!.state, "content-differs");
        assert.match(l2!.check, /Verify Image Layers \(test\/bk:1\)/);
    });

    it("Verify Image: keyed by chainID, shown on any source's ref with it; the newer record wins", () => {
        const s = new VerificationStore();
        s.recordVerify("/ws", { ok: true, checks: [{ ref: "app", what: "layer tar recomputed from the snapshots", ok: true, expected: D("a"), actual: D("a") }] }, 100);
        s.recordImage(imageWith(D("9"), "same content, different compressor"), 50);
        assert.equal(s.lookup("/ws", { id: "app", chainID: D("9") })!.state, "verified", "Verify ran later");
        assert.equal(s.lookup("/elsewhere", { id: "x", chainID: D("9") })!.state, "different-compressor");
        s.recordImage(imageWith(D("9"), "content differs"), 200);
        const r = s.lookup("/ws", { id: "app", chainID: D("9") })!;
        assert.equal(r.state, "content-differs");
        assert.deepEqual(r.explanation, ["content differs: …", "differs: etc/passwd: size 10 vs 12"]);
        assert.equal(r.whiteoutTime, "1704067200 (the layer's whiteouts)");
        assert.equal(s.lookup("/ws", { id: "app", chainID: D("8") })!.state, "verified", "another chainID: only the ref's own record");
    });

    it("maps every verdict to a badge state", () => {
        assert.equal(stateOfVerdict("identical"), "verified");
        assert.equal(stateOfVerdict("identical after inference"), "verified");
        assert.equal(stateOfVerdict("same content, different compressor"), "different-compressor");
        assert.equal(stateOfVerdict("same files, different tar writer"), "different-writer");
        assert.equal(stateOfVerdict("content differs"), "content-differs");
    });

    it("toVerificationView: unverified when there is no record; records become valid DTOs", () => {
        const none = toVerificationView(undefined);
        assert.equal(none.state, "unverified");
        assert.equal(none.at, 0);
        const s = new VerificationStore();
        s.recordRootImage("/root", rootImageReport(["l0", "l1"]), 5);
        const v = toVerificationView(s.lookup("/root", { id: "l1", chainID: null }));
        assert.equal(v.state, "different-writer");
        const details = {
            id: "l1", kind: "Layer", description: "", snapshot: "", layers: ["l1"], diffID: "",
            chainID: { value: "", steps: [], check: "incomplete" }, blobChainID: { value: "", steps: [], check: "incomplete" },
            buildkit: { chainID: "", blobChainID: "", reason: "" }, variants: [], verification: v,
        };
        assert.ok(isRefDetailsView(details));
        assert.ok(!isRefDetailsView({ ...details, verification: { ...v, writerTraits: "x" } }));
    });
});
