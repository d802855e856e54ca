/** The bench's text table: one row per case and tool, ratios against the oracle, diffID checks. */

const TARGET_RATIO = 0.4;
const TARGET_RSS_MIB = 200;

function pad(s, n, right) {
    s = String(s);
    return right ? s.padStart(n) : s.padEnd(n);
}

export function printTable(report, print) {
    const { results, checks } = report;
    const oracleOf = (c) => results.find((r) => r.case === c && r.tool === "oracle");
    const cols = [
        ["case", 8, false],
        ["tool", 14, false],
        ["median s", 9, true],
        ["MiB/s", 8, true],
        ["CPU s", 7, true],
        ["peak RSS MiB", 13, true],
        ["×oracle time", 13, true],
        ["×oracle RSS", 12, true],
        ["diffID", 0, false],
    ];
    const line = (cells) =>
        cells
            .map((c, i) => pad(c, cols[i][1], cols[i][2]))
            .join("  ")
            .trimEnd();
    print("");
    print(line(cols.map((c) => c[0])));
    print(line(cols.map((c) => "-".repeat(Math.max(c[1], c[0].length)))));
    for (const r of results) {
        const o = r.tool === "layerscope" ? oracleOf(r.case) : undefined;
        let check = "";
        if (r.tool === "layerscope") {
            const v = checks.find((x) => x.case === r.case && x.verdict !== "UNSTABLE");
            check = v
                ? `${v.verdict}${v.against && r.case === "overlay" ? ` (vs ${v.against})` : ""}`
                : "";
        } else if (r.tool === "oracle") {
            check = "reference";
        } else {
            check = "n/a (GNU tar's own bytes)";
        }
        if (!r.stable) {
            check += " UNSTABLE";
        }
        print(
            line([
                r.case,
                r.tool,
                r.medianSeconds.toFixed(2),
                r.mibPerSecond.toFixed(0),
                r.medianCpuSeconds.toFixed(1),
                r.peakRssMiB.toFixed(0),
                o ? `${(r.medianSeconds / o.medianSeconds).toFixed(2)}×` : "",
                o ? `${(r.peakRssMiB / o.peakRssMiB).toFixed(2)}×` : "",
                check,
            ]),
        );
    }
    const base = results.find((r) => r.case === "base" && r.tool === "layerscope");
    const sha = report.reference.nodeSha256MiBps;
    print("");
    const ls = report.layerscope;
    print(`layerscope: ${ls.cli}${ls.commit ? ` (built from ${ls.commit})` : ""}`);
    const m = report.machine;
    print(
        `machine: ${m.cpus} × ${m.cpuModel}, ${m.memGiB} GiB, node ${m.node}; load (1 min) ${m.loadavg1mBefore} before, ${m.loadavg1mAfter} after`,
    );
    if (Math.max(m.loadavg1mBefore, m.loadavg1mAfter) > 0.5) {
        const niced =
            report.config.nice !== null ? ` (measured under nice -n ${report.config.nice})` : "";
        print(`  WARNING: other processes were busy; timings are noisy${niced}`);
    }
    print(
        `runs: median of ${report.config.runs} warm runs after 1 warm-up each (page cache not dropped)`,
    );
    print(`node sha256 alone: ${sha} MiB/s on this machine (in memory, 1 MiB chunks)`);
    if (base) {
        const floor = base.outputBytes / 2 ** 20 / sha;
        print(
            `sha256 floor for the base layer (${base.outputBytes} bytes, one hash stream): ${floor.toFixed(2)} s`,
        );
    }
    print(
        `targets: layerscope ≤ ${TARGET_RATIO}× the oracle's time, peak RSS ≤ ${TARGET_RSS_MIB} MiB`,
    );
    for (const r of results.filter((x) => x.tool === "layerscope")) {
        const o = oracleOf(r.case);
        const t = o
            ? r.medianSeconds / o.medianSeconds <= TARGET_RATIO
                ? "time ok"
                : "time MISSED"
            : "time n/a";
        const m = r.peakRssMiB <= TARGET_RSS_MIB ? "RSS ok" : "RSS MISSED";
        print(`  ${pad(r.case, 8)} ${t}, ${m}`);
    }
}
