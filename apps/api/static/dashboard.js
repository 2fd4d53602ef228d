// The fleet dashboard: polls the api's JSON every 2 s and draws it. No framework, no build step;
// everything it loads comes from this host (uPlot is served from node_modules by the api).
// The browser's globals, for the repo's eslint (which has no browser environment for plain .js).
/* global window, document, location, history, URLSearchParams, getComputedStyle, setTimeout, ResizeObserver, uPlot */
"use strict";

(() => {
  const POLL_MS = 2_000;
  const HISTORY_EVERY_MS = 10_000;
  /** The api keeps one sample per 10 s in Redis; between samples the page adds its own polls. */
  const FLEET_HISTORY_EVERY_MS = 10_000;
  const RANGES = { "15m": 15 * 60, "1h": 3_600, "24h": 86_400 };
  let range = RANGES[new URLSearchParams(location.search).get("range")]
    ? new URLSearchParams(location.search).get("range")
    : "1h";
  const WINDOW_SECONDS = 5 * 60;
  const TOP_TOKENS = 10;
  const LANES = ["hot", "cold"];

  const css = getComputedStyle(document.documentElement);
  const color = (name) => css.getPropertyValue(name).trim();
  const COLORS = {
    hot: color("--hot"),
    cold: color("--cold"),
    total: color("--total"),
    ttl: color("--ttl"),
    grid: color("--grid"),
    muted: color("--muted"),
  };

  // ---------- small helpers ----------

  // The element builder and the JSON fetch are the pages' shared ones (common.js, window.mf).
  const { byTestId, el, getJson } = window.mf;

  function setText(id, text) {
    const node = byTestId(id);
    if (node) node.textContent = text;
  }

  const fmt = (v, digits = 1) =>
    v === null || v === undefined || Number.isNaN(v) ? "–" : Number(v).toFixed(digits);
  const pct = (v) => (v === null || v === undefined ? "–" : `${Math.round(v * 100)}%`);
  const shortMint = (m) => (m.length > 12 ? `${m.slice(0, 4)}…${m.slice(-4)}` : m);
  const ago = (ms) =>
    ms < 1_500 ? "now" : ms < 90_000 ? `${Math.round(ms / 1000)} s` : `${Math.round(ms / 60_000)} min`;
  const level = (ratio) => (ratio >= 0.9 ? "crit" : ratio >= 0.75 ? "warn" : "");

  /** A small horizontal bar with its number, for CPU and memory. */
  function meter(percent, testid) {
    const ratio = Math.max(0, Math.min(1, (percent ?? 0) / 100));
    const fill = el("div", { class: `bar-fill ${level(ratio)}` });
    fill.style.width = `${ratio * 100}%`;
    return el(
      "span",
      { testid, "data-value": percent ?? "" },
      el("span", { class: "bar" }, fill),
      el(
        "span",
        { class: "bar-value" },
        percent === null || percent === undefined ? "–" : `${fmt(percent, 0)}%`,
      ),
    );
  }

  // ---------- charts (kept client-side: the last five minutes of polls) ----------

  const series = { t: [], hot: [], cold: [], total: [] };
  const staleness = Object.fromEntries(LANES.map((l) => [l, { t: [], p50: [], p95: [], ttl: [] }]));

  function trim(cols) {
    const cutoff = Date.now() / 1000 - WINDOW_SECONDS;
    let drop = 0;
    while (drop < cols.t.length && cols.t[drop] < cutoff) drop++;
    if (drop > 0) for (const k of Object.keys(cols)) cols[k].splice(0, drop);
  }

  const axis = (extra = {}) => ({
    stroke: COLORS.muted,
    grid: { stroke: COLORS.grid, width: 1 },
    ticks: { stroke: COLORS.grid, width: 1 },
    font: "11px system-ui, sans-serif",
    ...extra,
  });

  function makeChart(testid, seriesOpts) {
    const host = byTestId(testid);
    if (!host || typeof uPlot === "undefined") return null;
    const chart = new uPlot(
      {
        width: Math.max(200, host.clientWidth),
        height: 200,
        cursor: { drag: { x: false, y: false } },
        legend: { live: false },
        scales: {
          // At least a minute wide, from our own timestamps: uPlot widens a single point to years.
          x: { time: true, range: timeRange },
          y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.15 : 1] },
        },
        axes: [axis({ space: 80, values: (_u, ticks) => ticks.map(clock) }), axis({ size: 44 })],
        series: [{}, ...seriesOpts],
      },
      [[]].concat(seriesOpts.map(() => [])),
      host,
    );
    const fit = () => chart.setSize({ width: Math.max(200, host.clientWidth), height: 200 });
    new ResizeObserver(fit).observe(host);
    return chart;
  }

  function timeRange(u) {
    const t = u.data[0];
    const last = t.length ? t[t.length - 1] : Date.now() / 1000;
    return [Math.max(Math.min(t.length ? t[0] : last, last - 60), last - RANGES[range]), last];
  }

  const clock = (seconds) =>
    new Date(seconds * 1000).toLocaleTimeString([], {
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
      hour12: false,
    });

  const line = (label, stroke, extra = {}) => ({
    label,
    stroke,
    width: 2,
    // A lone reading (the first, or one between outages) has no line to draw: show it as a dot.
    points: { show: (u, si) => u.data[si].filter((v) => v !== null).length === 1 },
    value: (_u, v) => fmt(v),
    ...extra,
  });

  let tpsChart = null;
  const staleCharts = {};

  function initCharts() {
    tpsChart = makeChart("tps-chart", [
      line("hot", COLORS.hot),
      line("cold", COLORS.cold),
      line("total", COLORS.total, { width: 1, dash: [4, 4] }),
    ]);
    for (const lane of LANES)
      staleCharts[lane] = makeChart(`staleness-chart-${lane}`, [
        line("p50", COLORS[lane], { width: 1.5, dash: [3, 3] }),
        line("p95", COLORS[lane]),
        line("TTL", COLORS.ttl, { width: 1.5, dash: [6, 4] }),
      ]);
  }

  // ---------- chart history from the api (Redis), merged with the live polls after it ----------

  let served = { t: [], hot: [], cold: [], total: [], stale: { hot: null, cold: null } };

  function fromSamples(samples) {
    const out = { t: [], hot: [], cold: [], total: [], stale: {} };
    for (const lane of LANES) out.stale[lane] = { t: [], p50: [], p95: [], ttl: [] };
    for (const s of samples) {
      const t = s.t / 1000;
      out.t.push(t);
      out.hot.push(s.tokensPerSecond.hot);
      out.cold.push(s.tokensPerSecond.cold);
      out.total.push(Math.round((s.tokensPerSecond.hot + s.tokensPerSecond.cold) * 10) / 10);
      for (const lane of LANES) {
        const st = out.stale[lane];
        st.t.push(t);
        st.p50.push(s.staleness[lane].p50);
        st.p95.push(s.staleness[lane].p95);
        st.ttl.push(s.staleness[lane].ttl);
      }
    }
    return out;
  }

  /** The served samples, then the live points newer than the last of them. */
  function merged(servedCols, liveCols) {
    const last = servedCols.t.length ? servedCols.t[servedCols.t.length - 1] : -Infinity;
    const from = liveCols.t.findIndex((t) => t > last);
    const out = {};
    for (const k of Object.keys(liveCols))
      out[k] = servedCols[k].concat(from < 0 ? [] : liveCols[k].slice(from));
    return out;
  }

  function redraw() {
    const m = merged(served, series);
    tpsChart?.setData([m.t, m.hot, m.cold, m.total]);
    for (const lane of LANES) {
      const st = merged(served.stale[lane] ?? { t: [], p50: [], p95: [], ttl: [] }, staleness[lane]);
      staleCharts[lane]?.setData([st.t, st.p50, st.p95, st.ttl]);
    }
    const span = m.t.length > 1 ? m.t[m.t.length - 1] - m.t[0] : 0;
    const node = byTestId("history-span");
    node.dataset.seconds = String(Math.round(span));
    node.textContent =
      span > 0
        ? `· ${span >= 5_400 ? `${(span / 3_600).toFixed(1)} h` : `${Math.round(span / 60)} min`} shown`
        : "";
  }

  let historyAt = 0;
  async function refreshFleetHistory(force = false) {
    if (!force && Date.now() - historyAt < FLEET_HISTORY_EVERY_MS) return;
    historyAt = Date.now();
    const h = await getJson(`/fleet/history?range=${range}`);
    served = fromSamples(h.samples);
    renderBudget(h.budget);
    redraw();
  }

  function setRange(next) {
    range = next;
    for (const b of document.querySelectorAll("[data-range]"))
      b.setAttribute("aria-pressed", String(b.dataset.range === range));
    const params = new URLSearchParams(location.search);
    if (range === "1h") params.delete("range");
    else params.set("range", range);
    const qs = params.toString();
    history.replaceState(null, "", `${location.pathname}${qs ? `?${qs}` : ""}`);
    void refreshFleetHistory(true).catch(() => undefined);
  }

  for (const b of document.querySelectorAll("[data-range]"))
    b.addEventListener("click", () => setRange(b.dataset.range));

  function record(sched, ok) {
    const now = Date.now() / 1000;
    const tps = sched?.performance?.tokensPerSecond;
    series.t.push(now);
    series.hot.push(ok ? tps.hot : null);
    series.cold.push(ok ? tps.cold : null);
    series.total.push(ok ? tps.total : null);
    trim(series);

    for (const lane of LANES) {
      const s = staleness[lane];
      const st = sched?.lanes?.[lane]?.staleness;
      s.t.push(now);
      s.p50.push(ok ? st.p50 : null);
      s.p95.push(ok ? st.p95 : null);
      s.ttl.push(ok ? st.ttlSeconds : (s.ttl.at(-1) ?? null));
      trim(s);
    }
    redraw();
  }

  // ---------- panels ----------

  function renderStatus(sched) {
    const node = byTestId("status");
    node.textContent = sched.status;
    node.dataset.status = sched.status;
    node.className = `status status-${sched.status}`;
    document.title = `moonfleet · ${sched.status}`;

    const list = byTestId("alerts");
    const items = sched.alerts.length
      ? sched.alerts.map((a) =>
          el("li", { class: `alert-${a.severity}`, testid: "alert", "data-severity": a.severity }, a.message),
        )
      : [
          el(
            "li",
            { class: "alert-none muted" },
            "No alerts: every lane is fresh and the upstream is healthy.",
          ),
        ];
    list.replaceChildren(...items);
  }

  function renderKpis(sched) {
    for (const lane of LANES) {
      const l = sched.lanes[lane];
      const tps = byTestId(`tokens-per-second-${lane}`);
      tps.replaceChildren(fmt(l.tokensPerSecond), el("span", { class: "unit" }, "tok/s"));
      tps.dataset.value = String(l.tokensPerSecond);
      setText(
        `tokens-per-minute-${lane}`,
        `${l.tokensPerMinute} per minute · ${l.tokens} tokens in the lane`,
      );

      const st = l.staleness;
      const node = byTestId(`staleness-${lane}`);
      node.replaceChildren(fmt(st.p95), el("span", { class: "unit" }, `/ ${st.ttlSeconds} s`));
      node.dataset.value = st.p95 === null ? "" : String(st.p95);
      node.classList.toggle("over", st.p95 !== null && st.p95 > st.ttlSeconds);
      setText(
        `staleness-${lane}-detail`,
        `p50 ${fmt(st.p50)} s · max ${fmt(st.max)} s · ${st.scored} scored`,
      );
    }
  }

  /** The controller's reason codes (packages/adaptive) in words; the code shows on hover. */
  const REASONS = {
    start: "starting up",
    grow_backlog: "growing: work is waiting",
    hold_idle: "holding: nothing waiting",
    hold_reduced_load: "holding: the machine is busy",
    hold_cooldown: "holding: settling after a cut",
    hold_budget: "holding: the upstream budget is the limit",
    hold_connections: "holding: calls already wait for an upstream connection",
    trim_connections: "trimming: calls wait a whole round for an upstream connection",
    hold_latency_rising: "holding: upstream latency is rising",
    cut_high_load: "cutting: the machine is overloaded",
    cut_rate_limited: "cutting: the upstream answered 429",
    cut_upstream_errors: "cutting: upstream errors",
    cut_latency_rising: "cutting: upstream latency is rising",
    hold_max: "holding at the maximum",
    clamp_bounds: "kept within the configured bounds",
    parallel_disabled: "one at a time (parallel processing off)",
    fixed_max: "fixed at the maximum (adaptive control off)",
  };
  const reasonWords = (code) => REASONS[code] ?? code.replace(/_/g, " ");

  /** One lane of one worker: its slots and busy jobs, then the controller's last decision. */
  function laneCell(ls, lane, workerId) {
    const since = Date.now() - Date.parse(ls.changedAt);
    return el(
      "td",
      {
        class: "slots",
        title: ls.timeoutReason ? `timeout ${ls.timeoutMs} ms: ${ls.timeoutReason}` : undefined,
      },
      el(
        "div",
        {},
        el("strong", { testid: `worker-concurrency-${lane}`, "data-value": ls.concurrency }, ls.concurrency),
        el(
          "span",
          { class: "muted" },
          ` ${ls.concurrency === 1 ? "slot" : "slots"}${ls.duty < 1 ? ` at ${Math.round(ls.duty * 100)}% duty` : ""} · ${ls.active} busy · timeout ${fmt(ls.timeoutMs / 1000)} s`,
        ),
      ),
      el(
        "div",
        { class: "reason" },
        el(
          "span",
          { testid: `worker-reason-${lane}`, "data-code": ls.reason, title: ls.reason },
          reasonWords(ls.reason),
        ),
        Number.isFinite(since) ? ` · ${ago(since)}${since < 1_500 ? "" : " ago"}` : null,
        " · ",
        el(
          "a",
          {
            href: `/controller/decisions?worker=${encodeURIComponent(workerId)}&lane=${lane}`,
            testid: `worker-decisions-${lane}`,
            title: "every decision of this lane's controller, with the readings it decided on",
          },
          "why?",
        ),
      ),
    );
  }

  const breakerClass = (b) => (b === "open" ? "pill-crit" : b === "half_open" ? "pill-warn" : "pill-ok");
  const levelClass = (l) => (l === "high" ? "pill-crit" : l === "reduced" ? "pill-warn" : "");

  function renderWorkers(sched, system) {
    const resources = new Map((system?.resources?.workers ?? []).map((w) => [w.id, w]));
    const body = byTestId("worker-rows");
    setText("worker-count", `· ${sched.workers.length} live`);
    if (sched.workers.length === 0) {
      body.replaceChildren(el("tr", { class: "empty" }, el("td", { colspan: 9 }, "No live worker.")));
      return;
    }
    const rows = sched.workers.map((w) => {
      const r = resources.get(w.id);
      return el(
        "tr",
        { testid: "worker-row", "data-worker-id": w.id },
        el("td", { class: "mono", title: `${w.host} pid ${w.pid}` }, w.id),
        el("td", { class: levelClass(w.level), testid: "worker-level" }, w.level),
        el("td", { class: breakerClass(w.breaker), testid: "worker-breaker" }, w.breaker.replace("_", "-")),
        laneCell(w.lanes.hot, "hot", w.id),
        laneCell(w.lanes.cold, "cold", w.id),
        el("td", {}, meter(r?.cpuPercent, "worker-cpu")),
        el("td", { title: r ? `RSS ${r.rssMb} MB` : undefined }, meter(r?.memoryPercent, "worker-memory")),
        el("td", { class: "num" }, r ? `${fmt(r.eventLoopDelayP99Ms)} ms` : "–"),
        el("td", { class: "num muted" }, ago(w.lastSeenMs)),
      );
    });
    body.replaceChildren(...rows);

    const api = system?.resources?.api;
    setText(
      "api-resources",
      api
        ? `api process (pid ${api.pid}): CPU ${fmt(api.cpuPercent, 0)}% · memory ${fmt(api.memoryPercent, 0)}% · RSS ${api.rssMb} MB · event loop p99 ${fmt(api.eventLoopDelayP99Ms)} ms`
        : "",
    );
  }

  function renderQueues(sched) {
    const rows = LANES.map((lane) => {
      const l = sched.lanes[lane];
      return el(
        "tr",
        { testid: `queue-row-${lane}` },
        el("td", {}, el("span", { class: `lane-badge lane-${lane}` }, lane)),
        el("td", { class: "num" }, l.tokens),
        el("td", { class: "num" }, l.due),
        el("td", { class: "num", testid: `queue-waiting-${lane}` }, l.waitingJobs),
        el("td", { class: "num" }, l.activeJobs),
        el("td", { class: "num", testid: `queue-concurrency-${lane}` }, l.concurrency),
        el("td", { class: `num ${l.errorRate > 0.05 ? "pill-warn" : ""}` }, pct(l.errorRate)),
        el("td", { class: `num ${l.timeoutRate > 0.05 ? "pill-warn" : ""}` }, pct(l.timeoutRate)),
        el("td", { class: `num ${l.failedJobsLastHour > 0 ? "pill-warn" : ""}` }, l.failedJobsLastHour),
      );
    });
    byTestId("queue-rows").replaceChildren(...rows);
  }

  /** The budget over the rolling 60 s, as the api reads it from the budget's counters. */
  function renderBudget(b) {
    if (!b) return;
    const ratio = b.limitPerMinute > 0 ? b.last60s / b.limitPerMinute : 0;
    const bar = byTestId("budget-use");
    bar.dataset.ratio = String(ratio);
    const fill = byTestId("budget-use-fill");
    fill.style.width = `${Math.min(1, ratio) * 100}%`;
    fill.className = `bar-fill ${level(ratio)}`;
    setText("budget-use-text", `${b.last60s} / ${b.limitPerMinute} requests (${pct(ratio)})`);
  }

  function renderUpstream(sched) {
    const { budget, breaker, rateLimited, latencyP95Ms } = sched.upstream;
    setText("budget-this-minute", `${budget.usedThisMinute} used so far this clock minute`);

    const paused = byTestId("budget-paused");
    paused.hidden = !(budget.pausedForMs > 0);
    if (budget.pausedForMs > 0)
      paused.textContent = `Paused after a 429: the fleet resumes in ${Math.ceil(budget.pausedForMs / 1000)} s`;

    const summary = byTestId("breaker-summary");
    summary.replaceChildren(
      el("span", { class: "pill-ok" }, `${breaker.closed} closed`),
      " · ",
      el("span", { class: breaker.halfOpen ? "pill-warn" : "muted" }, `${breaker.halfOpen} half-open`),
      " · ",
      el("span", { class: breaker.open ? "pill-crit" : "muted" }, `${breaker.open} open`),
    );
    setText("rate-limited", String(rateLimited));
    setText("latency-p95", latencyP95Ms === null ? "–" : `${fmt(latencyP95Ms, 0)} ms`);
  }

  // ---------- staleness per class, when /health/scheduler has them ----------

  function renderClasses(sched) {
    const panel = byTestId("classes-panel");
    const classes = sched.classes;
    panel.hidden = !classes;
    if (!classes) return;
    const floor = byTestId("floor-covered");
    floor.hidden = typeof classes.floorCovered !== "boolean";
    floor.textContent = classes.floorCovered
      ? "The upstream budget covers every token's staleness floor."
      : "The upstream budget does not cover every token's staleness floor: raise UPSTREAM_RPM or archive sooner.";
    floor.className = classes.floorCovered ? "footnote" : "footnote alert-warning";
    byTestId("class-rows").replaceChildren(
      ...Object.entries(classes)
        .filter(([, c]) => typeof c === "object" && c !== null)
        .map(([name, c]) =>
          el(
            "tr",
            { testid: "class-row", "data-class": name },
            el("td", {}, name),
            el("td", { class: "num" }, c.tokens ?? "–"),
            el(
              "td",
              { class: "num" },
              c.stalenessP95Seconds === null || c.stalenessP95Seconds === undefined
                ? "–"
                : `${fmt(c.stalenessP95Seconds)} s`,
            ),
            el("td", { class: "num" }, pct(c.callShare)),
          ),
        ),
    );
  }

  // ---------- discovery and the registry ----------

  const DISCOVERY_STATES = {
    connected: "· stream connected",
    connecting: "· stream reconnecting",
    no_leader: "· no discovery process leads",
    off: "· off (DISCOVERY_URL=off)",
  };

  function renderDiscovery(sched) {
    const d = sched.discovery;
    const r = sched.registry;
    if (d) {
      const state = byTestId("discovery-state");
      state.dataset.state = d.state;
      state.textContent = DISCOVERY_STATES[d.state] ?? d.state;
      const leading = d.leader !== null;
      setText("discovery-arrivals", leading ? String(d.eventsPerMinute) : "–");
      setText(
        "discovery-last-event",
        leading && d.lastEventAgeSeconds !== null ? `${d.lastEventAgeSeconds} s ago` : "–",
      );
      const rejected = leading ? Object.values(d.rejected).reduce((a, b) => a + b, 0) : 0;
      setText("discovery-reconnects", leading ? `${d.reconnects} · ${rejected}` : "–");
    }
    if (r)
      setText(
        "registry-by-status",
        `${r.tokens} tokens: ${r.byStatus.monitoring} monitoring · ${r.byStatus.active} active · ${r.byStatus.archived} archived`,
      );
  }

  // ---------- top tokens with score-history sparklines ----------

  const histories = new Map(); // mint -> smoothed scores, oldest first
  let historiesAt = 0;
  let topMints = [];

  function sparkline(values, lane) {
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("class", `spark lane-${lane ?? "cold"}`);
    svg.setAttribute("viewBox", "0 0 100 24");
    svg.setAttribute("preserveAspectRatio", "none");
    svg.dataset.testid = "token-sparkline";
    svg.dataset.points = String(values?.length ?? 0);
    if (!values || values.length < 2) {
      // Not scored twice yet (or not fetched yet): a faint dotted rule, not a flat score line.
      const rule = document.createElementNS(ns, "line");
      for (const [k, v] of Object.entries({ x1: 0, y1: 12, x2: 100, y2: 12, class: "spark-empty" }))
        rule.setAttribute(k, String(v));
      svg.append(rule);
      return svg;
    }
    const min = Math.min(...values);
    const max = Math.max(...values);
    const span = max - min || 1;
    const xy = values.map((v, i) => [(i / (values.length - 1)) * 100, 22 - ((v - min) / span) * 20]);
    const poly = document.createElementNS(ns, "polyline");
    poly.setAttribute("points", xy.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(" "));
    svg.append(poly);
    return svg;
  }

  const tokenHref = (mint) => `/ui/tokens/${encodeURIComponent(mint)}`;

  function renderTokens(list) {
    const body = byTestId("top-token-rows");
    if (list.items.length === 0) {
      body.replaceChildren(el("tr", { class: "empty" }, el("td", { colspan: 8 }, "No scored token yet.")));
      return;
    }
    const rows = list.items.map((t, i) =>
      el(
        "tr",
        {
          testid: "top-token",
          "data-mint": t.mint,
          tabindex: "0",
          onclick: () => (location.href = tokenHref(t.mint)),
        },
        el("td", { class: "num muted" }, i + 1),
        el("td", {}, el("a", { href: tokenHref(t.mint) }, t.symbol ?? t.name ?? "—")),
        el("td", { class: "mono", title: t.mint }, shortMint(t.mint)),
        el("td", {}, t.lane ? el("span", { class: `lane-badge lane-${t.lane}` }, t.lane) : t.status),
        el("td", {}, t.band ?? "–"),
        el("td", { class: "num", testid: "top-token-score" }, fmt(t.smoothedScore, 3)),
        el("td", {}, sparkline(histories.get(t.mint), t.lane)),
        el("td", { class: "num muted" }, t.stalenessSeconds === null ? "–" : `${fmt(t.stalenessSeconds)} s`),
      ),
    );
    body.replaceChildren(...rows);
  }

  /** At most every 10 s: one /tokens/:mint per top token, for its score history. */
  async function refreshHistories() {
    if (Date.now() - historiesAt < HISTORY_EVERY_MS || topMints.length === 0) return false;
    historiesAt = Date.now();
    const got = await Promise.allSettled(
      topMints.map(async (mint) => [mint, await getJson(`/tokens/${encodeURIComponent(mint)}`)]),
    );
    for (const r of got) {
      if (r.status !== "fulfilled") continue;
      const [mint, detail] = r.value;
      histories.set(
        mint,
        detail.history
          .map((h) => h.smoothedScore)
          .filter((v) => Number.isFinite(v))
          .reverse(),
      );
    }
    for (const mint of histories.keys()) if (!topMints.includes(mint)) histories.delete(mint);
    return true;
  }

  // ---------- the poll loop ----------

  let lastOkAt = 0;
  let lastTokens = null;

  function setConnection(ok, err) {
    const node = byTestId("connection");
    const banner = byTestId("reconnecting");
    document.body.classList.toggle("is-stale", !ok && lastOkAt > 0);
    if (ok) {
      node.dataset.state = "live";
      node.textContent = `live · updated ${new Date(lastOkAt).toLocaleTimeString()}`;
      banner.hidden = true;
      return;
    }
    node.dataset.state = "reconnecting";
    node.textContent = lastOkAt
      ? `reconnecting… last update ${ago(Date.now() - lastOkAt)} ago`
      : "reconnecting…";
    banner.hidden = false;
    setText(
      "reconnecting-detail",
      lastOkAt
        ? `the api is not answering (${err}); the figures below are from ${new Date(lastOkAt).toLocaleTimeString()}.`
        : `the api is not answering (${err}).`,
    );
    if (!lastOkAt) {
      const status = byTestId("status");
      status.textContent = "unknown";
      status.dataset.status = "unknown";
      status.className = "status status-unknown";
    }
  }

  async function poll() {
    let sched;
    try {
      const [s, system, tokens] = await Promise.all([
        getJson("/health/scheduler"),
        getJson("/health/system").catch(() => null),
        // min_score (the lowest the api accepts) leaves out tokens not scored yet.
        getJson(`/tokens?limit=${TOP_TOKENS}&sort=score_desc&min_score=-100`).catch(() => null),
      ]);
      sched = s;
      lastOkAt = Date.now();
      setConnection(true);
      record(sched, true);
      renderStatus(sched);
      renderKpis(sched);
      renderWorkers(sched, system);
      renderQueues(sched);
      renderUpstream(sched);
      renderDiscovery(sched);
      renderClasses(sched);
      if (tokens) {
        lastTokens = tokens;
        topMints = tokens.items.map((t) => t.mint);
        renderTokens(tokens);
      }
    } catch (err) {
      record(null, false);
      setConnection(
        false,
        err instanceof Error ? (err.name === "AbortError" ? "timed out" : err.message) : "error",
      );
      return;
    }
    await refreshFleetHistory().catch(() => undefined);
    // Histories change slowly; they are fetched after the figures so they never delay them.
    if (await refreshHistories().catch(() => false)) if (lastTokens) renderTokens(lastTokens);
  }

  async function loop() {
    for (;;) {
      const started = Date.now();
      await poll();
      await new Promise((r) => setTimeout(r, Math.max(200, POLL_MS - (Date.now() - started))));
    }
  }

  initCharts();
  setRange(range);
  void loop();
})();
