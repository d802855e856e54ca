/**
 * Installs the real VS Code workbench the e2e tests drive: code-server from the npm registry,
 * into a cache outside the checkout (`LAYERSCOPE_E2E_HOME`, default `~/.cache/layerscope-e2e`),
 * once; later runs find `installed.json` and start in a second. Nothing is fetched from anywhere
 * but the npm registry. The browser is Debian's `chromium` (apt), driven by `playwright-core`
 * (a devDependency; its own browser download is never used).
 *
 *   node out/test/e2e/install.js        (the tests call ensureCodeServer() themselves)
 *
 * The traps this handles, each seen to fail the install on Debian 12 as root:
 * - code-server's postinstall refuses to run as root without unsafe-perm;
 * - node-pty's postinstall runs `npx node-gyp`, which `yes=false` in an npmrc cancels;
 * - code-server 4.100.x pins @vscode/ripgrep 1.15.x, whose postinstall downloads `rg` from
 *   GitHub; it first looks in `$TMPDIR/vscode-ripgrep-cache-<pkg>/ripgrep-<rg>-<target>.tar.gz`,
 *   so that file is seeded with the `rg` inside the npm package @vscode/ripgrep-linux-x64;
 * - the `kerberos` module builds from source and needs `gssapi/gssapi.h` (apt: libkrb5-dev);
 * - npm 11's `allowScripts` would block install scripts not listed.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

/** Newest code-server whose `engines.node` is 20 (VS Code 1.100.3). */
export const CODE_SERVER_VERSION = process.env.LAYERSCOPE_E2E_CODE_SERVER ?? "4.100.3";
/** The npm package whose tarball carries a static `rg` for linux-x64. */
const RIPGREP_BINARY_PACKAGE = "@vscode/ripgrep-linux-x64@1.18.0";

export interface Installed {
    readonly codeServerVersion: string;
    /** code-server's entry script, run with this Node. */
    readonly entry: string;
    readonly installMs: number;
}

export function e2eHome(): string {
    const cache = process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache");
    return process.env.LAYERSCOPE_E2E_HOME ?? join(cache, "layerscope-e2e");
}

function installDir(): string {
    return join(e2eHome(), `code-server-${CODE_SERVER_VERSION}`);
}

function readInstalled(): Installed | undefined {
    const marker = join(installDir(), "installed.json");
    if (!existsSync(marker)) return undefined;
    const installed = JSON.parse(readFileSync(marker, "utf8")) as Installed;
    return existsSync(installed.entry) ? installed : undefined;
}

function log(line: string): void {
    process.stderr.write(`# e2e install: ${line}\n`);
}

function npm(args: readonly string[], cwd: string, env: NodeJS.ProcessEnv = process.env): string {
    return execFileSync("npm", args, { cwd, env, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
}

function untar(archive: string, dest: string, members: readonly string[] = []): void {
    mkdirSync(dest, { recursive: true });
    execFileSync("tar", ["-xzf", archive, "-C", dest, ...members]);
}

function packInto(dir: string, spec: string): string {
    const name = npm(["pack", "--silent", spec], dir).trim().split("\n").pop() ?? "";
    return join(dir, name);
}

/**
 * Seeds the ripgrep download cache that @vscode/ripgrep's postinstall reads before it tries GitHub.
 * The versions come from code-server's own shrinkwrap, so another code-server version works too.
 */
function seedRipgrep(work: string, tmpDir: string): void {
    const tarball = packInto(work, `code-server@${CODE_SERVER_VERSION}`);
    untar(tarball, join(work, "cs"), ["package/lib/vscode/npm-shrinkwrap.json"]);
    const shrinkwrap = JSON.parse(readFileSync(join(work, "cs/package/lib/vscode/npm-shrinkwrap.json"), "utf8")) as {
        packages: Record<string, { version: string; hasInstallScript?: boolean } | undefined>;
    };
    const rg = shrinkwrap.packages["node_modules/@vscode/ripgrep"];
    if (!rg?.hasInstallScript) {
        log("no @vscode/ripgrep postinstall in this code-server: nothing to seed");
        return;
    }
    untar(packInto(work, `@vscode/ripgrep@${rg.version}`), join(work, "rgpkg"), ["package/lib/postinstall.js"]);
    const postinstall = readFileSync(join(work, "rgpkg/package/lib/postinstall.js"), "utf8");
    const release = /^const VERSION = '([^']+)';/m.exec(postinstall)?.[1];
    if (!release) throw new Error(`cannot find the ripgrep release in @vscode/ripgrep@${rg.version}'s postinstall.js`);
    untar(packInto(work, RIPGREP_BINARY_PACKAGE), join(work, "rgbin"));
    const cache = join(tmpDir, `vscode-ripgrep-cache-${rg.version}`);
    mkdirSync(cache, { recursive: true });
    execFileSync("tar", ["-czf", join(cache, `ripgrep-${release}-x86_64-unknown-linux-musl.tar.gz`), "-C", join(work, "rgbin/package/bin"), "rg"]);
    log(`seeded ${cache} with rg from ${RIPGREP_BINARY_PACKAGE}`);
}

function checkPrerequisites(): void {
    const nodeMajor = process.versions.node.split(".")[0];
    const wanted = npm(["view", `code-server@${CODE_SERVER_VERSION}`, "engines.node"], e2eHome()).trim();
    if (wanted.replace(/[^0-9]/g, "") !== nodeMajor) {
        throw new Error(`code-server ${CODE_SERVER_VERSION} wants Node ${wanted}, this is Node ${process.versions.node}: `
            + "set LAYERSCOPE_E2E_CODE_SERVER to a version whose engines.node matches (4.100.3 for Node 20)");
    }
    if (!existsSync("/usr/include/gssapi/gssapi.h")) {
        throw new Error("code-server's kerberos module needs gssapi/gssapi.h: apt-get install libkrb5-dev");
    }
}

function install(): Installed {
    const started = Date.now();
    const dir = installDir();
    checkPrerequisites();
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const tmpDir = join(dir, "tmp");
    mkdirSync(tmpDir);
    const work = mkdtempSync(join(tmpDir, "pack-"));
    try {
        seedRipgrep(work, tmpDir);
    } finally {
        rmSync(work, { recursive: true, force: true });
    }
    writeFileSync(join(dir, "package.json"), JSON.stringify({
        private: true,
        dependencies: { "code-server": CODE_SERVER_VERSION },
        allowScripts: { "code-server": true, argon2: true },
    }, null, 2));
    log(`npm install code-server@${CODE_SERVER_VERSION} in ${dir} (about a minute: native modules build)`);
    npm(["install", "--no-audit", "--no-fund", "--loglevel=error"], dir, {
        ...process.env,
        npm_config_unsafe_perm: "true",
        npm_config_yes: "true",
        TMPDIR: tmpDir,
    });
    const entry = join(dir, "node_modules/code-server/out/node/entry.js");
    const version = execFileSync(process.execPath, [entry, "--version"], {
        encoding: "utf8",
        env: { ...process.env, XDG_CONFIG_HOME: tmpDir, TMPDIR: tmpDir },
    }).trim().split("\n").pop();
    log(`installed: ${version}`);
    const installed: Installed = { codeServerVersion: CODE_SERVER_VERSION, entry, installMs: Date.now() - started };
    writeFileSync(join(dir, "installed.json"), JSON.stringify(installed, null, 2));
    return installed;
}

function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
}

function alive(pid: number): boolean {
    try {
        process.kill(pid, 0);
        return true;
    } catch {
        return false;
    }
}

/**
 * Installs code-server unless it already is. Test files may run in parallel: one installs under a
 * lock directory, the others wait for it (a lock left by a dead process is taken over).
 */
export async function ensureCodeServer(): Promise<Installed> {
    const done = readInstalled();
    if (done) return done;
    mkdirSync(e2eHome(), { recursive: true });
    const lock = join(e2eHome(), `install-${CODE_SERVER_VERSION}.lock`);
    for (;;) {
        try {
            mkdirSync(lock);
            writeFileSync(join(lock, "pid"), String(process.pid));
            break;
        } catch (err) {
            if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
            const owner = Number(readFileSafe(join(lock, "pid")));
            if (owner && !alive(owner)) {
                rmSync(lock, { recursive: true, force: true });
                continue;
            }
            await sleep(1000);
            const now = readInstalled();
            if (now) return now;
        }
    }
    try {
        return readInstalled() ?? install();
    } finally {
        rmSync(lock, { recursive: true, force: true });
    }
}

function readFileSafe(path: string): string {
    try {
        return readFileSync(path, "utf8");
    } catch {
        return "";
    }
}

/** Lists what is in the cache (for the report of `node out/test/e2e/install.js`). */
function describe(installed: Installed): string {
    return `code-server ${installed.codeServerVersion} at ${installed.entry} `
        + `(installed in ${(installed.installMs / 1000).toFixed(1)} s; cache ${e2eHome()}: ${readdirSync(e2eHome()).join(", ")})`;
}

if (require.main === module) {
    ensureCodeServer().then(
        (installed) => console.log(describe(installed)),
        (err: unknown) => {
            console.error(err instanceof Error ? err.message : err);
            process.exit(1);
        },
    );
}
