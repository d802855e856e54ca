import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseWhiteoutTime } from "../../src/engine";

describe("whiteout time (Go time.Round(time.Second))", () => {
    it("rounds to the nearest second, halfway up", () => {
        assert.equal(parseWhiteoutTime("1700000000.4").seconds, 1700000000n);
        assert.equal(parseWhiteoutTime("1700000000.5").seconds, 1700000001n);
        assert.equal(parseWhiteoutTime("1700000000.6").seconds, 1700000001n);
        assert.equal(parseWhiteoutTime("1700000000.999999999").seconds, 1700000001n);
        assert.equal(parseWhiteoutTime("0").seconds, 0n);
        assert.equal(parseWhiteoutTime("-1.5").seconds, -1n);
        assert.equal(parseWhiteoutTime("-1.6").seconds, -2n);
    });

    it("accepts RFC 3339", () => {
        assert.equal(parseWhiteoutTime("2023-11-14T22:13:20.6Z").seconds, 1700000001n);
        assert.equal(parseWhiteoutTime("2023-11-14T23:13:20+01:00").seconds, 1700000000n);
    });

    it("rejects anything else with InvalidArgument", () => {
        for (const bad of ["", "now", "1e9", "1700000000.1234567891", "2023-11-14"]) {
            assert.throws(() => parseWhiteoutTime(bad), { code: "InvalidArgument" }, bad);
        }
    });
});
