/**
 * Wall time and peak RSS of child processes. Wall time is taken here (hrtime around the spawn);
 * peak RSS, user and system CPU come from GNU time (`/usr/bin/time`, Debian package `time`),
 * which reads them from wait4(2)'s rusage of the process it ran: exact, not sampled.
 */
import { execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

export const GNU_TIME = "/usr/bin/time";
const FORMAT = "%e %M %U %S"; // elapsed s, max RSS KiB, user s, system s

/** Makes sure GNU time is there; as root installs the Debian package when it is missing. */
export function ensureGnuTime(log) {
    if (fs.existsSync(GNU_TIME)) {
        return;
    }
    if (process.getuid?.() !== 0) {
        throw new Error(
            `${GNU_TIME} is missing: install the Debian package "time" (apt-get install time)`,
        );
    }
    log(`bench: ${GNU_TIME} is missing; installing the Debian package "time"`);
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
    try {
        execFileSync("apt-get", ["install", "-y", "-qq", "time"], { stdio: "inherit", env });
    } catch {
        execFileSync("apt-get", ["update", "-qq"], { stdio: "inherit", env });
        execFileSync("apt-get", ["install", "-y", "-qq", "time"], { stdio: "inherit", env });
    }
}

let counter = 0;

function run(argv) {
    return new Promise((resolve, reject) => {
        const t0 = process.hrtime.bigint();
        const child = spawn(argv[0], argv.slice(1), { stdio: ["ignore", "pipe", "pipe"] });
        const out = [];
        const err = [];
        child.stdout.on("data", (b) => out.push(b));
        child.stderr.on("data", (b) => err.push(b));
        child.on("error", reject);
        child.on("close", (code, signal) => {
            const wall = Number(process.hrtime.bigint() - t0) / 1e9;
            const stdout = Buffer.concat(out).toString("utf8");
            const stderr = Buffer.concat(err).toString("utf8");
            if (code !== 0) {
                const why = signal ? `signal ${signal}` : `exit ${code}`;
                reject(new Error(`${argv.join(" ")}: ${why}\n${stderr.trim()}`));
                return;
            }
            resolve({ wall, stdout, stderr });
        });
    });
}

function timeFile(tmpDir) {
    return path.join(tmpDir, `time-${process.pid}-${++counter}.txt`);
}

/** GNU time's line for one process: the last line of its -o file. */
function readTime(file) {
    const last = fs.readFileSync(file, "utf8").trim().split("\n").pop();
    fs.rmSync(file, { force: true });
    const [elapsed, maxKiB, user, sys] = last.split(" ").map(Number);
    if (![elapsed, maxKiB, user, sys].every(Number.isFinite)) {
        throw new Error(`cannot parse GNU time output ${JSON.stringify(last)}`);
    }
    return { elapsed, rssKiB: maxKiB, user, sys };
}

/** Runs one command under GNU time. */
export async function timed(argv, tmpDir) {
    const tf = timeFile(tmpDir);
    const r = await run([GNU_TIME, "-o", tf, "-f", FORMAT, ...argv]);
    const t = readTime(tf);
    return { ...r, rssKiB: t.rssKiB, cpu: t.user + t.sys, parts: [t] };
}

const shq = (s) => `'${String(s).replace(/'/g, "'\\''")}'`;

/**
 * Runs `left | right`, each under its own GNU time. The two run concurrently for the whole
 * pipeline, so the pipeline's peak RSS is taken as the sum of the two peaks (an upper bound;
 * both reach their peak at start-up and stay there for streaming tools like tar and sha256sum).
 */
export async function timedPipeline(left, right, tmpDir) {
    const [ta, tb] = [timeFile(tmpDir), timeFile(tmpDir)];
    const wrap = (argv, tf) => [GNU_TIME, "-o", tf, "-f", FORMAT, ...argv].map(shq).join(" ");
    const script = `set -o pipefail; ${wrap(left, ta)} | ${wrap(right, tb)}`;
    const r = await run(["bash", "-c", script]);
    const a = readTime(ta);
    const b = readTime(tb);
    return {
        ...r,
        rssKiB: a.rssKiB + b.rssKiB,
        cpu: a.user + a.sys + b.user + b.sys,
        parts: [a, b],
    };
}

export function median(xs) {
    const s = [...xs].sort((a, b) => a - b);
    const m = s.length >> 1;
    return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
