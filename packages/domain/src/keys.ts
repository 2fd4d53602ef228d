import type { Lane } from "./lanes.js";
import type { TokenStatus } from "./statuses.js";

/**
 * Every key lives under one hash tag, `{prefix}`, so the Lua scripts that touch queue and store keys
 * together stay within one Redis Cluster slot.
 */
export const keyRoot = (prefix: string): string => `{${prefix}}`;

/**
 * The key layout: the segment each kind of key has after the root. TypeScript builds keys with
 * `redisKeys`, and Lua scripts that build per-token keys inside Redis use `luaKey` over this same
 * table, so no key is spelled twice.
 */
export const KEY_SEGMENTS = {
  /** hash: a token's registry entry (mint, status, createdAt, fetchedAt, ...) */
  token: "tok",
  /** string: the latest snapshot (JSON) */
  snapshot: "snap",
  /**
   * string: what the next scoring needs from the last (PreviousScoring as a JSON array, ~150 bytes): a worker
   * reads it instead of the whole snapshot; not in the registry hash, whose small values keep it
   * compactly encoded
   */
  scoring: "scoring",
  /** list: the newest HISTORY_LENGTH history entries (JSON) */
  history: "hist",
  /** string per mint: an operator deleted it; discovery does not bring it back while this lives */
  deleted: "deleted",
  /** zset: every registered mint by createdAt */
  registry: "registry",
  /** zset per lane: mint -> next due time (epoch ms) */
  due: "due",
  /** zset per lane: mint -> the latest time its next refresh may start and keep the staleness guarantee (epoch ms) */
  deadline: "deadline",
  /** hash: lane -> the value scheduler's pressure (how much the budget stretches the wanted intervals) */
  schedulePressure: "sched:pressure",
  /** set: the exported mints as the producer last read them from the export document */
  scheduleExported: "sched:exported",
  /** hash per clock minute: mint slots claimed per token class (expires) */
  classSlots: "sched:slots",
  /** zset per status and "all": mint -> smoothed score */
  byScore: "idx:score",
  /** zset per status and "all": mint -> fetchedAt */
  byUpdated: "idx:updated",
  /** zset: worker id -> last heartbeat time */
  workers: "workers",
  /** string per worker: its heartbeat (JSON, expires) */
  worker: "worker",
  /** string per worker: its prom-client registry (JSON, expires) */
  workerMetrics: "metrics",
  /** string: the producer leader's id (expires) */
  producerLeader: "producer:leader",
  /** string: the discovery leader's id (expires) */
  discoveryLeader: "discovery:leader",
  /** string: the discovery leader's status (JSON, expires) */
  discoveryStatus: "discovery:status",
  /** string: the exporter leader's id (expires) */
  exportLeader: "export:leader",
  /** string: the export document (JSON: version, members, settings, why excluded) */
  exportDocument: "export:doc",
  /** string: the exporter leader's status (JSON: last tick, file writes; expires) */
  exportStatus: "export:status",
  /** stream: the fleet's events (export_changed, token_activated, ...), capped */
  events: "events",
  /** zset: open GET /events streams -> when each stops counting unless renewed (epoch ms) */
  eventStreams: "events:open",
  /** hash per lane: the fleet's shared upstream latency histogram (bucket -> decayed count, `at`) */
  upstreamLatency: "latency",
  /** stream: the workers' controller decisions with their inputs, capped */
  controllerDecisions: "controller:decisions",
  /** hash per lane: the producer's batch sizer state */
  batchSizer: "batch",
  /** hash per budget name: the fleet's token bucket */
  budget: "budget",
  /** string per minute under a budget key: calls granted in that clock minute */
  budgetUsed: "used",
  /** zset under a budget key: calls past their start-by waiting for a permit (call id -> until when it is kept, epoch ms) */
  budgetFirst: "first",
  /** zset under a budget key: the same calls in the order they are served (call id -> when it joined less its head start, epoch ms) */
  budgetFirstOrder: "first:order",
  /** hash: runtime config overrides */
  configOverrides: "config:overrides",
  /** string: bumped on every override change */
  configVersion: "config:version",
  /** pub/sub channel: an override changed */
  configChannel: "config:changed",
  /** pub/sub channel: a worker's lane timeout rose at a timeout (JSON: worker, ms); the others follow */
  timeoutBurstChannel: "timeout:burst",
  /** string: the api's readiness probe writes nothing here (a write test that fails under OOM) */
  readyzProbe: "readyz:probe",
  /** zset: the fleet's figures every 10 s (JSON, scored by slot time), trimmed to 24 h */
  fleetHistory: "fleet:history",
  /** BullMQ's own keys (its `prefix` option) */
  queues: "q",
} as const;
export type KeySegment = keyof typeof KEY_SEGMENTS;

/** Every key of a fleet whose REDIS_KEY_PREFIX is `prefix`. */
export function redisKeys(prefix: string) {
  const root = keyRoot(prefix);
  const k = (segment: KeySegment) => `${root}:${KEY_SEGMENTS[segment]}`;
  return {
    root,
    token: (mint: string) => `${k("token")}:${mint}`,
    snapshot: (mint: string) => `${k("snapshot")}:${mint}`,
    scoring: (mint: string) => `${k("scoring")}:${mint}`,
    history: (mint: string) => `${k("history")}:${mint}`,
    deleted: (mint: string) => `${k("deleted")}:${mint}`,
    registry: k("registry"),
    due: (lane: Lane) => `${k("due")}:${lane}`,
    deadline: (lane: Lane) => `${k("deadline")}:${lane}`,
    schedulePressure: k("schedulePressure"),
    scheduleExported: k("scheduleExported"),
    classSlots: (minute: number) => `${k("classSlots")}:${minute}`,
    byScore: (status: TokenStatus | "all") => `${k("byScore")}:${status}`,
    byUpdated: (status: TokenStatus | "all") => `${k("byUpdated")}:${status}`,
    workers: k("workers"),
    worker: (id: string) => `${k("worker")}:${id}`,
    workerMetrics: (id: string) => `${k("workerMetrics")}:${id}`,
    producerLeader: k("producerLeader"),
    discoveryLeader: k("discoveryLeader"),
    discoveryStatus: k("discoveryStatus"),
    exportLeader: k("exportLeader"),
    exportDocument: k("exportDocument"),
    exportStatus: k("exportStatus"),
    events: k("events"),
    eventStreams: k("eventStreams"),
    batchSizer: (lane: Lane) => `${k("batchSizer")}:${lane}`,
    upstreamLatency: (lane: Lane) => `${k("upstreamLatency")}:${lane}`,
    controllerDecisions: k("controllerDecisions"),
    budget: (name: string) => `${k("budget")}:${name}`,
    /** The budget of `/token-pairs` fallbacks beside the budget `name`. */
    fallbackBudget: (name: string) => `${k("budget")}:${name}:fallback`,
    configOverrides: k("configOverrides"),
    configVersion: k("configVersion"),
    configChannel: k("configChannel"),
    timeoutBurstChannel: k("timeoutBurstChannel"),
    readyzProbe: k("readyzProbe"),
    fleetHistory: k("fleetHistory"),
    /** BullMQ's `prefix` option for the lane queues. */
    queues: k("queues"),
  };
}
export type RedisKeys = ReturnType<typeof redisKeys>;

/**
 * A Lua expression for a key built inside a script: `<rootExpr> .. ':<segment>:' .. <idExpr>`,
 * where rootExpr holds the key root (or, for `budgetUsed`, the budget's key).
 */
export const luaKey = (segment: KeySegment, rootExpr: string, idExpr: string): string =>
  `${rootExpr} .. ':${KEY_SEGMENTS[segment]}:' .. ${idExpr}`;

/** A Lua expression for a key under another inside a script: `<rootExpr> .. ':<segment>'` (`budgetFirst`). */
export const luaSubKey = (segment: KeySegment, rootExpr: string): string =>
  `${rootExpr} .. ':${KEY_SEGMENTS[segment]}'`;
