import { LANES, type Readings } from "@moonfleet/domain";
import { Router } from "express";
import type { Sampler } from "@moonfleet/adaptive";
import type { Redis } from "@moonfleet/queues";
import { overallStatus, readFleet, type Fleet, type FleetDeps } from "./fleet-status.js";

const round = (v: number, d = 1) => Math.round(v * 10 ** d) / 10 ** d;

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
    upstream: f.upstream,
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

export function healthRouter(deps: FleetDeps & { sampler: Sampler; redis: Redis; stopping: () => boolean }) {
  const r = Router();

  r.get("/health/scheduler", async (_req, res) => {
    res.json(schedulerView(await readFleet(deps)));
  });

  r.get("/health/system", async (_req, res) => {
    const f = await readFleet(deps);
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
    const started = performance.now();
    let redisOk = true;
    try {
      await deps.redis.ping();
    } catch {
      redisOk = false;
    }
    const pingMs = round(performance.now() - started, 2);
    const checks: Record<string, Array<Record<string, unknown>>> = {
      "redis:responseTime": [
        {
          componentType: "datastore",
          observedValue: pingMs,
          observedUnit: "ms",
          status: redisOk ? "pass" : "fail",
          time,
        },
      ],
    };
    let status: "pass" | "warn" | "fail" = redisOk && !deps.stopping() ? "pass" : "fail";
    if (redisOk) {
      const f = await readFleet(deps);
      const worst = (xs: Array<"pass" | "warn" | "fail">) =>
        xs.includes("fail") ? "fail" : xs.includes("warn") ? "warn" : "pass";
      const workersStatus = f.workers.length === 0 ? "fail" : "pass";
      const breakerStatus =
        f.upstream.breaker.open === 0
          ? "pass"
          : f.upstream.breaker.open === f.workers.length
            ? "fail"
            : "warn";
      const queueStatus = LANES.some((l) => f.lanes[l].failedJobsLastHour > 0) ? "warn" : "pass";
      const freshStatus =
        f.lanes.hot.staleness.p95 !== null && f.lanes.hot.staleness.p95 > f.lanes.hot.staleness.ttlSeconds
          ? "warn"
          : "pass";
      checks["workers:count"] = [
        { componentType: "component", observedValue: f.workers.length, status: workersStatus, time },
      ];
      checks["queues:waiting"] = LANES.map((l) => ({
        componentId: l,
        componentType: "component",
        observedValue: f.lanes[l].waitingJobs,
        status: f.lanes[l].failedJobsLastHour > 0 ? "warn" : "pass",
        time,
      }));
      checks["upstream:circuitBreaker"] = [
        {
          componentType: "component",
          observedValue: f.upstream.breaker.open,
          observedUnit: "open breakers",
          status: breakerStatus,
          time,
        },
      ];
      checks["tokens:hotStalenessP95"] = [
        {
          componentType: "component",
          observedValue: f.lanes.hot.staleness.p95,
          observedUnit: "s",
          status: freshStatus,
          time,
        },
      ];
      status = worst([status, workersStatus, breakerStatus, queueStatus, freshStatus]);
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
