/**
 * A Docker data-root (dockerd 20.10–24 on the overlay2 graph driver) with its built-in BuildKit,
 * read in place. BuildKit's snapshots there are Docker layers; `buildkit/` holds metadata only:
 *
 *   buildkit/metadata_v2.db  _main/<record>/{cache.parent, cache.description, snapshot.committed,
 *                            cache.equalMutable, cache.snapshot, cache.chainID, cache.diffID, …}
 *                            (BuildKit `cache/metadata`: each value is JSON {"value":…,"index":…})
 *   buildkit/snapshots.db    moby's snapshot adapter (builder-next/adapters/snapshot):
 *                            <id>/{chainid, committed} | <graphID>/{parent, iscommitted} | …
 *   image/overlay2/layerdb/sha256/<chainID>/{cache-id, diff, parent, tar-split.json.gz}
 *   image/overlay2/imagedb/content/sha256/<imageID>   image config JSON
 *   image/overlay2/repositories.json                  names → image ids
 *   overlay2/<graphID>/diff                           the layer's upperdir (overlay whiteouts)
 *
 * A record's snapshot id is `cache.snapshot` (newer BuildKit) or the record id (v0.8 in dockerd
 * 20.10); snapshots.db maps it to a layer chain ID (→ layerdb → cache-id → overlay2) or it is a
 * graph driver id itself (an uncommitted mutable). Refs: every BuildKit record as BuildKit saw it
 * (parent = cache.parent), and every layerdb layer (id = its chain ID) for the images.
 */
import { readFileSync, realpathSync, statSync } from "node:fs";
import * as path from "node:path";
import { BoltDB } from "../bbolt";
import type { Digest } from "../digest/hashSink";
import { EngineError, fromSystemError } from "../errors";
import { chainIDs as computeChainIDs } from "../identity/chainID";
import { checkReadable, listDir, rootError } from "./access";
import { readBuildkitRecords, type BuildkitMetaRecord } from "./buildkitMeta";

export interface DockerLayer {
    readonly chainID: string;
    readonly diffID: string | null;
    readonly parent: string | null;
    readonly cacheID: string;
    readonly dir: string;
    readonly tarSplit: string;
}

/** A BuildKit record of the data-root, with its chain and diff IDs filled in from the layerdb. */
export interface DockerRecord
    extends Pick<BuildkitMetaRecord, "id" | "parent" | "description" | "committed" | "equalMutable" | "recordType" | "chainID" | "diffID" | "blobChainID" | "createdAt" | "size"> {
    /** Graph driver id of the directory, and the directory (overlay2/<id>/diff). */
    readonly graphID: string | null;
    readonly dir: string | null;
}

export interface DockerImage {
    readonly name: string;
    readonly id: string;
    readonly diffIDs: string[];
    readonly chainIDs: string[];
    readonly problem: string | null;
}

export interface DockerRoot {
    readonly kind: "docker";
    readonly root: string;
    readonly driver: string;
    readonly layers: Map<string, DockerLayer>;
    readonly records: DockerRecord[];
    readonly images: DockerImage[];
    readonly problems: string[];
}

const DRIVER = "overlay2";
const SHA = /^sha256:[a-f0-9]{64}$/;
const GRAPH_ID = /^[A-Za-z0-9]{1,128}$/;

export function loadDockerRoot(dir: string): DockerRoot {
    let root: string;
    try {
        root = realpathSync(path.resolve(dir));
    } catch (err) {
        throw rootError(err, path.resolve(dir), "the Docker data-root", "opening the Docker data-root");
    }
    const entries = listDir(root, "the Docker data-root (dockerd keeps it 0710)");
    if (!entries.includes(DRIVER)) {
        throw new EngineError("Unsupported", `${root}: only the overlay2 storage driver is read (no ${DRIVER}/ here)`, { path: root });
    }
    const problems: string[] = [];
    const layers = readLayerdb(root, problems);
    const records = readBuildkit(root, layers, problems);
    const images = readImages(root, problems);
    return { kind: "docker", root, driver: DRIVER, layers, records, images, problems };
}

function readText(file: string): string | null {
    try {
        return readFileSync(file, "utf8").trim();
    } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === "ENOENT") return null;
        throw rootError(err, file, "Docker's layer store", "reading Docker's layer store");
    }
}

function graphDir(root: string, graphID: string): string | null {
    if (!GRAPH_ID.test(graphID)) return null;
    const d = path.join(root, DRIVER, graphID, "diff");
    try {
        return statSync(d).isDirectory() ? d : null;
    } catch {
        return null;
    }
}

function readLayerdb(root: string, problems: string[]): Map<string, DockerLayer> {
    const base = path.join(root, "image", DRIVER, "layerdb", "sha256");
    const out = new Map<string, DockerLayer>();
    let names: string[];
    try {
        names = listDir(base, "Docker's layer store");
    } catch (err) {
        if (err instanceof EngineError && err.code === "NotFound") return out;
        throw err;
    }
    for (const hex of names.sort()) {
        if (!/^[a-f0-9]{64}$/.test(hex)) continue;
        const d = path.join(base, hex);
        const cacheID = readText(path.join(d, "cache-id"));
        const chainID = `sha256:${hex}`;
        const dir = cacheID ? graphDir(root, cacheID) : null;
        if (!cacheID || !dir) {
            problems.push(`layer ${chainID}: ${cacheID ? `overlay2/${cacheID}/diff is missing` : "no cache-id"}; skipped`);
            continue;
        }
        const parent = readText(path.join(d, "parent"));
        const diffID = readText(path.join(d, "diff"));
        out.set(chainID, {
            chainID,
            diffID: diffID && SHA.test(diffID) ? diffID : null,
            parent: parent && SHA.test(parent) ? parent : null,
            cacheID,
            dir,
            tarSplit: path.join(d, "tar-split.json.gz"),
        });
    }
    return out;
}

function readBuildkit(root: string, layers: Map<string, DockerLayer>, problems: string[]): DockerRecord[] {
    const dir = path.join(root, "buildkit");
    const metaFile = path.join(dir, "metadata_v2.db");
    const snapFile = path.join(dir, "snapshots.db");
    try {
        statSync(metaFile);
    } catch {
        return [];
    }
    checkReadable(metaFile, "BuildKit's cache metadata");
    checkReadable(snapFile, "BuildKit's snapshot database");
    const snaps = BoltDB.read(snapFile, (tx) => {
        const m = new Map<string, Record<string, string>>();
        for (const e of tx.root.entries()) {
            if (!e.bucket) continue;
            const fields: Record<string, string> = {};
            for (const f of e.bucket.entries()) if (f.value) fields[f.key.toString("utf8")] = f.value.toString("utf8");
            m.set(e.key.toString("utf8"), fields);
        }
        return m;
    });
    const out: DockerRecord[] = [];
    for (const r of readBuildkitRecords(metaFile)) {
        const snapshotID = r.snapshotID;
        const s = snaps.get(snapshotID);
        const chain = s?.chainid ?? (SHA.test(snapshotID) ? snapshotID : null);
        let graphID: string | null = null;
        let recDir: string | null = null;
        if (chain) {
            const layer = layers.get(chain);
            graphID = layer?.cacheID ?? null;
            recDir = layer?.dir ?? null;
        } else {
            graphID = snapshotID;
            recDir = graphDir(root, snapshotID);
        }
        out.push({
            id: r.id,
            parent: r.parent,
            description: r.description,
            committed: r.committed,
            equalMutable: r.equalMutable,
            recordType: r.recordType,
            chainID: r.chainID ?? chain,
            diffID: r.diffID ?? (chain ? (layers.get(chain)?.diffID ?? null) : null),
            blobChainID: r.blobChainID,
            createdAt: r.createdAt,
            size: r.size,
            graphID,
            dir: recDir,
        });
        if (!recDir) problems.push(`BuildKit record ${r.id}: no layer directory (snapshot ${snapshotID}); not a ref`);
    }
    return out;
}

function readImages(root: string, problems: string[]): DockerImage[] {
    const base = path.join(root, "image", DRIVER);
    const reposText = readText(path.join(base, "repositories.json"));
    if (!reposText) return [];
    let repos: { Repositories?: Record<string, Record<string, string>> };
    try {
        repos = JSON.parse(reposText) as typeof repos;
    } catch (err) {
        throw new EngineError("Corrupt", `${path.join(base, "repositories.json")}: not JSON`, { path: path.join(base, "repositories.json") }, { cause: err });
    }
    const out: DockerImage[] = [];
    for (const refs of Object.values(repos.Repositories ?? {})) {
        for (const [name, id] of Object.entries(refs)) {
            if (name.includes("@")) continue; // digest references repeat a tag's image
            if (!SHA.test(id)) {
                problems.push(`image ${name}: id ${JSON.stringify(id)} is not a sha256 digest`);
                continue;
            }
            const file = path.join(base, "imagedb", "content", "sha256", id.slice(7));
            try {
                const config = JSON.parse(readFileSync(file, "utf8")) as { rootfs?: { diff_ids?: string[] } };
                const diffIDs = (config.rootfs?.diff_ids ?? []).filter((d) => SHA.test(d));
                const chainIDs: string[] = computeChainIDs(diffIDs as Digest[]);
                out.push({ name, id, diffIDs, chainIDs, problem: null });
            } catch (err) {
                const e = err instanceof SyntaxError ? new EngineError("Corrupt", `${file}: not JSON`, { path: file }) : fromSystemError(err, file, "reading an image config");
                if (e.code === "PermissionDenied") throw e;
                out.push({ name, id, diffIDs: [], chainIDs: [], problem: e.message });
            }
        }
    }
    return out.sort((a, b) => (a.name < b.name ? -1 : 1));
}
