import { DISCOVERY_OUTCOMES, HEALTH_STATUSES, type Lane, LANES, TOKEN_CLASSES } from "@moonfleet/domain";
import type { Queue } from "bullmq";
import { Router } from "express";
import { AggregatorRegistry, Counter, Gauge, Registry } from "prom-client";
import { liveWorkerMetrics } from "@moonfleet/store";
import { exportMetrics } from "./export-metrics.js";
import { readFleet, type FleetDeps } from "./fleet-status.js";
import type { HealthMonitor } from "./health-monitor.js";

/**
 * GET /metrics: the fleet's gauges (read at scrape time), every live worker's own metrics
 * (published with its heartbeat, merged here), and BullMQ's queue export.
 */
export function metricsRouter(
  deps: FleetDeps & { queues: Readonly<Record<Lane, Queue>>; health: HealthMonitor },
) {
  const registry = new Registry();
  const g = (name: string, help: string, labelNames: string[] = []) =>
    new Gauge({ name, help, labelNames, registers: [registry] });
  // A gauge of percentiles read from the index, so the label is `stat`: `quantile` belongs to summaries.
  const staleness = g(
    "moonfleet_staleness_seconds",
    "Seconds since tokens were fetched, by lane: p50, p95 and max",
    ["lane", "stat"],
  );
  const ttl = g("moonfleet_freshness_target_seconds", "The lane's freshness target (CACHE_TTL_HOT / _COLD)", [
    "lane",
  ]);
  const tokens = g("moonfleet_tokens", "Registered tokens by status", ["status"]);
  const due = g("moonfleet_due_tokens", "Tokens due now and not yet claimed, by lane", ["lane"]);
  const backlog = g(
    "moonfleet_backlog_per_worker",
    "Due tokens plus waiting jobs per live worker, by lane (for autoscaling)",
    ["lane"],
  );
  const workers = g("moonfleet_workers", "Live worker processes (fresh heartbeat)");
  const budgetLimit = g(
    "moonfleet_upstream_budget_limit_per_minute",
    "UPSTREAM_RPM: the fleet's request budget",
  );
  const budgetUsed = g(
    "moonfleet_upstream_budget_used",
    "Upstream calls granted by the budget, this and last clock minute",
    ["minute"],
  );
  const paused = g("moonfleet_upstream_paused_seconds", "Seconds the fleet stays paused after a 429");
  const tps = g("moonfleet_tokens_per_second", "Tokens scored per second (recent), by lane", ["lane"]);
  const exportsUpdate = exportMetrics(registry);
  const classTokens = g("moonfleet_class_tokens", "Tokens per class (exported, top50, active, monitoring)", [
    "class",
  ]);
  const classStaleness = g(
    "moonfleet_class_staleness_p95_seconds",
    "p95 seconds since the tokens of a class were fetched",
    ["class"],
  );
  const classShare = g(
    "moonfleet_class_call_share",
    "Share of the last minute's claimed upstream mint slots spent on a class",
    ["class"],
  );
  const floorCovered = g(
    "moonfleet_scheduler_floor_covered",
    "1 while the budget pays for every token's MAX_STALENESS_FACTOR x TTL staleness floor",
  );
  const registryTokens = g("moonfleet_registry_tokens", "The token registry's size, by status", ["status"]);
  const discoveryConnected = g(
    "moonfleet_discovery_connected",
    "1 while the discovery leader holds a subscribed stream connection",
  );
  // The leader keeps the totals; each scrape copies them (a new leader starts at 0: a counter reset).
  const discoveryEvents = new Counter({
    name: "moonfleet_discovery_events_total",
    help: "Migration stream messages by outcome, counted by the discovery leader since it started",
    labelNames: ["outcome"],
    registers: [registry],
  });
  for (const outcome of DISCOVERY_OUTCOMES) discoveryEvents.inc({ outcome }, 0);

  const health = g(
    "moonfleet_health_status",
    "1 for the fleet's health status (the one health model, as /health and the dashboard show it)",
    ["status"],
  );
  const healthReasons = g("moonfleet_health_reasons", "Reasons behind the health status, by severity", [
    "severity",
  ]);

  const r = Router();
  r.get("/metrics", async (_req, res) => {
    const [f, h] = await Promise.all([readFleet(deps), deps.health.current()]);
    for (const status of HEALTH_STATUSES) health.set({ status }, h.status === status ? 1 : 0);
    for (const severity of ["warning", "critical"] as const)
      healthReasons.set({ severity }, h.reasons.filter((x) => x.severity === severity).length);
    for (const lane of LANES) {
      const l = f.lanes[lane];
      for (const [stat, v] of [
        ["p50", l.staleness.p50],
        ["p95", l.staleness.p95],
        ["max", l.staleness.max],
      ] as const)
        if (v !== null) staleness.set({ lane, stat }, v);
      ttl.set({ lane }, l.staleness.ttlSeconds);
      due.set({ lane }, l.due);
      backlog.set({ lane }, l.backlogPerWorker ?? l.due + l.waitingJobs);
      tps.set({ lane }, l.tokensPerSecond);
    }
    for (const [status, n] of Object.entries(f.counts.byStatus)) {
      tokens.set({ status }, n);
      registryTokens.set({ status }, n);
    }
    for (const cls of TOKEN_CLASSES) {
      const v = f.classes[cls];
      classTokens.set({ class: cls }, v.tokens);
      if (v.stalenessP95Seconds !== null) classStaleness.set({ class: cls }, v.stalenessP95Seconds);
      classShare.set({ class: cls }, v.callShare);
    }
    floorCovered.set(f.classes.floorCovered ? 1 : 0);
    discoveryConnected.set(f.discovery.connected ? 1 : 0);
    if (f.discovery.leader !== null) {
      const totals = f.discovery.outcomes;
      discoveryEvents.reset();
      for (const outcome of DISCOVERY_OUTCOMES) discoveryEvents.inc({ outcome }, totals[outcome]);
    }
    workers.set(f.workers.length);
    budgetLimit.set(f.upstream.budget.limitPerMinute);
    budgetUsed.set({ minute: "current" }, f.upstream.budget.usedThisMinute);
    budgetUsed.set({ minute: "previous" }, f.upstream.budget.usedLastMinute);
    paused.set(f.upstream.budget.pausedForMs / 1000);
    await exportsUpdate(deps.redis, f.config.redisKeyPrefix, f.now);

    const perWorker = (await liveWorkerMetrics(
      deps.redis,
      f.config.redisKeyPrefix,
      f.workers.map((w) => w.id),
    )) as object[];
    const fromWorkers = perWorker.length > 0 ? await AggregatorRegistry.aggregate(perWorker).metrics() : "";
    const bull = await Promise.all(LANES.map((l) => deps.queues[l].exportPrometheusMetrics()));
    // BullMQ names its gauge bullmq_job_count, which Prometheus's naming rules (and promtool)
    // reserve for histograms and summaries: it is exported here as bullmq_jobs.
    const bullText = mergeFamilies(bull).replaceAll("bullmq_job_count", "bullmq_jobs");
    const text = [await registry.metrics(), fromWorkers, bullText].filter((s) => s.trim()).join("\n");
    res.type(registry.contentType).send(text.endsWith("\n") ? text : `${text}\n`);
  });
  return r;
}

/**
 * Joins Prometheus text expositions that share metric families (BullMQ exports each queue with
 * its own HELP and TYPE lines): one HELP/TYPE per family, then all its samples.
 */
export function mergeFamilies(texts: readonly string[]): string {
  const families = new Map<string, { meta: string[]; samples: string[] }>();
  const family = (name: string) => {
    let f = families.get(name);
    if (!f) families.set(name, (f = { meta: [], samples: [] }));
    return f;
  };
  for (const text of texts)
    for (const line of text.split("\n")) {
      if (!line.trim()) continue;
      const meta = /^# (HELP|TYPE) (\S+)/.exec(line);
      if (meta) {
        const f = family(meta[2]!);
        if (!f.meta.some((m) => m.startsWith(`# ${meta[1]} `))) f.meta.push(line);
      } else family(/^[^{\s]+/.exec(line)?.[0] ?? line).samples.push(line);
    }
  return [...families.values()].map((f) => [...f.meta, ...f.samples].join("\n")).join("\n");
}
