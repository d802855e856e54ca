/**
 * The compression and chain inputs, derived from the bench tree (buildInput.mjs) and cached next
 * to it:
 *
 *   tars/layer.tar  the base layer of input/lower/opt (~0.7 GB of mixed text and binary files),
 *                   written by layerscope's differ and checked against its diffID on reuse
 *   chain/          an overlayfs workspace of 8 stacked layers l0…l7, each an upperdir holding
 *                   every 8th file of input/lower/{home,var} (~48 MB a layer), hard-linked, so it
 *                   costs no data blocks
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

export const CHAIN_LAYERS = 8;
const VERSION = 1;

/** The ~700 MB layer tar; built once with `layerscope diff empty lower/opt --out`. */
export function ensureLayerTar({ benchDir, paths, cli, log }) {
    const dir = path.join(benchDir, "tars");
    const tar = path.join(dir, "layer.tar");
    const metaPath = path.join(dir, "layer.json");
    const meta = readJson(metaPath);
    if (meta?.version === VERSION && fs.existsSync(tar) && fs.statSync(tar).size === meta.size) {
        log(`input: reusing ${tar} (${meta.size} bytes)`);
        return { path: tar, ...meta };
    }
    fs.mkdirSync(dir, { recursive: true });
    log(`input: writing ${tar} (the base layer of ${path.join(paths.lower, "opt")})`);
    const out = execFileSync(
        process.execPath,
        [cli, "diff", paths.empty, path.join(paths.lower, "opt"), "--out", tar, "--json"],
        { encoding: "utf8" },
    );
    const j = JSON.parse(out.trim().split("\n").pop());
    const m = { version: VERSION, size: j.size, diffID: j.diffID };
    fs.writeFileSync(metaPath, `${JSON.stringify(m)}\n`);
    return { path: tar, ...m };
}

/** The 8-layer overlayfs workspace; returns its path and the bytes per layer. */
export function ensureChain({ benchDir, paths, log }) {
    const ws = path.join(benchDir, "chain");
    const metaPath = path.join(ws, "chain.json");
    const meta = readJson(metaPath);
    if (meta?.version === VERSION && fs.existsSync(path.join(ws, "layerscope.json"))) {
        log(`input: reusing ${ws} (${CHAIN_LAYERS} layers, ${meta.bytes} bytes)`);
        return { path: ws, ...meta };
    }
    log(`input: building ${ws} (${CHAIN_LAYERS} stacked overlayfs layers, hard links)`);
    fs.rmSync(ws, { recursive: true, force: true });
    const files = [];
    for (const top of ["home", "var"]) {
        walk(path.join(paths.lower, top), (abs) => files.push(abs));
    }
    files.sort();
    const layerBytes = new Array(CHAIN_LAYERS).fill(0);
    files.forEach((abs, i) => {
        const layer = i % CHAIN_LAYERS;
        const dest = path.join(ws, "snapshots", `l${layer}`, path.relative(paths.lower, abs));
        fs.mkdirSync(path.dirname(dest), { recursive: true });
        fs.linkSync(abs, dest);
        layerBytes[layer] += fs.statSync(abs).size;
    });
    const refs = Array.from({ length: CHAIN_LAYERS }, (_, i) => ({
        id: `l${i}`,
        ...(i > 0 ? { parent: `l${i - 1}` } : {}),
        snapshot: `snapshots/l${i}`,
    }));
    fs.writeFileSync(
        path.join(ws, "layerscope.json"),
        `${JSON.stringify({ snapshotter: "overlayfs", refs }, null, 2)}\n`,
    );
    const m = { version: VERSION, bytes: layerBytes.reduce((a, b) => a + b, 0), layerBytes };
    fs.writeFileSync(metaPath, `${JSON.stringify(m)}\n`);
    return { path: ws, ...m };
}

function walk(dir, onFile) {
    for (const d of fs.readdirSync(dir, { withFileTypes: true })) {
        const abs = path.join(dir, d.name);
        if (d.isDirectory()) {
            walk(abs, onFile);
        } else if (d.isFile()) {
            onFile(abs);
        }
    }
}

function readJson(p) {
    try {
        return JSON.parse(fs.readFileSync(p, "utf8"));
    } catch {
        return null;
    }
}

/**
 * The big tar for the memory case (~5 GB): GNU tar of input/lower plus input/upper/srv, hard
 * links dereferenced so every file's data is in it. Built once; it is only read.
 */
export function ensureBigTar({ benchDir, paths, log }) {
    const tar = path.join(benchDir, "tars", "big.tar");
    if (fs.existsSync(tar) && fs.statSync(tar).size > 4.5 * 2 ** 30) {
        log(`input: reusing ${tar} (${fs.statSync(tar).size} bytes)`);
        return { path: tar, size: fs.statSync(tar).size };
    }
    fs.mkdirSync(path.dirname(tar), { recursive: true });
    log(`input: writing ${tar} (~5 GB: lower and upper/srv, hard links dereferenced)`);
    const input = path.dirname(paths.lower);
    execFileSync("tar", ["--format=posix", "--hard-dereference", "-cf", `${tar}.tmp`, "-C", input, "lower", "upper/srv"]);
    fs.renameSync(`${tar}.tmp`, tar);
    return { path: tar, size: fs.statSync(tar).size };
}
