import type { Redis } from "@moonfleet/queues";
import { keyRoot } from "@moonfleet/queues";

/** What one worker process says about itself every controller tick. */
export interface LaneState {
  readonly concurrency: number;
  readonly active: number;
  /** The controller's last decision and why. */
  readonly reason: string;
  readonly changedAt: number;
  readonly timeoutMs: number;
  readonly timeoutReason: string;
  /** Totals since the process started. */
  readonly jobs: number;
  readonly tokens: number;
  readonly failedTokens: number;
  readonly calls: number;
  readonly timeouts: number;
  readonly errors: number;
  readonly rateLimited: number;
  readonly budgetWaits: number;
  /** Recent figures (decaying, ~10 s half-life), null without data. */
  readonly tokensPerSecond: number;
  readonly recentCalls: number;
  readonly recentTimeouts: number;
  readonly recentErrors: number;
  readonly avgJobMs: number | null;
  readonly latencyP50Ms: number | null;
  readonly latencyP95Ms: number | null;
}

export interface WorkerHeartbeat {
  readonly id: string;
  readonly pid: number;
  readonly host: string;
  readonly startedAt: number;
  readonly at: number;
  readonly level: string;
  readonly readings: Readonly<Record<string, number>>;
  readonly lanes: Readonly<Record<"hot" | "cold", LaneState>>;
  /** This process's circuit breaker. */
  readonly breaker?: string;
}

const keys = (prefix: string) => ({
  index: `${keyRoot(prefix)}:workers`,
  worker: (id: string) => `${keyRoot(prefix)}:worker:${id}`,
  metrics: (id: string) => `${keyRoot(prefix)}:metrics:${id}`,
});

/** Writes a heartbeat that expires by itself: a worker that stops beating drops out of the fleet. */
export async function publishHeartbeat(
  redis: Redis,
  prefix: string,
  hb: WorkerHeartbeat,
  ttlMs: number,
  /** The worker's prom-client registry as JSON, for the api's /metrics. */
  metrics?: unknown,
): Promise<void> {
  const k = keys(prefix);
  const tx = redis.multi();
  if (metrics !== undefined) tx.set(k.metrics(hb.id), JSON.stringify(metrics), "PX", ttlMs);
  await tx
    .set(k.worker(hb.id), JSON.stringify(hb), "PX", ttlMs)
    .zadd(k.index, hb.at, hb.id)
    .zremrangebyscore(k.index, "-inf", hb.at - 10 * ttlMs)
    .exec();
}

export async function removeHeartbeat(redis: Redis, prefix: string, id: string): Promise<void> {
  const k = keys(prefix);
  await redis.multi().del(k.worker(id), k.metrics(id)).zrem(k.index, id).exec();
}

/** The workers whose heartbeat has not expired. */
export async function liveWorkers(
  redis: Redis,
  prefix: string,
  now: number,
  ttlMs: number,
): Promise<WorkerHeartbeat[]> {
  const k = keys(prefix);
  const ids = await redis.zrangebyscore(k.index, now - ttlMs, "+inf");
  if (ids.length === 0) return [];
  const raw = await redis.mget(...ids.map((id) => k.worker(id)));
  return raw.filter((r): r is string => r !== null).map((r) => JSON.parse(r) as WorkerHeartbeat);
}

/** The metrics JSON of live workers (prom-client's getMetricsAsJSON), for aggregation. */
export async function liveWorkerMetrics(
  redis: Redis,
  prefix: string,
  ids: readonly string[],
): Promise<unknown[]> {
  if (ids.length === 0) return [];
  const raw = await redis.mget(...ids.map((id) => keys(prefix).metrics(id)));
  return raw.filter((r): r is string => r !== null).map((r) => JSON.parse(r) as unknown);
}
