// One token's page: its score broken into weighted components (from the api, which takes them
// from the scoring package), history, pools, bot configs and the jobs that carried it.
/* global document, location, getComputedStyle, ResizeObserver, setTimeout, uPlot, mf */
"use strict";

(() => {
  const { el, byTestId, getJson, fmt, usd, pct, ago, when, copyButton, laneBadge, bandPill } = mf;
  const REFRESH_MS = 5_000;
  const mint = decodeURIComponent(location.pathname.split("/").pop() ?? "");
  const css = getComputedStyle(document.documentElement);
  const color = (name) => css.getPropertyValue(name).trim();

  const LABELS = {
    txAccel: ["Transaction acceleration", "(tx 5m / 5) / (tx 1h / 60), capped at 10"],
    volMomentum: [
      "Volume momentum",
      "volume 5m / (volume 1h / 12), boosted above $100k liquidity, capped at 15",
    ],
    freshness: ["Freshness", "(6 h - age) / 6 h, between 0 and 1"],
    orderflow: [
      "Order flow",
      "(buy - sell) / (buy + sell) volume, scaled below $500, halved when a few trades dominate",
    ],
  };

  function showError(message) {
    const box = byTestId("token-error");
    box.hidden = false;
    box.textContent = message;
  }

  function fact(dl, label, value, testid) {
    dl.append(el("dt", {}, label), el("dd", { testid }, value));
  }

  function renderHead(t) {
    byTestId("token-symbol").textContent = t.symbol ?? "unknown symbol";
    byTestId("token-name").textContent = t.name ?? "";
    byTestId("token-mint").textContent = t.mint;
    byTestId("mint-copy-slot").replaceChildren(copyButton(t.mint, "copy-mint"));
    byTestId("link-dexscreener").href = `https://dexscreener.com/solana/${encodeURIComponent(t.mint)}`;
    byTestId("link-solscan").href = `https://solscan.io/token/${encodeURIComponent(t.mint)}`;
    document.title = `moonfleet · ${t.symbol ?? t.mint.slice(0, 8)}`;

    const dl = byTestId("token-facts");
    dl.replaceChildren();
    fact(dl, "Status", el("span", {}, laneBadge(t.lane, t.status), ` ${t.status}`), "token-status");
    fact(dl, "Band", bandPill(t.band), "token-band");
    fact(dl, "Smoothed score", fmt(t.smoothedScore, 4), "token-score");
    fact(dl, "Raw score", fmt(t.score, 4), "token-raw-score");
    fact(
      dl,
      "Staleness",
      t.stalenessSeconds === null ? "never fetched" : `${fmt(t.stalenessSeconds)} s`,
      "token-staleness",
    );
    const dueIn = t.nextDueAt ? Date.parse(t.nextDueAt) - Date.now() : null;
    fact(
      dl,
      "Next due",
      t.nextDueAt ? (dueIn <= 0 ? `now (due ${ago(-dueIn)} ago)` : `in ${ago(dueIn)}`) : "not scheduled",
      "token-next-due",
    );
    fact(dl, "Fetched", when(t.fetchedAt), "token-fetched");
    fact(dl, "Created", when(t.createdAt));
    fact(dl, "Registered", when(t.registeredAt));
    fact(dl, "Active since", when(t.activeSince));
  }

  function renderBreakdown(b) {
    const body = byTestId("breakdown-rows");
    if (!b) {
      body.replaceChildren(el("tr", { class: "empty" }, el("td", { colspan: 6 }, "Not scored yet.")));
      byTestId("breakdown-total").replaceChildren();
      return;
    }
    body.replaceChildren(
      ...b.parts.map((p) =>
        el(
          "tr",
          { testid: "component", "data-name": p.name },
          el(
            "td",
            { title: LABELS[p.name]?.[1] },
            LABELS[p.name]?.[0] ?? p.name,
            el("span", { class: "muted mono" }, ` ${p.name}`),
          ),
          el("td", { class: "num" }, fmt(p.weight, 2)),
          el("td", { class: "num" }, fmt(p.raw, 4)),
          el(
            "td",
            { class: "num", testid: "component-raw-contribution", "data-value": p.rawContribution },
            fmt(p.rawContribution, 4),
          ),
          el("td", { class: "num" }, fmt(p.smoothed, 4)),
          el(
            "td",
            { class: "num", testid: "component-contribution", "data-value": p.smoothedContribution },
            fmt(p.smoothedContribution, 4),
          ),
        ),
      ),
    );
    byTestId("breakdown-total").replaceChildren(
      el(
        "tr",
        {},
        el("th", {}, "Score"),
        el("td", {}),
        el("td", {}),
        el("th", { class: "num", testid: "breakdown-raw-total" }, fmt(b.rawScore, 4)),
        el("td", {}),
        el("th", { class: "num", testid: "breakdown-total-value" }, fmt(b.smoothedScore, 4)),
      ),
    );
    const f = b.bandFloors;
    byTestId("band-floors").textContent =
      `Bands by smoothed score: bot-ready ≥ ${f["bot-ready"]}, watch ≥ ${f.watch}, low ≥ ${f.low}, none below. ` +
      `Smoothing: each component and the score are an EWMA (alpha 0.3) of their raw values, so the smoothed parts sum to the smoothed score.`;
  }

  function renderPools(t) {
    const pools = t.metrics?.pools ?? [];
    byTestId("pool-rows").replaceChildren(
      ...(pools.length
        ? pools.map((p) =>
            el(
              "tr",
              { testid: "pool-row" },
              el("td", {}, p.dexId),
              el("td", {}, p.poolType),
              el("td", {}, p.quote),
              el("td", { class: "num" }, usd(p.liquidityUsd)),
              el("td", { class: "mono", title: p.address }, p.address),
            ),
          )
        : [
            el("tr", { class: "empty" }, el("td", { colspan: 5 }, "No relevant pool in the latest refresh.")),
          ]),
    );
    const m = t.metrics;
    const dl = byTestId("market-facts");
    dl.replaceChildren();
    if (!m) return;
    fact(dl, "Liquidity", usd(m.liquidityUsd));
    fact(dl, "Transactions 5 min · 1 h", `${m.tx5m} · ${m.tx1h}`);
    fact(dl, "Volume 5 min · 1 h", `${usd(m.volume5m)} · ${usd(m.volume1h)}`);
    fact(dl, "Price change 5 min · 1 h", `${pct(m.priceChange5m)} · ${pct(m.priceChange1h)}`);
    fact(dl, "Buys · sells 5 min", `${m.buys5m} · ${m.sells5m}`);
  }

  function renderHistory(history) {
    const list = byTestId("status-history");
    // Oldest first; one entry per change of status (the lane follows the status).
    const changes = [];
    for (const h of [...history].reverse())
      if (changes.length === 0 || changes.at(-1).status !== h.status) changes.push(h);
    list.replaceChildren(
      ...changes
        .reverse()
        .map((h) =>
          el(
            "li",
            { testid: "status-change" },
            el("strong", {}, h.status),
            " ",
            h.lane ? laneBadge(h.lane, h.status) : el("span", { class: "muted" }, "no lane"),
            el("span", { class: "muted" }, ` since ${when(h.t)}`),
          ),
        ),
    );
    if (changes.length === 0) list.replaceChildren(el("li", { class: "muted" }, "Not refreshed yet."));
    byTestId("history-count").textContent = `· last ${history.length} refreshes`;
    drawChart(history);
  }

  let chart = null;
  function drawChart(history) {
    const host = byTestId("score-chart");
    if (typeof uPlot === "undefined") return;
    const points = [...history].reverse().filter((h) => h.t);
    const data = [
      points.map((h) => Date.parse(h.t) / 1000),
      points.map((h) => h.score),
      points.map((h) => h.smoothedScore),
    ];
    if (!chart) {
      chart = new uPlot(
        {
          width: Math.max(200, host.clientWidth),
          height: 220,
          legend: { live: false },
          cursor: { drag: { x: false, y: false } },
          axes: [
            { stroke: color("--muted"), grid: { stroke: color("--grid") } },
            { stroke: color("--muted"), grid: { stroke: color("--grid") }, size: 44 },
          ],
          series: [
            {},
            { label: "raw", stroke: color("--muted"), width: 1, dash: [4, 4] },
            { label: "smoothed", stroke: color("--hot"), width: 2 },
          ],
        },
        data,
        host,
      );
      new ResizeObserver(() =>
        chart.setSize({ width: Math.max(200, host.clientWidth), height: 220 }),
      ).observe(host);
    } else chart.setData(data);
  }

  function renderConfigs(c, err) {
    const state = byTestId("configs-state");
    if (!c) {
      state.textContent = err?.status === 404 ? "· not scored yet" : `· ${err?.message ?? "unavailable"}`;
      return;
    }
    state.textContent = c.selected
      ? "· exported now"
      : c.routable
        ? "· not exported now; what it would be"
        : "· fewer than two tradable pools: not routable";
    byTestId("smb-block").textContent = c.smbToml;
    byTestId("notarb-block").textContent = c.notArbLine;
    byTestId("smb-copy-slot").replaceChildren(copyButton(c.smbToml, "copy-smb"));
    byTestId("notarb-copy-slot").replaceChildren(copyButton(c.notArbLine, "copy-notarb"));
  }

  function renderJobs(jobs) {
    byTestId("job-rows").replaceChildren(
      ...(jobs.length
        ? jobs.map((j, i) =>
            el(
              "tr",
              { testid: "job-row", class: i === 0 ? "latest" : undefined },
              el("td", {}, el("a", { href: j.url, testid: "job-link" }, `#${j.id} ${j.name}`)),
              el("td", {}, j.queue),
              el("td", {}, j.state),
              el("td", { class: "num" }, j.mints),
              el("td", {}, when(j.enqueuedAt)),
              el("td", {}, when(j.finishedAt)),
            ),
          )
        : [
            el(
              "tr",
              { class: "empty" },
              el(
                "td",
                { colspan: 6 },
                "No kept job carries this mint (BullMQ keeps completed jobs for an hour).",
              ),
            ),
          ]),
    );
  }

  const JOBS_EVERY_MS = 30_000;
  let configsShown = false;
  let jobsAt = 0;
  async function load() {
    let t;
    try {
      t = await getJson(`/tokens/${encodeURIComponent(mint)}`);
    } catch (err) {
      showError(
        err.status === 404
          ? `No registered token has the mint ${mint}.`
          : `Could not load the token: ${err.message}`,
      );
      return;
    }
    byTestId("token-error").hidden = true;
    renderHead(t);
    renderBreakdown(t.breakdown);
    renderPools(t);
    renderHistory(t.history);
    // Finding the jobs reads the queues' kept jobs: not on every refresh.
    const jobsDue = Date.now() - jobsAt >= JOBS_EVERY_MS;
    if (jobsDue) jobsAt = Date.now();
    const [configs, jobs] = await Promise.allSettled([
      getJson(`/tokens/${encodeURIComponent(mint)}/pool-configs`),
      jobsDue ? getJson(`/tokens/${encodeURIComponent(mint)}/jobs`) : Promise.reject(new Error("not due")),
    ]);
    // The copy buttons are not redrawn under a reader's cursor once shown.
    if (!configsShown || configs.status !== "fulfilled")
      renderConfigs(configs.status === "fulfilled" ? configs.value : null, configs.reason);
    configsShown = configs.status === "fulfilled";
    if (jobs.status === "fulfilled") renderJobs(jobs.value.jobs);
    setTimeout(() => void load(), REFRESH_MS);
  }

  void load();
})();
