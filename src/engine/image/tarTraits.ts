/**
 * What a tar writer leaves in a layer besides the files: user/group names, PAX records, GNU
 * long names, `./` prefixes, whiteout times, sub-second times, entry order. verify-image compares
 * an image's layer with the one our differ writes from the applied trees and names the traits
 * that differ.
 */
import { NameLookupCollector, type NameProfile } from "../archive/nameLookup";
import type { ScannedEntry } from "../compression/estargz/tarEntry";

export interface TarTraits {
    readonly entries: number;
    /** Entry names, cleaned (no `./`, no trailing `/`), in archive order (first 1M). */
    readonly names: readonly string[];
    readonly withUserNames: number;
    readonly paxKeys: readonly string[];
    readonly gnuLongNames: number;
    readonly dotSlashNames: number;
    readonly whiteouts: number;
    /** Distinct mtimes (Unix seconds) of `.wh.` entries. */
    readonly whiteoutMtimes: readonly string[];
    readonly subSecondMtimes: number;
    readonly globalHeaders: number;
    /** The names the writer looked up per uid/gid (null: it wrote none), whiteouts aside. */
    readonly nameProfile: NameProfile | null;
}

const MAX_NAMES = 1_000_000;

export function cleanName(name: Buffer): string {
    return name
        .toString("latin1")
        .split("/")
        .filter((p) => p !== "" && p !== ".")
        .join("/");
}

export class TarTraitCollector {
    private entries = 0;
    private readonly names: string[] = [];
    private withUserNames = 0;
    private readonly paxKeys = new Set<string>();
    private gnuLongNames = 0;
    private dotSlashNames = 0;
    private whiteouts = 0;
    private readonly whiteoutMtimes = new Set<string>();
    private subSecondMtimes = 0;
    private globalHeaders = 0;
    private readonly lookups = new NameLookupCollector();

    add(e: ScannedEntry): void {
        if (e.typeflag === 0x67) {
            this.globalHeaders++;
            return;
        }
        this.entries++;
        const name = cleanName(e.name);
        if (this.names.length < MAX_NAMES) this.names.push(name);
        if (e.uname.length > 0 || e.gname.length > 0) this.withUserNames++;
        for (const k of e.pax.keys()) this.paxKeys.add(k);
        if (e.name.length > 100 && !e.pax.has("path")) this.gnuLongNames++;
        if (e.name.length >= 2 && e.name[0] === 0x2e && e.name[1] === 0x2f) this.dotSlashNames++;
        if (e.mtime.nsec !== 0) this.subSecondMtimes++;
        const base = name.slice(name.lastIndexOf("/") + 1);
        if (base.startsWith(".wh.") && !base.startsWith(".wh..wh.")) {
            this.whiteouts++;
            this.whiteoutMtimes.add(e.mtime.sec.toString());
        } else if (!base.startsWith(".wh.")) {
            this.lookups.add({ uid: Number(e.uid), gid: Number(e.gid), uname: e.uname, gname: e.gname });
        }
    }

    result(): TarTraits {
        return {
            entries: this.entries,
            names: this.names,
            withUserNames: this.withUserNames,
            paxKeys: [...this.paxKeys].sort(),
            gnuLongNames: this.gnuLongNames,
            dotSlashNames: this.dotSlashNames,
            whiteouts: this.whiteouts,
            whiteoutMtimes: [...this.whiteoutMtimes].sort(),
            subSecondMtimes: this.subSecondMtimes,
            globalHeaders: this.globalHeaders,
            nameProfile: this.lookups.result(),
        };
    }
}
