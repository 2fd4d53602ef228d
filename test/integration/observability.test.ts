import { spawnSync } from "node:child_process";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TokenStore } from "@moonfleet/store";
import { createApiApp } from "../../apps/api/src/app.js";
import { mergeFamilies } from "../../apps/api/src/metrics-route.js";
import { demoMints } from "../../apps/simulator/src/index.js";
import { startWorkerProcess } from "../../apps/worker/src/worker-process.js";
import {
  redisUrl,
  runTestProducer,
  silentLogger,
  startSimulator,
  testLive,
  testRedis,
  testResolved,
  uniquePrefix,
  waitUntil,
} from "../support/harness.js";

// The health endpoints and /metrics against a running fleet: real Redis, simulator, producer,
// worker and api over loopback.
const prefix = uniquePrefix();
const env = {
  REDIS_KEY_PREFIX: prefix,
  PRODUCER_TICK_MS: "200",
  CACHE_TTL_HOT: "5",
  CACHE_TTL_COLD: "5",
  ADMIN_TOKEN: "observability-admin-token",
};
const redis = testRedis();
const cleanup: Array<() => Promise<unknown>> = [];
let base = "";

beforeAll(async () => {
  const { sim, url } = await startSimulator({ latencyMs: 20 });
  cleanup.push(() => sim.close());
  const { stop: stopProducer } = runTestProducer(env);
  cleanup.push(stopProducer);
  const worker = startWorkerProcess({
    resolved: testResolved(env),
    redisUrl: redisUrl(),
    upstreamUrl: url,
    logger: silentLogger(),
  });
  cleanup.push(() => worker.stop(500));
  const store = new TokenStore(redis, prefix);
  const closers: Array<() => Promise<void>> = [];
  const app = createApiApp({
    live: testLive(env, redis),
    redis,
    store,
    logger: silentLogger(),
    onClose: (c) => closers.push(c),
  });
  const server = app.listen(0, "127.0.0.1");
  await once(server, "listening");
  cleanup.push(async () => {
    await new Promise((r) => server.close(r));
    await Promise.all(closers.map((c) => c()));
  });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  await store.register(
    demoMints(120, `obs-${prefix}`).map((mint) => ({ mint })),
    Date.now(),
  );
  // Wait for a working fleet: scored tokens and a worker that has reported a rate.
  await waitUntil(
    "a fleet with throughput",
    async () => {
      const s = (await (await fetch(`${base}/health/scheduler`)).json()) as {
        performance: { tokensPerSecond: { total: number } };
      };
      return s.performance.tokensPerSecond.total > 0;
    },
    60_000,
    250,
  );
  // The health model shows a better status once it held for a few readings: the fleet was
  // critical (no worker yet) while it started.
  await waitUntil(
    "a settled health",
    async () => (await fetch(`${base}/health`)).status === 200,
    30_000,
    250,
  );
});
afterAll(async () => {
  for (const f of cleanup.reverse()) await f().catch(() => undefined);
  await redis.quit();
});

const json = async (path: string) => {
  const r = await fetch(`${base}${path}`);
  return {
    status: r.status,
    type: r.headers.get("content-type") ?? "",
    body: (await r.json()) as Record<string, any>,
  };
};

describe("GET /health/scheduler", () => {
  it("shows throughput under .performance, per-lane freshness, the upstream and every worker", async () => {
    const { status, body } = await json("/health/scheduler");
    expect(status).toBe(200);
    expect(["ok", "degraded", "critical"]).toContain(body.status);
    expect(Array.isArray(body.reasons)).toBe(true);
    expect(body.performance.tokensPerSecond.total).toBeGreaterThan(0);
    expect(body.performance.tokensPerMinute.total).toBeGreaterThan(0);
    expect(body.performance.workers).toBe(1);
    for (const lane of ["hot", "cold"]) {
      const l = body.lanes[lane];
      expect(l).toMatchObject({
        tokens: expect.any(Number),
        due: expect.any(Number),
        tokensPerSecond: expect.any(Number),
        errorRate: expect.any(Number),
        timeoutRate: expect.any(Number),
        activeJobs: expect.any(Number),
        failedJobsLastHour: 0,
      });
      expect(l.staleness.ttlSeconds).toBe(5);
    }
    const cold = body.lanes.cold;
    expect(cold.staleness.scored).toBeGreaterThan(0);
    expect(cold.staleness.p50).toBeLessThanOrEqual(cold.staleness.p95);
    expect(cold.staleness.p95).toBeLessThanOrEqual(cold.staleness.max);
    expect(body.upstream.budget).toMatchObject({ limitPerMinute: 240, usedThisMinute: expect.any(Number) });
    expect(body.upstream.budget.usedThisMinute + body.upstream.budget.usedLastMinute).toBeGreaterThan(0);
    expect(body.upstream.breaker).toEqual({ closed: 1, halfOpen: 0, open: 0 });
    expect(body.workers).toHaveLength(1);
    const w = body.workers[0];
    expect(w.lanes.hot).toMatchObject({
      concurrency: expect.any(Number),
      reason: expect.any(String),
      timeoutMs: expect.any(Number),
    });
    expect(["normal", "reduced", "high"]).toContain(w.level);
    expect(Array.isArray(body.alerts)).toBe(true);
  });
});

describe("GET /health/system", () => {
  it("has .resources for the api host and every live worker", async () => {
    const { body } = await json("/health/system");
    for (const r of [body.resources.api, ...body.resources.workers]) {
      expect(r.cpuPercent).toBeGreaterThanOrEqual(0);
      expect(r.cpuPercent).toBeLessThanOrEqual(100);
      expect(r.memoryPercent).toBeGreaterThan(0);
      expect(r.rssMb).toBeGreaterThan(0);
      expect(r.eventLoopDelayP99Ms).toBeGreaterThanOrEqual(0);
      expect(r.loadPerCpu).toBeGreaterThanOrEqual(0);
    }
    expect(body.resources.workers).toHaveLength(1);
  });
});

describe("GET /health", () => {
  it("answers application/health+json with checks for Redis, workers, queues and the upstream", async () => {
    const { status, type, body } = await json("/health");
    expect(type).toContain("application/health+json");
    expect(["pass", "warn"]).toContain(body.status);
    expect(status).toBe(200);
    for (const check of ["redis:responseTime", "workers:count", "queues:waiting", "upstream:circuitBreaker"])
      expect(body.checks[check]?.[0]?.status, check).toMatch(/^(pass|warn|fail)$/);
    expect(body.checks["workers:count"][0].observedValue).toBe(1);
  });
});

describe("GET /metrics", () => {
  let text = "";
  beforeAll(async () => {
    text = await (await fetch(`${base}/metrics`)).text();
  });

  it("exports the fleet's, the workers' and BullMQ's metrics", () => {
    for (const name of [
      "moonfleet_staleness_seconds",
      "moonfleet_tokens_processed_total",
      "moonfleet_job_duration_seconds_bucket",
      "moonfleet_upstream_request_duration_seconds_bucket",
      "moonfleet_concurrency",
      "moonfleet_upstream_budget_used",
      "moonfleet_circuit_breaker_state",
      "moonfleet_backlog_per_worker",
      "bullmq_jobs",
    ])
      expect(text, name).toContain(name);
    expect(text).toMatch(/moonfleet_concurrency\{[^}]*queue="cold"[^}]*\} \d+/);
    expect(text).not.toMatch(/mint="/); // labels never carry token addresses
  });

  it("passes promtool check metrics", () => {
    const promtool = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
    if (promtool.error) {
      if (process.env.CI) throw new Error("promtool is required in CI (Debian package prometheus)");
      console.warn(
        "\n!!! promtool not found: SKIPPING the promtool check (apt-get install prometheus) !!!\n",
      );
      return;
    }
    expect(promtool.stdout + promtool.stderr).toBe("");
    expect(promtool.status).toBe(0);
  });

  it("merges metric families exported twice into one HELP/TYPE each", () => {
    const a = '# HELP x_jobs Jobs\n# TYPE x_jobs gauge\nx_jobs{queue="hot"} 1\n';
    const b = '# HELP x_jobs Jobs\n# TYPE x_jobs gauge\nx_jobs{queue="cold"} 2\n';
    expect(mergeFamilies([a, b])).toBe(
      '# HELP x_jobs Jobs\n# TYPE x_jobs gauge\nx_jobs{queue="hot"} 1\nx_jobs{queue="cold"} 2',
    );
  });
});

describe("failed jobs in the last hour", () => {
  it("counts jobs that failed within the hour and not older ones", async () => {
    // BullMQ records a failed job in the lane's failed set, scored by when it failed.
    const failedKey = `{${prefix}}:q:cold:failed`;
    await redis.zadd(failedKey, Date.now() - 60_000, "recent-1", Date.now() - 2 * 3_600_000, "old-1");
    const { body } = await json("/health/scheduler");
    expect(body.lanes.cold.failedJobsLastHour).toBe(1);
    expect(body.lanes.hot.failedJobsLastHour).toBe(0);
    // The health model shows a change once it held for a few readings (no flapping).
    await waitUntil(
      "the failed job among the alerts",
      async () =>
        (await json("/health/scheduler")).body.alerts.some(
          (a: { message: string }) => a.message === "1 cold job(s) failed in the last hour",
        ),
      10_000,
      250,
    );
    await agreeingStatus("degraded");
    await redis.del(failedKey);
  });
});

/** /health, /health/scheduler and /metrics read within one health reading: they must agree. */
async function agreeingStatus(expected?: string) {
  const rfc = { ok: "pass", degraded: "warn", critical: "fail" } as Record<string, string>;
  for (let attempt = 0; attempt < 20; attempt++) {
    const before = (await json("/health/scheduler")).body;
    const health = await json("/health");
    const metrics = await (await fetch(`${base}/metrics`)).text();
    const after = (await json("/health/scheduler")).body;
    if (before.health.readings !== after.health.readings) continue; // a reading landed in between
    expect(after.status).toBe(before.status);
    if (expected) expect(after.status).toBe(expected);
    expect(health.body.status).toBe(rfc[after.status]);
    expect(health.status).toBe(after.status === "critical" ? 503 : 200);
    for (const s of ["ok", "degraded", "critical"])
      expect(metrics).toContain(`moonfleet_health_status{status="${s}"} ${s === after.status ? 1 : 0}`);
    expect(metrics).toContain(
      `moonfleet_health_reasons{severity="warning"} ${after.health.reasons.filter((r: { severity: string }) => r.severity === "warning").length}`,
    );
    return after.status as string;
  }
  throw new Error("the health readings kept changing between requests");
}

describe("one health model", () => {
  it("/health, /health/scheduler, the dashboard's status and /metrics give the same answer", async () => {
    const status = await agreeingStatus();
    expect(["ok", "degraded", "critical"]).toContain(status);
  });
});

describe("GET /controller/decisions", () => {
  it("shows each worker's decisions with the readings and signals they came from, newest first", async () => {
    const all = await waitUntil(
      "decisions of both lanes",
      async () => {
        const { body } = await json("/controller/decisions");
        const lanes = new Set(body.decisions.map((d: { lane: string }) => d.lane));
        return lanes.size === 2 ? body.decisions : null;
      },
      20_000,
      250,
    );
    const worker = (await json("/health/scheduler")).body.workers[0].id;
    for (const d of all) {
      expect(d.worker).toBe(worker);
      expect(d.concurrency).toMatchObject({
        from: expect.any(Number),
        to: expect.any(Number),
        rule: expect.any(String),
      });
      expect(d.timeout.toMs).toBeGreaterThan(0);
      expect(d.readings.cpuPercent).toBeGreaterThanOrEqual(0);
      expect(d.signals).toHaveProperty("waiting");
    }
    const ats = all.map((d: { at: number }) => d.at);
    expect(ats).toEqual([...ats].sort((a, b) => b - a));
    // The last decision of a lane explains the slots its worker holds now.
    // (Read together until no tick lands between the two reads.)
    await waitUntil(
      "the last cold decision to match the worker's cold slots",
      async () => {
        const lastCold = (await json("/controller/decisions?lane=cold&limit=1")).body.decisions[0];
        const scheduler = (await json("/health/scheduler")).body;
        return scheduler.workers[0].lanes.cold.concurrency === lastCold?.concurrency.to;
      },
      10_000,
      100,
    );

    const hot = (await json(`/controller/decisions?lane=hot&worker=${encodeURIComponent(worker)}&limit=2`))
      .body;
    expect(hot.decisions.length).toBeGreaterThan(0);
    expect(hot.decisions.length).toBeLessThanOrEqual(2);
    expect(hot.decisions.every((d: { lane: string }) => d.lane === "hot")).toBe(true);
    expect((await json("/controller/decisions?worker=nobody")).body.decisions).toEqual([]);
  });

  it("refuses a bad query with the zod issues", async () => {
    const bad = await json("/controller/decisions?lane=warm&limit=0");
    expect(bad.status).toBe(400);
    expect(bad.body.issues.map((i: { path: string }) => i.path).sort()).toEqual(["lane", "limit"]);
    expect((await json("/controller/decisions?colour=blue")).status).toBe(400);
  });
});
