/**
 * The sample workspace in a real VS Code: the Refs tree, Compute Blob Chain and Convert
 * Compression from the palette, the ref graph webview, in the dark and the light theme. What the
 * UI shows is compared with what the CLI (the same engine, another process) reads from the same
 * state folder. Screenshots go to test/e2e/artifacts/. Runs under `LAYERSCOPE_E2E=1 npm test`.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Frame, Locator, Page } from "playwright-core";
import {
    chooseFolder, clearNotifications, cliRefs, findWebviewFrame, installVsix, keepLog, LAYERSCOPE_CONTAINER, launchBrowser, makeSandbox, materializeSample,
    openWorkbench, packageExtension, pickQuickItem, removeSandbox, runCommand, screenshot,
    startServer, toast, viewPane, waitForEvent, type Browser, type CliRef, type Sandbox, type Server, watchFailures,
} from "./harness";

const ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd";
const ESTARGZ_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip";

/** The first 12 hex digits, as the tree shows digests. */
function short(digest: string): string {
    return digest.slice(digest.indexOf(":") + 1, digest.indexOf(":") + 13);
}

/** Ref ids a ref's `parents` names (parent, merge inputs, diff lower/upper). */
function refsNamedIn(parents: CliRef["parents"]): string[] {
    const d = parents.diff;
    return [parents.parent, ...(parents.merge ?? []), d?.lower, d?.upper].filter((x): x is string => typeof x === "string");
}

function byId(refs: readonly CliRef[], id: string): CliRef {
    const r = refs.find((x) => x.id === id);
    assert.ok(r, `the CLI lists no ref ${id}`);
    return r;
}

describe("the sample workspace in VS Code: Refs tree, commands, ref graph", () => {
    let sandbox: Sandbox | undefined;
    let server: Server | undefined;
    let browser: Browser | undefined;
    let page: Page;
    let workspace = "";
    let graph: Frame | undefined;
    const timings: Record<string, number> = {};
    const refs = () => viewPane(page, "Refs");

    /** The Refs tree row of a ref, and its description (short diffID or "no blob"). */
    async function refDescription(id: string): Promise<string> {
        const row = refs().row(new RegExp(`^${id}$`), 2);
        await row.waitFor();
        return (await row.locator(".label-description").innerText()).trim();
    }

    async function waitForDescription(id: string, expected: string): Promise<void> {
        const deadline = Date.now() + 30_000;
        let seen = "";
        while (Date.now() < deadline) {
            seen = await refDescription(id).catch(() => "");
            if (seen === expected) return;
            await page.waitForTimeout(200);
        }
        assert.equal(seen, expected, `tree row ${id}`);
    }

    async function expand(row: Locator): Promise<void> {
        await row.waitFor();
        if ((await row.getAttribute("aria-expanded")) !== "true") await row.click();
    }

    async function waitForNoBusy(frame: Frame): Promise<void> {
        const busy = frame.locator('[data-ref-id][data-busy="true"]');
        const deadline = Date.now() + 10_000;
        while ((await busy.count()) > 0 && Date.now() < deadline) await page.waitForTimeout(200);
        const still = await busy.evaluateAll((ns) => ns.map((n) => n.getAttribute("data-ref-id")));
        assert.deepEqual(still, [], "nodes still busy after the operation ended");
    }

    /** The Refs view, shown (clicking the container of an open view would close the side bar). */
    async function showRefs(): Promise<void> {
        if (!(await refs().pane.isVisible())) await page.locator(LAYERSCOPE_CONTAINER).first().click();
        await refs().row(/^sample$/, 1).waitFor();
    }

    async function openGraph(): Promise<Frame> {
        await runCommand(page, "Layerscope: Open Ref Graph");
        return findWebviewFrame(page, 'body[data-ready="true"] #graph[data-node-count]');
    }

    async function selectNode(frame: Frame, id: string): Promise<void> {
        // Near the top-left corner: inside the node's box, whatever its decorations add around it.
        await frame.locator(`[data-ref-id="${id}"]`).first().click({ position: { x: 12, y: 12 } });
        await frame.locator('#details [data-field="kind"]').waitFor();
    }

    async function detail(frame: Frame, field: string): Promise<string> {
        return (await frame.locator(`#details [data-field="${field}"]`).innerText()).trim();
    }

    before(async () => {
        sandbox = makeSandbox("Default Dark Modern");
        workspace = materializeSample(join(sandbox.root, "sample"));
        const vsix = packageExtension(join(sandbox.root, "layerscope.vsix"));
        await installVsix(sandbox, vsix);
        server = await startServer(sandbox);
        browser = await launchBrowser();
        page = browser.page;
        timings.workbenchReadyMs = await openWorkbench(page, server.url, workspace);
    });

    const failures = watchFailures("workspace", () => browser?.page);

    after(async () => {
        const failed = failures.failed();
        await browser?.close(failed ? "workspace" : undefined);
        await server?.stop();
        keepLog(server, "workspace", failed ? sandbox : undefined);
        removeSandbox(sandbox);
        console.log(`# e2e workspace timings ${JSON.stringify(timings)}`);
    });

    it("the Refs view lists every ref of layerscope.json, none computed yet", async () => {
        await showRefs();
        for (const r of cliRefs(workspace)) {
            assert.equal(r.diffID, null);
            assert.equal(await refDescription(r.id), "no blob", `ref ${r.id}`);
        }
    });

    it("Compute Blob Chain… from the palette fills the tree with the CLI's diffIDs", async () => {
        const t = Date.now();
        await runCommand(page, "Layerscope: Compute Blob Chain…");
        // One source open: no source picker. Then ref, compression, level.
        await pickQuickItem(page, "config");
        await pickQuickItem(page, "gzip");
        await pickQuickItem(page, "Default");
        await toast(page, "config: blob chain computed").waitFor({ timeout: 120_000 });
        timings.computeMs = Date.now() - t;
        const end = await waitForEvent(sandbox!.events, (e) => e.operation === "compute" && e.ref === "config" && e.phase === "end");
        assert.equal(end.error, undefined);
        const cli = cliRefs(workspace);
        for (const id of ["base", "app", "config"]) {
            const r = byId(cli, id);
            assert.ok(r.diffID && r.blob, `${id} has a blob after compute`);
            assert.equal(r.blob.mediaType, "application/vnd.oci.image.layer.v1.tar+gzip");
            await waitForDescription(id, short(r.diffID));
        }
        // Refs outside config's chain stay untouched.
        assert.equal(byId(cli, "app-over-rebased").blob, null);
        assert.equal(await refDescription("app-over-rebased"), "no blob");
        await expand(refs().row(/^config$/, 2));
        await refs().pane.locator(".monaco-list-row", { hasText: "blobChainID" }).first().waitFor();
        await clearNotifications(page);
        await screenshot(page, "tree-dark");
    });

    it("the ref graph shows every ref, and config's IDs as the CLI computes them", async () => {
        graph = await openGraph();
        const cli = cliRefs(workspace);
        // Every declared ref, plus the internal refs the loader makes (base-to-config, a Diff
        // over an ancestor two layers down, becomes a Merge of two internal per-layer Diffs).
        const expected = new Set(cli.flatMap((r) => [r.id, ...refsNamedIn(r.parents)]));
        const count = Number(await graph.locator("#graph").getAttribute("data-node-count"));
        assert.equal(count, expected.size, "data-node-count");
        const drawn = await graph.locator("[data-ref-id][data-kind]").evaluateAll((ns) => ns.map((n) => n.getAttribute("data-ref-id")));
        assert.deepEqual(new Set(drawn), expected);
        assert.equal(drawn.length, expected.size, "one node per ref");
        for (const r of cli) {
            assert.equal(await graph.locator(`[data-ref-id="${r.id}"]`).first().getAttribute("data-kind"), r.kind, `kind of ${r.id}`);
        }
        const config = byId(cli, "config");
        await selectNode(graph, "config");
        assert.equal(await detail(graph, "kind"), "Layer");
        assert.equal(await detail(graph, "diffID"), config.diffID);
        assert.equal(await detail(graph, "chainID"), config.chainID);
        assert.equal(await detail(graph, "blobChainID"), config.blobChainID);
        const rows = graph.locator("#variants tr[data-digest]");
        assert.deepEqual(await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute("data-digest"))), config.variants.map((v) => v.digest));
        await clearNotifications(page);
        await graph.locator("#fit").click();
        await screenshot(page, "graph-dark");
    });

    it("Convert Compression… adds a zstd variant: in the tree and in the graph's variants table", async () => {
        await runCommand(page, "Layerscope: Convert Compression…");
        await pickQuickItem(page, "config");
        await pickQuickItem(page, "zstd");
        await pickQuickItem(page, "Default");
        await toast(page, "config: converted to zstd").waitFor({ timeout: 120_000 });
        const end = await waitForEvent(sandbox!.events, (e) => e.operation === "convert" && e.ref === "config" && e.phase === "end");
        assert.equal(end.error, undefined);
        const config = byId(cliRefs(workspace), "config");
        const zstd = config.variants.find((v) => v.mediaType === ZSTD);
        assert.ok(zstd, `the CLI sees no zstd variant of config: ${JSON.stringify(config.variants)}`);
        assert.equal(config.variants.length, 2);

        // The graph updates its variants table in place.
        assert.ok(graph);
        await graph.locator(`#variants tr[data-digest="${zstd.digest}"][data-media-type="${ZSTD}"]`).waitFor({ timeout: 30_000 });

        // The tree: config > Variants > tar+zstd <short digest> …
        await showRefs();
        const { row, pane } = refs();
        await expand(row(/^config$/, 2));
        const variant = pane.locator(".monaco-list-row", { hasText: short(zstd.digest) }).first();
        await variant.waitFor({ timeout: 30_000 });
        assert.match(await variant.innerText(), /tar\+zstd/);
    });

    it("no node of the graph stays busy once an operation ended", async () => {
        // The convert above worked on base, app and config; its "end" event names config only.
        assert.ok(graph);
        await waitForNoBusy(graph);
    });

    it("Verify from the palette puts a verified badge on the chain's nodes and explains it in the details", async () => {
        assert.ok(graph);
        await clearNotifications(page);
        await runCommand(page, "Layerscope: Verify");
        await pickQuickItem(page, "config");
        await toast(page, "config: all").waitFor({ timeout: 120_000 });
        const end = await waitForEvent(sandbox!.events, (e) => e.operation === "verify" && e.ref === "config" && e.phase === "end");
        assert.equal(end.error, undefined);
        for (const id of ["base", "app", "config"]) {
            await graph.locator(`[data-ref-id="${id}"] .verification[data-verification="verified"]`).waitFor({ timeout: 30_000 });
        }
        // Outside config's chain (no blob yet): not verified.
        assert.equal(await graph.locator('[data-ref-id="app-over-rebased"] .verification').getAttribute("data-verification"), "unverified");
        await selectNode(graph, "config");
        await graph.locator('#details .verification-details[data-verification="verified"]').waitFor({ timeout: 30_000 });
        assert.match(await detail(graph, "verificationState"), /verified/);
        assert.match(await detail(graph, "verdict"), /^all \d+ stored digests recomputed and equal$/);
        assert.match(await detail(graph, "verificationCheck"), /^Verify · /);
        await clearNotifications(page);
        await screenshot(page, "graph-verified-dark");
    });

    it("the graph's own Compute and Convert buttons: a blob, then an eStargz variant", async () => {
        // app-over-rebased is a Diff with a blob of its own, outside config's chain: no blob yet.
        assert.ok(graph);
        await clearNotifications(page);
        await selectNode(graph, "app-over-rebased");
        await graph.locator("#compression").selectOption("gzip");
        await graph.locator("#compute").click();
        let end = await waitForEvent(sandbox!.events, (e) => e.operation === "compute" && e.ref === "app-over-rebased" && e.phase === "end");
        assert.equal(end.error, undefined);
        let ref = byId(cliRefs(workspace), "app-over-rebased");
        assert.ok(ref.blob && ref.diffID);
        await graph.locator(`#variants tr[data-digest="${ref.blob.digest}"]`).waitFor({ timeout: 30_000 });
        assert.equal(await detail(graph, "diffID"), ref.diffID);
        assert.equal(await detail(graph, "blobChainID"), ref.blobChainID);
        await waitForDescription("app-over-rebased", short(ref.diffID));

        await graph.locator("#compression").selectOption("estargz");
        await graph.locator("#convert").click();
        end = await waitForEvent(sandbox!.events, (e) => e.operation === "convert" && e.ref === "app-over-rebased" && e.phase === "end");
        assert.equal(end.error, undefined);
        ref = byId(cliRefs(workspace), "app-over-rebased");
        const estargz = ref.variants.find((v) => v.digest !== ref.blob?.digest && v.mediaType === ESTARGZ_GZIP);
        assert.ok(estargz, `no eStargz variant of app-over-rebased: ${JSON.stringify(ref.variants)}`);
        await graph.locator(`#variants tr[data-digest="${estargz.digest}"]`).waitFor({ timeout: 30_000 });
        assert.equal(await graph.locator("#variants tr[data-digest]").count(), 2);
        assert.equal(await graph.locator('[data-ref-id="app-over-rebased"][data-busy="true"]').count(), 0, "not busy once done");
    });

    it("reads well in the light theme (screenshots of the tree and the graph)", async () => {
        // As a user switches: the tree and the webview must follow the workbench's theme live.
        await runCommand(page, "Preferences: Color Theme");
        await pickQuickItem(page, "Light Modern"); // the picker shows "Default Light Modern" as its description
        await page.locator(".monaco-workbench.vs:not(.vs-dark)").waitFor({ timeout: 30_000 });
        await showRefs();
        await refs().row(/^config$/, 2).waitFor();
        await screenshot(page, "tree-light");
        assert.ok(graph);
        await runCommand(page, "Layerscope: Open Ref Graph");
        await selectNode(graph, "config");
        await clearNotifications(page);
        await graph.locator("#fit").click();
        await screenshot(page, "graph-light");
    });

    it("Open Snapshot Source… reveals a source named like a command link, which stays text in notifications", async () => {
        // VS Code makes `[text](command:…)` in a notification a link that runs the command when
        // clicked; names from folders, trees and databases reach notifications (src/extension/notify.ts).
        const hostile = "[Open Settings](command:workbench.action.openSettings)";
        const dir = materializeSample(join(sandbox!.root, hostile));
        await clearNotifications(page);
        await runCommand(page, "Layerscope: Open Snapshot Source…");
        await chooseFolder(page, dir, "open a snapshot source", { listsFiles: false });
        await showRefs();
        // Revealed and selected, with no error (the reveal once ran before the tree knew the row).
        await refs().row(hostile, 1).and(page.locator('[aria-selected="true"]')).waitFor({ timeout: 60_000 });
        await runCommand(page, "Layerscope: Garbage-Collect Store");
        await pickQuickItem(page, hostile);
        const note = toast(page, /unreferenced blob\(s\) removed/);
        await note.waitFor({ timeout: 60_000 });
        const text = (await note.innerText()).replace(/\u200B/g, "");
        assert.ok(text.includes(`Layerscope: ${hostile}: 0 unreferenced blob(s) removed`), text);
        const message = note.locator(".notification-list-item-message");
        assert.equal(await message.count(), 1, "the toast has one message");
        assert.equal(await message.locator("a").count(), 0, "the source's name became a link");
        assert.equal(await toast(page, /Open Snapshot Source/).count(), 0, "Open Snapshot Source… reported an error");
        await screenshot(page, "notification-plain-text");
        await clearNotifications(page);
    });

    it("made no request off 127.0.0.1 and raised no page error", () => {
        assert.ok(browser);
        assert.deepEqual(browser.offHost, []);
        assert.deepEqual(browser.pageErrors, []);
    });
});
