/**
 * The image case of `npm run bench` (opt-in: LAYERSCOPE_BENCH_CASES=…,image): the 8-layer chain
 * (compressInput.mjs) as an OCI image layout with gzip layers, and
 *
 *   layerscope import        import LAYOUT WS (every layer digest-checked, applied, recorded)
 *   umoci unpack             the same layout unpacked into a bundle (reference for import)
 *   layerscope export        export WS --ref l7 --oci DIR --compression gzip, blobs already
 *                            stored (writing and copying the layout: what export adds)
 *   skopeo copy              oci:LAYOUT -> oci:DIR, every digest checked (reference for export)
 *   layerscope verify-image  import to a temporary workspace, recompute and recompress every
 *                            layer, judge each (no tool does this; no reference)
 *
 * Each run writes to a fresh directory, removed after it (untimed). The layout is made once by
 * `layerscope export` and reused while the chain is unchanged.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { runLayerscope } from "./compressCases.mjs";
import { timed } from "./measure.mjs";

const VERSION = 1;
const TAG = "l7";

const lastJson = (stdout) => JSON.parse(stdout.trim().split("\n").pop());

/** The chain as a gzip OCI layout (and the state holding its blobs), made once. */
export function ensureImage({ benchDir, chain, cli, log }) {
    const dir = path.join(benchDir, "image");
    const layout = path.join(dir, "oci");
    const state = path.join(dir, "state");
    const metaPath = path.join(dir, "image.json");
    let meta = null;
    try {
        meta = JSON.parse(fs.readFileSync(metaPath, "utf8"));
    } catch {
        meta = null;
    }
    if (meta?.version === VERSION && meta.chainBytes === chain.bytes && fs.existsSync(path.join(layout, "index.json"))) {
        log(`input: reusing ${layout} (${meta.layers} gzip layers, ${meta.blobBytes} bytes of blobs)`);
        return { layout, state, ...meta };
    }
    log(`input: exporting ${chain.path} --ref ${TAG} as a gzip OCI layout (${layout})`);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    const out = execFileSync(process.execPath, [cli, "export", chain.path, "--ref", TAG, "--oci", layout, "--compression", "gzip", "--state", state, "--json"], { encoding: "utf8", maxBuffer: 1 << 26 });
    const r = lastJson(out);
    const m = {
        version: VERSION,
        chainBytes: chain.bytes,
        layers: r.layers.length,
        blobBytes: r.layers.reduce((a, l) => a + l.descriptor.size, 0),
        manifest: r.manifest.digest,
    };
    fs.writeFileSync(metaPath, `${JSON.stringify(m)}\n`);
    return { layout, state, ...m };
}

/** A fresh output directory inside tmp for one run; removed after the run. */
async function inFresh(tmp, run) {
    const dir = fs.mkdtempSync(path.join(tmp, "image-run-"));
    try {
        return await run(dir);
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

const has = (cmd) => {
    try {
        execFileSync("sh", ["-c", 'command -v "$0"', cmd], { stdio: "ignore" });
        return true;
    } catch {
        return false;
    }
};

export function imageCase(cfg, image, chain) {
    const layerscope = (argsFor, result) => (tmp) =>
        inFresh(tmp, async (dir) => {
            const r = await runLayerscope(cfg, argsFor(dir), tmp);
            return { ...r, diffID: result(lastJson(r.stdout)), size: image.blobBytes };
        });
    const tool = (argvFor) => (tmp) =>
        inFresh(tmp, async (dir) => {
            const r = await timed(cfg.wrap(argvFor(dir)), tmp);
            return { ...r, diffID: "n/a", size: image.blobBytes };
        });
    const run = {
        "layerscope import": layerscope(
            (dir) => ["import", image.layout, path.join(dir, "ws"), "--json"],
            (j) => j.layers.at(-1).diffID,
        ),
        ...(has("umoci") ? { "umoci unpack": tool((dir) => ["umoci", "unpack", "--image", `${image.layout}:${TAG}`, path.join(dir, "bundle")]) } : {}),
        "layerscope export": layerscope(
            (dir) => ["export", chain.path, "--ref", TAG, "--oci", path.join(dir, "oci"), "--compression", "gzip", "--state", image.state, "--json"],
            (j) => j.manifest.digest,
        ),
        ...(has("skopeo") ? { "skopeo copy": tool((dir) => ["skopeo", "copy", "--quiet", `oci:${image.layout}:${TAG}`, `oci:${path.join(dir, "oci")}:${TAG}`]) } : {}),
        "layerscope verify-image": layerscope(
            () => ["verify-image", image.layout, "--json"],
            (j) => `${j.ok ? "ok" : "content differs"}: ${j.layers.map((l) => l.verdict).join(", ")}`,
        ),
    };
    return {
        id: "image",
        kind: "image",
        target: null,
        // Which row each layerscope row is compared with.
        refs: { "layerscope import": "umoci unpack", "layerscope export": "skopeo copy" },
        run,
    };
}
