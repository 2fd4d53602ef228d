// The table on stdout and the target checks: plain text from the cells' JSON results.

const dash = "–";
const n = (v, digits = 0) =>
  v === null || v === undefined || !Number.isFinite(v)
    ? dash
    : v >= 10_000
      ? `${Math.round(v / 100) / 10}k`
      : v.toFixed(digits);
const stale = (s) => (s ? `${n(s.p50, 1)}/${n(s.p95, 1)}/${n(s.max, 0)} (${s.ttlS})` : dash);

export const COLUMNS = [
  "scenario",
  "mode",
  "window",
  "tok/s hot",
  "tok/s cold",
  "stale hot p50/p95/max (TTL) s",
  "stale cold p50/p95/max (TTL) s",
  "conc hot/cold",
  "upstream/min (budget)",
  "429",
  "timeouts",
  "errors",
  "lost",
  "unscored",
  "CPU s/1k tok",
  "peak RSS MB worker/producer/redis",
  "Redis B/token",
  "loop p99 ms",
];

/** One table row per summary window of a cell: the whole window, and the disturbance if any. */
export function rowsOf(cell) {
  const rows = [];
  const windows = [["all", cell.summary.all]];
  if (cell.summary.during) windows.push([cell.disturbance, cell.summary.during]);
  for (const [name, s] of windows) {
    if (!s) continue;
    const hot = s.lanes.hot;
    const cold = s.lanes.cold;
    const up = s.upstream;
    const rss = cell.peakRssMb ?? {};
    const wRss = Math.max(
      0,
      ...Object.entries(rss)
        .filter(([k]) => /^(w|bare)\d/.test(k))
        .map(([, v]) => v ?? 0),
    );
    // The bare pipeline stores nothing: no staleness, no scores, its jobs instead of a concurrency.
    const bare = cell.mode === "bare";
    rows.push([
      cell.label,
      cell.mode,
      name === "all" ? `${n(s.seconds)} s` : `${name} ${n(s.seconds)} s`,
      n(hot.tokensPerS, 1),
      n(cold.tokensPerS, 1),
      bare ? dash : stale(hot.staleness),
      bare ? dash : stale(cold.staleness),
      bare
        ? `${n(cold.concurrency.mean)} jobs`
        : `${n(hot.concurrency.mean, 1)}/${n(cold.concurrency.mean, 1)}`,
      up ? `${n(up.perMin)} (${up.budgetRpm >= 100_000 ? "none" : up.budgetRpm})` : dash,
      up ? String(up.status429) : dash,
      String(s.timeouts),
      String(s.errors),
      name === "all" ? String(cell.lost.total) : "",
      name === "all" ? (bare ? dash : String(cell.lost.unscored)) : "",
      name === "all" ? n(cell.cpu.perThousandTokens, 2) : "",
      name === "all" ? `${wRss || dash}/${rss.producer ?? dash}/${rss.redis ?? dash}` : "",
      name === "all" ? n(cell.redis.bytesPerToken) : "",
      n(s.eventLoopP99Ms.max),
    ]);
  }
  return rows;
}

export function renderTable(cells) {
  const rows = [COLUMNS, ...cells.flatMap(rowsOf)];
  const widths = COLUMNS.map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  const line = (r) => `| ${r.map((c, i) => String(c).padEnd(widths[i])).join(" | ")} |`;
  return [
    line(rows[0]),
    `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`,
    ...rows.slice(1).map(line),
  ].join("\n");
}

const mark = (ok) => (ok === null ? "?" : ok ? "met" : "MISSED");
const ratio = (a, b) => (a !== null && b ? a / b : null);

/** The issue's targets, reported (never asserted) from the cells of this run. */
export function targetLines(cells) {
  const find = (scenario, mode, workers) =>
    cells.find(
      (c) => c.scenario === scenario && c.mode === mode && (workers === undefined || c.workers === workers),
    );
  const out = [];
  const dex = { a: find("dexscreener", "adaptive"), l: find("dexscreener", "legacy") };
  if (dex.a) {
    const s = dex.a.summary.all;
    if (dex.l) {
      const r = ratio(s.tokensPerS, dex.l.summary.all.tokensPerS);
      out.push(
        `dexscreener: adaptive ${n(r, 1)}x legacy tokens/s (target >= 25x): ${mark(r === null ? null : r >= 25)}`,
      );
    }
    const use = s.upstream?.budgetUse ?? null;
    out.push(
      `dexscreener: adaptive budget use ${n(use === null ? null : use * 100, 1)}% of ${s.upstream?.budgetRpm}/min (target >= 95%): ${mark(use === null ? null : use >= 0.95)}`,
    );
    out.push(
      `dexscreener: adaptive 429s ${s.upstream?.status429 ?? "?"} (target 0): ${mark(s.upstream ? s.upstream.status429 === 0 : null)}`,
    );
    const hot = s.lanes.hot.staleness;
    out.push(
      `dexscreener: adaptive hot staleness p95 ${n(hot.p95, 1)} s (target <= ${hot.ttlS} s): ${mark(hot.p95 === null ? null : hot.p95 <= hot.ttlS)}`,
    );
  }
  const ua = find("unbounded", "adaptive");
  const bare = find("unbounded", "bare");
  if (ua) {
    const tps = ua.summary.all.tokensPerS;
    out.push(`unbounded: adaptive ${n(tps)} tokens/s (target >= 10,000 on 2 cores): ${mark(tps >= 10_000)}`);
    if (bare) {
      for (const m of ["legacy", "fixed", "adaptive"]) {
        const c = find("unbounded", m);
        if (!c) continue;
        const r = ratio(c.summary.all.tokensPerS, bare.summary.all.tokensPerS);
        out.push(
          `unbounded: ${m} runs at ${n(r === null ? null : r * 100, 1)}% of the bare pipeline's ${n(bare.summary.all.tokensPerS)} tokens/s${m === "adaptive" ? ` (target >= 50%): ${mark(r === null ? null : r >= 0.5)}` : ""}`,
        );
      }
    }
  }
  for (const [scn, label] of [
    ["cpu-squeeze", "squeeze"],
    ["latency-surge", "surge"],
  ]) {
    const a = find(scn, "adaptive")?.summary.during;
    const f = find(scn, "fixed")?.summary.during;
    if (!a) continue;
    const fig = (s) =>
      s
        ? `loop p99 max ${n(s.eventLoopP99Ms.max)} ms, hot staleness p95 ${n(s.lanes.hot.staleness.p95, 1)} s, cold p95 ${n(s.lanes.cold.staleness.p95, 1)} s, timeouts ${s.timeouts}, tokens/s ${n(s.tokensPerS, 1)}`
        : "not run";
    out.push(`${scn} (${label} third): adaptive ${fig(a)}; fixed ${fig(f)}`);
    if (scn === "cpu-squeeze") {
      const ok = a.eventLoopP99Ms.max < 100 && a.lanes.hot.staleness.p95 <= a.lanes.hot.staleness.ttlS;
      const fixedOk = f
        ? f.eventLoopP99Ms.max < 100 && f.lanes.hot.staleness.p95 <= f.lanes.hot.staleness.ttlS
        : null;
      out.push(
        `cpu-squeeze: adaptive keeps loop p99 < 100 ms and hot staleness within TTL: ${mark(ok)}; fixed does: ${fixedOk === null ? "?" : fixedOk ? "yes (no contrast)" : "no"}`,
      );
    } else if (f) {
      const better =
        a.timeouts <= f.timeouts &&
        a.lanes.hot.staleness.p95 <= f.lanes.hot.staleness.p95 &&
        a.lanes.cold.staleness.p95 <= f.lanes.cold.staleness.p95;
      out.push(
        `latency-surge: adaptive timeouts and staleness p95 no worse than fixed 5 s timeouts: ${mark(better)}`,
      );
    }
  }
  const scale = cells.filter((c) => c.scenario === "scale-out");
  for (const m of ["legacy", "fixed", "adaptive"]) {
    const cs = scale.filter((c) => c.mode === m).sort((a, b) => a.workers - b.workers);
    if (cs.length === 0) continue;
    const base = cs[0].summary.all.tokensPerS;
    out.push(
      `scale-out ${m}: ${cs.map((c) => `${c.workers} worker${c.workers > 1 ? "s" : ""} ${n(c.summary.all.tokensPerS)} tok/s (${n(ratio(c.summary.all.tokensPerS, base), 2)}x)`).join(", ")}`,
    );
  }
  for (const c of cells.filter((x) => x.scenario === "large-registry")) {
    const lr = c.largeRegistry;
    if (!lr) continue;
    const tick = lr.producerTickMs;
    const api = lr.apiTokensMs;
    out.push(
      `large-registry ${c.mode}: ${lr.registered} tokens; producer tick p50/p95/max ${n(tick.p50, 1)}/${n(tick.p95, 1)}/${n(tick.max, 1)} ms (target p95 < 50): ${mark(tick.p95 === null ? null : tick.p95 < 50)}; ` +
        `GET /tokens?limit=50 p50/p95 ${n(api.p50, 1)}/${n(api.p95, 1)} ms over ${api.count} calls (target p95 < 50): ${mark(api.p95 === null ? null : api.p95 < 50)}; ` +
        `Redis ${n(c.redis.bytesPerToken)} B/token at the end (${n(c.redis.bytesPerTokenRegistered)} B/token registered, before any snapshot), ${c.summary.all.lanes.hot.tokensAtEnd + c.summary.all.lanes.cold.tokensAtEnd - c.lost.unscored} tokens scored`,
    );
    const cl = lr.claim;
    if (cl)
      out.push(
        `large-registry ${c.mode}: claim Lua with nothing due ${n(cl.small.emptyMs, 2)} ms at ${cl.small.registered} tokens vs ${n(cl.large.emptyMs, 2)} ms at ${cl.large.registered}; ` +
          `claiming 300 due tokens ${n(cl.small.claim300Ms, 2)} ms vs ${n(cl.large.claim300Ms, 2)} ms (cost follows the due tokens, not the registry)`,
      );
  }
  return out;
}
