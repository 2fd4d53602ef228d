#!/usr/bin/env node
// Records the health model's inputs from a real fleet (`npm start`'s processes) on a host whose CPU
// other processes keep busy, first with every lane fresh, then with the upstream budget cut so the
// hot lane goes stale. Writes test/fixtures/health-readings.json, which the health model's unit
// test replays. usage: npm run build && node scripts/record-health-readings.mjs
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";

const port = Number(process.env.API_PORT ?? 18_123);
const token = "record-health-readings-token";
const base = `http://127.0.0.1:${port}`;
const fleet = spawn(process.execPath, ["apps/launcher/dist/main.js"], {
  env: { ...process.env, API_PORT: String(port), ADMIN_TOKEN: token, LOG_FORMAT: "json" },
  stdio: ["ignore", "ignore", "inherit"],
});
// Other tenants: one busy loop per core, as another service on the host would be.
const burners = [0, 1].map(() => spawn("sh", ["-c", "while :; do :; done"], { stdio: "ignore" }));
const stop = () => {
  for (const b of burners) b.kill("SIGKILL");
  fleet.kill("SIGINT");
};
process.on("exit", stop);

const get = async (path) => (await fetch(`${base}${path}`)).json();
async function reading() {
  const [sched, system, health] = await Promise.all([
    get("/health/scheduler"),
    get("/health/system"),
    get("/health"),
  ]);
  const res = new Map(system.resources.workers.map((w) => [w.id, w]));
  const lane = (l) => ({
    stalenessP95: sched.lanes[l].staleness.p95,
    ttlSeconds: sched.lanes[l].staleness.ttlSeconds,
    failedJobsLastHour: sched.lanes[l].failedJobsLastHour,
    timeoutRate: sched.lanes[l].timeoutRate,
  });
  return {
    workers: sched.workers.map((w) => {
      const r = res.get(w.id) ?? {};
      return {
        id: w.id,
        level: w.level,
        readings: {
          cpuPercent: r.cpuPercent,
          memoryPercent: r.memoryPercent,
          processCpuPercent: r.processCpuPercent,
          eventLoopDelayP99Ms: r.eventLoopDelayP99Ms,
        },
      };
    }),
    producerLeading: health.checks["producer:heartbeat"][0].observedValue !== null,
    breakerOpen: sched.upstream.breaker.open,
    budgetPausedMs: sched.upstream.budget.pausedForMs,
    lanes: { hot: lane("hot"), cold: lane("cold") },
  };
}

async function until(what, ok, ms) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    try {
      const r = await reading();
      if (ok(r)) return r;
    } catch {
      // not up yet: try again
    }
    await sleep(2_000);
  }
  throw new Error(`timed out waiting for ${what}`);
}

const fresh = (r) =>
  r.workers.length > 0 &&
  r.lanes.hot.stalenessP95 !== null &&
  ["hot", "cold"].every((l) => r.lanes[l].stalenessP95 <= r.lanes[l].ttlSeconds);
const busy = (r) => r.workers.some((w) => w.level === "high");
const take = async (n, ok) => {
  const out = [];
  while (out.length < n) {
    const r = await reading();
    if (ok(r)) out.push(r);
    await sleep(3_000);
  }
  return out;
};

try {
  await until("a fresh fleet under a busy host", (r) => fresh(r) && busy(r), 180_000);
  const busyHostFreshLanes = await take(8, (r) => fresh(r) && busy(r));
  console.error("recorded the busy host with fresh lanes; cutting the budget");
  const patch = await fetch(`${base}/config`, {
    method: "PATCH",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ upstreamRpm: 2, upstreamBurst: 1, upstreamHotReserve: 0 }),
  });
  if (!patch.ok) throw new Error(`PATCH /config answered ${patch.status}: ${await patch.text()}`);
  const staleHot = (r) => busy(r) && r.lanes.hot.stalenessP95 > r.lanes.hot.ttlSeconds;
  await until("the hot lane to go stale", staleHot, 240_000);
  const busyHostStaleHot = await take(6, staleHot);
  const alternating = busyHostFreshLanes
    .slice(0, 6)
    .flatMap((r, i) => [r, busyHostStaleHot[i % busyHostStaleHot.length]]);
  writeFileSync(
    "test/fixtures/health-readings.json",
    `${JSON.stringify({ recordedAt: new Date().toISOString(), busyHostFreshLanes, busyHostStaleHot, alternating }, null, 2)}\n`,
  );
  console.error("wrote test/fixtures/health-readings.json");
} catch (err) {
  console.error(`record-health-readings: ${err instanceof Error ? err.message : err}`);
  process.exitCode = 1;
} finally {
  stop();
  await sleep(3_000);
  process.exit();
}
