/**
 * The filesystem calls Node lacks: mknod(2) (device nodes, overlayfs whiteouts), mkfifo(3), and
 * lsetxattr(2) on names that are not UTF-8. They are queued and run in one python3 process per
 * batch (the engine already relies on python3 for non-UTF-8 xattr reads), with paths passed as
 * hex on stdin: never a shell, never a user string on a command line.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { EngineError } from "../errors";

const PYTHON = existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3";

// One op per line: "n HEXPATH KIND MAJOR MINOR MODE UID GID MTIME_NS" (KIND c|b|p; UID -1: keep
// the owner; MTIME_NS -: keep) or "x HEXPATH NAME HEXVALUE".
const SCRIPT = [
    "import os, stat, sys",
    "for line in sys.stdin.read().splitlines():",
    "    f = line.split(' ')",
    "    p = bytes.fromhex(f[1])",
    "    try:",
    "        if f[0] == 'n':",
    "            mode = int(f[5])",
    "            if f[2] == 'p':",
    "                os.mkfifo(p, 0o600)",
    "            else:",
    "                kind = stat.S_IFCHR if f[2] == 'c' else stat.S_IFBLK",
    "                os.mknod(p, kind | 0o600, os.makedev(int(f[3]), int(f[4])))",
    "            if int(f[6]) >= 0:",
    "                os.chown(p, int(f[6]), int(f[7]), follow_symlinks=False)",
    "            os.chmod(p, mode)",
    "            if f[8] != '-':",
    "                os.utime(p, ns=(int(f[8]), int(f[8])), follow_symlinks=False)",
    "        elif f[0] == 'x':",
    "            os.setxattr(p, f[2], bytes.fromhex(f[3]), follow_symlinks=False)",
    "    except OSError as e:",
    "        sys.stderr.write('%s: %s\\n' % (p.decode('utf-8', 'replace'), e.strerror))",
    "        sys.exit(3 if e.errno in (1, 13) else 4)",
].join("\n");

export interface NodeSpec {
    readonly kind: "c" | "b" | "p";
    readonly major: number;
    readonly minor: number;
    readonly mode: number;
    /** -1: leave the owner as created. */
    readonly uid: number;
    readonly gid: number;
    /** null: leave the time as created. */
    readonly mtimeNs: bigint | null;
}

export class SpecialNodes {
    private ops: string[] = [];
    /** Paths (hex) with a queued operation, and every directory above them (hex). */
    private readonly pendingPaths = new Set<string>();
    private readonly pendingAbove = new Set<string>();

    get size(): number {
        return this.ops.length;
    }

    /**
     * Whether `p` (or something below it) has a queued operation. Two set lookups: applying
     * asks this several times per entry, and an overlayfs layer may queue thousands of whiteouts.
     */
    touches(p: Buffer): boolean {
        if (this.ops.length === 0) return false;
        const hex = p.toString("hex");
        return this.pendingPaths.has(hex) || this.pendingAbove.has(hex);
    }

    private note(p: Buffer): void {
        this.pendingPaths.add(p.toString("hex"));
        for (let i = p.indexOf(0x2f, 1); i > 0; i = p.indexOf(0x2f, i + 1)) this.pendingAbove.add(p.subarray(0, i).toString("hex"));
    }

    mknod(p: Buffer, n: NodeSpec): void {
        this.ops.push(`n ${p.toString("hex")} ${n.kind} ${n.major} ${n.minor} ${n.mode} ${n.uid} ${n.gid} ${n.mtimeNs === null ? "-" : n.mtimeNs.toString()}`);
        this.note(p);
    }

    setXattr(p: Buffer, name: string, value: Buffer): void {
        if (!/^[\x21-\x7e]+$/.test(name)) {
            throw new EngineError("Unsupported", `xattr name ${JSON.stringify(name)} on a non-UTF-8 path`, { reason: "xattr-name" });
        }
        this.ops.push(`x ${p.toString("hex")} ${name} ${value.toString("hex")}`);
        this.note(p);
    }

    /** Runs the queued operations; asynchronous, so python's start-up does not hold the event loop. */
    async flush(): Promise<void> {
        if (this.ops.length === 0) return;
        const input = `${this.ops.join("\n")}\n`;
        this.ops = [];
        this.pendingPaths.clear();
        this.pendingAbove.clear();
        const r = await runScript(input);
        if (r.error || r.status !== 0) {
            const why = r.error ? `python3: ${r.error.message}` : r.stderr.trim();
            throw new EngineError(r.status === 3 ? "PermissionDenied" : "Io", `creating special files: ${why}`, { reason: "mknod" });
        }
    }
}

interface ScriptResult {
    readonly error: Error | null;
    readonly status: number | null;
    readonly stderr: string;
}

/** The script with `input` on stdin; stderr kept up to 1 MiB (the first error is what matters). */
function runScript(input: string): Promise<ScriptResult> {
    return new Promise((resolve) => {
        const child = spawn(PYTHON, ["-c", SCRIPT], { stdio: ["pipe", "ignore", "pipe"] });
        let stderr = "";
        let error: Error | null = null;
        child.stderr.setEncoding("utf8");
        child.stderr.on("data", (d: string) => {
            if (stderr.length < 1 << 20) stderr += d;
        });
        child.on("error", (err) => {
            error = err;
        });
        child.stdin.on("error", () => undefined); // EPIPE when python fails early: its status tells
        child.on("close", (status) => resolve({ error, status, stderr }));
        child.stdin.end(input);
    });
}
