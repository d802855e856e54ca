/**
 * The packaged .vsix in a real VS Code (code-server 4.100.3 = VS Code 1.100.3), driven in headless
 * Chromium: it installs, activates, and its first command computes the same layer diffID as the CLI.
 * Runs under `LAYERSCOPE_E2E=1 npm test`.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
    chooseFolder, cliPath, installVsix, keepLog, launchBrowser, makeSandbox, materializeSample, openWorkbench,
    packageExtension, pickQuickItem, removeSandbox, runCommand, screenshot, startServer, toast,
    type Browser, type Sandbox, type Server, watchFailures,
} from "./harness";
import { ensureCodeServer } from "./install";

describe("the packaged extension in VS Code (code-server)", () => {
    let sandbox: Sandbox | undefined;
    let server: Server | undefined;
    let browser: Browser | undefined;
    let workspace = "";
    const timings: Record<string, number> = {};

    before(async () => {
        let t = Date.now();
        await ensureCodeServer();
        timings.ensureInstalledMs = Date.now() - t;
        sandbox = makeSandbox();
        workspace = materializeSample(join(sandbox.root, "sample"));
        t = Date.now();
        const vsix = packageExtension(join(sandbox.root, "layerscope.vsix"));
        timings.packageMs = Date.now() - t;
        t = Date.now();
        await installVsix(sandbox, vsix);
        timings.installVsixMs = Date.now() - t;
        server = await startServer(sandbox);
        timings.serverStartMs = server.startMs;
        browser = await launchBrowser();
    });

    const failures = watchFailures("smoke", () => browser?.page);

    after(async () => {
        const failed = failures.failed();
        await browser?.close(failed ? "smoke" : undefined);
        await server?.stop();
        keepLog(server, "smoke", failed ? sandbox : undefined);
        removeSandbox(sandbox);
        console.log(`# e2e smoke timings ${JSON.stringify(timings)}`);
    });

    it("installs with its native modules and activates in the workbench", async () => {
        assert.ok(sandbox && server && browser);
        const installed = readdirSync(sandbox.extensions).find((d) => d.startsWith("layerscope.layerscope-"));
        assert.ok(installed, `no layerscope extension in ${sandbox.extensions}: ${readdirSync(sandbox.extensions).join(", ")}`);
        for (const native of ["@mongodb-js/zstd", "@napi-rs/xattr"]) {
            assert.ok(existsSync(join(sandbox.extensions, installed, "dist/node_modules", native, "package.json")), `${native} not shipped`);
        }
        timings.workbenchReadyMs = await openWorkbench(browser.page, server.url, workspace);
    });

    it("Compute Layer Diff of Two Folders… gives the CLI's diffID", async () => {
        assert.ok(browser);
        const { page } = browser;
        const lower = join(workspace, "snapshots/base");
        const upper = join(workspace, "snapshots/app");
        const expected = JSON.parse(execFileSync(process.execPath, [cliPath, "diff", lower, upper, "--json"], { encoding: "utf8" })) as {
            diffID: string;
            size: number;
        };
        await runCommand(page, "Layerscope: Compute Layer Diff of Two Folders…");
        // showOpenDialog in a browser workbench is VS Code's simple file dialog.
        try {
            await chooseFolder(page, lower, "lower snapshot");
            await chooseFolder(page, upper, "upper snapshot");
            await pickQuickItem(page, "Two full trees");
        } catch (err) {
            await screenshot(page, "smoke-failure");
            throw err;
        }
        const message = toast(page, `Layer diffID ${expected.diffID.slice(0, 19)}…`);
        await message.waitFor({ timeout: 60_000 });
        assert.match(await message.innerText(), new RegExp(`${expected.size.toLocaleString("en-US")} bytes uncompressed`));
        await screenshot(page, "smoke-diff-folders");

        // The full diffID is in the "Layerscope" output channel.
        await runCommand(page, "Output: Show Output Channels...");
        await pickQuickItem(page, "Layerscope");
        const lines = page.locator(".part.panel .view-lines");
        await lines.filter({ hasText: expected.diffID }).first().waitFor();
        // Monaco renders spaces as U+00A0 and wraps long lines (at spaces): undo both.
        const text = (await lines.first().innerText()).replace(/\u00a0/g, " ").replace(/\n/g, "");
        assert.ok(text.includes(`diff ${lower} -> ${upper}: ${expected.diffID} (${expected.size} bytes)`), text);
    });

    it("made no request off 127.0.0.1 and raised no page error", () => {
        assert.ok(browser);
        assert.deepEqual(browser.offHost, []);
        assert.deepEqual(browser.pageErrors, []);
    });
});
