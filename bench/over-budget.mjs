// The `over-budget` benchmark: how wrong are the scores moonfleet serves when the budget binds?
//
//   npm run bench:over-budget                                  20 minutes per mode, lanes then value
//   npm run bench:over-budget -- --minutes 5 --warmup 60 --modes value
//   node bench/over-budget.mjs --report                         the newest run's table, and its chart again
//
// 10,000 simulator tokens (5% with an active market, the rest quiet monitoring ones), the real
// API's limits (300/min upstream, budget 240/min), 2 workers, the api (its exporter leader makes
// the exports). For each mode (SCHEDULING=lanes, SCHEDULING=value) a fresh Redis and fleet on the
// same tokens; after the warm-up, every second it reads what the fleet serves (the snapshots
// GET /tokens serves, the export document the bots load) for a sample: every exported token, the
// top 50 by true score, 200 fixed active and 200 fixed monitoring tokens; asks the simulator for the
// true pairs of each (POST /admin/truth) and scores them with @moonfleet/scoring, as a fetch right
// now would. Every 10 s it scores the whole registry's truth to find the top 50. Reports per class
// the mean and p95 of |served raw score - true raw score| and the staleness, false exports (an
// exported token whose true score is below the exit threshold, token-seconds), missed entries (a
// token in the true top EXPORT_TOP_N at or above the entry threshold but not exported,
// token-seconds, with why each was missed and the token's rank by smoothed score among the active
// ones), the budget use, 429s and lost jobs. Writes bench/results/over-budget-<ts>.json
// and bench/results/over-budget.svg (served-score error p95 over time, both modes).

import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { exportEntryMaxAgeMs } from "../apps/api/dist/export-bodies.js";
import { freePort } from "../apps/launcher/dist/free-port.js";
import { startRedisServer } from "../apps/launcher/dist/redis-server.js";
import { resolveConfig } from "../packages/config/dist/index.js";
import { LANES, redisKeys } from "../packages/domain/dist/index.js";
import { parseExportDocument } from "../packages/exports/dist/index.js";
import { createRedis, openLaneQueues } from "../packages/queues/dist/index.js";
import { evaluateToken, pairsSchema } from "../packages/scoring/dist/index.js";
import { EVENTS } from "../packages/telemetry/dist/index.js";
import { TokenStore } from "../packages/store/dist/index.js";
import { Fleet, ROOT, appMain, baseEnv, log, patchSimulator, waitFor } from "./lib/processes.mjs";
import { DEX_SIM, mixedMints } from "./scenarios.mjs";

const { fetch, AbortSignal } = globalThis;
const { values: args } = parseArgs({
  options: {
    minutes: { type: "string", default: "20" },
    warmup: { type: "string", default: "90" },
    modes: { type: "string", default: "lanes,value" },
    tokens: { type: "string", default: "10000" },
    "hot-share": { type: "string", default: "0.05" },
    // the share of calls the simulator hangs (DEX_SIM's 0.3% by default): more of them tries the
    // exported guarantee against hung calls in a shorter run
    "hang-rate": { type: "string" },
    report: { type: "boolean", default: false },
  },
});
const MEASURE_S = Math.round(Number(args.minutes) * 60);
const WARMUP_S = Number(args.warmup);
const MODES = args.modes.split(",");
const TOKENS = Number(args.tokens);
const HOT_SHARE = Number(args["hot-share"]);
const SAMPLE_PER_STATUS = 200;
const TOP = 50;
const BUCKET_S = 30;
/** Rank buckets (0-based, by smoothed score among the active tokens) of the missed entries. */
const RANK_EDGES = [0, 3, 6, 10, 20, 50, 100];
/** Age buckets (s) of the top 50's served snapshots for their error by age. */
const AGE_EDGES = [0, 5, 10, 20, 40, 80];
const OUT_DIR = join(ROOT, "bench", "results");
const PREFIX = "ob";
const keys = redisKeys(PREFIX);
// The dexscreener scenario's upstream: ~250 ms median with a tail, 1% 5xx, 300/min.
const SIM = args["hang-rate"] === undefined ? DEX_SIM : { ...DEX_SIM, hangRate: Number(args["hang-rate"]) };

const pct = (xs, q) => {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(s.length * q) - 1))];
};
const mean = (xs) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);
const r3 = (v) => (v === null ? null : Math.round(v * 1000) / 1000);
const r1 = (v) => (v === null ? null : Math.round(v * 10) / 10);

async function postJson(url, body) {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(20_000),
  });
  if (!res.ok) throw new Error(`POST ${url}: HTTP ${res.status}`);
  return res.json();
}

/** True raw scores of `mints` now, as moonfleet's scoring would compute them from a fetch now. */
async function trueScores(simUrl, mints, status, createdAt, cfg) {
  const out = new Map();
  for (let i = 0; i < mints.length; i += 10_000) {
    const chunk = mints.slice(i, i + 10_000);
    const truth = await postJson(`${simUrl}/admin/truth`, { mints: chunk });
    const now = Date.now();
    for (const mint of chunk) {
      const parsed = pairsSchema.safeParse(truth.pairs[mint] ?? []);
      const e = evaluateToken({
        mint,
        status: status.get(mint) ?? "monitoring",
        createdAt,
        lastGoodScoreAt: null,
        activeSince: null,
        pairs: parsed.success ? parsed.data : [],
        previous: null,
        now,
        liquidityThresholdUsd: cfg.activationLiquidityUsd,
      });
      out.set(mint, e.raw.score);
    }
  }
  return out;
}

async function runMode(mode, mints) {
  const tmp = mkdtempSync(join(tmpdir(), "mf-over-budget-"));
  // the fleet's warnings by event, and when its breakers changed state (what a stale stretch of
  // the exports can be told apart by: a breaker open stops every call of its worker)
  const events = { counts: {}, breaker: [] };
  // the workers' hedged calls (their throughput summaries, at info): when told, sent, won
  const hedgeLines = [];
  const t0 = Date.now();
  const fleet = new Fleet((label, line) => {
    if (typeof line.event !== "string") return;
    if (line.event === EVENTS.tokensPerSecond)
      hedgeLines.push({
        at: Date.now(),
        sent: (line.hot?.hedges ?? 0) + (line.cold?.hedges ?? 0),
        won: (line.hot?.hedgesWon ?? 0) + (line.cold?.hedgesWon ?? 0),
      });
    // pino's warn is 40: the workers log at info for their summaries, the counts are of warnings
    if (typeof line.level === "number" && line.level < 40) return;
    events.counts[line.event] = (events.counts[line.event] ?? 0) + 1;
    if (line.event === EVENTS.circuitBreaker && events.breaker.length < 200)
      events.breaker.push({
        t: Math.round((Date.now() - t0) / 1000),
        worker: label,
        to: line.to,
      });
  });
  let redis = null;
  let redisServer = null;
  log(`over-budget / ${mode}: ${mints.length} tokens, warmup ${WARMUP_S} s, measure ${MEASURE_S} s`);
  try {
    // at the nice npm start gives its own (REDIS_SERVER_NICE)
    redisServer = await startRedisServer({
      dir: join(tmp, "redis"),
      nice: resolveConfig(baseEnv).config.redisServerNice,
    });
    const simPort = await freePort();
    const simUrl = `http://127.0.0.1:${simPort}`;
    const env = {
      ...baseEnv,
      REDIS_URL: redisServer.url,
      UPSTREAM_URL: simUrl,
      REDIS_KEY_PREFIX: PREFIX,
      LOG_LEVEL: "warn",
      SCHEDULING: mode,
      UPSTREAM_RPM: "240",
    };
    const cfg = resolveConfig(env).config;
    const entryMaxAgeS = exportEntryMaxAgeMs(cfg) / 1000;
    fleet.start(
      "simulator",
      [appMain("simulator")],
      { ...env, SIMULATOR_PORT: String(simPort) },
      { role: "upstream" },
    );
    await waitFor(`${simUrl}/livez`, "the simulator");
    await patchSimulator(simUrl, SIM);
    redis = createRedis(redisServer.url, { name: "bench" });
    const store = new TokenStore(redis, PREFIX);
    const createdAt = Date.now();
    for (let i = 0; i < mints.length; i += 5_000)
      await store.register(
        mints.slice(i, i + 5_000).map((mint) => ({ mint })),
        createdAt,
      );
    const apiPort = await freePort();
    fleet.start("api", [appMain("api")], {
      ...env,
      API_PORT: String(apiPort),
      API_HOST: "127.0.0.1",
      ADMIN_TOKEN: randomBytes(18).toString("base64url"),
    });
    await waitFor(`http://127.0.0.1:${apiPort}/livez`, "the api");
    fleet.start("producer", [appMain("producer")], env);
    for (let i = 1; i <= 2; i++) fleet.start(`w${i}`, [appMain("worker")], { ...env, LOG_LEVEL: "info" });

    // Fixed samples of each status, chosen once the first pass has sorted tokens into lanes.
    const warmEnd = Date.now() + WARMUP_S * 1000;
    while (Date.now() < warmEnd) {
      fleet.assertAlive();
      await sleep(1_000);
    }
    const active = await redis.zrange(keys.byScore("active"), 0, -1);
    const monitoring = await redis.zrange(keys.byScore("monitoring"), 0, -1);
    const pick = (xs, n) => xs.filter((_, i) => i % Math.max(1, Math.floor(xs.length / n)) === 0).slice(0, n);
    const fixed = {
      active: pick(active, SAMPLE_PER_STATUS),
      monitoring: pick(monitoring, SAMPLE_PER_STATUS),
    };
    log(`${mode}: ${active.length} active, ${monitoring.length} monitoring after the warm-up`);

    const statsAt = async () => await (await fetch(`${simUrl}/admin/stats`)).json();
    const simStart = await statsAt();
    const failedStart = await failedJobs(redis);
    const classes = ["exported", "top50", "active", "monitoring"];
    const err = Object.fromEntries(classes.map((c) => [c, []]));
    const stale = Object.fromEntries(classes.map((c) => [c, []]));
    const series = [];
    const emptyBucket = () => ({ exported: [], top50: [], hotMax: 0, coldMax: 0, coldLateMs: 0 });
    let bucket = emptyBucket();
    let falseExports = 0;
    let exportedSeconds = 0;
    let missedEntries = 0;
    // why each missed token-second was missed, from the snapshot served: "unseen" (its last fetch
    // scored it below the entry threshold: the rise is not fetched yet), "smoothing" (fetched above
    // it, the smoothed score not yet: more fetches needed), "stale" (smoothed above it on a snapshot
    // older than value lets a token enter on: held at the door, or ranked on old figures), "fresh"
    // (smoothed above it on a newer one: the slots are taken, members out of the top keep theirs
    // for EXPORT_MIN_HOLD_S); with the summed snapshot age of each
    const missedRanks = RANK_EDGES.map(() => 0);
    const missedWhy = Object.fromEntries(
      ["unseen", "smoothing", "stale", "fresh"].map((k) => [k, { tokenSeconds: 0, ageSum: 0 }]),
    );
    // the top 50's error by the age of what is served: does a fresher snapshot serve a truer score?
    const byAge = AGE_EDGES.map(() => []);
    let maxStale = { hot: 0, cold: 0, exported: 0 };
    let worstExported = null;
    let overGuarantee = 0;
    // each such reading (the first 100): when, which token, how old its snapshot was as it entered
    // the exports (a negative age: fetched since the entry) and how long it had been exported
    const overReadings = [];
    let top = [];
    let status = new Map();
    const started = Date.now();
    let lastTop = 0;
    for (let s = 0; Date.now() - started < MEASURE_S * 1000; s++) {
      const tickStart = Date.now();
      fleet.assertAlive();
      if (tickStart - lastTop >= 10_000) {
        lastTop = tickStart;
        const snaps = await redis.mget(...mints.map((m) => keys.snapshot(m)));
        status = new Map(mints.map((m, i) => [m, snaps[i] ? JSON.parse(snaps[i]).status : "monitoring"]));
        const all = await trueScores(simUrl, mints, status, createdAt, cfg);
        top = [...all]
          .filter(([m]) => status.get(m) !== "archived")
          .sort((a, b) => b[1] - a[1])
          .slice(0, TOP)
          .map(([m]) => m);
      }
      const doc = parseExportDocument(await redis.get(keys.exportDocument));
      const exported = new Set((doc?.members ?? []).map((m) => m.mint));
      const cls = new Map();
      for (const m of exported) cls.set(m, "exported");
      for (const m of top) if (!cls.has(m)) cls.set(m, "top50");
      for (const m of fixed.active) if (!cls.has(m)) cls.set(m, "active");
      for (const m of fixed.monitoring) if (!cls.has(m)) cls.set(m, "monitoring");
      const sample = [...cls.keys()];
      const snaps = (await redis.mget(...sample.map((m) => keys.snapshot(m)))).map((x) =>
        x ? JSON.parse(x) : null,
      );
      // staleness as served: at the read, not after the truth request below
      const readAt = Date.now();
      let newWorst = false;
      const truth = await trueScores(
        simUrl,
        sample,
        new Map(sample.map((m, i) => [m, snaps[i]?.status])),
        createdAt,
        cfg,
      );
      const now = Date.now();
      sample.forEach((m, i) => {
        const snap = snaps[i];
        const c = cls.get(m);
        const t = truth.get(m);
        if (!snap || t === undefined) return;
        const e = Math.abs(snap.score - t);
        const age = (readAt - snap.fetchedAt) / 1000;
        err[c].push(e);
        stale[c].push(age);
        if (c === "exported" || c === "top50") bucket[c].push(e);
        if (c === "top50") byAge[AGE_EDGES.findLastIndex((edge) => age >= edge)].push(e);
        if (c === "exported") {
          exportedSeconds++;
          if (age > maxStale.exported) {
            // the stalest exported reading, with what tells its causes apart: how long the token
            // had been exported, and how many calls the simulator had hung by then
            const since = doc?.members.find((x) => x.mint === m)?.since ?? null;
            worstExported = {
              t: Math.round((readAt - started) / 1000),
              mint: m,
              ageS: r1(age),
              exportedForS: since === null ? null : r1((readAt - since) / 1000),
              fetchedAt: snap.fetchedAt,
              hungBefore: null,
            };
            newWorst = true;
          }
          maxStale.exported = Math.max(maxStale.exported, age);
          if (age > cfg.exportRefreshS) {
            overGuarantee++;
            const since = doc?.members.find((x) => x.mint === m)?.since ?? null;
            if (overReadings.length < 100)
              overReadings.push({
                t: Math.round((readAt - started) / 1000),
                mint: m,
                ageS: r1(age),
                exportedForS: since === null ? null : r1((readAt - since) / 1000),
                ageAtEntryS: since === null ? null : r1((since - snap.fetchedAt) / 1000),
              });
          }
          if (t < cfg.exportExitScore) falseExports++;
        }
      });
      if (newWorst) worstExported.hungBefore = (await statsAt()).hung - simStart.hung;
      // missed entries: in the true top N at or above the entry threshold, active, not exported
      const trueTopN = top
        .filter((m) => status.get(m) === "active")
        .slice(0, cfg.exportTopN)
        .filter((m) => (truth.get(m) ?? -1) >= cfg.exportMinScore);
      const missed = trueTopN.filter((m) => !exported.has(m));
      missedEntries += missed.length;
      const snapOf = new Map(sample.map((m, i) => [m, snaps[i]]));
      if (missed.length > 0) {
        // its rank by smoothed score among the active tokens (exported ones included), as the
        // exporter ranks them
        const p = redis.pipeline();
        for (const m of missed) p.zrevrank(keys.byScore("active"), m);
        for (const [, rank] of await p.exec()) {
          const edge = RANK_EDGES.findLastIndex((e) => (rank ?? Infinity) >= e);
          missedRanks[edge]++;
        }
      }
      for (const m of missed) {
        const snap = snapOf.get(m);
        if (!snap) continue;
        const age = (readAt - snap.fetchedAt) / 1000;
        const why =
          snap.score < cfg.exportMinScore
            ? "unseen"
            : snap.smoothedScore < cfg.exportMinScore
              ? "smoothing"
              : age > entryMaxAgeS
                ? "stale"
                : "fresh";
        missedWhy[why].tokenSeconds++;
        missedWhy[why].ageSum += age;
      }
      for (const lane of LANES) {
        const st = await store.staleness(lane === "hot" ? "active" : "monitoring", now);
        if (st.max === null) continue;
        maxStale[lane] = Math.max(maxStale[lane], st.max);
        bucket[`${lane}Max`] = Math.max(bucket[`${lane}Max`], st.max);
      }
      // how far past its deadline the cold lane's oldest unclaimed token is (the claim's input)
      const view = await store.scheduleView(now, 0);
      bucket.coldLateMs = Math.max(bucket.coldLateMs, view.lanes.cold.deadlineLatenessMs);
      if ((s + 1) % BUCKET_S === 0) {
        series.push({
          t: Math.round((now - started) / 1000),
          exported: r3(pct(bucket.exported, 0.95)),
          top50: r3(pct(bucket.top50, 0.95)),
          // the bucket's largest staleness per lane and cold deadline lateness, s
          hotMax: r1(bucket.hotMax),
          coldMax: r1(bucket.coldMax),
          coldLate: r1(bucket.coldLateMs / 1000),
        });
        bucket = emptyBucket();
      }
      const wait = 1_000 - (Date.now() - tickStart);
      if (wait > 0) await sleep(wait);
    }
    const elapsedS = (Date.now() - started) / 1000;
    const simEnd = await statsAt();
    const calls = simEnd.requests - simStart.requests;
    const rateLimited = simEnd.rateLimited - simStart.rateLimited;
    const failedEnd = await failedJobs(redis);
    const result = {
      mode,
      tokens: mints.length,
      measuredS: Math.round(elapsedS),
      warmupS: WARMUP_S,
      classes: Object.fromEntries(
        classes.map((c) => [
          c,
          {
            samples: err[c].length,
            errorMean: r3(mean(err[c])),
            errorP95: r3(pct(err[c], 0.95)),
            stalenessP50: r1(pct(stale[c], 0.5)),
            stalenessP95: r1(pct(stale[c], 0.95)),
            stalenessMax: r1(stale[c].length ? stale[c].reduce((a, b) => Math.max(a, b), 0) : null),
          },
        ]),
      ),
      top50ErrorByAge: AGE_EDGES.map((edge, i) => ({
        fromS: edge,
        toS: AGE_EDGES[i + 1] ?? null,
        samples: byAge[i].length,
        errorMean: r3(mean(byAge[i])),
        errorP95: r3(pct(byAge[i], 0.95)),
      })),
      falseExports,
      exportedTokenSeconds: exportedSeconds,
      missedEntries,
      missedWhy: Object.fromEntries(
        Object.entries(missedWhy).map(([k, v]) => [
          k,
          { tokenSeconds: v.tokenSeconds, meanAgeS: v.tokenSeconds ? r1(v.ageSum / v.tokenSeconds) : null },
        ]),
      ),
      // missed token-seconds by the token's rank among the active ones by smoothed score
      missedByRank: RANK_EDGES.map((from, i) => ({
        from,
        to: RANK_EDGES[i + 1] ?? null,
        tokenSeconds: missedRanks[i],
      })),
      maxStalenessS: { hot: r1(maxStale.hot), cold: r1(maxStale.cold), exported: r1(maxStale.exported) },
      worstExported,
      // exported readings staler than EXPORT_REFRESH_S (token-seconds)
      exportedOverGuarantee: overGuarantee,
      exportedOverGuaranteeReadings: overReadings,
      // seconds from the mode's start (the window opens after the warm-up)
      events: { ...events, windowStartS: Math.round((started - t0) / 1000) },
      hungCalls: simEnd.hung - simStart.hung,
      // hedged calls beside slow calls carrying an exported token (UPSTREAM_HEDGE_EXPORTED), and
      // how many answered first, from the workers' summaries told within the window
      hedges: hedgeLines
        .filter((h) => h.at > started)
        .reduce((a, h) => ({ sent: a.sent + h.sent, won: a.won + h.won }), { sent: 0, won: 0 }),
      guaranteeS: {
        hot: cfg.maxStalenessFactor * cfg.cacheTtlHot,
        cold: cfg.maxStalenessFactor * cfg.cacheTtlCold,
        exported: cfg.exportRefreshS,
      },
      upstreamCallsPerMin: Math.round((calls / elapsedS) * 60),
      // How full the calls were (30 at most) and how many were /token-pairs fallbacks (one mint each).
      mintsPerCall: r1((simEnd.mintsRequested - simStart.mintsRequested) / Math.max(1, calls)),
      fallbackCalls: (simEnd.byEndpoint?.tokenPairs ?? 0) - (simStart.byEndpoint?.tokenPairs ?? 0),
      budgetUse: r3(calls / elapsedS / (cfg.upstreamRpm / 60)),
      rateLimited,
      lostJobs: failedEnd - failedStart,
      series,
    };
    return result;
  } finally {
    await fleet.stopWhere(() => true, 8_000).catch(() => undefined);
    await redis?.quit().catch(() => undefined);
    await redisServer?.stop().catch(() => undefined);
    rmSync(tmp, { recursive: true, force: true });
  }
}

async function failedJobs(redis) {
  const queues = openLaneQueues(redis, PREFIX);
  let n = 0;
  for (const lane of LANES) n += (await queues[lane].getJobCounts("failed")).failed ?? 0;
  await Promise.all(LANES.map((l) => queues[l].close()));
  return n;
}

function chart(results) {
  const W = 760;
  const H = 300;
  const pad = { l: 50, r: 150, t: 30, b: 36 };
  const lines = [];
  const colours = { lanes: "#c0392b", value: "#2471a3" };
  let maxT = 1;
  let maxV = 0.01;
  for (const r of results)
    for (const p of r.series) {
      maxT = Math.max(maxT, p.t);
      maxV = Math.max(maxV, p.exported ?? 0, p.top50 ?? 0);
    }
  const x = (t) => pad.l + (t / maxT) * (W - pad.l - pad.r);
  const y = (v) => H - pad.b - (v / maxV) * (H - pad.t - pad.b);
  for (const r of results)
    for (const [key, dash] of [
      ["exported", ""],
      ["top50", "5,3"],
    ]) {
      const pts = r.series
        .filter((p) => p[key] !== null)
        .map((p) => `${x(p.t).toFixed(1)},${y(p[key]).toFixed(1)}`);
      if (pts.length > 1)
        lines.push(
          `<polyline fill="none" stroke="${colours[r.mode] ?? "#555"}" stroke-width="1.6" stroke-dasharray="${dash}" points="${pts.join(" ")}"/>`,
        );
    }
  const legend = results
    .flatMap((r, i) => [
      `<line x1="${W - pad.r + 10}" y1="${pad.t + 10 + i * 36}" x2="${W - pad.r + 34}" y2="${pad.t + 10 + i * 36}" stroke="${colours[r.mode] ?? "#555"}" stroke-width="2"/>`,
      `<text x="${W - pad.r + 40}" y="${pad.t + 14 + i * 36}">${r.mode} exported</text>`,
      `<line x1="${W - pad.r + 10}" y1="${pad.t + 26 + i * 36}" x2="${W - pad.r + 34}" y2="${pad.t + 26 + i * 36}" stroke="${colours[r.mode] ?? "#555"}" stroke-width="2" stroke-dasharray="5,3"/>`,
      `<text x="${W - pad.r + 40}" y="${pad.t + 30 + i * 36}">${r.mode} top 50</text>`,
    ])
    .join("\n");
  const ticks = [0, 0.25, 0.5, 0.75, 1]
    .map(
      (f) =>
        `<text x="${pad.l - 6}" y="${y(f * maxV) + 4}" text-anchor="end">${(f * maxV).toFixed(2)}</text><line x1="${pad.l}" x2="${W - pad.r}" y1="${y(f * maxV)}" y2="${y(f * maxV)}" stroke="#eee"/>`,
    )
    .join("\n");
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">
<rect width="100%" height="100%" fill="#fff"/>
<text x="${pad.l}" y="18" font-size="13">over-budget: served-score error p95 per ${BUCKET_S} s, |served raw - true raw|</text>
${ticks}
<line x1="${pad.l}" x2="${W - pad.r}" y1="${H - pad.b}" y2="${H - pad.b}" stroke="#999"/>
<text x="${(pad.l + W - pad.r) / 2}" y="${H - 8}" text-anchor="middle">seconds into the measured window (0-${maxT})</text>
${lines.join("\n")}
${legend}
</svg>
`;
}

/** The markdown table of a run's results (the README's). */
export function table(results) {
  const rows = [
    "| mode | class | served-score error mean / p95 | staleness p50 / p95 / max s |",
    "| --- | --- | --- | --- |",
  ];
  for (const r of results)
    for (const [c, v] of Object.entries(r.classes))
      rows.push(
        `| ${r.mode} | ${c} | ${v.errorMean} / ${v.errorP95} | ${v.stalenessP50} / ${v.stalenessP95} / ${v.stalenessMax} |`,
      );
  rows.push("");
  rows.push(
    "| mode | false exports (token-s of exported time) | missed entries (token-s) | largest staleness hot / cold / exported s (guarantee) | upstream/min (budget use) | 429 | lost jobs |",
  );
  rows.push("| --- | --- | --- | --- | --- | --- | --- |");
  for (const r of results)
    rows.push(
      `| ${r.mode} | ${r.falseExports} (${r.exportedTokenSeconds}) | ${r.missedEntries} | ${r.maxStalenessS.hot} / ${r.maxStalenessS.cold} / ${r.maxStalenessS.exported} (${r.guaranteeS.hot} / ${r.guaranteeS.cold} / ${r.guaranteeS.exported}) | ${r.upstreamCallsPerMin} (${Math.round(r.budgetUse * 1000) / 10} %) | ${r.rateLimited} | ${r.lostJobs} |`,
    );
  // (- : a run from before the field was recorded)
  const or = (v) => (v === undefined || v === null ? "-" : v);
  rows.push("");
  rows.push("| mode | exported readings over the guarantee (token-s) | hung calls | hedges sent / won |");
  rows.push("| --- | --- | --- | --- |");
  for (const r of results)
    rows.push(
      `| ${r.mode} | ${or(r.exportedOverGuarantee)} | ${or(r.hungCalls)} | ${r.hedges ? `${r.hedges.sent} / ${r.hedges.won}` : "-"} |`,
    );
  const why = results.filter((r) => r.missedWhy && r.missedByRank);
  if (why.length > 0) {
    const kinds = Object.keys(why[0].missedWhy);
    const ranks = why[0].missedByRank;
    rows.push("");
    rows.push(
      `| mode | missed entries (token-s, mean snapshot age s) by why: ${kinds.join(" | ")} | by rank by smoothed score among the active: ${ranks.map((b) => `${b.from}-${b.to ?? ""}`).join(" | ")} |`,
    );
    rows.push(`| --- | ${kinds.map(() => "---").join(" | ")} | ${ranks.map(() => "---").join(" | ")} |`);
    for (const r of why)
      rows.push(
        `| ${r.mode} | ${kinds.map((k) => `${r.missedWhy[k].tokenSeconds} (${or(r.missedWhy[k].meanAgeS)})`).join(" | ")} | ${r.missedByRank.map((b) => b.tokenSeconds).join(" | ")} |`,
      );
  }
  const ages = results.find((r) => r.top50ErrorByAge)?.top50ErrorByAge;
  if (ages) {
    rows.push("");
    rows.push(
      `| mode | top 50 error mean / p95 (samples) by age of the served snapshot: ${ages.map((a) => `${a.fromS}-${a.toS ?? ""} s`).join(" | ")} |`,
    );
    rows.push(`| --- | ${ages.map(() => "---").join(" | ")} |`);
    for (const r of results.filter((x) => x.top50ErrorByAge))
      rows.push(
        `| ${r.mode} | ${r.top50ErrorByAge.map((a) => `${a.errorMean} / ${a.errorP95} (${a.samples})`).join(" | ")} |`,
      );
  }
  return rows.join("\n");
}

if (args.report) {
  const files = readdirSync(OUT_DIR)
    .filter((f) => /^over-budget-.*\.json$/.test(f))
    .sort();
  const newest = files.at(-1);
  if (!newest) {
    process.stderr.write("bench:over-budget: no results in bench/results yet\n");
    process.exit(1);
  }
  const { results } = JSON.parse(readFileSync(join(OUT_DIR, newest), "utf8"));
  // the chart again too, of the newest run (a checkout may have put back an older one)
  writeFileSync(join(OUT_DIR, "over-budget.svg"), chart(results));
  process.stdout.write(`${newest}\n\n${table(results)}\n`);
  process.exit(0);
}

const mints = mixedMints(TOKENS, HOT_SHARE);
const results = [];
for (const mode of MODES) results.push(await runMode(mode, mints));
mkdirSync(OUT_DIR, { recursive: true });
const stamp = new Date().toISOString().replace(/[:.]/g, "-");
writeFileSync(
  join(OUT_DIR, `over-budget-${stamp}.json`),
  `${JSON.stringify({ at: new Date().toISOString(), results }, null, 2)}\n`,
);
writeFileSync(join(OUT_DIR, "over-budget.svg"), chart(results));
for (const r of results) process.stdout.write(`${JSON.stringify({ ...r, series: undefined })}\n`);
process.stdout.write(`\n${table(results)}\n`);
process.exit(0);
