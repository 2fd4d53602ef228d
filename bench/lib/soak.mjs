// The soak scenario's parts: an operator's dashboard and Prometheus polling the api for the whole
// run, memory read every minute, and the verdict "every reading within ±tolerance of its value at
// the end of the warm-up".

import { setTimeout as sleep } from "node:timers/promises";

const { fetch, AbortSignal } = globalThis;

/**
 * How full Redis's bounded structures are: BullMQ's kept completed jobs and event stream per queue
 * (removeOnComplete count, the streams' MAXLEN), and the history lists of 100 random tokens. Until
 * they are full Redis grows by design; the soak's baseline must come after.
 */
export async function boundedFill(redis, root, keys) {
  const mints = await redis.zrandmember(keys.registry, 100);
  const p = redis.pipeline();
  for (const lane of ["hot", "cold"]) {
    p.zcard(`${root}:q:${lane}:completed`);
    p.xlen(`${root}:q:${lane}:events`);
  }
  for (const m of mints) p.llen(keys.history(m));
  const res = (await p.exec()).map(([err, v]) => (err ? 0 : v));
  const hist = res.slice(4);
  return {
    completed: { hot: res[0], cold: res[2] },
    events: { hot: res[1], cold: res[3] },
    historyMean: hist.length ? Math.round((hist.reduce((a, b) => a + b, 0) / hist.length) * 10) / 10 : 0,
  };
}

/**
 * What an open dashboard and a Prometheus scrape ask of the api: every 2 s the scheduler health,
 * the system health and the top ten tokens; every 10 s the detail (with history) of those ten;
 * every 15 s /metrics. Runs until `until()` is false; returns the count of answers and of failures.
 */
export async function pollLikeAnOperator(apiUrl, until) {
  const counts = { ok: 0, failed: 0 };
  const get = async (path) => {
    try {
      const res = await fetch(`${apiUrl}${path}`, { signal: AbortSignal.timeout(5_000) });
      const body = await res.text();
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      counts.ok++;
      return body;
    } catch {
      counts.failed++;
      return null;
    }
  };
  let top = [];
  let detailsAt = 0;
  let metricsAt = 0;
  while (until()) {
    const [, , tokens] = await Promise.all([
      get("/health/scheduler"),
      get("/health/system"),
      get("/tokens?limit=10&sort=score_desc&min_score=-100"),
    ]);
    if (tokens) top = JSON.parse(tokens).items.map((t) => t.mint);
    const now = Date.now();
    if (now - detailsAt >= 10_000) {
      detailsAt = now;
      await Promise.all(top.map((m) => get(`/tokens/${m}`)));
    }
    if (now - metricsAt >= 15_000) {
      metricsAt = now;
      await get("/metrics");
    }
    await sleep(2_000);
  }
  return counts;
}

/**
 * The verdict per series ({ label: [{ tS, mb }] }): the baseline is the first reading at or after
 * `warmupS`; no later reading may rise more than `tolerance` above it. Series named in
 * `bothWays` (Redis's data) must not fall more than that either: data that shrinks is data lost.
 * A process's RSS may dip: a major GC hands pages back to the kernel and V8 takes them again
 * within a minute (the first 30-minute soak saw each worker dip 15% for one reading and return),
 * which is not a leak, and a band that fails on it judges GC timing, not memory. Dips are
 * reported. Readings before the baseline are kept for the chart but not judged.
 */
export function soakVerdict(series, { warmupS, tolerance, bothWays = [] }) {
  const out = [];
  for (const [label, readings] of Object.entries(series)) {
    const warm = readings.filter((r) => r.tS >= warmupS && r.mb !== null);
    const base = warm[0];
    if (!base || warm.length < 2) {
      out.push({ label, judged: false, readings: warm.length });
      continue;
    }
    const later = warm.slice(1).map((r) => r.mb);
    const maxMb = Math.max(...later);
    const minMb = Math.min(...later);
    const up = Math.max(0, maxMb / base.mb - 1);
    const down = Math.max(0, 1 - minMb / base.mb);
    out.push({
      label,
      judged: true,
      readings: warm.length,
      baseMb: base.mb,
      minMb,
      maxMb,
      lastMb: later.at(-1),
      up: Math.round(up * 1000) / 1000,
      down: Math.round(down * 1000) / 1000,
      bothWays: bothWays.includes(label),
      ok: up <= tolerance && (!bothWays.includes(label) || down <= tolerance),
    });
  }
  return out;
}
