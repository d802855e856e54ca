/**
 * The JSON tree that `dump-bbolt -json -raw` (../shared/realstate/dump-bbolt.go `walkJSON`)
 * prints, made with our reader, so the two can be compared: buckets are `name/` objects with an
 * `@sequence` when non-zero; a value is its string when printable UTF-8 (or empty), else
 * `{ hex }`; keys that are not printable are `0x<hex>`.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { gunzipSync } from "node:zlib";
import { BoltDB, type Bucket } from "../../src/engine/bbolt";

export type DumpNode = { [key: string]: string | number | { hex: string } | DumpNode };

export function dumpBolt(file: string): DumpNode {
    return BoltDB.read(file, (tx) => {
        const out: DumpNode = {};
        for (const e of tx.root.entries()) {
            if (e.bucket) out[`${e.key.toString("utf8")}/`] = walk(e.bucket);
        }
        return out;
    });
}

function walk(b: Bucket): DumpNode {
    const m: DumpNode = {};
    if (b.sequence !== 0n) m["@sequence"] = Number(b.sequence);
    for (const e of b.entries()) {
        const key = printable(e.key) ? e.key.toString("utf8") : `0x${e.key.toString("hex")}`;
        if (e.bucket) {
            m[`${key}/`] = walk(e.bucket);
        } else if (e.value.length === 0 || printable(e.value)) {
            m[key] = e.value.toString("utf8");
        } else {
            m[key] = { hex: e.value.toString("hex") };
        }
    }
    return m;
}

/** Go: utf8.Valid and no rune below 0x20 other than tab and newline. */
export function printable(b: Buffer): boolean {
    let s: string;
    try {
        s = new TextDecoder("utf-8", { fatal: true }).decode(b);
    } catch {
        return false;
    }
    for (const ch of s) {
        const c = ch.codePointAt(0)!;
        if (c < 0x20 && c !== 0x09 && c !== 0x0a) return false;
    }
    return true;
}

export const BOLT_FIXTURES = path.resolve(__dirname, "../../../test/fixtures/realstate/bbolt");

/** Gunzips fixture NAME.db.gz into a fresh file under the temp dir and returns its path. */
export function fixtureDb(name: string, dir = tmpdir()): string {
    const out = path.join(dir, `${name}-${process.pid}-${Math.random().toString(36).slice(2)}.db`);
    writeFileSync(out, gunzipSync(readFileSync(path.join(BOLT_FIXTURES, `${name}.db.gz`))));
    return out;
}

export function fixtureDump(name: string): DumpNode {
    return JSON.parse(gunzipSync(readFileSync(path.join(BOLT_FIXTURES, `${name}.dump.json.gz`))).toString("utf8")) as DumpNode;
}
