/**
 * What must hold in a state directory whatever happened to the process that wrote it (SIGKILL,
 * ENOSPC, EIO): every blob under blobs/ hashes to its name and is read-only, every metadata file
 * (meta/, refs/) is whole JSON, and, once a later run has finished, nothing is left over in
 * ingest/, tmp/ or as a temporary beside a metadata file.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";

function files(dir: string): string[] {
    if (!existsSync(dir)) return [];
    return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)]));
}

function isTemporary(file: string): boolean {
    return /^\..*\.tmp$/.test(file.slice(file.lastIndexOf("/") + 1));
}

/** Violations of the always-true invariants (empty when the store is sound). */
export function storeProblems(state: string): string[] {
    const out: string[] = [];
    for (const f of files(join(state, "blobs"))) {
        const hex = createHash("sha256").update(readFileSync(f)).digest("hex");
        if (!f.endsWith(`/sha256/${hex}`)) out.push(`${relative(state, f)}: partial or foreign blob (hashes to ${hex})`);
        if ((statSync(f).mode & 0o222) !== 0) out.push(`${relative(state, f)}: blob is writable`);
    }
    for (const f of [...files(join(state, "meta")), ...files(join(state, "refs"))]) {
        if (isTemporary(f)) continue; // checked by leftovers(), after the next run
        try {
            JSON.parse(readFileSync(f, "utf8"));
        } catch {
            out.push(`${relative(state, f)}: metadata file is not whole JSON`);
        }
    }
    return out;
}

/** Whatever a finished run should have cleaned up: ingests, tmp/ entries, metadata temporaries. */
export function leftovers(state: string): string[] {
    const list = (d: string): string[] => (existsSync(join(state, d)) ? readdirSync(join(state, d)).map((n) => `${d}/${n}`) : []);
    return [...list("ingest"), ...list("tmp"), ...[...files(join(state, "meta")), ...files(join(state, "refs"))].filter(isTemporary).map((f) => relative(state, f))];
}

/** The digests of the blobs in the store, sorted. */
export function blobDigests(state: string): string[] {
    const dir = join(state, "blobs", "sha256");
    return existsSync(dir) ? readdirSync(dir).sort().map((h) => `sha256:${h}`) : [];
}
