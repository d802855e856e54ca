/** Short forms of digests and sizes for tree rows (full values go in tooltips). */

/** The first 12 hex digits of a digest, as `docker images` shows IDs. */
export function shortDigest(d: string): string {
    const hex = d.includes(":") ? d.slice(d.indexOf(":") + 1) : d;
    return hex.slice(0, 12);
}

const UNITS = ["KiB", "MiB", "GiB", "TiB"];

/** 1023 → "1,023 B", 1536 → "1.5 KiB": binary units, one decimal below 100. */
export function formatBytes(n: number): string {
    if (n < 1024) return `${n.toLocaleString("en-US")} B`;
    let v = n;
    let unit = "B";
    for (const u of UNITS) {
        if (v < 1024) break;
        v /= 1024;
        unit = u;
    }
    return `${v < 100 ? v.toFixed(1) : Math.round(v).toString()} ${unit}`;
}

export function formatMs(ms: number): string {
    return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

/** "application/vnd.oci.image.layer.v1.tar+gzip" → "tar+gzip"; Docker's keep a "docker" prefix. */
export function shortMediaType(mt: string): string {
    const oci = "application/vnd.oci.image.layer.";
    if (mt.startsWith(oci)) return mt.slice(oci.length).replace(/^v1\./, "");
    const docker = "application/vnd.docker.image.rootfs.";
    if (mt.startsWith(docker)) return `docker ${mt.slice(docker.length)}`;
    return mt;
}
