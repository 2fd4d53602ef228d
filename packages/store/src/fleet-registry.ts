import { Script, type Redis } from "@moonfleet/queues";
import { HEARTBEAT_INDEX_TTLS, parseHeartbeat, redisKeys, type WorkerHeartbeat } from "@moonfleet/domain";
import { LIVE_WORKERS } from "./scripts.js";

const liveWorkersScript = new Script(LIVE_WORKERS);

const keys = (prefix: string) => {
  const k = redisKeys(prefix);
  return { index: k.workers, worker: k.worker, metrics: k.workerMetrics };
};

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
    .zremrangebyscore(k.index, "-inf", hb.at - HEARTBEAT_INDEX_TTLS * ttlMs)
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
  const k = redisKeys(prefix);
  const raw = (await liveWorkersScript.run(redis, 1, [k.workers, k.root, now - ttlMs])) as string[];
  return raw.flatMap((r) => parseHeartbeat(r) ?? []);
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
