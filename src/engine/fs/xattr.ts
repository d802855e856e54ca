/**
 * lgetxattr(2) without following symlinks. Node has no xattr API; `@napi-rs/xattr` (N-API, so it
 * loads in Node and in VS Code's Electron alike, prebuilt binaries shipped inside npm packages)
 * does it for UTF-8 paths. Its API takes strings, so a path that is not valid UTF-8 goes through
 * Python's os.getxattr, which takes bytes (rare: only names that are not UTF-8).
 */
import { spawnSync } from "node:child_process";
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
    const s = p.toString("utf8");
    return Buffer.byteLength(s, "utf8") === p.length && Buffer.from(s, "utf8").equals(p);
}

const PY_GETXATTR = [
    "import errno, os, sys",
    "p = sys.stdin.buffer.read()",
    "try:",
    "    sys.stdout.write(os.getxattr(p, sys.argv[1], follow_symlinks=False).hex())",
    "except OSError as e:",
    "    if e.errno not in (errno.ENODATA, errno.ENOTSUP):",
    "        raise",
].join("\n");

/** The value of xattr `name` on `path` (not following a final symlink), or null when absent. */
export function lgetxattr(path: Buffer, name: string): Buffer | null {
    const mod = loadXattr();
    if (isUtf8Roundtrip(path)) {
        if (!mod) {
            throw new EngineError(
                "FailedPrecondition",
                "cannot read extended attributes: the @napi-rs/xattr package did not load on this platform",
            );
        }
        return mod.getAttributeSync(path.toString("utf8"), name) ?? null;
    }
    const r = spawnSync("python3", ["-c", PY_GETXATTR, name], { input: path, maxBuffer: 1 << 20 });
    if (r.error || r.status !== 0) {
        const why = r.error ? r.error.message : r.stderr.toString("utf8").trim().split("\n").pop();
        throw new EngineError(
            "Unsupported",
            `${path.toString("utf8")}: cannot read xattr ${name} of a path that is not UTF-8 (needs python3: ${why})`,
            { path: path.toString("utf8") },
        );
    }
    const hex = r.stdout.toString("latin1").trim();
    return hex.length === 0 ? null : Buffer.from(hex, "hex");
}
