/** The bench's text table: one row per case and tool, ratios to the reference, checks, targets. */

const TARGET_RSS_MIB = 200;
const TARGET_LOOP_MS = 50;

function pad(s, n, right) {
    s = String(s);
    return right ? s.padStart(n) : s.padEnd(n);
}

/** The row a case's layerscope row is compared with, and how the ratio reads. */
function referenceOf(report, c, r) {
    const { results } = report;
    if (c.kind === "image") {
        const ref = c.refs?.[r?.tool];
        return ref ? results.find((x) => x.case === c.id && x.tool === ref) : undefined;
    }
    if (c.kind === "chain") {
        return results.find((r) => r.case === c.id && r.tool === "layerscope 1-by-1");
    }
    return results.find((r) => r.case === (c.vs ?? c.id) && r.tool === "oracle");
}

/** Input bytes a case processes (for MiB/s): the layer tar for compression, the tree's tar else. */
function inputBytes(report, c, r) {
    if (c.kind === "compress") return report.input.layerTar?.size;
    if (c.kind === "chain") return report.input.chain?.bytes;
    if (c.kind === "big") return report.input.bigTar?.size;
    if (c.kind === "image") return report.input.image?.blobBytes;
    return r.outputBytes;
}

export function printTable(report, print) {
    const { results, checks, cases } = report;
    const cols = [
        ["case", 9, false],
        ["tool", 23, false],
        ["median s", 9, true],
        ["MiB/s", 7, true],
        ["CPU s", 7, true],
        ["peak RSS MiB", 12, true],
        ["loop max ms", 11, true],
        ["×ref time", 9, true],
        ["×ref RSS", 8, true],
        ["check", 0, false],
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
        const c = cases.find((x) => x.id === r.case);
        const ref = referenceOf(report, c, r);
        const isOurs = r.tool.startsWith("layerscope");
        const o = isOurs && ref && ref !== r ? ref : undefined;
        let check = "";
        if (r.tool === "layerscope") {
            const v = checks.find((x) => x.case === r.case && x.verdict !== "UNSTABLE");
            check = v ? `${v.verdict}${v.against && r.case === "overlay" ? ` (vs ${v.against})` : ""}` : "";
            if (c.vs) check += ` (×ref = vs oracle ${c.vs})`;
        } else if (r.tool === "oracle") {
            check = "reference";
        } else if (c.kind === "big") {
            check = "peak RSS on ~5 GB";
        } else if (c.kind === "image") {
            check = isOurs ? (ref ? `vs ${ref.tool}` : r.diffID) : "reference";
        } else if (c.kind === "chain") {
            check = r.tool === "layerscope 1-by-1" ? "reference" : (checks.find((x) => x.case === "chain")?.verdict ?? "");
        } else {
            check = "n/a (GNU tool's own bytes)";
        }
        if (!r.stable) {
            check += " UNSTABLE";
        }
        const bytes = inputBytes(report, c, r);
        print(
            line([
                r.case,
                r.tool,
                r.medianSeconds.toFixed(2),
                Number.isFinite(bytes) ? (bytes / 2 ** 20 / r.medianSeconds).toFixed(0) : "",
                r.medianCpuSeconds.toFixed(1),
                r.peakRssMiB.toFixed(0),
                r.loopMaxMs === undefined ? "" : r.loopMaxMs.toFixed(0),
                o ? `${(r.medianSeconds / o.medianSeconds).toFixed(2)}×` : "",
                o ? `${(r.peakRssMiB / o.peakRssMiB).toFixed(2)}×` : "",
                check,
            ]),
        );
    }
    if (report.graph) {
        print("");
        print(
            report.graph.missing
                ? `graph: not measured (${report.graph.missing})`
                : `graph: ${typeof report.graph.result === "string" ? report.graph.result : JSON.stringify(report.graph.result)}`,
        );
    }
    const base = results.find((r) => r.case === "base" && r.tool === "layerscope");
    const sha = report.reference.nodeSha256MiBps;
    print("");
    const ls = report.layerscope;
    print(`layerscope: ${ls.cli}${ls.commit ? ` (built from ${ls.commit})` : ""}`);
    const m = report.machine;
    print(`machine: ${m.cpus} × ${m.cpuModel}, ${m.memGiB} GiB, node ${m.node}`);
    print(`  before: ${m.uptimeBefore ?? `load ${m.loadavg1mBefore}`}`);
    print(`  after:  ${m.uptimeAfter ?? `load ${m.loadavg1mAfter}`}`);
    if (Math.max(m.loadavg1mBefore, m.loadavg1mAfter) > 0.5) {
        const niced = report.config.nice !== null ? ` (measured under nice -n ${report.config.nice})` : "";
        print(`  WARNING: other processes were busy; timings are noisy${niced}`);
    }
    print(`runs: median of ${report.config.runs} warm runs after 1 warm-up each (page cache not dropped)`);
    print(`node sha256 alone: ${sha} MiB/s on this machine (in memory, 1 MiB chunks)`);
    if (base) {
        const floor = base.outputBytes / 2 ** 20 / sha;
        print(`sha256 floor for the base layer (${base.outputBytes} bytes, one hash stream): ${floor.toFixed(2)} s`);
    }
    print(
        `targets: time vs the reference as below, peak RSS ≤ ${TARGET_RSS_MIB} MiB, event loop blocked ≤ ${TARGET_LOOP_MS} ms`,
    );
    for (const c of cases) {
        const mine = results.filter((r) => r.case === c.id && r.tool.startsWith("layerscope") && r.tool !== "layerscope 1-by-1");
        for (const r of mine) {
            const ref = referenceOf(report, c, r);
            let t = "time n/a (no reference measured)";
            if (c.kind === "image") {
                t = ref ? `${(r.medianSeconds / ref.medianSeconds).toFixed(2)}× ${ref.tool} (${r.tool.slice(11)}; no target)` : `${r.tool.slice(11)}: no reference tool does this`;
            } else if (ref && ref !== r) {
                const ratio = r.medianSeconds / ref.medianSeconds;
                t =
                    c.kind === "chain"
                        ? `${(1 / ratio).toFixed(2)}× faster than one by one (target ≥ ${c.target}×): ${1 / ratio >= c.target ? "ok" : "MISSED"}`
                        : `${ratio.toFixed(2)}× ${c.vs ? `oracle ${c.vs}` : "oracle"} (target ≤ ${c.target}×): ${ratio <= c.target ? "ok" : "MISSED"}`;
            }
            const rss = `RSS ${r.peakRssMiB.toFixed(0)} MiB ${r.peakRssMiB <= TARGET_RSS_MIB ? "ok" : "MISSED"}`;
            const loop =
                r.loopMaxMs === undefined
                    ? ""
                    : `, loop max ${r.loopMaxMs.toFixed(0)} ms ${r.loopMaxMs <= TARGET_LOOP_MS ? "ok" : "MISSED"}`;
            print(`  ${pad(c.id, 9)} ${t}; ${rss}${loop}`);
        }
    }
}
