/**
 * The filesystem calls Node lacks: mknod(2) (device nodes, overlayfs whiteouts), mkfifo(3), and
 * lsetxattr(2) on names that are not UTF-8. They are queued and run in one python3 process per
 * batch (the engine already relies on python3 for non-UTF-8 xattr reads), with paths passed as
 * hex on stdin: never a shell, never a user string on a command line.
 */
import { spawnSync } from "node:child_process";
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
    private readonly pendingPaths = new Set<string>();

    get size(): number {
        return this.ops.length;
    }

    /** Whether `p` (or something below it) has a queued operation. */
    touches(p: Buffer): boolean {
        if (this.ops.length === 0) return false;
        const hex = p.toString("hex");
        for (const q of this.pendingPaths) if (q === hex || q.startsWith(`${hex}2f`)) return true;
        return false;
    }

    mknod(p: Buffer, n: NodeSpec): void {
        this.ops.push(`n ${p.toString("hex")} ${n.kind} ${n.major} ${n.minor} ${n.mode} ${n.uid} ${n.gid} ${n.mtimeNs === null ? "-" : n.mtimeNs.toString()}`);
        this.pendingPaths.add(p.toString("hex"));
    }

    setXattr(p: Buffer, name: string, value: Buffer): void {
        if (!/^[\x21-\x7e]+$/.test(name)) {
            throw new EngineError("Unsupported", `xattr name ${JSON.stringify(name)} on a non-UTF-8 path`, { reason: "xattr-name" });
        }
        this.ops.push(`x ${p.toString("hex")} ${name} ${value.toString("hex")}`);
        this.pendingPaths.add(p.toString("hex"));
    }

    flush(): void {
        if (this.ops.length === 0) return;
        const input = `${this.ops.join("\n")}\n`;
        this.ops = [];
        this.pendingPaths.clear();
        const r = spawnSync(PYTHON, ["-c", SCRIPT], { input, maxBuffer: 16 << 20 });
        if (r.error || r.status !== 0) {
            const why = r.error ? `python3: ${r.error.message}` : r.stderr.toString("utf8").trim();
            throw new EngineError(r.status === 3 ? "PermissionDenied" : "Io", `creating special files: ${why}`, { reason: "mknod" });
        }
    }
}
