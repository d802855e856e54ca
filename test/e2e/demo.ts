/**
 * `npm run demo:vscode`: the packaged extension in a local code-server (a real VS Code in the
 * browser) on a fresh copy of the bundled sample workspace, for anyone without VS Code at hand.
 * Listens on 127.0.0.1 only, auth off; Ctrl-C stops the server and removes its temporary folders.
 *
 * Env: LAYERSCOPE_DEMO_PORT (default 8080; a free port when that one is taken),
 *      LAYERSCOPE_DEMO_THEME ("Default Dark Modern" | "Default Light Modern"),
 *      LAYERSCOPE_E2E_HOME (the code-server cache, as for the e2e tests).
 */
import { existsSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { installVsix, makeSandbox, materializeSample, removeSandbox, repoRoot, startServer, type Sandbox, type Theme } from "./harness";
import { ensureCodeServer } from "./install";

function portFree(port: number): Promise<boolean> {
    return new Promise((resolve) => {
        const srv = createServer();
        srv.once("error", () => resolve(false));
        srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)));
    });
}

async function main(): Promise<void> {
    const { name, version } = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as { name: string; version: string };
    const vsix = join(repoRoot, `${name}-${version}.vsix`);
    if (!existsSync(vsix)) throw new Error(`${vsix} is missing: run \`npm run package\` first`);
    const installed = await ensureCodeServer();

    const theme = (process.env.LAYERSCOPE_DEMO_THEME ?? "Default Dark Modern") as Theme;
    const sandbox: Sandbox = makeSandbox(theme);
    process.on("exit", () => removeSandbox(sandbox));
    const workspace = materializeSample(join(sandbox.root, "sample"));
    await installVsix(sandbox, vsix);

    const wanted = Number(process.env.LAYERSCOPE_DEMO_PORT ?? 8080);
    const server = await startServer(sandbox, { ...(await portFree(wanted) ? { port: wanted } : {}) });
    let stopping = false;
    const stop = (): void => {
        if (stopping) return;
        stopping = true;
        console.log("\nstopping code-server …");
        void server.stop().then(() => process.exit(0));
    };
    // Replaces the harness's default (kill and exit 130): a Ctrl-C here is the normal way out.
    process.removeAllListeners("SIGINT");
    process.removeAllListeners("SIGTERM");
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);

    console.log(`Layerscope ${version} (${vsix}) in code-server ${installed.codeServerVersion}, sample workspace ${workspace}`);
    console.log("");
    console.log(`  open  ${server.url}/?folder=${encodeURIComponent(workspace)}`);
    console.log("");
    console.log(`listening on 127.0.0.1 only (no auth); server log ${server.logFile}. Ctrl-C stops it.`);
}

main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
});
