/**
 * The ref-graph webview against hostile strings: ref ids (a containerd snapshot key can be any
 * string), descriptions, snapshot paths (file names), source labels and error messages. They go
 * the real way: a computed workspace's RefReports -> toViewModel -> the protocol guards -> the
 * built webview bundle (dist/webview.js) in Debian's Chromium, under the CSP graphHtml writes.
 * Nothing may become markup (no element, attribute or script from the data), and the page must
 * raise no CSP violation (it needs no inline script or style). Also: graphHtml's CSP itself, and
 * the guards on both sides with hostile payloads.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import Module from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { chromium } from "playwright-core";
import { openWorkspaceEngine, type RefReport } from "../../src/engine";
import { toDetailsView, toGraphView } from "../../src/extension/graph/toViewModel";
import { isHostToWebview, isPersistedState, isWebviewToHost } from "../../src/protocol/guards";
import type { HostToWebview } from "../../src/protocol/messages";
import { Rng } from "../helpers/rng";
import { mutateJson } from "../fuzz/targets";

// The page's globals, in the functions page.evaluate runs there (this file compiles without the DOM lib).
// eslint-disable-next-line @typescript-eslint/no-explicit-any
declare const window: any, document: any;

const root = join(__dirname, "..", "..", "..");
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const haveBrowser = fs.existsSync(CHROMIUM) && fs.existsSync(join(root, "dist", "webview.js"));
const work = fs.mkdtempSync(join(tmpdir(), "layerscope-webview-hostile-"));
after(() => fs.rmSync(work, { recursive: true, force: true }));

// `graphHtml` imports vscode for Uri only: a stand-in is enough.
const fakeVscode = { Uri: { joinPath: (base: { path: string }, ...parts: string[]) => ({ path: [base.path, ...parts].join("/") }) } };
const M = Module as unknown as { _load: (request: string, ...rest: unknown[]) => unknown };
const load = M._load;
M._load = function (request: string, ...rest: unknown[]) {
    return request === "vscode" ? fakeVscode : load.call(this, request, ...rest);
};
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { graphHtml } = require("../../src/extension/graph/graphHtml") as typeof import("../../src/extension/graph/graphHtml");

const ORIGIN = "https://webview.test";
const fakeWebview = { cspSource: ORIGIN, asWebviewUri: (u: { path: string }) => ({ toString: () => `${ORIGIN}${u.path}` }) };
const html = (): string => graphHtml(fakeWebview as never, { path: "/ext" } as never);

/** Markup in every place a string can land: element, attribute, entity, SVG, script, URL. */
const PAYLOADS = [
    `<img src=x onerror="window.__pwned='img'">`,
    `"><script>window.__pwned='script'</script>`,
    `<svg onload="window.__pwned='svg'"></svg>`,
    `' onmouseover='window.__pwned=1' x='`,
    `</title><iframe srcdoc="<script>parent.__pwned=1</script>">`,
    `&lt;b&gt;entity&amp;`,
    `javascript:window.__pwned='url'`,
    `<style>body{display:none}</style>`,
];

describe("graphHtml's CSP", () => {
    it("default-src 'none', scripts only by this load's nonce, no unsafe-* anywhere, nothing inline", () => {
        const a = html();
        const b = html();
        const csp = /http-equiv="Content-Security-Policy" content="([^"]+)"/.exec(a)![1]!;
        const dirs = new Map(csp.split(";").map((d) => d.trim().split(/\s+/)).map(([k, ...v]) => [k!, v]));
        assert.deepEqual(dirs.get("default-src"), ["'none'"]);
        const nonce = /^'nonce-([A-Za-z0-9+/=]+)'$/.exec(dirs.get("script-src")!.join(" "))?.[1];
        assert.ok(nonce, `script-src is the nonce alone: ${csp}`);
        assert.ok(Buffer.from(nonce, "base64").length >= 16, "a 128-bit nonce");
        assert.notEqual(/'nonce-([^']+)'/.exec(b)![1], nonce, "a new nonce per load");
        assert.doesNotMatch(csp, /unsafe-|strict-dynamic|\*|script-src[^;]*(https?:|data:|blob:)/);
        assert.deepEqual(dirs.get("style-src"), [ORIGIN, `'nonce-${nonce}'`]);
        assert.equal(dirs.has("connect-src") || dirs.has("frame-src") || dirs.has("object-src"), false, "no other sources allowed");
        for (const s of a.match(/<script[^>]*>[^<]*<\/script>/g) ?? []) {
            assert.match(s, new RegExp(`^<script type="module" nonce="${nonce.replace(/[+/=]/g, "\\$&")}" src="${ORIGIN}/ext/dist/webview\\.js"></script>$`));
        }
        assert.doesNotMatch(a, /\sstyle=|\son[a-z]+=|<style/i, "no inline style or handler");
    });
});

describe("protocol guards: hostile payloads, both directions", () => {
    const big = "x".repeat(1 << 20);
    const deep = JSON.parse(`${"[".repeat(5000)}${"]".repeat(5000)}`) as unknown;
    const fromWebview: [string, unknown][] = [
        ["select with an object ref", { type: "select", ref: { toString: () => "app" } }],
        ["select with an array ref", { type: "select", ref: ["app"] }],
        ["select with a deeply nested ref", { type: "select", ref: deep }],
        ["run with a NaN id", { type: "run", id: NaN, command: "compute", ref: "a", compression: "gzip", level: -1, force: false }],
        ["run with an Infinity level", { type: "run", id: 1, command: "compute", ref: "a", compression: "gzip", level: Infinity, force: false }],
        ["run with a fractional id", { type: "run", id: 1.5, command: "compute", ref: "a", compression: "gzip", level: -1, force: false }],
        ["run with an unknown command", { type: "run", id: 1, command: "rm -rf /", ref: "a", compression: "gzip", level: -1, force: false }],
        ["run with an unknown compression", { type: "run", id: 1, command: "convert", ref: "a", compression: "brotli", level: -1, force: false }],
        ["run with a string force", { type: "run", id: 1, command: "convert", ref: "a", compression: "zstd", level: 3, force: "true" }],
        ["run with a numeric-string level", { type: "run", id: 1, command: "convert", ref: "a", compression: "zstd", level: "3", force: false }],
        ["copy without text", { type: "copy" }],
        ["copy with a number", { type: "copy", text: 42 }],
        ["a type from the other direction", { type: "graph", graph: { source: "/", label: "", nodes: [] } }],
        ["a __proto__ type", JSON.parse('{"type":"__proto__"}')],
        ["an inherited type", Object.create({ type: "ready" })],
        ["an array", ["ready"]],
        ["a string", "ready"],
        ["null", null],
    ];
    const fromHost: [string, unknown][] = [
        ["graph whose node id is a number", { type: "graph", graph: { source: "/", label: "", nodes: [{ id: 1, kind: "Layer", description: "", parents: [], diffID: "", chainID: "", blobChainID: "", blob: "", digests: [] }] } }],
        ["graph with an unknown kind", { type: "graph", graph: { source: "/", label: "", nodes: [{ id: "a", kind: "Evil", description: "", parents: [], diffID: "", chainID: "", blobChainID: "", blob: "", digests: [] }] } }],
        ["graph whose parent role is markup", { type: "graph", graph: { source: "/", label: "", nodes: [{ id: "a", kind: "Layer", description: "", parents: [{ ref: "b", role: "<img>", index: 0 }], diffID: "", chainID: "", blobChainID: "", blob: "", digests: [] }] } }],
        ["graph with nodes not an array", { type: "graph", graph: { source: "/", label: "", nodes: { length: 1, 0: {} } } }],
        ["details with steps of the wrong shape", { type: "details", source: "/", details: { id: "a", kind: "Layer", description: "", snapshot: "", layers: [], diffID: "", chainID: { value: "", steps: [1], check: "match" }, blobChainID: { value: "", steps: [], check: "match" }, buildkit: { chainID: "", blobChainID: "", reason: "" }, variants: [] } }],
        ["progress with a NaN elapsed time", { type: "progress", source: "/", progress: { ref: "a", operation: "compute", phase: "diff", detail: "", error: "", elapsedMs: NaN } }],
        ["reply with a string ok", { type: "reply", id: 1, ok: "false", error: "" }],
        ["failure with a deeply nested message", { type: "failure", message: deep }],
        ["a type from the other direction", { type: "ready" }],
    ];
    for (const [name, m] of fromWebview) {
        it(`webview -> host: refuses ${name}`, () => assert.equal(isWebviewToHost(m), false));
    }
    for (const [name, m] of fromHost) {
        it(`host -> webview: refuses ${name}`, () => assert.equal(isHostToWebview(m), false));
    }
    it("huge strings are data, not a reason to throw; __proto__ keys pollute nothing", () => {
        assert.equal(isWebviewToHost({ type: "copy", text: big }), false, "copy text is bounded (4096)");
        assert.equal(isHostToWebview({ type: "failure", message: big }), true);
        const m = JSON.parse('{"type":"select","ref":"a","__proto__":{"polluted":true}}') as unknown;
        assert.equal(isWebviewToHost(m), true);
        assert.equal(({} as { polluted?: boolean }).polluted, undefined);
        assert.equal(isPersistedState(JSON.parse('{"__proto__":{"source":"/"}}')), false, "inherited fields do not count");
    });
    it("20,000 mutated valid messages: the guards answer a boolean, never throw", () => {
        const rng = new Rng(9);
        const samples: unknown[] = [
            { type: "select", ref: "a" },
            { type: "run", id: 1, command: "compute", ref: "a", compression: "gzip", level: -1, force: false },
            { type: "copy", text: "t" },
            { type: "graph", graph: { source: "/", label: "l", nodes: [{ id: "a", kind: "Layer", description: "", parents: [{ ref: "b", role: "parent", index: 0 }], diffID: "", chainID: "", blobChainID: "", blob: "", digests: [""] }] } },
            { type: "progress", source: "/", progress: { ref: "a", operation: "compute", phase: "diff", detail: "", error: "", elapsedMs: 0 } },
        ];
        for (let i = 0; i < 20_000; i++) {
            const m = mutateJson(rng.pick(samples), rng);
            assert.equal(typeof isWebviewToHost(m), "boolean");
            assert.equal(typeof isHostToWebview(m), "boolean");
            assert.equal(typeof isPersistedState(m), "boolean");
        }
    });
});

/** Reports of a computed two-ref workspace whose descriptions and snapshot dir names are hostile, then given hostile ids. */
async function hostileReports(): Promise<RefReport[]> {
    const ws = join(work, "ws");
    const snapBase = join(ws, "snapshots", PAYLOADS[0]!.replace(/\//g, "_"));
    const snapApp = join(ws, "snapshots", PAYLOADS[1]!.replace(/\//g, "_"));
    fs.mkdirSync(snapBase, { recursive: true });
    fs.writeFileSync(join(snapBase, PAYLOADS[2]!.replace(/\//g, "_")), "x");
    fs.cpSync(snapBase, snapApp, { recursive: true });
    fs.writeFileSync(join(snapApp, "more"), "y");
    fs.writeFileSync(join(ws, "layerscope.json"), JSON.stringify({
        snapshotter: "native",
        refs: [
            { id: "refbase1", snapshot: `snapshots/${PAYLOADS[0]!.replace(/\//g, "_")}`, description: PAYLOADS[3] },
            { id: "refapp22", parent: "refbase1", snapshot: `snapshots/${PAYLOADS[1]!.replace(/\//g, "_")}`, description: PAYLOADS[4] },
        ],
    }));
    const engine = await openWorkspaceEngine(ws);
    await engine.computeBlobChain("refapp22", { createIfNeeded: true, compression: { type: "gzip" } });
    const reports = await Promise.all(["refbase1", "refapp22"].map((id) => engine.report(id)));
    // Snapshot keys of a containerd root become ref ids unchanged: any string.
    const text = JSON.stringify(reports).replaceAll('"refbase1"', JSON.stringify(PAYLOADS[5] + PAYLOADS[6])).replaceAll('"refapp22"', JSON.stringify(PAYLOADS[7] + PAYLOADS[2]));
    return JSON.parse(text) as RefReport[];
}

describe("the webview renders hostile strings as text", { skip: !haveBrowser && `needs ${CHROMIUM} and dist/webview.js (npm run build)` }, () => {
    it("graph, details, progress, reply and failure: no markup from the data, no CSP violation, no script run", async () => {
        const reports = await hostileReports();
        const label = PAYLOADS[1]!;
        const graph = toGraphView(`/src/${PAYLOADS[0]}`, label, reports);
        const top = reports[1]!;
        const details = toDetailsView(top, (id) => reports.find((r) => r.id === id), () => 7);
        const messages: HostToWebview[] = [
            { type: "graph", graph },
            { type: "focus", ref: top.id },
            { type: "details", source: graph.source, details },
            { type: "progress", source: graph.source, progress: { ref: top.id, operation: "compute", phase: "diff", detail: PAYLOADS[4]!, error: "", elapsedMs: 5 } },
            { type: "reply", id: 1, ok: false, error: PAYLOADS[2]! },
        ];
        for (const m of messages) assert.ok(isHostToWebview(m), `the host sends ${m.type} as is`);
        const hostile = [top.id, reports[0]!.id, top.description!, top.snapshot!, label];

        const profile = fs.mkdtempSync(join(work, "chromium-"));
        const context = await chromium.launchPersistentContext(profile, {
            executablePath: CHROMIUM,
            headless: true,
            args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-dev-shm-usage", "--host-resolver-rules=MAP * ~NOTFOUND"],
            env: { ...process.env, XDG_CONFIG_HOME: profile },
        });
        try {
            const page = context.pages()[0] ?? (await context.newPage());
            const violations: string[] = [];
            const errors: string[] = [];
            page.on("console", (m) => {
                if (/Content Security Policy|Refused to/.test(m.text())) violations.push(m.text());
            });
            page.on("pageerror", (e) => errors.push(e.message));
            await page.addInitScript(() => {
                const w = window as unknown as Record<string, unknown>;
                w.__sent = [];
                w.__csp = [];
                document.addEventListener("securitypolicyviolation", (e: { violatedDirective: string; blockedURI: string }) => (w.__csp as string[]).push(`${e.violatedDirective} ${e.blockedURI}`));
                w.acquireVsCodeApi = () => ({ postMessage: (m: unknown) => (w.__sent as unknown[]).push(m), getState: () => undefined, setState: () => undefined });
            });
            const page0 = html();
            await page.route(`${ORIGIN}/**`, async (route) => {
                const url = new URL(route.request().url());
                if (url.pathname === "/index.html") return route.fulfill({ status: 200, contentType: "text/html", body: page0 });
                const file = join(root, "dist", url.pathname.replace(/^\/ext\/dist\//, ""));
                if (url.pathname.startsWith("/ext/dist/") && fs.existsSync(file)) {
                    return route.fulfill({ status: 200, contentType: file.endsWith(".css") ? "text/css" : "text/javascript", body: fs.readFileSync(file) });
                }
                return route.fulfill({ status: 404, body: "" });
            });
            await page.goto(`${ORIGIN}/index.html`);
            await page.waitForFunction(() => ((window as unknown as { __sent: { type: string }[] }).__sent ?? []).some((m) => m.type === "ready"), undefined, { timeout: 30_000 });
            for (const m of messages) {
                await page.evaluate((msg) => window.postMessage(msg, "*"), m as unknown as Record<string, unknown>);
                await page.waitForTimeout(100);
            }
            await page.waitForFunction((n) => document.querySelectorAll("[data-node-count]").length > 0 && document.body.textContent!.includes(n), top.description!, { timeout: 30_000 });
            const check = async (phase: string): Promise<void> => {
                const r = await page.evaluate((needles) => {
                    const w = window as unknown as Record<string, unknown>;
                    const all = [...document.querySelectorAll("*")];
                    const handlers = all.flatMap((el: any) => [...el.attributes].filter((a: any) => /^on/i.test(a.name) || (/^(href|src|xlink:href|action|formaction|srcdoc)$/i.test(a.name) && /^\s*javascript:/i.test(a.value))).map((a: any) => `${el.tagName} ${a.name}`));
                    const text = document.body.textContent ?? "";
                    return {
                        pwned: w.__pwned ?? null,
                        csp: w.__csp as string[],
                        scripts: document.querySelectorAll("script").length,
                        foreign: all.filter((el) => ["IMG", "IFRAME", "OBJECT", "EMBED", "STYLE", "B"].includes(el.tagName)).map((el) => el.tagName),
                        nestedSvg: document.querySelectorAll("svg svg").length,
                        handlers,
                        missing: needles.filter((n) => !text.includes(n) && !all.some((el) => [...el.attributes].some((a) => a.value.includes(n)))),
                    };
                }, hostile);
                assert.equal(r.pwned, null, `${phase}: a payload ran`);
                assert.deepEqual(r.csp, [], `${phase}: CSP violations`);
                assert.equal(r.scripts, 1, `${phase}: only the bundle's script`);
                assert.deepEqual(r.foreign, [], `${phase}: elements from the data`);
                assert.equal(r.nestedSvg, 0, `${phase}: svg from the data`);
                assert.deepEqual(r.handlers, [], `${phase}: event-handler attributes`);
                assert.deepEqual(r.missing, [], `${phase}: the hostile strings are shown, as text`);
            };
            await check("graph and details");
            await page.evaluate((msg) => window.postMessage(msg, "*"), { type: "failure", message: `cannot read ${PAYLOADS[0]}` });
            await page.waitForFunction((p) => document.body.textContent!.includes(p), PAYLOADS[0]!, { timeout: 30_000 });
            const r = await page.evaluate(() => ({ pwned: (window as unknown as { __pwned?: unknown }).__pwned ?? null, imgs: document.querySelectorAll("img").length }));
            assert.deepEqual(r, { pwned: null, imgs: 0 }, "failure message rendered as text");
            // A malformed message from the host is dropped, not rendered.
            await page.evaluate((msg) => window.postMessage(msg, "*"), { type: "failure", message: { toString: "<img src=x onerror=window.__pwned=1>" } } as unknown as Record<string, unknown>);
            await page.waitForTimeout(200);
            assert.equal(await page.evaluate(() => document.querySelectorAll("img").length), 0);
            assert.deepEqual(violations, []);
            assert.deepEqual(errors, []);
            const sent = await page.evaluate(() => (window as unknown as { __sent: unknown[] }).__sent);
            for (const m of sent) assert.ok(isWebviewToHost(m), `the webview sends only valid messages: ${JSON.stringify(m).slice(0, 200)}`);
            assert.ok(sent.some((m) => (m as { type: string; ref?: string }).type === "select" && (m as { ref: string }).ref === top.id), "the hostile id round-trips as data");
        } finally {
            await context.close();
        }
    });
});
