/**
 * The `layerscope:` URI of a file inside a layer or a ref's view. Pure strings (no `vscode`
 * import): layerFileSystem.ts turns them into vscode.Uri and back, and tests run in plain Node.
 *
 *     layerscope://<source>/<ref>/<view>/<path>
 *
 * - `source`: the first 16 hex digits of sha256(the source's absolute, resolved root), the same
 *   name Layerscope gives the source's global state folder. An authority cannot hold a path, and
 *   VS Code compares authorities case-insensitively: lower-case hex survives both.
 * - `ref`: the ref id as one segment, with only `%` and `/` escaped (`%25`, `%2F`), so ids like
 *   `sha256:…` or containerd snapshot keys with slashes stay one readable segment.
 * - `view`: `layer` (what the ref's own layer tar holds, deletions included), `merged` (the ref's
 *   whole root filesystem), or `absent` (nothing: the empty side of a diff for an added or
 *   deleted file).
 * - `path`: the absolute path inside the view, each name as `encodeLayerPath` writes it (UTF-8
 *   names unchanged; bytes that are not UTF-8 escaped reversibly), so a name read from a layer
 *   comes back to the same bytes.
 *
 * NOTE: VS Code decodes percent escapes of a Uri's path once (`Uri.parse`) and encodes them again
 * (`toString`): the strings here are the decoded `Uri.path`, so `%2F` in a ref segment is three
 * characters and never a separator.
 */
import { createHash } from "node:crypto";
import { decodeLayerPath, EngineError, encodeLayerPath } from "../../engine";

export const LAYER_SCHEME = "layerscope";

export const LAYER_VIEWS = ["layer", "merged", "absent"] as const;
export type LayerView = (typeof LAYER_VIEWS)[number];

export interface LayerLocation {
    /** The source's key (sourceKey of its root). */
    readonly source: string;
    readonly ref: string;
    readonly view: LayerView;
    /** Absolute, "/" for the root; names in encodeLayerPath's form. */
    readonly path: string;
}

/** The authority naming a source: 16 hex digits of sha256 of its root. */
export function sourceKey(root: string): string {
    return createHash("sha256").update(root).digest("hex").slice(0, 16);
}

function escapeRef(ref: string): string {
    return ref.replace(/%/g, "%25").replace(/\//g, "%2F");
}

function unescapeRef(seg: string): string {
    if (/%(?!25|2F)/i.test(seg)) throw invalid(`ref segment ${JSON.stringify(seg)} has a stray "%"`);
    return seg.replace(/%2F/gi, "/").replace(/%25/g, "%");
}

/** The URI's authority and path. */
export function formatLayerUri(loc: LayerLocation): { readonly authority: string; readonly path: string } {
    if (!loc.ref) throw invalid("a layerscope: URI needs a ref");
    const inner = normalizeInnerPath(loc.path);
    return { authority: loc.source, path: `/${escapeRef(loc.ref)}/${loc.view}${inner === "/" ? "" : inner}` };
}

/** Parses a URI's authority and (decoded) path; InvalidArgument naming what is wrong. */
export function parseLayerUri(authority: string, uriPath: string): LayerLocation {
    if (!/^[0-9a-f]{16}$/i.test(authority)) {
        throw invalid(`layerscope: URI authority ${JSON.stringify(authority)} is not a source key (16 hex digits)`);
    }
    const m = /^\/([^/]+)\/([^/]+)(\/.*)?$/s.exec(uriPath);
    if (!m) throw invalid(`layerscope: URI path ${JSON.stringify(uriPath)} is not /<ref>/<view>/<path>`);
    const view = m[2]!;
    if (!(LAYER_VIEWS as readonly string[]).includes(view)) {
        throw invalid(`layerscope: URI view ${JSON.stringify(view)} is not one of ${LAYER_VIEWS.join(", ")}`);
    }
    return { source: authority.toLowerCase(), ref: unescapeRef(m[1]!), view: view as LayerView, path: normalizeInnerPath(m[3] ?? "/") };
}

/**
 * "/a//b/" → "/a/b"; refuses "." and ".." names (a URI is never resolved against the host's
 * file system, but a path that escapes its root is a sign of a forged URI).
 */
export function normalizeInnerPath(p: string): string {
    const names = p.split("/").filter((n) => n !== "");
    for (const n of names) {
        if (n === "." || n === "..") throw invalid(`layerscope: URI path ${JSON.stringify(p)} has a "${n}" name`);
    }
    return `/${names.join("/")}`;
}

/** The path's bytes, as the layer names them. */
export function innerPathBytes(p: string): Buffer {
    return decodeLayerPath(p);
}

/** A path of layer bytes as it goes into a URI. */
export function innerPathOf(bytes: Buffer): string {
    return encodeLayerPath(bytes);
}

export function joinInner(dir: string, name: string): string {
    return dir === "/" ? `/${name}` : `${dir}/${name}`;
}

export function parentInner(p: string): string {
    const i = p.lastIndexOf("/");
    return i <= 0 ? "/" : p.slice(0, i);
}

export function baseName(p: string): string {
    return p.slice(p.lastIndexOf("/") + 1);
}

function invalid(message: string): EngineError {
    return new EngineError("InvalidArgument", message);
}
