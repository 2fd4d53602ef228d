import { z } from "zod";
import { breakerStateSchema } from "./upstream.js";
import { loadLevelSchema } from "./load-level.js";

/** One sample of the machine and a process, every CONTROLLER_INTERVAL_MS. */
export const readingsSchema = z.object({
  /** When the sample was taken (epoch ms). */
  at: z.number(),
  /** CPU use of the host or container (0-100, of the CPUs this process may use). */
  cpuPercent: z.number(),
  /** Memory use of the host or container (0-100, of its limit when it has one). */
  memoryPercent: z.number(),
  /** This process's own CPU use (0-100 of one core, may exceed 100 with worker threads). */
  processCpuPercent: z.number(),
  /** Event-loop delay since the last sample, milliseconds. */
  eventLoopDelayP99Ms: z.number(),
  eventLoopDelayMeanMs: z.number(),
  rssBytes: z.number(),
  heapUsedBytes: z.number(),
  /** 1-minute load average divided by the CPUs available. */
  loadPerCpu: z.number(),
});
export type Readings = Readonly<z.infer<typeof readingsSchema>>;

const nullableNumber = z.number().nullable();

/** The phases of the controller's co-tenant experiment. */
export const CONTENTION_PHASES = ["none", "probing", "yielding"] as const;
export type ContentionPhase = (typeof CONTENTION_PHASES)[number];

/** The host's CPU split into moonfleet's own processes and the others' (0-100 of the host). */
export const fleetCpuSchema = z.object({
  hostPercent: z.number(),
  fleetPercent: z.number(),
  othersPercent: z.number(),
  contention: z.enum(CONTENTION_PHASES),
});
export type FleetCpu = Readonly<z.infer<typeof fleetCpuSchema>>;

/** What one worker process says about one lane every controller tick. */
export const laneStateSchema = z.object({
  concurrency: z.number(),
  /** The share of the time the lane's one slot works when it yields to a co-tenant below one slot; absent: 1. */
  duty: z.number().optional(),
  active: z.number(),
  /** The controller's last decision and why. */
  reason: z.string(),
  changedAt: z.number(),
  timeoutMs: z.number(),
  timeoutReason: z.string(),
  /** Totals since the process started. */
  jobs: z.number(),
  tokens: z.number(),
  failedTokens: z.number(),
  calls: z.number(),
  timeouts: z.number(),
  errors: z.number(),
  rateLimited: z.number(),
  budgetWaits: z.number(),
  /** Recent figures (decaying, ~10 s half-life), null without data. */
  tokensPerSecond: z.number(),
  recentCalls: z.number(),
  recentTimeouts: z.number(),
  recentErrors: z.number(),
  avgJobMs: nullableNumber,
  latencyP50Ms: nullableNumber,
  latencyP95Ms: nullableNumber,
});
export type LaneState = Readonly<z.infer<typeof laneStateSchema>>;

/** What one worker process says about itself every controller tick (read by producer, api, dashboard). */
export const workerHeartbeatSchema = z.object({
  id: z.string(),
  pid: z.number(),
  host: z.string(),
  startedAt: z.number(),
  at: z.number(),
  level: loadLevelSchema,
  /** Empty until the process has taken its first sample. */
  readings: readingsSchema.partial(),
  lanes: z.object({ hot: laneStateSchema, cold: laneStateSchema }),
  /** This process's circuit breaker. */
  breaker: breakerStateSchema.optional(),
  /**
   * The kernel the process runs on (its boot id): workers on the same kernel share one host's CPUs,
   * whatever their container's hostname says.
   */
  kernel: z.string().optional(),
  /** Whose CPU the host's is, as this worker's controller saw it (see packages/adaptive contention.ts). */
  cpu: fleetCpuSchema.optional(),
  /**
   * The ids of this process's BullMQ workers (one per lane): a job's lock token begins with the id
   * of the worker that holds it, so a job held by an id no live heartbeat names is a dead worker's.
   */
  jobHolders: z.array(z.string()).optional(),
  /**
   * The name of the Redis connection this heartbeat is written on, once the server has confirmed it
   * (CLIENT GETNAME). CLIENT LIST shows it while the process lives: a killed process's connections
   * close at once, long before its heartbeat expires.
   */
  connection: z.string().optional(),
  /**
   * Calls found waiting for one of this process's upstream connections per connection, on average
   * over the last tick's calls (null without calls): the controller stops growing at 0.5 and
   * gives slots back at 1 (packages/adaptive concurrency.ts).
   */
  connectionQueue: z.number().nullable().optional(),
});
export type WorkerHeartbeat = Readonly<z.infer<typeof workerHeartbeatSchema>>;

/** What every moonfleet connection's name (CLIENT SETNAME) begins with. */
export const CONNECTION_NAME_PREFIX = "moonfleet:";

/**
 * The name (after CONNECTION_NAME_PREFIX) of the connection a worker process writes its heartbeat
 * on. Redis refuses a name with a character outside '!'..'~' (a space, a non-ASCII hostname in
 * the id): those become '_'.
 */
export const workerConnectionName = (id: string): string => `worker:${id.replace(/[^!-~]/g, "_")}`;

/** The connections' names in a CLIENT LIST answer (one line per connection, `name=` among its fields). */
export function clientNames(clientList: string): Set<string> {
  const names = new Set<string>();
  for (const line of clientList.split("\n")) {
    const at = line.indexOf(" name=");
    if (at < 0) continue;
    const end = line.indexOf(" ", at + 6);
    const name = line.slice(at + 6, end < 0 ? undefined : end).trim();
    if (name) names.add(name);
  }
  return names;
}

/** A heartbeat outlives a few missed ticks, then the worker drops out of the fleet view. */
export const heartbeatTtlMs = (controllerIntervalMs: number): number =>
  Math.max(5_000, controllerIntervalMs * 5);

/**
 * How many of its TTLs the heartbeat index keeps an entry (and a reader that must not miss a live
 * worker reads back). Whether an entry is live is its own key's expiry (its worker's TTL, on Redis's
 * clock), so a worker with a longer CONTROLLER_INTERVAL_MS, or a clock behind, is still seen.
 */
export const HEARTBEAT_INDEX_TTLS = 10;

/** How far back the heartbeat index reaches, ms (HEARTBEAT_INDEX_TTLS heartbeat TTLs). */
export const heartbeatIndexWindowMs = (controllerIntervalMs: number): number =>
  HEARTBEAT_INDEX_TTLS * heartbeatTtlMs(controllerIntervalMs);

/** The heartbeat in `raw` (JSON), or null when it does not parse: a bad entry never breaks a reader. */
export function parseHeartbeat(raw: string): WorkerHeartbeat | null {
  try {
    const r = workerHeartbeatSchema.safeParse(JSON.parse(raw));
    return r.success ? r.data : null;
  } catch {
    return null;
  }
}
