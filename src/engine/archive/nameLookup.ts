/**
 * The user and group names a tar writer put in `uname`/`gname`. Go's `tar.FileInfoHeader` (used
 * by containerd's ChangeWriter before v1.6.20, containerd#8220, so by the BuildKit releases that
 * vendor it, buildkit#3688; and by moby's pkg/archive before 23.0, moby#43185)
 * looks each uid and gid up in the writing host's user database (`os/user`, cached per id) and
 * leaves the name empty when the lookup fails; containerd >= 1.6.20 never looks up. The names
 * depend on the writer's host, not on the layer, so they cannot be recomputed from a snapshot:
 * they are inferred from the original layer's own headers (uid -> uname, gid -> gname) and
 * replayed by the ChangeWriter, which is what the original writer's lookups amounted to.
 */

export interface NameLookup {
    /** uid -> uname bytes, as the original writer's lookup returned them. */
    readonly users: ReadonlyMap<number, Buffer>;
    /** gid -> gname bytes. */
    readonly groups: ReadonlyMap<number, Buffer>;
}

/** One original header's ids and names (whiteouts excluded by the caller: no writer names them). */
export interface NamedHeader {
    readonly uid: number;
    readonly gid: number;
    readonly uname: Buffer;
    readonly gname: Buffer;
}

/** A plain, JSON-friendly form: decimal id -> name (latin1, so every byte survives). */
export interface NameProfile {
    readonly users: Readonly<Record<string, string>>;
    readonly groups: Readonly<Record<string, string>>;
    /**
     * Ids whose entries carry different names (or a name on some entries and none on others):
     * no single lookup explains them, so the first name seen is used.
     */
    readonly conflicts: readonly string[];
}

export class NameLookupCollector {
    private readonly users = new Map<number, Buffer>();
    private readonly groups = new Map<number, Buffer>();
    private readonly conflicts = new Set<string>();
    private named = 0;

    add(h: NamedHeader): void {
        if (h.uname.length > 0 || h.gname.length > 0) this.named++;
        this.note(this.users, h.uid, h.uname, "uid");
        this.note(this.groups, h.gid, h.gname, "gid");
    }

    /** Null when no header carries a name: the writer did not look names up. */
    result(): NameProfile | null {
        if (this.named === 0) return null;
        const obj = (m: Map<number, Buffer>): Record<string, string> => {
            const out: Record<string, string> = {};
            for (const [id, name] of [...m].sort((a, b) => a[0] - b[0])) if (name.length > 0) out[String(id)] = name.toString("latin1");
            return out;
        };
        return { users: obj(this.users), groups: obj(this.groups), conflicts: [...this.conflicts].sort() };
    }

    private note(m: Map<number, Buffer>, id: number, name: Buffer, what: string): void {
        const seen = m.get(id);
        if (seen === undefined) m.set(id, Buffer.from(name));
        else if (!seen.equals(name)) this.conflicts.add(`${what} ${id}`);
    }
}

export function toNameLookup(p: NameProfile): NameLookup {
    const map = (r: Readonly<Record<string, string>>): Map<number, Buffer> => new Map(Object.entries(r).map(([id, n]) => [Number(id), Buffer.from(n, "latin1")]));
    return { users: map(p.users), groups: map(p.groups) };
}

/** "uid 0 → root, 1000 → app; gid 0 → root" */
export function describeNameProfile(p: NameProfile): string {
    const list = (r: Readonly<Record<string, string>>): string => Object.entries(r).map(([id, n]) => `${id} → ${JSON.stringify(n)}`).join(", ") || "none";
    const conflicts = p.conflicts.length > 0 ? `; inconsistent names for ${p.conflicts.join(", ")} (first one used)` : "";
    return `uid ${list(p.users)}; gid ${list(p.groups)}${conflicts}`;
}
