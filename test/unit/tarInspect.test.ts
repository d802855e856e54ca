/**
 * The golden-test failure messages must point at the right entry and field, so the helper that
 * writes them is tested on golden tars with single bytes changed.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { readGoldenMeta, readGoldenTar } from "../fixtures/goldenMeta";
import { describeFirstDifference, parseTarLayout } from "../helpers/tarInspect";

function golden(name: string): Buffer {
    const meta = readGoldenMeta(name);
    assert.ok(meta, `golden ${name} is missing`);
    return readGoldenTar(meta);
}

function flipped(tar: Buffer, at: number): Buffer {
    const copy = Buffer.from(tar);
    copy[at] = copy[at]! ^ 0x01;
    return copy;
}

test("tarInspect lists entries like oracle list, PAX names resolved", () => {
    for (const name of ["modify-mixed", "long-whiteouts", "name-length-limits"]) {
        const meta = readGoldenMeta(name)!;
        const layout = parseTarLayout(golden(name));
        assert.equal(layout.error, undefined);
        assert.equal(layout.end, meta.size - 1024);
        assert.deepEqual(
            layout.entries.map((e) => ({ name: e.name, typeflag: e.typeflag })),
            meta.entries,
        );
    }
});

test("tarInspect equal tars have no difference", () => {
    const tar = golden("modify-mixed");
    assert.equal(describeFirstDifference(tar, Buffer.from(tar)), undefined);
});

test("tarInspect names the header field of the first differing byte", () => {
    const tar = golden("modify-mixed");
    const e = parseTarLayout(tar).entries[3]!;
    const msg = describeFirstDifference(tar, flipped(tar, e.header + 140))!;
    assert.match(msg, new RegExp(`first difference at byte ${e.header + 140}\\b`));
    assert.ok(msg.includes(`entry #3 ${JSON.stringify(e.name)}`), msg);
    assert.match(msg, /header field mtime/);
});

test("tarInspect locates file data, PAX records and the end blocks", () => {
    const tar = golden("long-whiteouts");
    const layout = parseTarLayout(tar);
    const pax = layout.entries.find((e) => e.start < e.header)!;
    const inPax = describeFirstDifference(tar, flipped(tar, pax.start + 600))!;
    assert.match(inPax, /PAX extended header/);
    assert.match(describeFirstDifference(tar, flipped(tar, tar.length - 1))!, /end-of-archive/);
    const mixed = golden("modify-mixed");
    const file = parseTarLayout(mixed).entries.find((e) => e.size > 2)!;
    const inData = describeFirstDifference(mixed, flipped(mixed, file.header + 512 + 1))!;
    assert.match(inData, /file data at \+1 of/);
});

test("tarInspect reports a truncated actual tar", () => {
    const tar = golden("modify-mixed");
    const msg = describeFirstDifference(tar, tar.subarray(0, 2048))!;
    assert.match(msg, /got 2048; first difference at byte 2048/);
    assert.match(msg, /in the actual tar: {3}ends here/);
});
