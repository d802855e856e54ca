/**
 * The fuzz targets: each takes one input and drives a parser over it the way the engine does.
 * A run may end in an EngineError (any code: that is a refusal, the point of the exercise) or
 * succeed; anything else is a crash. Each run returns an outcome signature (`ok` or
 * `Code/reason`); the runner keeps inputs with a new signature as further seeds, a coarse stand-in
 * for coverage feedback.
 *
 * - tar: the tar scanner in random chunkings, the layer applier into a fresh directory beside a
 *   sentinel (nothing may appear outside the root), and the image-archive index (openFiles +
 *   resolveImage) over the same bytes.
 * - estargz: footer, TOC locate/gunzip/parse (tocFromBlob), detectFromEnds, and the eStargz
 *   decoder (bounded read).
 * - bbolt: BoltDB over the bytes as a file, a full walk and point lookups.
 * - manifest: the bytes as an index, a manifest, a config, a docker manifest.json, through
 *   parseJson/check* and resolveImage over an in-memory image.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { gunzipSync, gzipSync } from "node:zlib";
import { BoltDB, type Bucket } from "../../src/engine/bbolt";
import { openDecoded } from "../../src/engine/compression/decode";
import { detectFromEnds } from "../../src/engine/compression/detect";
import { footerBytes } from "../../src/engine/compression/estargz/footer";
import { TarScanner } from "../../src/engine/compression/estargz/tarScanner";
import { tocFromBlob } from "../../src/engine/compression/estargz/tocReader";
import { isEngineError } from "../../src/engine/errors";
import { applyLayer } from "../../src/engine/image/applyLayer";
import { type FileAccess, openFiles } from "../../src/engine/image/imageFiles";
import { checkConfig, checkIndex, checkManifest, layerHistory, parseJson } from "../../src/engine/image/imageTypes";
import { resolveImage } from "../../src/engine/image/resolveImage";
import type { Rng } from "../helpers/rng";
import { fixBoltMetas, fixTarChecksums, type Mutator } from "./mutate";

export const TARGET_NAMES = ["tar", "estargz", "bbolt", "manifest"] as const;
/** Targets with a planted bug, for the harness's own test: it must report them. */
export const CANARY_NAMES = ["canary-crash", "canary-hang"] as const;
export type TargetName = (typeof TARGET_NAMES)[number] | (typeof CANARY_NAMES)[number];

export interface FuzzTarget {
    readonly name: TargetName;
    readonly maxLen: number;
    seeds(): Buffer[];
    /** Format-aware mutation; the byte mutator has already run when `structured` is false. */
    mutate(input: Buffer, others: readonly Buffer[], m: Mutator, rng: Rng): Buffer;
    run(input: Buffer, rng: Rng): Promise<string>;
}

/** The committed seed corpus. */
export const FIXTURES = join(__dirname, "..", "..", "..", "test", "fixtures");
const seedDir = (name: string): string => join(FIXTURES, "fuzz", name);

function readSeeds(name: string): Buffer[] {
    const dir = seedDir(name);
    return fs.readdirSync(dir).sort().map((f) => {
        const b = fs.readFileSync(join(dir, f));
        return f.endsWith(".gz") ? gunzipSync(b) : b;
    });
}

/** The outcome of a run: "ok", or the EngineError's code/reason; other errors propagate. */
async function outcome(f: () => unknown): Promise<string> {
    try {
        await f();
        return "ok";
    } catch (err) {
        if (isEngineError(err)) return `${err.code}/${String(err.data.reason ?? "")}:${shape(err.message)}`;
        throw err;
    }
}

/** A message without its paths, numbers and quoted values: which check refused, not on what. */
function shape(message: string): string {
    return message
        .replace(/\([^()]*\)/g, "()")
        .replace(/"(?:[^"\\]|\\.)*"|'[^']*'/g, "S")
        .replace(/\S*[/:]\S*/g, "P")
        .replace(/[0-9a-f]{8,}|\d+/g, "N")
        .slice(0, 80);
}

/** Breaks the pieces of a crash the runner groups by: an Error escaping an outcome(). */
export class Escape extends Error {
    override readonly name = "Escape";
}

// ---------------------------------------------------------------------------------------------

export function tarTarget(work: string): FuzzTarget {
    const sentinel = join(work, "sentinel");
    fs.mkdirSync(sentinel, { recursive: true });
    fs.writeFileSync(join(sentinel, "keep"), "keep");
    let n = 0;
    return {
        name: "tar",
        maxLen: 64 * 1024,
        seeds: () => readSeeds("tar"),
        mutate: (b, _others, _m, rng) => (rng.chance(0.6) ? fixTarChecksums(b, rng) : b),
        async run(input, rng) {
            const sigs: string[] = [];
            sigs.push(await outcome(async () => {
                const scanner = new TarScanner({ raw: async () => undefined, entry: () => undefined, data: async () => undefined });
                for (let off = 0; off < input.length; ) {
                    const len = rng.chance(0.5) ? input.length : rng.int(1, 1024);
                    await scanner.push(input.subarray(off, off + len));
                    off += len;
                }
                scanner.end();
            }));
            const root = join(work, `root-${n++}`);
            fs.mkdirSync(root);
            try {
                sigs.push(await outcome(() => applyLayer((async function* () { yield input; })(), { root, mode: rng.chance(0.8) ? "native" : "overlayfs", privileged: false, maxBytes: 1 << 24 })));
                const around = fs.readdirSync(work).filter((x) => x !== "sentinel" && x !== root.slice(work.length + 1) && x !== "archive.tar");
                if (around.length > 0 || fs.readdirSync(sentinel).join() !== "keep" || fs.readFileSync(join(sentinel, "keep"), "utf8") !== "keep" || fs.statSync(join(sentinel, "keep")).nlink !== 1) {
                    throw new Escape(`the applier wrote outside its root: ${around.join(", ")}`);
                }
            } finally {
                fs.rmSync(root, { recursive: true, force: true });
            }
            const archive = join(work, "archive.tar");
            fs.writeFileSync(archive, input);
            sigs.push(await outcome(async () => {
                const files = await openFiles(archive);
                try {
                    await resolveImage(files, {});
                } finally {
                    await files.close();
                }
            }));
            return sigs.join(" ");
        },
    };
}

// ---------------------------------------------------------------------------------------------

function tocOffsetOf(blob: Buffer): number | null {
    if (blob.length < 51) return null;
    const v = parseInt(blob.toString("latin1", blob.length - 51 + 16, blob.length - 51 + 32), 16);
    return Number.isSafeInteger(v) && v >= 0 && v <= blob.length - 51 ? v : null;
}

export function estargzTarget(work: string): FuzzTarget {
    const file = join(work, "blob");
    return {
        name: "estargz",
        maxLen: 32 * 1024,
        seeds: () => readSeeds("estargz"),
        mutate(b, _others, _m, rng) {
            // Half the time, rebuild a well-formed TOC member around a mutated TOC JSON.
            const off = tocOffsetOf(b);
            if (off === null || !rng.chance(0.5)) return b;
            let json: unknown;
            try {
                const tar = gunzipSync(b.subarray(off, b.length - 51));
                json = JSON.parse(tar.subarray(512, 512 + parseInt(tar.toString("latin1", 124, 135), 8)).toString("utf8"));
            } catch {
                return b;
            }
            const text = Buffer.from(JSON.stringify(mutateJson(json, rng)));
            const member = gzipSync(tocTar(text));
            return Buffer.concat([b.subarray(0, off), member, footerBytes(rng.chance(0.9) ? off : rng.int(0, b.length * 2))]);
        },
        async run(input) {
            const sigs: string[] = [];
            sigs.push(await outcome(() => tocFromBlob(input, "fuzz blob", { maxTocBytes: 1 << 20 })));
            const tail = input.subarray(Math.max(0, input.length - 51));
            sigs.push(detectFromEnds({ size: input.length, head: input.subarray(0, 10), tail }));
            fs.writeFileSync(file, input);
            sigs.push(await outcome(async () => {
                let total = 0;
                for await (const c of openDecoded(file, "estargz")) {
                    total += (c as Buffer).length;
                    if (total > 8 << 20) break;
                }
            }));
            return sigs.join(" ");
        },
    };
}

/** The TOC tar as estargz writes it: one USTAR entry and two zero blocks. */
function tocTar(json: Buffer): Buffer {
    const h = Buffer.alloc(512);
    h.write("stargz.index.json", 0, "latin1");
    h.write("0000644\0", 100, "latin1");
    h.write("0000000\0", 108, "latin1");
    h.write("0000000\0", 116, "latin1");
    h.write(json.length.toString(8).padStart(11, "0") + "\0", 124, "latin1");
    h.write("00000000000\0", 136, "latin1");
    h.write("0", 156, "latin1");
    h.write("ustar\u000000", 257, "latin1");
    h.fill(0x20, 148, 156);
    let sum = 0;
    for (const c of h) sum += c;
    h.write(sum.toString(8).padStart(6, "0") + "\0 ", 148, "latin1");
    return Buffer.concat([h, json, Buffer.alloc((512 - (json.length % 512)) % 512), Buffer.alloc(1024)]);
}

// ---------------------------------------------------------------------------------------------

const INTERESTING_64 = [0n, 1n, 2n, 3n, 0xffffffffn, 1n << 32n, 1n << 53n, (1n << 63n) - 1n, (1n << 64n) - 1n];

export function bboltTarget(work: string): FuzzTarget {
    const file = join(work, "db");
    return {
        name: "bbolt",
        maxLen: 512 * 1024,
        // The committed bbolt fixtures (real containerd databases) are the seeds.
        seeds: () => ["containerd-native", "containerd-overlayfs"].map((n) => gunzipSync(fs.readFileSync(join(FIXTURES, "realstate", "bbolt", `${n}.db.gz`)))),
        mutate(b, _others, _m, rng) {
            // Page-aware: poke a header or element field of one page with an interesting value.
            const ps = b.length >= 24 + 4 ? b.readUInt32LE(24) : 0;
            if (ps >= 512 && ps <= 65536 && rng.chance(0.6)) {
                const pages = Math.floor(b.length / ps);
                if (pages > 0) {
                    const base = rng.int(0, pages - 1) * ps;
                    const field = rng.pick([0, 8, 10, 12, 16, 20, 24, 28, 32, 40, 48]);
                    const v = rng.pick(INTERESTING_64);
                    if (base + field + 8 <= b.length) {
                        if (field === 8 || field === 10) b.writeUInt16LE(Number(v & 0xffffn), base + field);
                        else if (field === 12 || field === 20 || field === 28) b.writeUInt32LE(Number(v & 0xffffffffn), base + field);
                        else b.writeBigUInt64LE(v, base + field);
                    }
                }
            }
            return rng.chance(0.8) ? fixBoltMetas(b) : b;
        },
        async run(input) {
            fs.writeFileSync(file, input);
            return outcome(() =>
                BoltDB.read(file, (tx) => {
                    let budget = 200_000;
                    const walk = (bk: Bucket): void => {
                        for (const e of bk.entries()) {
                            if (--budget < 0) return;
                            if (e.bucket) walk(e.bucket);
                        }
                    };
                    walk(tx.root);
                    tx.root.dig("v1", "default", "snapshots");
                    tx.root.bucket("v1")?.get("version");
                }, { maxAttempts: 1 }),
            );
        },
    };
}

// ---------------------------------------------------------------------------------------------

const HOSTILE_VALUES: unknown[] = [
    -1, 0, 1.5, 2 ** 53 + 2, 1e308, -0, "", "../../etc/passwd", "/etc/passwd", "blobs/sha256/../../x",
    `sha256:${"0".repeat(64)}`, `sha512:${"ab".repeat(64)}`, "sha256:../../../x", "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json",
    null, true, [], {}, [null], { __proto__: { polluted: 1 } }, "x".repeat(5000), "\u0000", "unknown", "linux", "amd64",
];

/** One structural change to a JSON document: replace, delete, add, duplicate, or retype a node. */
export function mutateJson(doc: unknown, rng: Rng): unknown {
    const copy = JSON.parse(JSON.stringify(doc ?? null)) as unknown;
    const containers: { parent: Record<string, unknown> | unknown[]; key: string | number }[] = [];
    const visit = (node: unknown, depth: number): void => {
        if (depth > 12 || node === null || typeof node !== "object") return;
        if (Array.isArray(node)) node.forEach((v, i) => (containers.push({ parent: node, key: i }), visit(v, depth + 1)));
        else for (const [k, v] of Object.entries(node)) containers.push({ parent: node as Record<string, unknown>, key: k }), visit(v, depth + 1);
    };
    visit(copy, 0);
    if (containers.length === 0) return rng.pick(HOSTILE_VALUES);
    const steps = rng.int(1, 3);
    for (let i = 0; i < steps; i++) {
        const { parent, key } = rng.pick(containers);
        const p = parent as Record<string | number, unknown>;
        switch (rng.int(0, 5)) {
            case 0:
            case 1:
                p[key] = rng.pick(HOSTILE_VALUES);
                break;
            case 2:
                if (Array.isArray(parent)) parent.splice(Number(key), 1);
                else delete p[key];
                break;
            case 3:
                if (Array.isArray(parent)) parent.push(JSON.parse(JSON.stringify(parent[Number(key)] ?? null)));
                else p[`${String(key)}${rng.int(0, 9)}`] = rng.pick(HOSTILE_VALUES);
                break;
            case 4:
                p[key] = [p[key]];
                break;
            default:
                p[key] = typeof p[key] === "number" ? String(p[key]) : typeof p[key] === "string" ? Number(p[key]) || p[key] : { value: p[key] };
        }
    }
    return copy;
}

/** An image held in memory: members by name. */
function memFiles(members: Map<string, Buffer>): FileAccess {
    return {
        kind: "dir",
        path: "/fuzz-image",
        size: async (name) => members.get(name)?.length ?? null,
        open: (name) => Readable.from([members.get(name) ?? Buffer.alloc(0)]),
        close: async () => undefined,
    };
}

const sha = (b: Buffer): string => `sha256:${createHash("sha256").update(b).digest("hex")}`;

export function manifestTarget(): FuzzTarget {
    let seeds: Buffer[] | undefined;
    const seedNamed = (kind: string): Buffer => {
        seeds ??= readSeeds("manifest");
        return seeds.find((s) => s.includes(kind)) ?? seeds[0]!;
    };
    return {
        name: "manifest",
        maxLen: 64 * 1024,
        seeds: () => (seeds ??= readSeeds("manifest")),
        mutate(b, _others, _m, rng) {
            if (!rng.chance(0.6)) return b;
            try {
                return Buffer.from(JSON.stringify(mutateJson(JSON.parse(b.toString("utf8")), rng)));
            } catch {
                return b;
            }
        },
        async run(input) {
            const sigs: string[] = [];
            for (const check of [checkIndex, checkManifest, checkConfig]) {
                sigs.push(await outcome(() => {
                    const doc = parseJson(input, "fuzz");
                    const r = check(doc, "fuzz");
                    if (check === checkConfig) layerHistory(r as ReturnType<typeof checkConfig>, 3);
                }));
            }
            const config = seedNamed('"rootfs"');
            const layer = Buffer.from("layer");
            // The input as index.json.
            const asIndex = new Map([["index.json", input], ["oci-layout", Buffer.from('{"imageLayoutVersion":"1.0.0"}')]]);
            // The input as the manifest an index points at, and as the config a manifest points at.
            const asManifest = new Map(asIndex);
            asManifest.set("index.json", Buffer.from(JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: "application/vnd.oci.image.manifest.v1+json", digest: sha(input), size: input.length }] })));
            asManifest.set(`blobs/sha256/${sha(input).slice(7)}`, input);
            asManifest.set(`blobs/sha256/${sha(config).slice(7)}`, config);
            const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: sha(input), size: input.length }, layers: [] }));
            const asConfig = new Map([
                ["index.json", Buffer.from(JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: "application/vnd.oci.image.manifest.v1+json", digest: sha(manifest), size: manifest.length }] }))],
                [`blobs/sha256/${sha(manifest).slice(7)}`, manifest],
                [`blobs/sha256/${sha(input).slice(7)}`, input],
            ]);
            const asDocker = new Map([["manifest.json", input], ["c.json", config], ["l.tar", layer], [`${sha(config).slice(7)}.json`, config]]);
            for (const members of [asIndex, asManifest, asConfig, asDocker]) {
                sigs.push(await outcome(() => resolveImage(memFiles(members), { platform: { os: "linux", architecture: "amd64" } })));
            }
            return sigs.join(" ");
        },
    };
}

export function makeTarget(name: TargetName, work: string): FuzzTarget {
    switch (name) {
        case "tar":
            return tarTarget(work);
        case "estargz":
            return estargzTarget(work);
        case "bbolt":
            return bboltTarget(work);
        case "manifest":
            return manifestTarget();
        case "canary-crash":
        case "canary-hang":
            return canaryTarget(name);
    }
}

/** A parser with a planted bug two mutations deep: a TypeError, or an endless loop. */
function canaryTarget(name: "canary-crash" | "canary-hang"): FuzzTarget {
    return {
        name,
        maxLen: 64,
        seeds: () => [Buffer.from("seed input")],
        mutate: (b) => b,
        async run(input) {
            if (input.includes(0x2f) && input.includes(0x2e)) {
                if (name === "canary-crash") (undefined as unknown as { x: number }).x++;
                else for (;;);
            }
            return "ok";
        },
    };
}
