/**
 * Who holds a lock or an ingest, and whether that process still runs. containerd needs none of
 * this (one daemon, in-process locks in `content/local/locks.go`, bolt's flock for the db);
 * here several processes share a state directory, so a record names its process well enough
 * to tell a live holder from a dead one after a SIGKILL.
 *
 * A record is `{pid, start, boot}`: `start` is the process start time from /proc/<pid>/stat
 * (field 22) and `boot` the kernel boot id, so a reused pid or a reboot is not mistaken for the
 * holder; a zombie (killed, not yet reaped) counts as gone. Without /proc (not Linux) only
 * `kill(pid, 0)` is used.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { threadId } from "node:worker_threads";

export interface ProcessOwner {
    readonly pid: number;
    readonly start?: string;
    readonly boot?: string;
    /** The worker thread (0 for the main thread): threads of one process share the pid. */
    readonly thread?: number;
    /** Unique per record, so a record read twice can be recognised as the same one. */
    readonly nonce: string;
    /** RFC 3339 time the record was written (for people reading the file). */
    readonly at: string;
}

function readTrimmed(file: string): string | undefined {
    try {
        return readFileSync(file, "utf8").trim();
    } catch {
        return undefined;
    }
}

/**
 * Fields 3 (state) and 22 (starttime) of /proc/<pid>/stat. The comm field before them may hold
 * spaces and parentheses, so fields are counted from the last ')'.
 */
function procStat(pid: number): { state: string; start: string } | undefined {
    const stat = readTrimmed(`/proc/${pid}/stat`);
    if (stat === undefined) {
        return undefined;
    }
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return { state: fields[0] ?? "", start: fields[22 - 3] ?? "" }; // fields[0] is field 3
}

const selfStart = procStat(process.pid)?.start;
const bootId = readTrimmed("/proc/sys/kernel/random/boot_id");

export function currentOwner(): ProcessOwner {
    const o: ProcessOwner = {
        pid: process.pid,
        thread: threadId,
        nonce: randomBytes(8).toString("hex"),
        at: new Date().toISOString(),
    };
    return {
        ...o,
        ...(selfStart ? { start: selfStart } : {}),
        ...(bootId ? { boot: bootId } : {}),
    };
}

export function isCurrentProcess(o: ProcessOwner): boolean {
    return o.pid === process.pid && o.start === selfStart && o.boot === bootId;
}

/** Written by this very thread (not merely this process). */
export function isCurrentThread(o: ProcessOwner): boolean {
    return isCurrentProcess(o) && (o.thread ?? 0) === threadId;
}

export function isProcessAlive(o: ProcessOwner): boolean {
    if (isCurrentProcess(o)) {
        return true;
    }
    if (o.boot !== undefined && bootId !== undefined && o.boot !== bootId) {
        return false; // written before a reboot
    }
    try {
        process.kill(o.pid, 0);
    } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EPERM") {
            return false; // ESRCH: no such process
        }
    }
    const st = procStat(o.pid);
    if (st && (st.state === "Z" || st.state === "X")) {
        return false; // killed, not yet reaped by its parent
    }
    if (st && o.start !== undefined && st.start !== o.start) {
        return false; // the pid now belongs to another process
    }
    return true;
}

export function parseOwner(v: unknown): ProcessOwner | undefined {
    if (typeof v !== "object" || v === null) {
        return undefined;
    }
    const r = v as Record<string, unknown>;
    if (
        typeof r.pid !== "number" ||
        !Number.isInteger(r.pid) ||
        r.pid <= 0 ||
        typeof r.nonce !== "string"
    ) {
        return undefined;
    }
    const out: ProcessOwner = {
        pid: r.pid,
        nonce: r.nonce,
        at: typeof r.at === "string" ? r.at : "",
    };
    return {
        ...out,
        ...(typeof r.thread === "number" ? { thread: r.thread } : {}),
        ...(typeof r.start === "string" ? { start: r.start } : {}),
        ...(typeof r.boot === "string" ? { boot: r.boot } : {}),
    };
}
