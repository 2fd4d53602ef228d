import { LANES, type Readings } from "@moonfleet/domain";
import { Router } from "express";
import type { Sampler } from "@moonfleet/adaptive";
import type { Redis } from "@moonfleet/queues";
import { readExportsHealth } from "./export-health.js";
import { overallStatus, readFleet, readProducer, type Fleet, type FleetDeps } from "./fleet-status.js";
import { withDeadline, type RedisLink } from "./redis-guard.js";

const round = (v: number, d = 1) => Math.round(v * 10 ** d) / 10 ** d;

/** /health answers within about a second whatever Redis does: a ping, then one bounded read. */
const HEALTH_PING_DEADLINE_MS = 300;
const HEALTH_READ_DEADLINE_MS = 600;
/** /health/scheduler and /health/system: a 503 rather than a request that hangs with Redis. */
const FLEET_READ_DEADLINE_MS = 3_000;
/** Hot staleness p95 beyond this many TTLs fails /health (beyond one TTL it warns). */
export const STALENESS_FAIL_TTLS = 3;

type Status = "pass" | "warn" | "fail";
const worst = (xs: readonly Status[]): Status =>
  xs.includes("fail") ? "fail" : xs.includes("warn") ? "warn" : "pass";

/** The verdict of each /health check from the fleet's figures: a pure function. */
export function healthVerdicts(
  f: Fleet,
  producerLeading: boolean,
): Record<"workers" | "producer" | "breaker" | "queues" | "freshness", Status> {
  const hot = f.lanes.hot.staleness;
  return {
    workers: f.workers.length === 0 ? "fail" : "pass",
    producer: producerLeading ? "pass" : "fail",
    breaker:
      f.upstream.breaker.open === 0 ? "pass" : f.upstream.breaker.open === f.workers.length ? "fail" : "warn",
    queues: LANES.some((l) => f.lanes[l].failedJobsLastHour > 0) ? "warn" : "pass",
    freshness:
      hot.p95 === null || hot.p95 <= hot.ttlSeconds
        ? "pass"
        : hot.p95 > STALENESS_FAIL_TTLS * hot.ttlSeconds
          ? "fail"
          : "warn",
  };
}

/** GET /health/scheduler: throughput, freshness, upstream and every worker's controller state. */
export function schedulerView(f: Fleet) {
  const tps = { hot: f.lanes.hot.tokensPerSecond, cold: f.lanes.cold.tokensPerSecond };
  return {
    status: overallStatus(f.alerts),
    reasons: f.alerts.map((a) => a.message),
    generatedAt: new Date(f.now).toISOString(),
    performance: {
      tokensPerSecond: { ...tps, total: round(tps.hot + tps.cold) },
      tokensPerMinute: {
        hot: f.lanes.hot.tokensPerMinute,
        cold: f.lanes.cold.tokensPerMinute,
        total: f.lanes.hot.tokensPerMinute + f.lanes.cold.tokensPerMinute,
      },
      stalenessP95Seconds: { hot: f.lanes.hot.staleness.p95, cold: f.lanes.cold.staleness.p95 },
      upstreamLatencyP95Ms: f.upstream.latencyP95Ms,
      budgetUse: round(f.upstream.budget.usedLastMinute / f.upstream.budget.limitPerMinute, 3),
      workers: f.workers.length,
    },
    lanes: f.lanes,
    classes: f.classes,
    upstream: f.upstream,
    registry: { tokens: f.counts.registered, byStatus: f.counts.byStatus },
    discovery: f.discovery,
    workers: f.workers.map((w) => ({
      id: w.id,
      host: w.host,
      pid: w.pid,
      level: w.level,
      breaker: w.breaker ?? "closed",
      lastSeenMs: f.now - w.at,
      lanes: Object.fromEntries(
        LANES.map((l) => {
          const s = w.lanes[l];
          return [
            l,
            {
              concurrency: s.concurrency,
              active: s.active,
              reason: s.reason,
              changedAt: new Date(s.changedAt).toISOString(),
              timeoutMs: s.timeoutMs,
              timeoutReason: s.timeoutReason,
              tokensPerSecond: s.tokensPerSecond,
              avgJobMs: s.avgJobMs,
            },
          ];
        }),
      ),
    })),
    alerts: f.alerts,
  };
}

/** The resources of one process, in the units an operator reads. */
function resources(r: Partial<Readings>) {
  return {
    cpuPercent: round(r.cpuPercent ?? 0),
    memoryPercent: round(r.memoryPercent ?? 0),
    processCpuPercent: round(r.processCpuPercent ?? 0),
    rssMb: Math.round((r.rssBytes ?? 0) / 1e6),
    heapUsedMb: Math.round((r.heapUsedBytes ?? 0) / 1e6),
    loadPerCpu: round(r.loadPerCpu ?? 0, 2),
    eventLoopDelayP99Ms: round(r.eventLoopDelayP99Ms ?? 0),
    eventLoopDelayMeanMs: round(r.eventLoopDelayMeanMs ?? 0),
  };
}

type Check = Record<string, unknown>;
type HealthDeps = FleetDeps & { redis: Redis; link: RedisLink };

/** A ping with a short deadline (none when the link is known down), so with Redis away /health is a quick 503. */
async function pingRedis(deps: HealthDeps): Promise<{ ok: boolean; ms: number }> {
  const started = performance.now();
  const ok =
    !deps.link.down &&
    (await withDeadline(deps.redis.ping(), HEALTH_PING_DEADLINE_MS).then(
      () => true,
      () => false,
    ));
  return { ok, ms: round(performance.now() - started, 2) };
}

/** The fleet and the producer's lock in one bounded read; null when Redis did not answer in time. */
function readForHealth(deps: HealthDeps) {
  return withDeadline(
    Promise.all([readFleet(deps), readProducer(deps.redis, deps.config().redisKeyPrefix)]),
    HEALTH_READ_DEADLINE_MS,
  ).catch(() => null);
}

function redisCheck(ok: boolean, pingMs: number, time: string): Check[] {
  return [
    {
      componentType: "datastore",
      observedValue: pingMs,
      observedUnit: "ms",
      status: ok ? "pass" : "fail",
      time,
    },
  ];
}

/** The checks /health derives from the fleet's figures, and their worst status: a pure function. */
export function fleetChecks(
  f: Fleet,
  producer: { leading: boolean; lockTtlMs: number | null },
  time: string,
): { checks: Record<string, Check[]>; status: Status } {
  const v = healthVerdicts(f, producer.leading);
  const checks: Record<string, Check[]> = {
    "workers:count": [
      { componentType: "component", observedValue: f.workers.length, status: v.workers, time },
    ],
    "producer:heartbeat": [
      {
        componentType: "component",
        observedValue: producer.lockTtlMs,
        observedUnit: "ms",
        status: v.producer,
        time,
        ...(producer.leading ? {} : { output: "no producer leads: its leader lock (heartbeat) expired" }),
      },
    ],
    "queues:waiting": LANES.map((l) => ({
      componentId: l,
      componentType: "component",
      observedValue: f.lanes[l].waitingJobs,
      status: f.lanes[l].failedJobsLastHour > 0 ? "warn" : "pass",
      time,
    })),
    "upstream:circuitBreaker": [
      {
        componentType: "component",
        observedValue: f.upstream.breaker.open,
        observedUnit: "open breakers",
        status: v.breaker,
        time,
      },
    ],
    "tokens:hotStalenessP95": [
      {
        componentType: "component",
        observedValue: f.lanes.hot.staleness.p95,
        observedUnit: "s",
        status: v.freshness,
        time,
      },
    ],
  };
  return { checks, status: worst([v.workers, v.producer, v.breaker, v.queues, v.freshness]) };
}

export function healthRouter(
  deps: FleetDeps & { sampler: Sampler; redis: Redis; stopping: () => boolean; link: RedisLink },
) {
  const r = Router();

  r.get("/health/scheduler", async (_req, res) => {
    const f = await withDeadline(readFleet(deps), FLEET_READ_DEADLINE_MS);
    const exports = await withDeadline(
      readExportsHealth(deps.redis, f.config.redisKeyPrefix, f.now),
      FLEET_READ_DEADLINE_MS,
    );
    res.json({ ...schedulerView(f), exports });
  });

  r.get("/health/system", async (_req, res) => {
    const f = await withDeadline(readFleet(deps), FLEET_READ_DEADLINE_MS);
    const api = await deps.sampler.sample();
    res.json({
      generatedAt: new Date(f.now).toISOString(),
      resources: {
        api: { pid: process.pid, ...resources(api) },
        workers: f.workers.map((w) => ({
          id: w.id,
          host: w.host,
          pid: w.pid,
          level: w.level,
          lastSeenMs: f.now - w.at,
          ...resources(w.readings),
        })),
      },
    });
  });

  // RFC draft "Health Check Response Format for HTTP APIs" (application/health+json).
  r.get("/health", async (_req, res) => {
    const time = new Date().toISOString();
    const ping = await pingRedis(deps);
    const read = ping.ok ? await readForHealth(deps) : null;
    const checks: Record<string, Check[]> = {
      "redis:responseTime": redisCheck(ping.ok && read !== null, ping.ms, time),
    };
    let status: Status = ping.ok && read !== null && !deps.stopping() ? "pass" : "fail";
    if (read) {
      const fleet = fleetChecks(read[0], read[1], time);
      Object.assign(checks, fleet.checks);
      status = worst([status, fleet.status]);
    }
    res
      .status(status === "fail" ? 503 : 200)
      .type("application/health+json")
      .send(
        JSON.stringify({
          status,
          version: "1",
          serviceId: "moonfleet-api",
          description: "moonfleet: fresh token scores",
          checks,
        }),
      );
  });

  return r;
}
