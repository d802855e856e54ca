/**
 * Compares a ref's view (described with viewTools' `describeDir`) with what containerd's
 * `apply` of its layer blobs made, as far as layer tars can carry a tree:
 * - mtimes in whole seconds, clamped as apply clamps them (`applyTime`);
 * - nothing at or below a socket of the view: a tar skips sockets, so whatever a lower layer had
 *   there shows through, and a directory holding nothing but sockets may be missing;
 * - no names a tar holds as hard links (nor directories holding only those, nor the mtimes of
 *   their parent directories): the double walk reports unchanged names of a hard-linked file,
 *   which the tar then carries as links with their parents (spec §7.1), while a view, like
 *   BuildKit's diffApply, applies changes only.
 * (A name starting with `.wh.` cannot travel in a tar at all; callers skip such views.)
 */
import { diffDescriptions } from "./viewTools";

/**
 * An mtime (ns) as a layer tar carries it and containerd's apply sets it: whole seconds (Go's
 * tar writer truncates), and the epoch for anything outside [epoch, epoch + 2^63 ns]
 * (`archive.boundTime`).
 */
export function applyTime(ns: bigint): bigint {
    return ns < 0n || ns > (1n << 63n) - 1n ? 0n : ns / 1_000_000_000n;
}

/** Directories of a description that hold `leaf` entries and nothing else (recursively). */
function dirsOfOnly(d: ReadonlyMap<string, string>, leaf: (k: string, v: string) => boolean): Set<string> {
    const children = new Map<string, string[]>();
    for (const k of d.keys()) {
        const parent = k.slice(0, k.lastIndexOf("/"));
        if (parent !== k) {
            children.set(parent, [...(children.get(parent) ?? []), k]);
        }
    }
    const out = new Set<string>();
    const only = (k: string): boolean => {
        const v = d.get(k) ?? "";
        if (leaf(k, v)) {
            return true;
        }
        const kids = children.get(k) ?? [];
        const yes = v.startsWith("dir ") && kids.length > 0 && kids.map(only).every(Boolean);
        if (yes) {
            out.add(k);
        }
        return yes;
    };
    [...d.keys()].forEach(only);
    return out;
}

const isSocket = (_: string, v: string): boolean => v.startsWith("socket ");

/**
 * The lines where `view` differs from `applied` beyond what tars cannot carry; `links` are the
 * paths (`/…`) the applied tars hold as hard links.
 */
export function viewVersusApplied(
    view: ReadonlyMap<string, string>,
    applied: ReadonlyMap<string, string>,
    links: ReadonlySet<string>,
): string[] {
    const sockets = [...view].filter(([k, v]) => isSocket(k, v)).map(([k]) => k);
    const onlySockets = dirsOfOnly(view, isSocket);
    const onlyLinks = dirsOfOnly(applied, (k) => links.has(k));
    const linkParents = new Set<string>();
    for (const l of links) {
        for (let i = l.indexOf("/", 1); i > 0; i = l.indexOf("/", i + 1)) {
            linkParents.add(l.slice(0, i));
        }
    }
    const mtime = (k: string, v: string, ns: string): string =>
        linkParents.has(k) && v.startsWith("dir ") ? "mtime=*" : `mtime=${applyTime(BigInt(ns))}s`;
    const comparable = (d: ReadonlyMap<string, string>): Map<string, string> =>
        new Map(
            [...d]
                .filter(([k]) => !sockets.some((s) => k === s || k.startsWith(`${s}/`)))
                .filter(([k]) => !(onlySockets.has(k) && !applied.has(k)))
                .filter(([k]) => !(onlyLinks.has(k) && !view.has(k)))
                .map(([k, v]) => [k, v.replace(/mtime=(-?\d+)/, (_, ns: string) => mtime(k, v, ns))]),
        );
    return diffDescriptions(comparable(applied), comparable(view)).filter(
        (line) => !links.has(line.slice(0, line.indexOf(": want "))),
    );
}
