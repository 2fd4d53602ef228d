import {
  HEALTH_CHECK_STATUS,
  HEALTH_CHECKS,
  LANES,
  type HealthCheck,
  type HealthCheckStatus,
  type HealthStatus,
  type LoadLevel,
  type PerLane,
  type Readings,
} from "@moonfleet/domain";

/**
 * The one health model: every status moonfleet shows (GET /health, /health/scheduler, the
 * dashboard's pill, the moonfleet_health gauge) is the answer of `assessHealth` on a reading of the
 * fleet, steadied by `settleHealth` over consecutive readings. Pure functions; the api's
 * HealthMonitor feeds them and the routes only render the answer.
 */

/** Hot staleness p95 beyond this many TTLs is critical (beyond one TTL it is degraded). */
export const STALENESS_CRITICAL_TTLS = 3;
/** A lane's upstream timeout rate above this share of its calls degrades the fleet. */
export const TIMEOUT_RATE_DEGRADED = 0.1;
/** Consecutive readings a worse status must hold before it is shown, and a better one. */
export const RAISE_AFTER_READINGS = 2;
export const CLEAR_AFTER_READINGS = 3;

/** What the model reads of the fleet: a plain record, so a test can replay recorded readings. */
export interface HealthReading {
  readonly workers: ReadonlyArray<{
    readonly id: string;
    readonly level: LoadLevel;
    readonly readings: Partial<Readings>;
  }>;
  readonly producerLeading: boolean;
  readonly breakerOpen: number;
  readonly budgetPausedMs: number;
  /** Whether the upstream budget pays for every token's staleness floor (MAX_STALENESS_FACTOR x TTL); absent: unknown. */
  readonly floorCovered?: boolean;
  readonly lanes: PerLane<{
    readonly stalenessP95: number | null;
    readonly ttlSeconds: number;
    readonly failedJobsLastHour: number;
    readonly timeoutRate: number;
  }>;
}

export interface HealthLimits {
  /** A worker's event-loop p99 from which its own work suffers (BullMQ lock renewals, heartbeats). */
  readonly eventLoopLagMs: number;
  /** Memory use (%) from which a worker's host is under pressure (HIGH_MEMORY_THRESHOLD). */
  readonly highMemoryPercent: number;
}

export interface HealthReason {
  /** Stable, for scripts and alert rules. */
  readonly code: string;
  /** The GET /health check the reason belongs to. */
  readonly check: HealthCheck;
  readonly severity: "warning" | "critical";
  readonly message: string;
}

export interface HealthAssessment {
  readonly status: HealthStatus;
  /** Why the status is not ok, most serious first. */
  readonly reasons: readonly HealthReason[];
  /** Worth knowing, not a degradation (e.g. a host CPU busy with others while every lane is fresh). */
  readonly notes: readonly string[];
}

const SEVERITY_RANK: Record<HealthStatus, number> = { ok: 0, degraded: 1, critical: 2 };
const pct = (v: number | undefined) => Math.round(v ?? 0);

/** ok / degraded / critical, with its reasons, from one reading. */
export function assessHealth(r: HealthReading, limits: HealthLimits): HealthAssessment {
  const reasons: HealthReason[] = [];
  const notes: string[] = [];
  const add = (severity: HealthReason["severity"], check: HealthCheck, code: string, message: string) =>
    reasons.push({ severity, check, code, message });

  if (r.workers.length === 0)
    add("critical", "workers:count", "no_workers", "no live worker: nothing is being refreshed");
  if (!r.producerLeading)
    add(
      "critical",
      "producer:heartbeat",
      "no_producer",
      "no producer leads (its leader lock expired): nothing is being scheduled",
    );
  if (r.workers.length > 0 && r.breakerOpen >= r.workers.length)
    add(
      "critical",
      "upstream:circuitBreaker",
      "breaker_open_all",
      "the upstream circuit breaker is open on every worker",
    );
  else if (r.breakerOpen > 0)
    add(
      "warning",
      "upstream:circuitBreaker",
      "breaker_open_some",
      `the upstream circuit breaker is open on ${r.breakerOpen} worker(s)`,
    );
  if (r.budgetPausedMs > 0)
    add(
      "warning",
      "upstream:rateLimit",
      "rate_limited",
      `upstream rate limited (429): the fleet is paused for ${Math.round(r.budgetPausedMs / 1000)} s`,
    );

  if (r.floorCovered === false)
    add(
      "warning",
      "scheduler:floor",
      "floor_not_covered",
      "the upstream budget does not cover every token's staleness floor (MAX_STALENESS_FACTOR x TTL): raise UPSTREAM_RPM or archive sooner",
    );

  const stale = LANES.filter((lane) => {
    const { stalenessP95: p95, ttlSeconds: ttl } = r.lanes[lane];
    return p95 !== null && p95 > ttl;
  });
  for (const lane of LANES) {
    const l = r.lanes[lane];
    const check: HealthCheck = lane === "hot" ? "tokens:hotStalenessP95" : "tokens:coldStalenessP95";
    const p95 = l.stalenessP95;
    if (p95 !== null && lane === "hot" && p95 > STALENESS_CRITICAL_TTLS * l.ttlSeconds)
      add(
        "critical",
        check,
        "hot_stale",
        `hot staleness p95 ${p95} s is over ${STALENESS_CRITICAL_TTLS} times its TTL (${l.ttlSeconds} s)`,
      );
    else if (p95 !== null && p95 > l.ttlSeconds)
      add(
        "warning",
        check,
        `${lane}_stale`,
        `${lane} staleness p95 ${p95} s is over its TTL (${l.ttlSeconds} s)`,
      );
    if (l.failedJobsLastHour > 0)
      add(
        "warning",
        "queues:waiting",
        `${lane}_failed_jobs`,
        `${l.failedJobsLastHour} ${lane} job(s) failed in the last hour`,
      );
    if (l.timeoutRate > TIMEOUT_RATE_DEGRADED)
      add(
        "warning",
        "upstream:timeouts",
        `${lane}_timeouts`,
        `${lane} upstream timeout rate ${Math.round(l.timeoutRate * 100)}%`,
      );
  }

  // A worker's load: what harms it degrades, a host busy with others' work is only information.
  for (const w of r.workers) {
    const lag = w.readings.eventLoopDelayP99Ms ?? 0;
    const memory = w.readings.memoryPercent ?? 0;
    if (lag >= limits.eventLoopLagMs)
      add(
        "warning",
        "workers:load",
        "event_loop_lag",
        `worker ${w.id}'s event loop lags ${Math.round(lag)} ms (p99)`,
      );
    if (memory >= limits.highMemoryPercent)
      add("warning", "workers:load", "memory_pressure", `worker ${w.id}'s host memory is at ${pct(memory)}%`);
    if (w.level !== "high" || lag >= limits.eventLoopLagMs || memory >= limits.highMemoryPercent) continue;
    if (stale.length > 0)
      add(
        "warning",
        "workers:load",
        "high_load_stale",
        `worker ${w.id} is under high load (host CPU ${pct(w.readings.cpuPercent)}%) while ${stale.join(" and ")} ${stale.length > 1 ? "are" : "is"} stale`,
      );
    else
      notes.push(
        `worker ${w.id}: host CPU at ${pct(w.readings.cpuPercent)}% (its own process ${pct(w.readings.processCpuPercent)}%); every lane is within its freshness target`,
      );
  }

  reasons.sort((a, b) => (a.severity === b.severity ? 0 : a.severity === "critical" ? -1 : 1));
  const status: HealthStatus = reasons.some((x) => x.severity === "critical")
    ? "critical"
    : reasons.length > 0
      ? "degraded"
      : "ok";
  return { status, reasons, notes };
}

/** The shown status: it changes only when a reading's status has held for a few readings. */
export interface SettledHealth extends HealthAssessment {
  /** When the shown status began (epoch ms). */
  readonly since: number;
  /** Readings taken so far. */
  readonly readings: number;
  /** A different status seen in the latest readings, not yet held long enough to be shown. */
  readonly pending: { readonly status: HealthStatus; readonly readings: number } | null;
}

/**
 * The next shown status after reading `a`. A worse status is shown once it held for
 * RAISE_AFTER_READINGS consecutive readings, a better one after CLEAR_AFTER_READINGS, so readings
 * that alternate never flap. While a change is pending, the reasons stay those of the shown status.
 */
export function settleHealth(prev: SettledHealth | null, a: HealthAssessment, now: number): SettledHealth {
  if (prev === null) return { ...a, since: now, readings: 1, pending: null };
  const readings = prev.readings + 1;
  if (a.status === prev.status) return { ...a, since: prev.since, readings, pending: null };
  const streak = prev.pending?.status === a.status ? prev.pending.readings + 1 : 1;
  const needed =
    SEVERITY_RANK[a.status] > SEVERITY_RANK[prev.status] ? RAISE_AFTER_READINGS : CLEAR_AFTER_READINGS;
  if (streak >= needed) return { ...a, since: now, readings, pending: null };
  return { ...prev, readings, pending: { status: a.status, readings: streak } };
}

/** GET /health's per-check statuses: the worst of the shown reasons that belong to each check. */
export function checkStatuses(h: HealthAssessment): Record<HealthCheck, HealthCheckStatus> {
  const out = Object.fromEntries(HEALTH_CHECKS.map((c) => [c, HEALTH_CHECK_STATUS.ok])) as Record<
    HealthCheck,
    HealthCheckStatus
  >;
  for (const r of h.reasons) {
    const s = HEALTH_CHECK_STATUS[r.severity === "critical" ? "critical" : "degraded"];
    if (out[r.check] !== HEALTH_CHECK_STATUS.critical) out[r.check] = s;
  }
  return out;
}
