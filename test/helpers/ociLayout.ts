/**
 * Writes small OCI image layouts from layer blobs for the image tests, independently of the
 * engine's exporter: blobs, config (rootfs.diff_ids), manifest, index.json, oci-layout.
 */
import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface LayoutLayer {
    readonly blob: Buffer;
    readonly mediaType: string;
    readonly diffID: string;
    readonly annotations?: Record<string, string>;
    /** Descriptor overrides (to make hostile layouts). */
    readonly size?: number;
    readonly digest?: string;
}

export function sha256(b: Buffer): string {
    return `sha256:${createHash("sha256").update(b).digest("hex")}`;
}

function putBlob(dir: string, b: Buffer, as?: string): string {
    const d = as ?? sha256(b);
    writeFileSync(join(dir, "blobs", "sha256", d.slice(7)), b);
    return d;
}

export function writeLayout(dir: string, layers: readonly LayoutLayer[], opts: { tag?: string; arch?: string; diffIDs?: string[] } = {}): { manifest: string } {
    mkdirSync(join(dir, "blobs", "sha256"), { recursive: true });
    writeFileSync(join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
    const descs = layers.map((l) => {
        const digest = putBlob(dir, l.blob, l.digest); // a wrong digest names a file holding other bytes
        return { mediaType: l.mediaType, digest, size: l.size ?? l.blob.length, ...(l.annotations ? { annotations: l.annotations } : {}) };
    });
    const arch = opts.arch ?? (process.arch === "x64" ? "amd64" : process.arch);
    const config = Buffer.from(JSON.stringify({ architecture: arch, os: "linux", rootfs: { type: "layers", diff_ids: opts.diffIDs ?? layers.map((l) => l.diffID) }, history: layers.map((_, i) => ({ created_by: `test layer ${i}` })) }));
    const configDigest = putBlob(dir, config);
    const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json", config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: configDigest, size: config.length }, layers: descs }));
    const manifestDigest = putBlob(dir, manifest);
    writeFileSync(
        join(dir, "index.json"),
        JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: "application/vnd.oci.image.manifest.v1+json", digest: manifestDigest, size: manifest.length, annotations: { "org.opencontainers.image.ref.name": opts.tag ?? "t" } }] }),
    );
    return { manifest: manifestDigest };
}
