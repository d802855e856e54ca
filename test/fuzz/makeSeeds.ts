/**
 * Regenerates the committed fuzz seed corpus, test/fixtures/fuzz/{tar,estargz,manifest}/:
 *   npm run build:tests && node out/test/fuzz/makeSeeds.js
 * Small inputs that reach every branch the targets parse: each tar header format and entry
 * kind, PAX and GNU long names, whiteouts; eStargz blobs from our encoder (empty, files, a
 * hard link, the legacy footer); OCI index/manifest/config and a docker manifest.json. The
 * bbolt target seeds from the committed test/fixtures/realstate/bbolt databases.
 */
import * as fs from "node:fs";
import { join } from "node:path";
import { compressFile } from "../../src/engine/compression/compressFile";
import { type TarEntrySpec, tarOf } from "../helpers/tarBuilder";
import { FIXTURES } from "./targets";

const out = join(FIXTURES, "fuzz");
const T = 1700000000;
const file = (name: string, data: string, o: Partial<TarEntrySpec> = {}): TarEntrySpec => ({ name, data: Buffer.from(data), mode: 0o644, mtime: T, ...o });
const dir = (name: string, o: Partial<TarEntrySpec> = {}): TarEntrySpec => ({ name, type: "5", mode: 0o755, mtime: T, ...o });

const tars: Record<string, Buffer> = {
    "ustar-basic.tar": tarOf([dir("etc/"), file("etc/os-release", "ID=seed\n"), { name: "etc/link", type: "2", linkname: "os-release", mtime: T }, { name: "etc/hard", type: "1", linkname: "etc/os-release", mtime: T }]),
    "pax-records.tar": tarOf([file("p", "pax", { pax: { path: "päx/ünïcode", mtime: "1700000000.123456789", "SCHILY.xattr.user.k": "v", uid: "70000", gname: "grp" } })], { global: { comment: "g" } }),
    "gnu-longname.tar": tarOf([file(`${"long/".repeat(30)}name`, "gnu", { format: "gnu" }), { name: `${"l".repeat(120)}`, type: "2", linkname: `${"t".repeat(120)}`, format: "gnu", mtime: T }]),
    "v7.tar": tarOf([file("v7file", "old", { format: "v7" }), file("v7dir/", "", { format: "v7", type: "\0" })]),
    "whiteouts.tar": tarOf([dir("d/"), file("d/.wh..wh..opq", ""), file(".wh.gone", ""), file("d/.wh..wh.plnk", "")]),
    "special.tar": tarOf([{ name: "fifo", type: "6", mtime: T }, { name: "dev/null", type: "3", devmajor: 1, devminor: 3, mtime: T }, file("big-ids", "x", { uid: 2 ** 21 + 5, gid: 2 ** 30 })]),
    "record-end.tar": tarOf([file("a", "a".repeat(700))], { end: "record", trailing: Buffer.from("trailing") }),
    "symlink-dir.tar": tarOf([dir("real/"), { name: "alias", type: "2", linkname: "real", mtime: T }, file("alias/through", "x"), { name: "abs", type: "2", linkname: "/real", mtime: T }, file("abs/again", "y")]),
};

async function estargzSeeds(): Promise<Record<string, Buffer>> {
    const res: Record<string, Buffer> = {};
    const inputs: Record<string, Buffer> = {
        "empty.estargz": tarOf([]),
        "files.estargz": tarOf([dir("etc/"), file("etc/a", "alpha\n"), file("etc/b", "b".repeat(3000)), { name: "etc/l", type: "2", linkname: "a", mtime: T }]),
        "hardlink-xattr.estargz": tarOf([file("f", "data", { pax: { "SCHILY.xattr.user.x": "1" } }), { name: "h", type: "1", linkname: "f", mtime: T }, { name: "fifo", type: "6", mtime: T }]),
    };
    for (const [name, tar] of Object.entries(inputs)) {
        const tmp = join(out, `.${name}.tar`);
        fs.writeFileSync(tmp, tar);
        const chunks: Buffer[] = [];
        await compressFile(tmp, { type: "estargz" }, { write: async (c: Buffer) => void chunks.push(Buffer.from(c)) });
        fs.rmSync(tmp);
        res[name] = Buffer.concat(chunks);
    }
    // The legacy 47-byte stargz footer on the files blob.
    const b = res["files.estargz"]!;
    const off = parseInt(b.toString("latin1", b.length - 51 + 16, b.length - 51 + 32), 16);
    const legacyExtra = Buffer.from(`${off.toString(16).padStart(16, "0")}STARGZ`, "latin1");
    const legacy = Buffer.concat([Buffer.from([0x1f, 0x8b, 0x08, 0x04, 0, 0, 0, 0, 0, 0xff, 22, 0]), legacyExtra, Buffer.from([0x01, 0x00, 0x00, 0xff, 0xff]), Buffer.alloc(8)]);
    res["legacy-footer.estargz"] = Buffer.concat([b.subarray(0, b.length - 51), legacy]);
    return res;
}

const D = (c: string): string => `sha256:${c.repeat(64)}`;
const manifests: Record<string, unknown> = {
    "index.json": { schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests: [{ mediaType: "application/vnd.oci.image.manifest.v1+json", digest: D("a"), size: 400, platform: { os: "linux", architecture: "amd64" }, annotations: { "org.opencontainers.image.ref.name": "v1" } }, { mediaType: "application/vnd.oci.image.index.v1+json", digest: D("b"), size: 300 }] },
    "manifest.json": { schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json", config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: D("c"), size: 200 }, layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: D("d"), size: 1000, annotations: { "containerd.io/snapshot/stargz/toc.digest": D("e") } }, { mediaType: "application/vnd.oci.image.layer.v1.tar+zstd", digest: D("f"), size: 10 }] },
    "config.json": { architecture: "amd64", os: "linux", variant: "v8", rootfs: { type: "layers", diff_ids: [D("1"), D("2")] }, history: [{ created_by: "RUN a" }, { empty_layer: true, comment: "c" }, { created_by: "RUN b" }] },
    "docker-manifest.json": [{ Config: "c.json", RepoTags: ["example/app:1"], Layers: ["l.tar"] }],
    "docker-manifest-v2.json": { schemaVersion: 2, mediaType: "application/vnd.docker.distribution.manifest.v2+json", config: { mediaType: "application/vnd.docker.container.image.v1+json", digest: D("c"), size: 200 }, layers: [{ mediaType: "application/vnd.docker.image.rootfs.diff.tar.gzip", digest: D("d"), size: 1000 }] },
};

async function main(): Promise<void> {
    const write = (sub: string, entries: Record<string, Buffer>): void => {
        fs.rmSync(join(out, sub), { recursive: true, force: true });
        fs.mkdirSync(join(out, sub), { recursive: true });
        for (const [name, b] of Object.entries(entries)) fs.writeFileSync(join(out, sub, name), b);
    };
    write("tar", tars);
    write("estargz", await estargzSeeds());
    write("manifest", Object.fromEntries(Object.entries(manifests).map(([k, v]) => [k, Buffer.from(`${JSON.stringify(v, null, 1)}\n`)])));
}

void main();
