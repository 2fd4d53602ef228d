// The per-second series of one cell and its summary over a time window.
//
// Every second: each worker's heartbeat (load level, event-loop delay, and per lane its
// concurrency, timeout and running totals of tokens, calls, timeouts, errors and 429s), the
// queues' waiting jobs and due tokens, the simulator's request counters, and the staleness of
// each lane: a random sample of 200 tokens per lane (ZRANDMEMBER on the updated index, whose
// score is the token's fetchedAt) pooled over the window for p50/p95, and the exact maximum (the
// oldest entry). A token that was never scored counts as stale since its registration, so a mode
// that never reaches part of the registry is not flattered by leaving it out.

import { LANE_STATUS } from "../../packages/domain/dist/index.js";
import { getJson } from "./processes.mjs";

export const LANES = ["hot", "cold"];
/** The store's status behind each lane: hot holds active tokens, cold monitoring ones. */
const STALE_SAMPLE = 200;
const LANE_TOTALS = ["tokens", "failedTokens", "jobs", "calls", "timeouts", "errors", "rateLimited"];

export function percentile(values, p) {
  if (values.length === 0) return null;
  const s = Float64Array.from(values).sort();
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
}
const r1 = (v) => (typeof v === "number" && Number.isFinite(v) ? Math.round(v * 10) / 10 : null);
const r3 = (v) => (typeof v === "number" && Number.isFinite(v) ? Math.round(v * 1000) / 1000 : null);

export class Recorder {
  /**
   * @param {object} o
   * @param {import("ioredis").Redis} o.redis
   * @param {import("../../packages/store/dist/index.js").TokenStore} o.store
   */
  constructor({ redis, store, prefix, simUrl, registeredAt, labelOfPid, t0 }) {
    Object.assign(this, { redis, store, simUrl, registeredAt, labelOfPid, t0 });
    this.root = `{${prefix}}`;
    this.rows = [];
    this.phase = "warmup";
    this.lastSim = null;
    /** Workers that publish no heartbeat (the bare pipeline): a function returning rows like a heartbeat's. */
    this.extraWorkers = null;
  }

  async sample() {
    const at = Date.now();
    const { redis, root } = this;
    const ids = await redis.zrange(`${root}:workers`, 0, -1);
    const p = redis.pipeline();
    if (ids.length) p.mget(...ids.map((id) => `${root}:worker:${id}`));
    for (const lane of LANES) {
      const idx = `${this.store.keys.byUpdated(LANE_STATUS[lane])}`;
      p.llen(`${root}:q:${lane}:wait`);
      p.zcard(`${root}:q:${lane}:prioritized`);
      p.zcount(this.store.keys.due(lane), "-inf", at);
      p.zrandmember(idx, STALE_SAMPLE, "WITHSCORES");
      p.zcard(idx);
      p.zcount(idx, 0, 0);
      p.zrangebyscore(idx, "(0", "+inf", "WITHSCORES", "LIMIT", 0, 1);
    }
    const res = (await p.exec()).map(([err, v]) => (err ? null : v));
    const raws = ids.length ? res.shift() : [];
    const queues = {};
    const stale = {};
    const samples = {};
    for (const lane of LANES) {
      const [wait, prio, due, rand, total, unscored, oldest] = res.splice(0, 7);
      queues[lane] = { waiting: (wait ?? 0) + (prio ?? 0), due: due ?? 0 };
      const secs = [];
      for (let i = 0; i + 1 < (rand ?? []).length; i += 2) {
        const fetchedAt = Number(rand[i + 1]);
        secs.push((at - (fetchedAt > 0 ? fetchedAt : this.registeredAt)) / 1000);
      }
      const oldestScored = oldest && oldest.length === 2 ? (at - Number(oldest[1])) / 1000 : null;
      const max = unscored > 0 ? (at - this.registeredAt) / 1000 : oldestScored;
      samples[lane] = secs;
      stale[lane] = {
        tokens: total ?? 0,
        unscored: unscored ?? 0,
        p50: r1(percentile(secs, 0.5)),
        p95: r1(percentile(secs, 0.95)),
        max: r1(max),
      };
    }
    const workers = {};
    for (const raw of raws ?? []) {
      if (raw === null) continue;
      const hb = JSON.parse(raw);
      const label = this.labelOfPid.get(hb.pid) ?? `pid${hb.pid}`;
      const r = hb.readings ?? {};
      const w = { level: hb.level, loopP99Ms: r1(r.eventLoopDelayP99Ms), cpu: r1(r.cpuPercent) };
      // Whose CPU the host's was, as the worker's controller saw it: the co-tenant rule's inputs.
      if (hb.cpu) w.cpuSplit = hb.cpu;
      if (hb.breaker) w.breaker = hb.breaker;
      // calls waiting for one of the worker's upstream connections, per connection (the connection rules' input)
      if (hb.connectionQueue !== undefined) w.connectionQueue = hb.connectionQueue;
      for (const lane of LANES) {
        const l = hb.lanes?.[lane];
        if (!l) continue;
        // a slot below full duty counts for its share of the time (concurrency x duty)
        const concurrency = l.concurrency * (l.duty ?? 1);
        w[lane] = { concurrency, reason: l.reason, timeoutMs: l.timeoutMs, active: l.active };
        for (const k of LANE_TOTALS) w[lane][k] = l[k] ?? 0;
      }
      workers[label] = w;
    }
    Object.assign(workers, this.extraWorkers?.() ?? {});
    let sim = this.lastSim;
    if (this.simUrl) {
      try {
        const s = await getJson(`${this.simUrl}/admin/stats`, 2_000);
        sim = {
          requests: s.requests,
          rateLimited: s.rateLimited,
          errors500: s.byStatus?.["500"] ?? 0,
          hung: s.hung,
        };
        this.lastSim = sim;
      } catch {
        // a saturated simulator may answer late: keep the last counters
      }
    }
    const row = { tMs: at - this.t0, phase: this.phase, workers, queues, stale, sim };
    Object.defineProperty(row, "samples", { value: samples, enumerable: false });
    this.rows.push(row);
    return row;
  }
}

/** Fleet-wide sums of one row: per lane the totals and the concurrency over every worker. */
function laneSums(row) {
  const out = {};
  for (const lane of LANES) {
    const s = { concurrency: 0, timeoutMs: null };
    for (const k of LANE_TOTALS) s[k] = 0;
    for (const w of Object.values(row.workers)) {
      const l = w[lane];
      if (!l) continue;
      for (const k of LANE_TOTALS) s[k] += l[k];
      s.concurrency += l.concurrency;
      s.timeoutMs = s.timeoutMs === null ? l.timeoutMs : Math.max(s.timeoutMs, l.timeoutMs);
    }
    out[lane] = s;
  }
  return out;
}

/** Totals that only grow; a worker seen late in the window starts from zero. */
function delta(first, last, lane, key) {
  let d = 0;
  for (const [label, w] of Object.entries(last.workers)) {
    const end = w[lane]?.[key] ?? 0;
    const start = first.workers[label]?.[lane]?.[key] ?? 0;
    d += Math.max(0, end - start);
  }
  return d;
}

/**
 * The figures of one window [fromMs, toMs] of the series: rates from the first and last rows in it,
 * staleness pooled from every row's samples, maxima over the rows.
 */
export function summarize(rows, fromMs, toMs, { ttl, budgetRpm }) {
  const inWin = rows.filter((r) => r.tMs >= fromMs && r.tMs <= toMs);
  if (inWin.length < 2) return null;
  const first = inWin[0];
  const last = inWin.at(-1);
  const secs = (last.tMs - first.tMs) / 1000;
  const out = { seconds: r1(secs), lanes: {} };
  let tokens = 0;
  for (const lane of LANES) {
    const pooled = inWin.flatMap((r) => r.samples?.[lane] ?? []);
    const conc = inWin.map((r) => laneSums(r)[lane].concurrency);
    const lt = {};
    for (const k of LANE_TOTALS) lt[k] = delta(first, last, lane, k);
    tokens += lt.tokens;
    out.lanes[lane] = {
      tokensPerS: r1(lt.tokens / secs),
      staleness: {
        ttlS: ttl[lane],
        p50: r1(percentile(pooled, 0.5)),
        p95: r1(percentile(pooled, 0.95)),
        max: r1(Math.max(...inWin.map((r) => r.stale[lane].max ?? 0))),
      },
      tokensAtEnd: last.stale[lane].tokens,
      unscoredAtEnd: last.stale[lane].unscored,
      concurrency: {
        min: Math.min(...conc),
        mean: r1(conc.reduce((a, b) => a + b, 0) / conc.length),
        max: Math.max(...conc),
      },
      timeoutMs: {
        min: Math.min(...inWin.map((r) => laneSums(r)[lane].timeoutMs ?? Infinity)),
        max: Math.max(...inWin.map((r) => laneSums(r)[lane].timeoutMs ?? 0)),
      },
      ...lt,
    };
  }
  out.tokens = tokens;
  out.tokensPerS = r1(tokens / secs);
  const calls = LANES.reduce((a, l) => a + out.lanes[l].calls, 0);
  out.timeouts = LANES.reduce((a, l) => a + out.lanes[l].timeouts, 0);
  out.errors = LANES.reduce((a, l) => a + out.lanes[l].errors, 0);
  out.workerRateLimited = LANES.reduce((a, l) => a + out.lanes[l].rateLimited, 0);
  out.failedTokens = LANES.reduce((a, l) => a + out.lanes[l].failedTokens, 0);
  out.calls = calls;
  if (first.sim && last.sim) {
    const req = last.sim.requests - first.sim.requests;
    // The busiest 60 s (or the whole window when shorter) against the budget.
    let busiest = 0;
    for (const r of inWin) {
      const back = inWin.find((x) => x.tMs >= r.tMs - 60_000);
      if (back && r.sim && back.sim) busiest = Math.max(busiest, r.sim.requests - back.sim.requests);
    }
    out.upstream = {
      requests: req,
      perMin: r1((req / secs) * 60),
      busiest60s: secs >= 60 ? busiest : null,
      budgetRpm,
      budgetUse: budgetRpm ? r3(((req / secs) * 60) / budgetRpm) : null,
      status429: last.sim.rateLimited - first.sim.rateLimited,
      status500: last.sim.errors500 - first.sim.errors500,
      hung: last.sim.hung - first.sim.hung,
    };
  }
  const loop = inWin.flatMap((r) => Object.values(r.workers).map((w) => w.loopP99Ms ?? 0));
  out.eventLoopP99Ms = { max: r1(Math.max(0, ...loop)), p50: r1(percentile(loop, 0.5)) };
  const levels = {};
  for (const r of inWin)
    for (const w of Object.values(r.workers)) levels[w.level] = (levels[w.level] ?? 0) + 1;
  out.levelTicks = levels;
  return out;
}

/** Per-second values for the chart: tokens/s, staleness p95 per lane, concurrency, timeouts/s. */
export function chartSeries(rows) {
  const out = [];
  for (let i = 1; i < rows.length; i++) {
    const a = rows[i - 1];
    const b = rows[i];
    const dt = (b.tMs - a.tMs) / 1000;
    if (dt <= 0) continue;
    const sb = laneSums(b);
    const point = { t: b.tMs / 1000, phase: b.phase };
    let tok = 0;
    let tmo = 0;
    for (const lane of LANES) {
      tok += delta(a, b, lane, "tokens");
      tmo += delta(a, b, lane, "timeouts");
      point[`stale_${lane}`] = b.stale[lane].p95;
      point[`conc_${lane}`] = Object.keys(b.workers).length ? sb[lane].concurrency : null;
      point[`timeout_${lane}`] = sb[lane].timeoutMs;
    }
    point.tokensPerS = tok / dt;
    point.timeoutsPerS = tmo / dt;
    out.push(point);
  }
  return out;
}
