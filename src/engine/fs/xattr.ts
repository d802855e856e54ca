/**
 * lgetxattr(2) without following symlinks. Node has no xattr API; `@napi-rs/xattr` (N-API, so it
 * loads in Node and in VS Code's Electron alike, prebuilt binaries shipped inside npm packages)
 * does it for UTF-8 paths. Its API takes strings, so a path that is not valid UTF-8 goes through
 * Python's os.getxattr, which takes bytes: one call reads the wanted attributes of every entry
 * of that directory, and the answers are cached (such names are rare; a process per lookup would
 * cost tens of milliseconds each).
 */
import { spawnSync } from "node:child_process";
import { isUtf8 } from "node:buffer";
import { existsSync } from "node:fs";
import { EngineError } from "../errors";

type XattrModule = { getAttributeSync(path: string, name: string): Buffer | null };
let xattrModule: XattrModule | null | undefined;

function loadXattr(): XattrModule | null {
    if (xattrModule === undefined) {
        try {
            // eslint-disable-next-line @typescript-eslint/no-require-imports
            xattrModule = require("@napi-rs/xattr") as XattrModule;
        } catch {
            xattrModule = null;
        }
    }
    return xattrModule;
}

function isUtf8Roundtrip(p: Buffer): boolean {
    return isUtf8(p);
}

/** The attributes layer work reads; the fallback fetches all of them at once. */
const KNOWN = ["security.capability", "trusted.overlay.opaque", "user.overlay.opaque", "trusted.overlay.redirect"];

// stdin: the directory's path (bytes). argv: attribute names. stdout: one line per entry,
// "<hex name> <attr>=<hex value>|- ...".
const PY_DIR_XATTRS = [
    "import errno, os, sys",
    "d = sys.stdin.buffer.read()",
    "for n in sorted(os.listdir(d)):",
    "    p = os.path.join(d, n)",
    "    vals = []",
    "    for a in sys.argv[1:]:",
    "        try:",
    "            vals.append(a + '=' + os.getxattr(p, a, follow_symlinks=False).hex())",
    "        except OSError as e:",
    "            if e.errno not in (errno.ENODATA, errno.ENOTSUP, errno.ENOENT):",
    "                raise",
    "            vals.append(a + '=-')",
    "    print(n.hex(), *vals)",
].join("\n");

const PYTHON = existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
const dirCache = new Map<string, Map<string, Map<string, Buffer | null>>>();
const DIR_CACHE_MAX = 64;

function readDirXattrs(dir: Buffer, where: string): Map<string, Map<string, Buffer | null>> {
    const key = dir.toString("hex");
    const hit = dirCache.get(key);
    if (hit) return hit;
    const r = spawnSync(PYTHON, ["-c", PY_DIR_XATTRS, ...KNOWN], { input: dir, maxBuffer: 64 << 20 });
    if (r.error || r.status !== 0) {
        const why = r.error ? r.error.message : r.stderr.toString("utf8").trim().split("\n").pop();
        throw new EngineError(
            "Unsupported",
            `${where}: cannot read extended attributes of a path that is not UTF-8 (this needs python3: ${why})`,
            { path: where },
        );
    }
    const entries = new Map<string, Map<string, Buffer | null>>();
    for (const line of r.stdout.toString("latin1").split("\n")) {
        const [nameHex, ...vals] = line.trim().split(" ");
        if (!nameHex) continue;
        const attrs = new Map<string, Buffer | null>();
        for (const v of vals) {
            const eq = v.indexOf("=");
            const hex = v.slice(eq + 1);
            attrs.set(v.slice(0, eq), hex === "-" ? null : Buffer.from(hex, "hex"));
        }
        entries.set(nameHex, attrs);
    }
    if (dirCache.size >= DIR_CACHE_MAX) dirCache.delete(dirCache.keys().next().value!);
    dirCache.set(key, entries);
    return entries;
}

/** The value of xattr `name` on `path` (not following a final symlink), or null when absent. */
export function lgetxattr(path: Buffer, name: string): Buffer | null {
    if (isUtf8Roundtrip(path)) {
        const mod = loadXattr();
        if (!mod) {
            throw new EngineError(
                "FailedPrecondition",
                "cannot read extended attributes: the @napi-rs/xattr package did not load on this platform",
            );
        }
        return mod.getAttributeSync(path.toString("utf8"), name) ?? null;
    }
    const where = path.toString("utf8");
    if (!KNOWN.includes(name)) {
        throw new EngineError("Unsupported", `${where}: reading xattr ${name} of a path that is not UTF-8 is not supported`, { path: where });
    }
    const slash = path.lastIndexOf(0x2f);
    const dir = slash <= 0 ? Buffer.from("/") : path.subarray(0, slash);
    const base = path.subarray(slash + 1).toString("hex");
    return readDirXattrs(dir, where).get(base)?.get(name) ?? null;
}

/** Forgets cached answers for non-UTF-8 paths (called at the start of each diff). */
export function clearXattrCache(): void {
    dirCache.clear();
}
