/**
 * Compression types, media types and levels: BuildKit v0.10.6 `util/compression` (Parse,
 * FromMediaType, DefaultMediaType), containerd `images.IsLayerType`, Go's gzip level check and
 * `toZstdEncoderLevel` (spec §5.1-5.3).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isEngineError } from "../../src/engine/errors";
import {
    createEncoder,
    defaultMediaType,
    fromMediaType,
    goGzipLevel,
    isLayerMediaType,
    parseCompressionType,
    toOCILayerType,
    toZstdEncoderLevel,
    validateLevel,
    ZSTD_NATIVE_LEVEL,
} from "../../src/engine/compression/index";

const OCI = "application/vnd.oci.image.layer.v1.tar";
const OCI_ND = "application/vnd.oci.image.layer.nondistributable.v1.tar";
const DOCKER = "application/vnd.docker.image.rootfs.diff.tar";
const DOCKER_FOREIGN = "application/vnd.docker.image.rootfs.foreign.diff.tar";

describe("parseCompressionType", () => {
    it("accepts the four names", () => {
        for (const t of ["uncompressed", "gzip", "zstd", "estargz"]) {
            assert.equal(parseCompressionType(t), t);
        }
    });

    it("rejects anything else with InvalidArgument (v0.11+ behaviour)", () => {
        for (const t of ["", "Gzip", "zstd:chunked", "lz4"]) {
            assert.throws(() => parseCompressionType(t), (e) => isEngineError(e, "InvalidArgument"));
        }
    });
});

describe("fromMediaType (spec §5.3)", () => {
    it("maps every OCI and Docker layer type BuildKit knows", () => {
        const want: Array<[string, string]> = [
            [OCI, "uncompressed"], [DOCKER, "uncompressed"], [OCI_ND, "uncompressed"], [DOCKER_FOREIGN, "uncompressed"],
            [`${OCI}+gzip`, "gzip"], [`${DOCKER}.gzip`, "gzip"], [`${OCI_ND}+gzip`, "gzip"], [`${DOCKER_FOREIGN}.gzip`, "gzip"],
            [`${OCI}+zstd`, "zstd"], [`${DOCKER}.zstd`, "zstd"], [`${OCI_ND}+zstd`, "zstd"],
        ];
        for (const [mt, type] of want) {
            assert.equal(fromMediaType(mt), type, mt);
        }
    });

    it("is unknown for encrypted, foreign zstd and non-layer types", () => {
        for (const mt of [`${OCI}+encrypted`, `${OCI}+gzip+encrypted`, `${DOCKER_FOREIGN}.zstd`,
            "application/vnd.oci.image.config.v1+json", ""]) {
            assert.equal(fromMediaType(mt), "unknown", mt);
        }
    });

    it("maps Docker types to their OCI form (foreign to nondistributable)", () => {
        assert.equal(toOCILayerType(`${DOCKER}.gzip`), `${OCI}+gzip`);
        assert.equal(toOCILayerType(DOCKER_FOREIGN), OCI_ND);
        assert.equal(toOCILayerType(`${OCI}+encrypted`), undefined);
    });
});

describe("isLayerMediaType (containerd IsLayerType)", () => {
    it("accepts any OCI layer type and the four Docker layer types with suffixes stripped", () => {
        for (const mt of [OCI, `${OCI}+zstd`, `${OCI}+encrypted`, `${OCI_ND}+gzip`, DOCKER, `${DOCKER}.gzip`,
            DOCKER_FOREIGN, `${DOCKER_FOREIGN}.gzip`, `${DOCKER}.gzip+encrypted`]) {
            assert.equal(isLayerMediaType(mt), true, mt);
        }
    });

    it("rejects BuildKit's Docker zstd type, configs and manifests", () => {
        for (const mt of [`${DOCKER}.zstd`, "application/vnd.docker.container.image.v1+json",
            "application/vnd.oci.image.manifest.v1+json", ""]) {
            assert.equal(isLayerMediaType(mt), false, mt);
        }
    });
});

describe("defaultMediaType", () => {
    it("is always OCI; eStargz is gzip by media type", () => {
        assert.equal(defaultMediaType("uncompressed"), OCI);
        assert.equal(defaultMediaType("gzip"), `${OCI}+gzip`);
        assert.equal(defaultMediaType("estargz"), `${OCI}+gzip`);
        assert.equal(defaultMediaType("zstd"), `${OCI}+zstd`);
    });
});

describe("levels (spec §5.2)", () => {
    it("passes gzip levels -2..9 through and defaults to -1", () => {
        assert.equal(goGzipLevel(undefined), -1);
        for (let l = -2; l <= 9; l++) {
            assert.equal(goGzipLevel(l), l);
        }
    });

    it("rejects other gzip and eStargz levels as Go does", () => {
        for (const l of [-3, 10, 100, 1.5]) {
            assert.throws(() => goGzipLevel(l), (e) => isEngineError(e, "InvalidArgument"));
            for (const type of ["gzip", "estargz"] as const) {
                assert.throws(() => validateLevel({ type, level: l }), (e) => isEngineError(e, "InvalidArgument"));
                assert.throws(() => createEncoder({ type, level: l }, { write: () => undefined }),
                    (e) => isEngineError(e, "InvalidArgument"));
            }
        }
    });

    it("maps zstd levels like toZstdEncoderLevel", () => {
        const want: Array<[number | undefined, string]> = [
            [undefined, "SpeedDefault"], [-5, "SpeedDefault"], [-1, "SpeedDefault"],
            [0, "SpeedFastest"], [2, "SpeedFastest"], [3, "SpeedDefault"], [6, "SpeedDefault"],
            [7, "SpeedBetterCompression"], [8, "SpeedBetterCompression"], [9, "SpeedBestCompression"],
            [22, "SpeedBestCompression"],
        ];
        for (const [level, name] of want) {
            assert.equal(toZstdEncoderLevel(level), name, String(level));
        }
        assert.deepEqual(ZSTD_NATIVE_LEVEL, {
            SpeedFastest: 1, SpeedDefault: 3, SpeedBetterCompression: 7, SpeedBestCompression: 11,
        });
        assert.doesNotThrow(() => validateLevel({ type: "zstd", level: 100 }));
        assert.doesNotThrow(() => validateLevel({ type: "uncompressed", level: 100 }));
    });
});
