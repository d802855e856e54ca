/**
 * Runs the packaged extension in a real VS Code workbench (code-server, installed by install.ts)
 * and drives it headlessly with playwright-core in Debian's /usr/bin/chromium. Nothing leaves
 * 127.0.0.1: the extension gallery is off, the browser resolves no other host name, and every
 * request the page makes off this machine is recorded (`Browser.offHost`) so a test can assert none.
 *
 * Every process started here (code-server with its extension hosts, watchers and pty host;
 * Chromium) runs in its own process group and is stopped by that group's id, also when the test
 * process exits early.
 */
import { execFileSync, spawn } from "node:child_process";
import { closeSync, cpSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium, type BrowserContext, type Frame, type Locator, type Page } from "playwright-core";
import { afterEach } from "node:test";
import { ensureCodeServer } from "./install";
import type { OperationEvent } from "../../src/extension/model/hostApi";

/** The checkout (this file runs as out/test/e2e/harness.js). */
export const repoRoot = resolve(__dirname, "../../..");
/** Screenshots and failure logs; gitignored. */
export const artifactsDir = process.env.LAYERSCOPE_E2E_ARTIFACTS ?? join(repoRoot, "test/e2e/artifacts");
export const cliPath = join(repoRoot, "dist/cli.js");

export const CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",
    // Even with the flags above Chromium resolves Google hosts (autofill, accounts, update):
    // every name but the loopback ones fails inside the browser, so no DNS query leaves either.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
];

export type Theme = "Default Dark Modern" | "Default Light Modern";

/** User settings for a quiet, deterministic workbench. */
export function userSettings(theme: Theme): Record<string, unknown> {
    return {
        "workbench.colorTheme": theme,
        "workbench.startupEditor": "none",
        "workbench.tips.enabled": false,
        "workbench.enableExperiments": false,
        "telemetry.telemetryLevel": "off",
        "update.mode": "none",
        "extensions.autoCheckUpdates": false,
        "extensions.autoUpdate": false,
        "extensions.ignoreRecommendations": true,
        "security.workspace.trust.enabled": false,
        "git.enabled": false,
        "window.dialogStyle": "custom",
        "files.simpleDialog.enable": true,
        "workbench.editor.enablePreview": false,
    };
}

// ------------------------------------------------------------------------------ process groups

const liveGroups = new Set<number>();

function killGroup(pid: number, signal: NodeJS.Signals): void {
    try {
        process.kill(-pid, signal);
    } catch {
        // already gone
    }
}

// A test process that dies (assertion in before(), Ctrl-C) still takes its servers with it.
process.on("exit", () => {
    for (const pid of liveGroups) killGroup(pid, "SIGKILL");
});
for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
        for (const pid of liveGroups) killGroup(pid, "SIGKILL");
        process.exit(130);
    });
}

export function escapeRegExp(s: string): string {
    return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function sleep(ms: number): Promise<void> {
    return new Promise((r) => setTimeout(r, ms));
}

async function stopGroup(pid: number, exited: () => boolean): Promise<void> {
    killGroup(pid, "SIGTERM");
    const deadline = Date.now() + 5000;
    while (!exited() && Date.now() < deadline) await sleep(100);
    // Children (extension hosts) may outlive the leader: the group goes in any case.
    killGroup(pid, "SIGKILL");
    liveGroups.delete(pid);
}

// ------------------------------------------------------------------------------ sandbox

export interface Sandbox {
    readonly root: string;
    readonly userData: string;
    readonly extensions: string;
    readonly config: string;
    /** TMPDIR of the server: each extension host leaves a vscode-ipc-*.sock there. */
    readonly tmp: string;
    /** JSON lines the extension appends (LAYERSCOPE_E2E_EVENTS). */
    readonly events: string;
}

export function makeSandbox(theme: Theme = "Default Dark Modern"): Sandbox {
    const root = mkdtempSync(join(tmpdir(), "layerscope-e2e-"));
    const sandbox: Sandbox = {
        root,
        userData: join(root, "user-data"),
        extensions: join(root, "extensions"),
        config: join(root, "code-server.yaml"),
        tmp: join(root, "tmp"),
        events: join(root, "events.jsonl"),
    };
    mkdirSync(join(sandbox.userData, "User"), { recursive: true });
    mkdirSync(sandbox.extensions);
    mkdirSync(sandbox.tmp);
    setTheme(sandbox, theme);
    // An explicit --config keeps code-server from writing ~/.config/code-server/config.yaml.
    writeFileSync(sandbox.config, "cert: false\n");
    return sandbox;
}

/** Rewrites the user settings; a running workbench picks the change up (theme switch). */
export function setTheme(sandbox: Sandbox, theme: Theme): void {
    writeFileSync(join(sandbox.userData, "User/settings.json"), JSON.stringify(userSettings(theme), null, 2));
}

export function removeSandbox(sandbox: Sandbox | undefined): void {
    if (sandbox && !process.env.LAYERSCOPE_E2E_KEEP) rmSync(sandbox.root, { recursive: true, force: true });
}

// ------------------------------------------------------------------------------ extension

/** Packages the current build (dist/) into a .vsix, as `npm run package` does. */
export function packageExtension(outFile: string): string {
    if (!existsSync(join(repoRoot, "dist/extension.js"))) throw new Error("dist/extension.js is missing: run `npm run build`");
    execFileSync(process.execPath, [join(repoRoot, "scripts/package.mjs"), "--out", outFile], {
        cwd: repoRoot,
        stdio: ["ignore", "ignore", "inherit"],
    });
    return outFile;
}

function serverArgs(entry: string, sandbox: Sandbox): string[] {
    return [entry, "--config", sandbox.config, "--user-data-dir", sandbox.userData, "--extensions-dir", sandbox.extensions];
}

function serverEnv(sandbox: Sandbox, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
    return {
        ...process.env,
        XDG_CONFIG_HOME: sandbox.root,
        TMPDIR: sandbox.tmp,
        // No extension gallery: otherwise code-server queries open-vsx.org at startup.
        EXTENSIONS_GALLERY: "{}",
        ...extra,
    };
}

/** `code-server --install-extension x.vsix` into the sandbox's extensions dir. */
export async function installVsix(sandbox: Sandbox, vsix: string): Promise<string> {
    const { entry } = await ensureCodeServer();
    return execFileSync(process.execPath, [...serverArgs(entry, sandbox), "--install-extension", vsix, "--force"], {
        encoding: "utf8",
        env: serverEnv(sandbox),
    });
}

// ------------------------------------------------------------------------------ server

export interface Server {
    readonly url: string;
    readonly pid: number;
    readonly logFile: string;
    readonly startMs: number;
    stop(): Promise<void>;
}

export function freePort(): Promise<number> {
    return new Promise((resolvePort, reject) => {
        const srv = createServer();
        srv.unref();
        srv.on("error", reject);
        srv.listen(0, "127.0.0.1", () => {
            const address = srv.address();
            const port = typeof address === "object" && address ? address.port : 0;
            srv.close(() => resolvePort(port));
        });
    });
}

/** Starts code-server on 127.0.0.1 with auth off; resolves once /healthz answers. */
export async function startServer(sandbox: Sandbox, opts: { port?: number; env?: NodeJS.ProcessEnv } = {}): Promise<Server> {
    const { entry } = await ensureCodeServer();
    const port = opts.port ?? await freePort();
    const logFile = join(sandbox.root, "code-server.log");
    const out = openSync(logFile, "a");
    const started = Date.now();
    const child = spawn(process.execPath, [
        ...serverArgs(entry, sandbox),
        "--bind-addr", `127.0.0.1:${port}`,
        "--auth", "none",
        "--disable-telemetry", "--disable-update-check", "--disable-workspace-trust",
        "--disable-getting-started-override", "--disable-proxy", "--ignore-last-opened",
        // Diagnostics: e.g. LAYERSCOPE_E2E_LOG_LEVEL=trace (server, extension hosts, workbench).
        ...(process.env.LAYERSCOPE_E2E_LOG_LEVEL ? ["--log", process.env.LAYERSCOPE_E2E_LOG_LEVEL] : []),
    ], {
        detached: true, // its own process group: stop() ends extension hosts and watchers too
        stdio: ["ignore", out, out],
        env: serverEnv(sandbox, { LAYERSCOPE_E2E_EVENTS: sandbox.events, ...opts.env }),
    });
    closeSync(out);
    const pid = child.pid;
    if (pid === undefined) throw new Error("code-server did not start");
    liveGroups.add(pid);
    let exited: { code: number | null; signal: string | null } | undefined;
    child.on("exit", (code, signal) => {
        exited = { code, signal };
    });
    const server: Server = {
        url: `http://127.0.0.1:${port}`,
        pid,
        logFile,
        startMs: 0,
        stop: () => stopGroup(pid, () => exited !== undefined),
    };
    for (;;) {
        if (exited) throw new Error(`code-server exited early (${JSON.stringify(exited)}):\n${readFileSync(logFile, "utf8")}`);
        try {
            if ((await fetch(`${server.url}/healthz`)).ok) break;
        } catch {
            // not up yet
        }
        if (Date.now() - started > 60_000) {
            await server.stop();
            throw new Error(`code-server did not answer on ${server.url} within 60 s; log: ${logFile}`);
        }
        await sleep(100);
    }
    return { ...server, startMs: Date.now() - started };
}

// ------------------------------------------------------------------------------ browser

export interface Browser {
    readonly context: BrowserContext;
    readonly page: Page;
    /** Requests that left 127.0.0.1 (should stay empty). */
    readonly offHost: string[];
    /** Uncaught errors in the workbench page or a webview. */
    readonly pageErrors: string[];
    /** The pages' console messages, timestamped (kept with a failed run's artifacts). */
    readonly console: string[];
    /**
     * Closes the browser. With `keepAs`, the Playwright trace (screenshots and DOM snapshots of
     * every action; open it with `npx playwright show-trace`) and the console go to the artifacts.
     */
    close(keepAs?: string): Promise<void>;
}

function isLocal(url: string): boolean {
    return /^(https?|wss?):\/\/(127\.0\.0\.1|localhost)(:\d+)?\//.test(url)
        || /^(data|blob|about|chrome-extension|vscode-webview|vscode-file):/.test(url);
}

export async function launchBrowser(viewport = { width: 1600, height: 1000 }): Promise<Browser> {
    const profile = mkdtempSync(join(tmpdir(), "layerscope-e2e-chromium-"));
    const context = await chromium.launchPersistentContext(profile, {
        executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
        headless: true,
        args: CHROMIUM_ARGS,
        viewport,
        // Chromium's crash handler writes ~/.config/chromium whatever the profile dir is.
        env: { ...process.env, XDG_CONFIG_HOME: profile },
    });
    // A failed run keeps what the page looked like at every step (LAYERSCOPE_E2E_TRACE=0: off).
    const tracing = process.env.LAYERSCOPE_E2E_TRACE !== "0";
    if (tracing) await context.tracing.start({ screenshots: true, snapshots: true });
    if (process.env.LAYERSCOPE_E2E_FOCUSLOG) {
        // Diagnostics: every focus change in every frame, to the console log.
        await context.addInitScript(`for (const t of ["focusin", "focusout"]) window.addEventListener(t, (e) => {
            const d = (el) => el ? el.tagName + (el.id ? "#" + el.id : "") + (typeof el.className === "string" && el.className ? "." + el.className.trim().split(/\\s+/).slice(0, 3).join(".") : "") : "-";
            console.debug("[focus] " + t + " " + location.pathname.slice(-40) + " target=" + d(e.target) + " related=" + d(e.relatedTarget));
        }, true);`);
    }
    const page = context.pages()[0] ?? await context.newPage();
    const offHost: string[] = [];
    const pageErrors: string[] = [];
    const consoleLines: string[] = [];
    context.on("console", (msg) => consoleLines.push(`${new Date().toISOString()} ${msg.type()} ${msg.text()}`));
    // Webview resources are requested as https://*.vscode-cdn.net/... but answered by the
    // webview's service worker from the server, never by the network.
    context.on("requestfinished", (req) => {
        if (isLocal(req.url())) return;
        void req.response().then((res) => {
            if (!res?.fromServiceWorker()) offHost.push(req.url());
        }, () => offHost.push(req.url()));
    });
    context.on("requestfailed", (req) => {
        if (!isLocal(req.url())) offHost.push(`${req.url()} (failed: ${req.failure()?.errorText ?? "?"})`);
    });
    context.on("weberror", (err) => pageErrors.push(err.error().message));
    return {
        context,
        page,
        offHost,
        pageErrors,
        console: consoleLines,
        close: async (keepAs) => {
            if (keepAs) {
                mkdirSync(artifactsDir, { recursive: true });
                writeFileSync(join(artifactsDir, `${keepAs}.console.log`), consoleLines.join("\n") + "\n");
            }
            if (tracing) await context.tracing.stop(keepAs ? { path: join(artifactsDir, `${keepAs}.trace.zip`) } : {}).catch(() => undefined);
            await context.close().catch(() => undefined);
            rmSync(profile, { recursive: true, force: true });
        },
    };
}

// ------------------------------------------------------------------------------ workbench

export const LAYERSCOPE_CONTAINER = '.activitybar .action-item [aria-label^="Layerscope"]';

/**
 * Opens the workbench on a folder; ready once `readySelector` (default: the extension's
 * activity-bar item) is there. The workbench DOM appears before the extension host registered
 * the extension's contributions.
 */
export async function openWorkbench(page: Page, serverUrl: string, folder: string, readySelector = LAYERSCOPE_CONTAINER): Promise<number> {
    const started = Date.now();
    await page.goto(`${serverUrl}/?folder=${encodeURIComponent(folder)}`);
    await page.locator(".monaco-workbench").waitFor({ timeout: 60_000 });
    await page.locator(readySelector).first().waitFor({ timeout: 60_000 });
    return Date.now() - started;
}

export const QUICK_INPUT = ".quick-input-widget .quick-input-box input";

/**
 * Runs a command through the palette by its visible "Category: Title". A palette opened before the
 * extension host registered the command never lists it (the list does not refresh), so a miss
 * closes the palette and tries again, for up to a minute.
 */
export async function runCommand(page: Page, title: string): Promise<void> {
    const input = page.locator(QUICK_INPUT);
    // The row whose label is exactly the title (others match the filter too, and may rank first).
    const row = page.locator(".quick-input-widget .monaco-list-row", {
        has: page.locator(".label-name", { hasText: new RegExp(`^${escapeRegExp(title)}$`) }),
    }).first();
    const deadline = Date.now() + 60_000;
    await leaveWebview(page);
    for (;;) {
        await page.keyboard.press("F1");
        await input.waitFor({ state: "visible" });
        await input.fill(`>${title}`);
        try {
            await row.waitFor({ timeout: 3000 });
            break;
        } catch (err) {
            if (Date.now() > deadline) throw err;
            await page.keyboard.press("Escape");
            await sleep(500);
        }
    }
    await row.click();
    // Done when the palette closed, or was reused by a picker the command opened (no '>' prefix).
    // (A string: this tsconfig has no DOM types; it runs in the page.)
    await page.waitForFunction(`(() => {
        const el = document.querySelector(${JSON.stringify(QUICK_INPUT)});
        return !el || el.offsetParent === null || !el.value.startsWith(">");
    })()`);
}

/**
 * Moves the keyboard focus out of a webview (to the active editor's tab) if one has it. When the
 * palette closes, the workbench gives the focus back to what had it before; a webview takes it
 * back asynchronously (a 'focus' message to its frame, after a 50 ms debounce), so a quick pick
 * the command shows meanwhile loses the focus and closes at once (VS Code issue #75209, seen here:
 * Open in Explorer's ref picker shown and hidden within 25 ms after a click in the graph).
 */
async function leaveWebview(page: Page): Promise<void> {
    const moved = await page.evaluate(`(() => {
        if (document.activeElement?.tagName !== "IFRAME") return false;
        const tab = document.querySelector(".editor-group-container.active .tabs-container .tab.active");
        if (!tab) return false;
        tab.focus();
        return true;
    })()`);
    if (moved) {
        await page.waitForFunction(`document.activeElement?.matches(".editor-group-container.active .tabs-container .tab.active") === true`);
    }
}

/** The open quick pick's rows (their visible text). */
export async function quickPickRows(page: Page): Promise<string[]> {
    await page.locator(".quick-input-widget .monaco-list-row").first().waitFor();
    return page.locator(".quick-input-widget .monaco-list-row").allInnerTexts();
}

/**
 * Picks the entry labelled exactly `label` in the open quick pick: types the label to filter
 * (long lists render only the rows in view), then clicks the row.
 */
export async function pickQuickItem(page: Page, label: string): Promise<void> {
    const input = page.locator(QUICK_INPUT);
    await input.waitFor({ state: "visible" });
    await input.fill(label);
    await page.locator(".quick-input-widget .monaco-list-row", {
        has: page.locator(".label-name", { hasText: new RegExp(`^${escapeRegExp(label)}$`) }),
    }).first().click();
}

/** Types a value into an open input box (showInputBox) or a simple file dialog, then Enter. */
export async function answerInput(page: Page, text: string): Promise<void> {
    const input = page.locator(QUICK_INPUT);
    await input.waitFor({ state: "visible" });
    await input.fill(text);
    await page.keyboard.press("Enter");
}

/**
 * Answers VS Code's simple file dialog (what showOpenDialog is in a browser workbench) with a
 * folder: types its path with a trailing slash, waits until the dialog lists that folder's
 * entries (the server reads them asynchronously; Enter before that accepts the previous folder),
 * then accepts. `listsFiles: false` for a dialog that shows folders only.
 */
export async function chooseFolder(page: Page, folder: string, title: string, opts: { listsFiles?: boolean } = {}): Promise<void> {
    const input = page.locator(QUICK_INPUT);
    // The dialog asking this question (not the previous one, still closing).
    await page.locator(".quick-input-widget .quick-input-title", { hasText: title }).waitFor();
    await input.waitFor({ state: "visible" });
    // A dialog that selects folders only (Open Snapshot Source…) lists no files.
    const entries = readdirSync(folder, { withFileTypes: true })
        .filter((d) => !d.name.startsWith(".") && (opts.listsFiles !== false || d.isDirectory()))
        .map((d) => d.name)
        .sort();
    // Visible rows only: rows of an earlier quick pick can stay in the DOM, hidden.
    const rows = page.locator(".quick-input-widget .monaco-list-row .label-name").filter({ visible: true });
    const expected = ["..", ...entries];
    const deadline = Date.now() + 30_000;
    for (;;) {
        // The dialog sets its own start folder when it opens: type (again) until ours sticks.
        if ((await input.inputValue()) !== `${folder}/`) await input.fill(`${folder}/`);
        const shown = (await rows.allInnerTexts()).map((t) => t.trim());
        if (entries.every((e) => shown.includes(e)) && shown.length <= expected.length
            && (await input.inputValue()) === `${folder}/`) break;
        if (Date.now() > deadline) throw new Error(`file dialog never listed ${folder}: shows ${shown.join(", ")}`);
        await sleep(200);
    }
    // The dialog ignores Enter while it is still validating the typed path: press again until
    // it moved on (closed, or the next dialog/picker replaced the value).
    const movedOn = `(() => {
        const el = document.querySelector(${JSON.stringify(QUICK_INPUT)});
        return !el || el.offsetParent === null || el.value !== ${JSON.stringify(`${folder}/`)};
    })()`;
    for (let attempt = 1; ; attempt++) {
        await page.keyboard.press("Enter");
        try {
            await page.waitForFunction(movedOn, undefined, { timeout: 5000 });
            return;
        } catch (err) {
            if (attempt === 3) throw err;
        }
    }
}

export function toast(page: Page, text: string | RegExp): Locator {
    return page.locator(".notifications-toasts .notification-toast", { hasText: text }).first();
}

/** Dismisses every notification toast (they cover the lower right of editors and webviews). */
export async function clearNotifications(page: Page): Promise<void> {
    await runCommand(page, "Notifications: Clear All Notifications");
    await page.locator(".notifications-toasts .notification-toast").first().waitFor({ state: "detached", timeout: 10_000 }).catch(() => undefined);
}

/**
 * The tree view pane with this title, and its rows; `row(label, level)` is the first row with
 * that label at that depth (1 = top; in the Refs tree: 1 source, 2 ref, 3 its children).
 */
export function viewPane(page: Page, title: string): { pane: Locator; rows: Locator; row: (label: string | RegExp, level?: number) => Locator } {
    const pane = page.locator(".pane", { has: page.locator(".pane-header", { hasText: title }) });
    const rows = pane.locator(".monaco-list-row");
    return {
        pane,
        rows,
        row: (label, level) => (level === undefined ? rows : pane.locator(`.monaco-list-row[aria-level="${level}"]`))
            .filter({ has: page.locator(".label-name", { hasText: label }) }).first(),
    };
}

/** The content frame of the webview that contains `selector` (any number of webviews open). */
export async function findWebviewFrame(page: Page, selector: string, timeoutMs = 30_000): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
        for (const frame of page.frames()) {
            if (frame === page.mainFrame()) continue;
            try {
                if (await frame.$(selector)) return frame;
            } catch {
                // frame navigating
            }
        }
        await sleep(200);
    }
    throw new Error(`no webview frame contains ${selector}`);
}

export async function screenshot(page: Page, name: string): Promise<string> {
    mkdirSync(artifactsDir, { recursive: true });
    const file = join(artifactsDir, `${name}.png`);
    // animations: 'disabled' fast-forwards toasts sliding in, so the PNG shows what the test saw.
    await page.screenshot({ path: file, animations: "disabled" });
    return file;
}

/**
 * Keeps the server log next to the screenshots; with `sandbox`, also the server's log folder
 * (remote agent, extension host, and the extension's output channel: exthost*\/output_logging_*).
 */
export function keepLog(server: Server | undefined, name: string, sandbox?: Sandbox): void {
    if (!server || !existsSync(server.logFile)) return;
    mkdirSync(artifactsDir, { recursive: true });
    cpSync(server.logFile, join(artifactsDir, `${name}.code-server.log`));
    if (!sandbox) return;
    rmSync(join(artifactsDir, `${name}.logs`), { recursive: true, force: true });
    const logs = join(sandbox.userData, "logs");
    if (existsSync(logs)) cpSync(logs, join(artifactsDir, `${name}.logs`), { recursive: true });
    // Untitled multi-root workspaces the workbench created (Open in Explorer).
    const workspaces = join(sandbox.userData, "User/Workspaces");
    if (existsSync(workspaces)) cpSync(workspaces, join(artifactsDir, `${name}.logs/Workspaces`), { recursive: true });
}

/**
 * Failure evidence for the enclosing describe(): a screenshot when a test fails (named after the
 * test), and `failed()` for the after() hook, which then keeps the trace, console and logs. A
 * describe whose before() failed ran no test: that counts as failed too.
 */
export function watchFailures(name: string, page: () => Page | undefined): { failed(): boolean } {
    let failed = false;
    let ran = 0;
    afterEach(async (t) => {
        ran++;
        // TestContext.passed (Node >= 20.12) is missing from @types/node 20.19's declarations.
        if ((t as unknown as { passed?: boolean }).passed !== false) return;
        failed = true;
        const p = page();
        const slug = t.name.replace(/[^A-Za-z0-9]+/g, "-").replace(/^-|-$/g, "").slice(0, 60);
        if (p) await screenshot(p, `${name}-FAILED-${slug}`).catch(() => undefined);
    });
    return { failed: () => failed || ran === 0 };
}

// ------------------------------------------------------------------------------ extension events

/** One line of the extension's LAYERSCOPE_E2E_EVENTS file: the model's OperationEvent as is. */
export type { OperationEvent };

export function readEvents(file: string): OperationEvent[] {
    if (!existsSync(file)) return [];
    return readFileSync(file, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as OperationEvent);
}

export async function waitForEvent(file: string, predicate: (e: OperationEvent) => boolean, timeoutMs = 60_000): Promise<OperationEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const hit = readEvents(file).find(predicate);
        if (hit) return hit;
        if (Date.now() > deadline) throw new Error(`event not seen in ${file}; have: ${JSON.stringify(readEvents(file))}`);
        await sleep(100);
    }
}

// ------------------------------------------------------------------------------ workspaces

/** The bundled sample workspace, laid out with fixed metadata in a fresh folder. */
export function materializeSample(dir: string): string {
    execFileSync(process.execPath, [join(repoRoot, "test/fixtures/sample/materialize.mjs"), dir], { stdio: "ignore" });
    return dir;
}

export interface CliRef {
    readonly id: string;
    readonly kind: string;
    readonly parents: {
        readonly parent?: string | null;
        readonly merge?: readonly string[];
        readonly diff?: { readonly lower: string | null; readonly upper: string | null };
    };
    readonly diffID: string | null;
    readonly chainID: string | null;
    readonly blobChainID: string | null;
    readonly blob: { readonly digest: string; readonly mediaType: string; readonly size: number } | null;
    readonly variants: readonly { readonly digest: string; readonly mediaType: string; readonly size: number }[];
}

/** `layerscope refs WS --json`: what the CLI (the same engine, another process) reports. */
export function cliRefs(workspace: string): CliRef[] {
    const out = execFileSync(process.execPath, [cliPath, "refs", workspace, "--json"], { encoding: "utf8" });
    return (JSON.parse(out) as { refs: CliRef[] }).refs;
}
