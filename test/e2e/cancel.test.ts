/**
 * Cancel in a real VS Code: a compute over a few hundred MB, started from the palette, stopped
 * with the Cancel button of its progress notification. The engine's AbortSignal must end it with
 * an error, and the content store must hold no blob afterwards (a blob appears only complete).
 * Runs under `LAYERSCOPE_E2E=1 npm test`.
 */
import assert from "node:assert/strict";
import { randomFillSync } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
    cliRefs, installVsix, keepLog, LAYERSCOPE_CONTAINER, launchBrowser, makeSandbox, openWorkbench, packageExtension,
    pickQuickItem, readEvents, removeSandbox, runCommand, screenshot, startServer, toast, viewPane, waitForEvent,
    type Browser, type Sandbox, type Server, watchFailures,
} from "./harness";

const FILES = 64;
const FILE_SIZE = 5 * 1024 * 1024; // 64 x 5 MiB = 320 MiB of incompressible data

/** One BaseLayer ref over a snapshot of random files: long to diff and to compress. */
function bigWorkspace(dir: string): string {
    const snap = join(dir, "snapshots/big/data");
    mkdirSync(snap, { recursive: true });
    const chunk = Buffer.alloc(FILE_SIZE);
    for (let i = 0; i < FILES; i++) {
        randomFillSync(chunk);
        const file = join(snap, `blob-${String(i).padStart(3, "0")}.bin`);
        writeFileSync(file, chunk);
        utimesSync(file, 1700000000, 1700000000);
    }
    writeFileSync(join(dir, "layerscope.json"), JSON.stringify({
        snapshotter: "native",
        refs: [{ id: "big", snapshot: "snapshots/big", description: `${FILES} random files, ${(FILES * FILE_SIZE) >> 20} MiB` }],
    }, null, 2));
    return dir;
}

function storedBlobs(workspace: string): string[] {
    const dir = join(workspace, ".layerscope/blobs/sha256");
    return existsSync(dir) ? readdirSync(dir) : [];
}

describe("Cancel of a long compute in VS Code", () => {
    let sandbox: Sandbox | undefined;
    let server: Server | undefined;
    let browser: Browser | undefined;
    let workspace = "";

    before(async () => {
        sandbox = makeSandbox();
        workspace = bigWorkspace(join(sandbox.root, "large"));
        const vsix = packageExtension(join(sandbox.root, "layerscope.vsix"));
        await installVsix(sandbox, vsix);
        server = await startServer(sandbox);
        browser = await launchBrowser();
        await openWorkbench(browser.page, server.url, workspace);
    });

    const failures = watchFailures("cancel", () => browser?.page);

    after(async () => {
        const failed = failures.failed();
        await browser?.close(failed ? "cancel" : undefined);
        await server?.stop();
        keepLog(server, "cancel", failed ? sandbox : undefined);
        removeSandbox(sandbox);
    });

    it("Cancel in the progress notification aborts the compute and adds no blob", async () => {
        assert.ok(browser && sandbox);
        const { page } = browser;
        await page.locator(LAYERSCOPE_CONTAINER).first().click();
        await viewPane(page, "Refs").row(/^big$/, 2).waitFor();
        await runCommand(page, "Layerscope: Compute Blob Chain…");
        await pickQuickItem(page, "big");
        await pickQuickItem(page, "gzip");
        await pickQuickItem(page, "Default");
        await waitForEvent(sandbox.events, (e) => e.operation === "compute" && e.ref === "big" && e.phase === "start");
        const progress = toast(page, "computing the blob chain of big");
        await progress.waitFor();
        await screenshot(page, "cancel-progress");
        await progress.locator(".monaco-button", { hasText: "Cancel" }).click();

        const end = await waitForEvent(sandbox.events, (e) => e.operation === "compute" && e.ref === "big" && e.phase === "end");
        assert.ok(end.error, `the compute ended without an error: ${JSON.stringify(readEvents(sandbox.events))}`);
        assert.equal(readEvents(sandbox.events).some((e) => e.ref === "big" && e.phase === "done"), false, "no layer finished");
        assert.deepEqual(storedBlobs(workspace), []);
        const big = cliRefs(workspace).find((r) => r.id === "big");
        assert.equal(big?.blob, null);
        assert.deepEqual(big?.variants, []);

        // The tree shows the ref as it was, not busy.
        const row = viewPane(page, "Refs").row(/^big$/, 2);
        await row.waitFor();
        assert.equal((await row.locator(".label-description").innerText()).trim(), "no blob");
        await progress.waitFor({ state: "detached", timeout: 30_000 });
    });
});
