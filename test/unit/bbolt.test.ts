import assert from "node:assert/strict";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, truncateSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { BoltDB, fnv1a64 } from "../../src/engine/bbolt";
import { isEngineError } from "../../src/engine";
import { dumpBolt, fixtureDb, fixtureDump } from "../helpers/boltDump";

const FIXTURES = ["containerd-meta", "containerd-overlayfs", "containerd-native", "synthetic-sample"];

let dir: string;
before(() => {
    dir = mkdtempSync(path.join(tmpdir(), "bbolt-test-"));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** Go hash/fnv New64a reference values. */
describe("fnv1a64", () => {
    it("matches Go's hash/fnv", () => {
        assert.equal(fnv1a64(Buffer.alloc(0)), 0xcbf29ce484222325n);
        assert.equal(fnv1a64(Buffer.from("a")), 0xaf63dc4c8601ec8cn);
        assert.equal(fnv1a64(Buffer.from("foobar")), 0x85944171f73967e8n);
    });
});

describe("bbolt reader against dump-bbolt -json -raw", () => {
    for (const name of FIXTURES) {
        it(`reads ${name} exactly as Go bbolt does`, () => {
            const db = fixtureDb(name, dir);
            assert.deepStrictEqual(dumpBolt(db), fixtureDump(name));
        });
    }

    it("point lookups agree with iteration (deep tree, overflow, inline and nested buckets)", () => {
        const file = fixtureDb("synthetic-sample", dir);
        BoltDB.read(file, (tx) => {
            const many = tx.root.bucket("many")!;
            let n = 0;
            for (const e of many.entries()) {
                assert.deepEqual(many.get(e.key), e.value);
                n++;
            }
            assert.ok(n > 10000);
            assert.equal(many.get("key-00003"), null, "deleted in the second transaction");
            assert.equal(many.get("zzz"), null);
            assert.equal(many.get(""), null);
            assert.equal(tx.root.bucket("big")!.get("300k")!.length, 300000);
            assert.equal(tx.root.dig("nested", "large", "d1", "d2", "d3")!.get("at")!.toString(), "d3");
            assert.equal(tx.root.dig("nested", "small-inline")!.rootPage, 0);
            assert.equal(tx.root.dig("nested", "small-inline")!.sequence, 3n);
            assert.equal(tx.root.bucket("nested")!.get("large"), null, "a bucket is not a value");
            assert.equal(tx.root.bucket("nested")!.bucket("missing"), null);
        });
    });
});

/** The two meta pages' offsets and a helper to rewrite a meta field with a valid checksum. */
function metaInfo(buf: Buffer): { pageSize: number; txid: [bigint, bigint] } {
    const pageSize = buf.readUInt32LE(24);
    return { pageSize, txid: [buf.readBigUInt64LE(16 + 48), buf.readBigUInt64LE(pageSize + 16 + 48)] };
}

function setMetaField(buf: Buffer, metaPage: 0 | 1, fieldOffset: number, value: bigint): void {
    const base = metaPage * buf.readUInt32LE(24) + 16;
    buf.writeBigUInt64LE(value, base + fieldOffset);
    buf.writeBigUInt64LE(fnv1a64(buf.subarray(base, base + 56)), base + 56);
}

function expectCorrupt(file: string): Error {
    let caught: unknown = null;
    try {
        dumpBolt(file);
    } catch (err) {
        caught = err;
    }
    assert.ok(isEngineError(caught, "Corrupt"), `expected Corrupt, got ${String(caught)}`);
    assert.ok((caught as Error).message.includes(file), "names the file");
    return caught as Error;
}

function mutated(name: string, edit: (buf: Buffer) => void): string {
    const file = fixtureDb(name, dir);
    const buf = readFileSync(file);
    edit(buf);
    writeFileSync(file, buf);
    return file;
}

describe("bbolt reader on damaged files", () => {
    it("truncation is Corrupt, naming the page", () => {
        const file = fixtureDb("synthetic-sample", dir);
        truncateSync(file, 4096 * 40);
        const err = expectCorrupt(file);
        assert.match(err.message, /page \d+/);
    });

    it("a file too small for a meta page is Corrupt", () => {
        const file = path.join(dir, "tiny.db");
        writeFileSync(file, Buffer.alloc(10));
        expectCorrupt(file);
    });

    it("both metas with a bad checksum is Corrupt; one bad meta falls back to the other", () => {
        const one = mutated("containerd-overlayfs", (buf) => {
            const { txid } = metaInfo(buf);
            const newer = txid[0] > txid[1] ? 0 : 1;
            buf[newer * buf.readUInt32LE(24) + 16 + 40] ^= 0xff; // pgid byte, checksum now wrong
        });
        BoltDB.read(one, (tx) => {
            assert.ok(tx.root.bucket("v1"), "the older meta still reads");
        });
        const both = mutated("containerd-overlayfs", (buf) => {
            const ps = buf.readUInt32LE(24);
            buf[16 + 40] ^= 0xff;
            buf[ps + 16 + 40] ^= 0xff;
        });
        expectCorrupt(both);
    });

    it("a root page id out of range is Corrupt", () => {
        const file = mutated("containerd-meta", (buf) => {
            setMetaField(buf, 0, 16, 1n << 40n);
            setMetaField(buf, 1, 16, 1n << 40n);
        });
        assert.match(expectCorrupt(file).message, /out of range/);
    });

    it("a cycle in a B+tree ends as Corrupt, not a hang", () => {
        const file = fixtureDb("synthetic-sample", dir);
        const { root, pageSize } = BoltDB.read(file, (tx) => ({ root: tx.root.bucket("many")!.rootPage, pageSize: tx.pageSize }));
        const buf = readFileSync(file);
        const off = root * pageSize;
        assert.equal(buf.readUInt16LE(off + 8), 0x01, "the root of 'many' is a branch page");
        buf.writeBigUInt64LE(BigInt(root), off + 16 + 16 + 8); // element 1 points back at the root
        writeFileSync(file, buf);
        assert.match(expectCorrupt(file).message, /cycle|linked/);
    });

    it("a nested bucket whose root is its parent's page is Corrupt", () => {
        const file = fixtureDb("synthetic-sample", dir);
        const { parent, d1 } = BoltDB.read(file, (tx) => ({
            parent: tx.root.dig("nested", "large")!.rootPage,
            d1: tx.root.dig("nested", "large", "d1")!.rootPage,
        }));
        const buf = readFileSync(file);
        // d1's leaf element: the key "d1" and then its bucket header { root, sequence }.
        const header = Buffer.alloc(10);
        header.write("d1");
        header.writeBigUInt64LE(BigInt(d1), 2);
        const at = buf.indexOf(header);
        assert.ok(at > 0);
        buf.writeBigUInt64LE(BigInt(parent), at + 2);
        writeFileSync(file, buf);
        const err = (() => {
            try {
                BoltDB.read(file, (tx) => [...tx.root.dig("nested", "large", "d1")!.entries()]);
            } catch (e) {
                return e;
            }
            return null;
        })();
        assert.ok(isEngineError(err, "Corrupt"), String(err));
    });

    it("a page with the wrong flags is Corrupt", () => {
        const file = fixtureDb("containerd-meta", dir);
        const { root, pageSize } = BoltDB.read(file, (tx) => ({ root: tx.root.bucket("v1")!.rootPage, pageSize: tx.pageSize }));
        const buf = readFileSync(file);
        buf.writeUInt16LE(0x10, root * pageSize + 8); // freelist
        writeFileSync(file, buf);
        assert.match(expectCorrupt(file).message, /freelist/);
    });

    it("an element count larger than the page is Corrupt", () => {
        const file = fixtureDb("containerd-meta", dir);
        const { root, pageSize } = BoltDB.read(file, (tx) => ({ root: tx.root.bucket("v1")!.rootPage, pageSize: tx.pageSize }));
        const buf = readFileSync(file);
        buf.writeUInt16LE(0xffff, root * pageSize + 10);
        writeFileSync(file, buf);
        expectCorrupt(file);
    });

    it("random byte damage gives a result or Corrupt, never another error (seeded)", () => {
        const clean = readFileSync(fixtureDb("containerd-meta", dir));
        const file = path.join(dir, "fuzz.db");
        let seed = 12345;
        const rnd = (n: number): number => {
            seed = (seed * 1103515245 + 12345) >>> 0;
            return seed % n;
        };
        const pages = BoltDB.read(fixtureDb("containerd-meta", dir), (tx) => tx.meta.pgid);
        let corrupt = 0;
        for (let round = 0; round < 300; round++) {
            const buf = Buffer.from(clean);
            const page = 2 + rnd(pages - 2);
            for (let k = 0; k < 1 + rnd(8); k++) buf[page * 4096 + rnd(4096)] = rnd(256);
            writeFileSync(file, buf);
            try {
                dumpBolt(file);
            } catch (err) {
                assert.ok(isEngineError(err, "Corrupt"), `round ${round}: ${String(err)}`);
                corrupt++;
            }
        }
        assert.ok(corrupt > 0);
    });
});

describe("bbolt reader while a writer commits", () => {
    it("reads again when the meta moved during the read", () => {
        const file = fixtureDb("containerd-overlayfs", dir);
        const clean = readFileSync(file);
        const { pageSize, txid } = metaInfo(clean);
        const older = txid[0] < txid[1] ? 0 : 1;
        const db = BoltDB.open(file);
        try {
            let runs = 0;
            const seen = db.view((tx) => {
                runs++;
                if (runs === 1) {
                    // A "commit" lands mid-read: the older meta page gets a newer txid.
                    const fd = openSync(file, "r+");
                    const page = Buffer.from(clean.subarray(older * pageSize, older * pageSize + 80));
                    const base = 16;
                    page.writeBigUInt64LE((txid[0] > txid[1] ? txid[0] : txid[1]) + 1n, base + 48);
                    page.writeBigUInt64LE(fnv1a64(page.subarray(base, base + 56)), base + 56);
                    writeSync(fd, page, 0, page.length, older * pageSize);
                    closeSync(fd);
                }
                return tx.txid;
            });
            assert.equal(runs, 2);
            assert.equal(seen, (txid[0] > txid[1] ? txid[0] : txid[1]) + 1n);
        } finally {
            db.close();
        }
    });

    it("gives up with Unavailable when every read sees a new commit", () => {
        const file = fixtureDb("containerd-overlayfs", dir);
        const db = BoltDB.open(file, { maxAttempts: 3 });
        try {
            const pageSize = readFileSync(file).readUInt32LE(24);
            assert.throws(
                () =>
                    db.view((tx) => {
                        const buf = readFileSync(file);
                        const m = Number(tx.txid % 2n) === 0 ? 1 : 0;
                        setMetaField(buf, m as 0 | 1, 48, tx.txid + 1n);
                        writeFileSync(file, buf.subarray(0, 2 * pageSize), { flag: "r+" });
                        return 0;
                    }),
                (err: unknown) => isEngineError(err, "Unavailable"),
            );
        } finally {
            db.close();
        }
    });
});
