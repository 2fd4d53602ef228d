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
  // Issue 15: adaptive never loses to fixed concurrency, and costs little CPU per token.
  for (const scn of ["unbounded", "unbounded-bg"]) {
    const ua = find(scn, "adaptive");
    const uf = find(scn, "fixed");
    const bare = find("unbounded", "bare");
    if (!ua) continue;
    const tps = ua.summary.all.tokensPerS;
    if (uf) {
      const r = ratio(tps, uf.summary.all.tokensPerS);
      out.push(
        `${scn}: adaptive ${n(tps)} tokens/s, ${n(r, 2)}x fixed's ${n(uf.summary.all.tokensPerS)} (target >= 0.95x): ${mark(r === null ? null : r >= 0.95)}`,
      );
    }
    if (bare) {
      const r = ratio(tps, bare.summary.all.tokensPerS);
      out.push(
        `${scn}: adaptive ${n(r, 2)}x the bare pipeline's ${n(bare.summary.all.tokensPerS)} tokens/s (target >= 0.7x): ${mark(r === null ? null : r >= 0.7)}`,
      );
    }
    const cpu = ua.cpu?.perThousandTokens ?? null;
    out.push(
      `${scn}: adaptive CPU ${n(cpu, 3)} s per 1,000 tokens${uf ? `, fixed ${n(uf.cpu?.perThousandTokens ?? null, 3)}` : ""}${bare && scn === "unbounded" ? `, bare ${n(bare.cpu?.perThousandTokens ?? null, 3)}` : ""} (target <= 0.10): ${mark(cpu === null ? null : cpu <= 0.1)}`,
    );
    if (ua.background)
      out.push(
        `${scn}: the background process got ${n(ua.background.cpuPerS, 2)} CPU s/s beside adaptive, ${n(uf?.background?.cpuPerS ?? null, 2)} beside fixed (it asks for 0.5)`,
      );
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
      const ca = find(scn, "adaptive")?.cotenant ?? null;
      const cf = find(scn, "fixed")?.cotenant ?? null;
      const r = ca && cf ? ratio(ca.unitsPerS, cf.unitsPerS) : null;
      out.push(
        `cpu-squeeze: the co-tenants' progress ${n(ca?.unitsPerS ?? null)} units/s (${n(ca?.cpuPerS ?? null, 2)} CPU s/s) beside adaptive, ${n(cf?.unitsPerS ?? null)} (${n(cf?.cpuPerS ?? null, 2)}) beside fixed: ${n(r, 2)}x (target >= 1.5x): ${mark(r === null ? null : r >= 1.5)}`,
      );
      const ok = a.eventLoopP99Ms.max < 50 && a.lanes.hot.staleness.p95 <= a.lanes.hot.staleness.ttlS;
      out.push(
        `cpu-squeeze: adaptive keeps its loop p99 under 50 ms (max ${n(a.eventLoopP99Ms.max)}) and hot staleness p95 within its TTL (${n(a.lanes.hot.staleness.p95, 1)} of ${a.lanes.hot.staleness.ttlS} s): ${mark(ok)}`,
      );
    } else if (f) {
      const better = a.timeouts <= f.timeouts && a.tokensPerS >= f.tokensPerS;
      out.push(
        `latency-surge: in the surge third adaptive times out ${a.timeouts} times against fixed's ${f.timeouts} and scores ${n(a.tokensPerS, 1)} tokens/s against ${n(f.tokensPerS, 1)} (target: no more timeouts, at least as many tokens/s): ${mark(better)}`,
      );
      // A call the simulator holds for hangMs (30 s) times out under any timeout: what a timeout
      // rule decides is the calls it cuts that would have answered.
      const hung = (s) => s.upstream?.hung ?? null;
      const cut = (s) => (hung(s) === null ? null : Math.max(0, s.timeouts - hung(s)));
      out.push(
        `latency-surge: of those, the simulator hung ${n(hung(a))} of adaptive's calls and ${n(hung(f))} of fixed's; calls cut that would have answered: adaptive ${n(cut(a))}, fixed ${n(cut(f))}`,
      );
    }
  }
  for (const scn of ["scale-out", "scale-out-bg"]) {
    const scale = cells.filter((c) => c.scenario === scn);
    for (const m of ["legacy", "fixed", "adaptive"]) {
      const cs = scale.filter((c) => c.mode === m).sort((a, b) => a.workers - b.workers);
      if (cs.length === 0) continue;
      const base = cs[0].summary.all.tokensPerS;
      out.push(
        `${scn} ${m}: ${cs.map((c) => `${c.workers} worker${c.workers > 1 ? "s" : ""} ${n(c.summary.all.tokensPerS)} tok/s (${n(ratio(c.summary.all.tokensPerS, base), 2)}x)`).join(", ")}`,
      );
    }
    const vs = [1, 2, 4].map((w) => {
      const a = scale.find((c) => c.mode === "adaptive" && c.workers === w);
      const f = scale.find((c) => c.mode === "fixed" && c.workers === w);
      return a && f ? { w, r: ratio(a.summary.all.tokensPerS, f.summary.all.tokensPerS) } : null;
    });
    if (vs.some(Boolean))
      out.push(
        `${scn}: adaptive against fixed ${vs
          .filter(Boolean)
          .map((v) => `${v.w} worker${v.w > 1 ? "s" : ""} ${n(v.r, 2)}x`)
          .join(
            ", ",
          )} (target >= 0.95x each): ${mark(vs.filter(Boolean).every((v) => v.r !== null && v.r >= 0.95))}`,
      );
  }
  for (const c of cells.filter((x) => x.scenario === "large-registry")) {
    const lr = c.largeRegistry;
    if (!lr) continue;
    const tick = lr.producerTickMs;
    const api = lr.apiTokensMs;
    out.push(
      `large-registry ${c.mode}: ${lr.registered} tokens; producer tick p50/p95/max ${n(tick.p50, 1)}/${n(tick.p95, 1)}/${n(tick.max, 1)} ms (target p95 < 50): ${mark(tick.p95 === null ? null : tick.p95 < 50)}` +
        (lr.redisRoundTripMs
          ? ` (one Redis round trip from its process beside it p50/p95 ${n(lr.redisRoundTripMs.p50, 1)}/${n(lr.redisRoundTripMs.p95, 1)} ms; a tick waits on three steps in a row, each a round trip or two)`
          : "") +
        "; " +
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
