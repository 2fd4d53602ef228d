import { HEALTH_CHECK_STATUS, LANES, type HealthCheckStatus, type Readings } from "@moonfleet/domain";
import { Router } from "express";
import type { Sampler } from "@moonfleet/adaptive";
import type { Redis } from "@moonfleet/queues";
import { readExportsHealth } from "./export-health.js";
import { readFleet, readProducer, type Fleet, type FleetDeps } from "./fleet-status.js";
import { checkStatuses, type HealthAssessment, type SettledHealth } from "./health-model.js";
import type { HealthMonitor } from "./health-monitor.js";
import { withDeadline, type RedisLink } from "./redis-guard.js";

const round = (v: number, d = 1) => Math.round(v * 10 ** d) / 10 ** d;

/** /health answers within about a second whatever Redis does: a ping, then one bounded read. */
const HEALTH_PING_DEADLINE_MS = 300;
const HEALTH_READ_DEADLINE_MS = 600;
/** /health/scheduler and /health/system: a 503 rather than a request that hangs with Redis. */
const FLEET_READ_DEADLINE_MS = 3_000;

/** GET /health/scheduler: throughput, freshness, upstream and every worker's controller state. */
export function schedulerView(f: Fleet, health: SettledHealth) {
  const tps = { hot: f.lanes.hot.tokensPerSecond, cold: f.lanes.cold.tokensPerSecond };
  return {
    status: health.status,
    reasons: health.reasons.map((a) => a.message),
    health: healthView(health, f.now),
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
              duty: s.duty ?? 1,
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
    alerts: health.reasons.map((a) => ({ severity: a.severity, code: a.code, message: a.message })),
  };
}

/** The health model's answer as the routes show it. */
function healthView(h: SettledHealth, now: number) {
  return {
    status: h.status,
    sinceSeconds: Math.max(0, Math.round((now - h.since) / 1000)),
    readings: h.readings,
    reasons: h.reasons,
    notes: h.notes,
    pending: h.pending,
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
type HealthDeps = FleetDeps & { redis: Redis; link: RedisLink; health: HealthMonitor };

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
    Promise.all([
      readFleet(deps),
      readProducer(deps.redis, deps.config().redisKeyPrefix),
      deps.health.current(),
    ]),
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

/** The checks of /health: the fleet's observed values, each with the health model's verdict. */
export function fleetChecks(
  f: Fleet,
  producer: { leading: boolean; lockTtlMs: number | null },
  health: HealthAssessment,
  time: string,
): Record<string, Check[]> {
  const v = checkStatuses(health);
  const output = (check: keyof typeof v) => {
    const messages = health.reasons.filter((r) => r.check === check).map((r) => r.message);
    return messages.length ? { output: messages.join("; ") } : {};
  };
  const one = (check: keyof typeof v, observedValue: unknown, observedUnit?: string): Check[] => [
    {
      componentType: "component",
      observedValue,
      ...(observedUnit ? { observedUnit } : {}),
      status: v[check],
      time,
      ...output(check),
    },
  ];
  return {
    "workers:count": one("workers:count", f.workers.length),
    "workers:load": one(
      "workers:load",
      f.workers.filter((w) => w.level === "high").length,
      "workers at high load",
    ),
    "producer:heartbeat": one("producer:heartbeat", producer.lockTtlMs, "ms"),
    "queues:waiting": LANES.map((l) => ({
      componentId: l,
      componentType: "component",
      observedValue: f.lanes[l].waitingJobs,
      status: f.lanes[l].failedJobsLastHour > 0 ? v["queues:waiting"] : HEALTH_CHECK_STATUS.ok,
      time,
    })),
    "upstream:circuitBreaker": one("upstream:circuitBreaker", f.upstream.breaker.open, "open breakers"),
    "upstream:rateLimit": one("upstream:rateLimit", f.upstream.budget.pausedForMs, "ms"),
    "scheduler:floor": one("scheduler:floor", f.classes.floorCovered ? 1 : 0, "floor covered (1) or not (0)"),
    "upstream:timeouts": one(
      "upstream:timeouts",
      Math.max(...LANES.map((l) => f.lanes[l].timeoutRate)),
      "share of calls",
    ),
    "tokens:hotStalenessP95": one("tokens:hotStalenessP95", f.lanes.hot.staleness.p95, "s"),
    "tokens:coldStalenessP95": one("tokens:coldStalenessP95", f.lanes.cold.staleness.p95, "s"),
  };
}

export function healthRouter(
  deps: FleetDeps & {
    sampler: Sampler;
    redis: Redis;
    stopping: () => boolean;
    link: RedisLink;
    health: HealthMonitor;
  },
) {
  const r = Router();

  r.get("/health/scheduler", async (_req, res) => {
    const [f, health] = await withDeadline(
      Promise.all([readFleet(deps), deps.health.current()]),
      FLEET_READ_DEADLINE_MS,
    );
    const exports = await withDeadline(
      readExportsHealth(deps.redis, f.config.redisKeyPrefix, f.now),
      FLEET_READ_DEADLINE_MS,
    );
    res.json({ ...schedulerView(f, health), exports });
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
          // Whose CPU the host's is, as the worker's controller saw it (absent from older workers).
          ...(w.cpu ? { cpu: w.cpu } : {}),
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
    // Redis away or the api stopping fail this request at once; the fleet's status is the model's.
    let status: HealthCheckStatus = ping.ok && read !== null && !deps.stopping() ? "pass" : "fail";
    if (read) {
      const [fleet, producer, health] = read;
      Object.assign(checks, fleetChecks(fleet, producer, health, time));
      if (status === "pass") status = HEALTH_CHECK_STATUS[health.status];
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
