import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import { chainID, type Digest } from "../../src/engine";

const d = (s: string) => s as Digest;

describe("image-spec ChainID (spec §9 vectors 1, 2, 3)", () => {
    it("matches image-spec's own test vectors", () => {
        assert.equal(chainID([d("sha256:a"), d("sha256:b")]), "sha256:970a948bffa8de94d6e22d747ba8c95030e6e546909f98f54e99a13005e173a8");
        assert.equal(
            chainID([d("sha256:a"), d("sha256:b"), d("sha256:c")]),
            "sha256:dee159b33409cefa3f6eda71539f006014283e9d9130c18a1dea7bd8a33c9b1b",
        );
        assert.equal(chainID([d("sha256:a")]), "sha256:a");
        assert.equal(chainID([]), "");
    });

    it("matches the image-spec example config's chain", () => {
        assert.equal(
            chainID([
                d("sha256:c6f988f4874bb0add23a778f753c65efe992244e148a1d2ec2a8b664fb66bbd1"),
                d("sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef"),
            ]),
            "sha256:c3191d32a37d7159b2e30830937d2e30268ad6c375a773a8994911a3aba9b93f",
        );
    });

    it("accepts an empty first element like BuildKit's non-addressable parent case", () => {
        const x = "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef";
        assert.equal(chainID([d(""), d(x)]), `sha256:${createHash("sha256").update(` ${x}`).digest("hex")}`);
    });

    it("gives the empty layer's blobChainID as a BaseLayer (Go gzip blob 4f4fb700…)", () => {
        const blob = d("sha256:4f4fb700ef54461cfa02571ae0db9a0dc1e0cdb5577484a6d75e68dc38e8acc1");
        const diffID = d("sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef");
        assert.equal(chainID([blob, diffID]), "sha256:7e500b3fbbc547d375a512f88b7b433be9b65fafb59d66a9f07bb7101e95454b");
    });
});
