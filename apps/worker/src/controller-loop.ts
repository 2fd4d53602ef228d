import {
  ELASTIC_LANE,
  heartbeatTtlMs,
  LANES,
  type FleetCpu,
  type BreakerState,
  type ConnectionQueue,
  type ControllerDecision,
  type Lane,
  type LoadLevel,
  type Readings,
  type WorkerHeartbeat,
} from "@moonfleet/domain";
import { availableParallelism, hostname } from "node:os";
import type { Worker } from "bullmq";
import type { Queue } from "bullmq";
import {
  connectionQueueDepth,
  createSampler,
  initialContention,
  nextContention,
  nextLoadLevel,
  type ContentionDecision,
  type Sampler,
} from "@moonfleet/adaptive";
import { lanePolicies, type Config, type LiveConfig } from "@moonfleet/config";
import { runLoop } from "@moonfleet/runtime";
import { exchangeFleetLatency, publishHeartbeat, recordControllerDecision } from "@moonfleet/store";
import type { Redis } from "@moonfleet/queues";
import { BREAKER_CODES, EVENTS, LEVEL_CODES, type Logger, type WorkerMetrics } from "@moonfleet/telemetry";
import type { ErrorLog } from "./error-log.js";
import type { LaneController } from "./lane-controller.js";
import { createFleetCpuReader, kernelId, type FleetCpuReader } from "./fleet-cpu.js";

export interface ControllerDeps {
  readonly id: string;
  readonly live: LiveConfig;
  readonly redis: Redis;
  readonly workers: Readonly<Record<Lane, Worker>>;
  readonly queues: Readonly<Record<Lane, Queue>>;
  readonly lanes: Readonly<Record<Lane, LaneController>>;
  readonly logger: Logger;
  readonly now: () => number;
  readonly sampler?: Sampler;
  readonly breakerState?: () => BreakerState;
  /** How full the process's upstream connection pool was for the calls since the last take. */
  readonly connectionQueue?: () => ConnectionQueue;
  readonly metrics?: WorkerMetrics;
  /** moonfleet's share of the host's CPU; by default the live workers on this kernel and a local Redis. */
  readonly fleetCpu?: FleetCpuReader;
  readonly kernel?: string;
}

/**
 * Each tick: sample the machine, update the load level, let each lane's controller decide its
 * concurrency and timeout, apply them to the BullMQ workers, and publish a heartbeat. Every change
 * is logged once with its reason.
 */
export function createController(deps: ControllerDeps) {
  const { live, logger, lanes, workers } = deps;
  const sampler = deps.sampler ?? createSampler();
  const startedAt = deps.now();
  let level: LoadLevel = "normal";
  let readings: Readings | null = null;
  let smoothed: { cpuPercent: number; memoryPercent: number; fleetPercent: number } | null = null;
  let ticks = 0;
  const kernel = deps.kernel ?? kernelId();
  const fleetCpu =
    deps.fleetCpu ??
    createFleetCpuReader({
      redis: deps.redis,
      prefix: () => live.config.redisKeyPrefix,
      id: deps.id,
      kernel,
    });
  // The name the server holds for the heartbeat's connection, asked (CLIENT GETNAME) once after
  // each (re)connect: ioredis ignores a refused CLIENT SETNAME (an ACL, a provider that forbids
  // it), and a heartbeat naming a connection CLIENT LIST never shows would read as a dead worker's.
  let connectionName: string | null | undefined;
  deps.redis.on("ready", () => (connectionName = undefined));
  let contention = initialContention();
  let cpuSplit: ContentionDecision | null = null;
  /** The pool's queue as this tick's calls found it (connectionQueueDepth), shared by both lanes. */
  let connectionQueue: number | null = null;
  /** The last decision recorded per lane (its outcome and rules): a run of identical holds is one entry. */
  const recorded: Partial<Record<Lane, string>> = {};

  const thresholds = (c: Config) => ({
    highCpu: c.highCpuThreshold,
    mediumCpu: c.mediumCpuThreshold,
    lowCpu: c.lowCpuThreshold,
    highMemory: c.highMemoryThreshold,
    mediumMemory: c.mediumMemoryThreshold,
    lowMemory: c.lowMemoryThreshold,
  });

  /**
   * The load level from a new reading: a short EWMA of CPU and memory, with hysteresis. The CPU the
   * level answers to is the others' share of the host, or the host's while a co-tenant experiment
   * runs (contention.ts): the fleet's own CPU is never a reason to cut.
   */
  function updateLevel(r: Readings, c: Config, fleetPercent: number): void {
    const previous = level;
    // The level follows a short EWMA of CPU and memory (alpha 0.5: a jump to 100% reads 75% after
    // two ticks from 50%), so one noisy reading does not flip it, yet a real hog shows within two.
    const ewma = (from: number, to: number) => from + 0.5 * (to - from);
    smoothed = smoothed
      ? {
          cpuPercent: ewma(smoothed.cpuPercent, r.cpuPercent),
          memoryPercent: ewma(smoothed.memoryPercent, r.memoryPercent),
          fleetPercent: ewma(smoothed.fleetPercent, fleetPercent),
        }
      : { cpuPercent: r.cpuPercent, memoryPercent: r.memoryPercent, fleetPercent };
    // The first reading covers the process's own start-up (module loading, connecting): not load.
    if (ticks > 0) {
      cpuSplit = nextContention(
        contention,
        { hostPercent: smoothed.cpuPercent, fleetPercent: smoothed.fleetPercent },
        c.highCpuThreshold,
      );
      contention = cpuSplit.state;
      if (cpuSplit.verdict !== "none" && cpuSplit.verdict !== "probing" && cpuSplit.verdict !== "yield")
        logger.info(
          {
            event: EVENTS.cpuContention,
            verdict: cpuSplit.verdict,
            hostCpu: round(smoothed.cpuPercent),
            fleetCpu: round(smoothed.fleetPercent),
            othersCpu: round(cpuSplit.othersPercent),
          },
          `cpu contention: ${cpuSplit.verdict}`,
        );
      level = nextLoadLevel(
        level,
        { ...r, memoryPercent: smoothed.memoryPercent, cpuPercent: cpuSplit.levelCpuPercent },
        thresholds(c),
      );
    }
    if (level !== previous)
      logger.info(
        {
          event: EVENTS.loadLevel,
          from: previous,
          to: level,
          cpu: round(r.cpuPercent),
          othersCpu: round(cpuSplit?.othersPercent ?? null),
          memory: round(r.memoryPercent),
          loopP99Ms: round(r.eventLoopDelayP99Ms),
        },
        `load level ${level}`,
      );
  }

  /** `{ cpu }` once the controller has split the host's CPU, else nothing. */
  function withCpu(): { cpu?: FleetCpu } {
    const cpu = fleetCpuView();
    return cpu ? { cpu } : {};
  }

  /** Whose CPU the host's is, for the heartbeat and the decision log. */
  function fleetCpuView(): FleetCpu | undefined {
    if (!smoothed || !cpuSplit) return undefined;
    return {
      hostPercent: round(smoothed.cpuPercent) ?? 0,
      fleetPercent: round(smoothed.fleetPercent) ?? 0,
      othersPercent: round(cpuSplit.othersPercent) ?? 0,
      contention: contention.phase,
    };
  }

  /** One lane's decisions, applied to its BullMQ worker and logged once with their reasons. */
  async function steerLane(lane: Lane, r: Readings, c: Config, now: number): Promise<void> {
    const [waiting, fleet] = await Promise.all([
      deps.queues[lane].getWaitingCount(),
      // Shares this lane's new latency samples with the fleet and reads the fleet's back.
      exchangeFleetLatency(deps.redis, c.redisKeyPrefix, lane, lanes[lane].takeUnshared(), now),
    ]);
    const t = lanes[lane].tick(
      level,
      waiting,
      lanePolicies(c)[lane],
      now,
      c.controllerIntervalMs,
      r.eventLoopDelayP99Ms,
      fleet,
      {
        verdict: cpuSplit?.verdict ?? "none",
        yieldStep: cpuSplit?.yieldStep ?? false,
        elastic: lane === ELASTIC_LANE,
      },
      connectionQueue,
    );
    await record(lane, t, waiting, r, c, now);
    if (t.concurrency.changed) {
      workers[lane].concurrency = t.concurrency.limit;
      deps.metrics?.decisions.inc({ queue: lane, reason: t.concurrency.reason });
      logger.info(
        {
          event: EVENTS.concurrencyChange,
          lane,
          from: t.concurrency.from,
          to: t.concurrency.limit,
          ...dutyFields(t.concurrency),
          reason: t.concurrency.reason,
          level,
          waiting,
          cpu: round(r.cpuPercent),
        },
        `concurrency ${t.concurrency.from} -> ${t.concurrency.limit}${dutyText(t.concurrency)} (${t.concurrency.reason})`,
      );
    }
    if (t.timeout.changed)
      logger.info(
        {
          event: EVENTS.timeoutChange,
          lane,
          fromMs: t.timeout.from,
          toMs: t.timeout.ms,
          reason: t.timeout.reason,
          p95Ms: round(t.signals.latencyP95Ms),
        },
        `timeout ${t.timeout.from} -> ${t.timeout.ms} ms (${t.timeout.reason})`,
      );
  }

  /** Records the lane's decision with its inputs when its outcome or rule differs from the last one. */
  async function record(
    lane: Lane,
    t: ReturnType<LaneController["tick"]>,
    waiting: number,
    r: Readings,
    c: Config,
    now: number,
  ): Promise<void> {
    const same = `${t.concurrency.limit}/${t.concurrency.duty}/${t.concurrency.reason}/${t.timeout.ms}/${t.timeout.reason}/${level}`;
    if (recorded[lane] === same) return;
    const s = t.signals;
    const d: ControllerDecision = {
      at: now,
      worker: deps.id,
      lane,
      level,
      concurrency: {
        from: t.concurrency.from,
        to: t.concurrency.limit,
        rule: t.concurrency.reason,
        ...dutyFields(t.concurrency),
      },
      timeout: { fromMs: t.timeout.from, toMs: t.timeout.ms, rule: t.timeout.reason },
      readings: {
        cpuPercent: round(r.cpuPercent) ?? 0,
        memoryPercent: round(r.memoryPercent) ?? 0,
        processCpuPercent: round(r.processCpuPercent) ?? 0,
        eventLoopP99Ms: round(r.eventLoopDelayP99Ms) ?? 0,
      },
      ...withCpu(),
      signals: {
        waiting,
        active: lanes[lane].active,
        calls: round(s.calls) ?? 0,
        timeouts: round(s.timeouts) ?? 0,
        errors: round(s.errors) ?? 0,
        rateLimited: s.rateLimited,
        budgetWaits: s.budgetWaits ?? 0,
        latencyP50Ms: round(s.latencyP50Ms),
        latencyP95Ms: round(s.latencyP95Ms),
        baselineLatencyMs: round(s.baselineLatencyMs),
        connectionQueue: round2(s.connectionQueue ?? null),
      },
    };
    await recordControllerDecision(deps.redis, c.redisKeyPrefix, d);
    recorded[lane] = same;
  }

  /** The operator's `cpu_usage` and `memory_usage` lines. */
  function logUsage(r: Readings): void {
    logger.info(
      {
        event: EVENTS.cpuUsage,
        cpuPercent: round(r.cpuPercent),
        processCpuPercent: round(r.processCpuPercent),
        loadPerCpu: round(r.loadPerCpu),
        level,
      },
      "cpu usage",
    );
    logger.info(
      {
        event: EVENTS.memoryUsage,
        memoryPercent: round(r.memoryPercent),
        rssMb: Math.round(r.rssBytes / 1e6),
        heapUsedMb: Math.round(r.heapUsedBytes / 1e6),
        level,
      },
      "memory usage",
    );
  }

  function setGauges(m: WorkerMetrics, r: Readings): void {
    for (const lane of LANES) {
      m.concurrency.set({ queue: lane }, lanes[lane].limit);
      m.duty.set({ queue: lane }, lanes[lane].duty);
      m.timeout.set({ lane }, lanes[lane].timeout / 1000);
    }
    m.breaker.set(BREAKER_CODES[deps.breakerState?.() ?? "closed"] ?? 0);
    m.loadLevel.set(LEVEL_CODES[level] ?? 0);
    m.cpu.set(r.cpuPercent / 100);
    m.memory.set(r.memoryPercent / 100);
    m.eventLoop.set(r.eventLoopDelayP99Ms / 1000);
    m.rss.set(r.rssBytes);
  }

  /**
   * Each tick: sample the machine, update the load level, steer each lane, and publish a
   * heartbeat (with this process's metrics, for the api's /metrics).
   */
  async function tick(): Promise<void> {
    await live.refresh().catch(() => false);
    const c = live.config;
    const r = (readings = await sampler.sample());
    const now = deps.now();
    const fleetPercent = await fleetCpu
      .read(r.processCpuPercent, now, heartbeatTtlMs(c.controllerIntervalMs))
      .catch(() => r.processCpuPercent / availableParallelism());
    updateLevel(r, c, fleetPercent);
    const pool = deps.connectionQueue?.();
    connectionQueue = pool ? connectionQueueDepth(pool) : null;
    for (const lane of LANES) await steerLane(lane, r, c, now);
    if (++ticks % 10 === 0) logUsage(r);
    const m = deps.metrics;
    if (m) setGauges(m, r);
    if (connectionName === undefined)
      connectionName = await deps.redis
        .client("GETNAME")
        .then((n) => (typeof n === "string" && n === deps.redis.options.connectionName ? n : null))
        .catch(() => undefined);
    await publishHeartbeat(
      deps.redis,
      c.redisKeyPrefix,
      heartbeat(now),
      heartbeatTtlMs(c.controllerIntervalMs),
      m ? await m.registry.getMetricsAsJSON() : undefined,
    );
  }

  function heartbeat(now: number): WorkerHeartbeat {
    return {
      id: deps.id,
      pid: process.pid,
      host: hostname(),
      startedAt,
      at: now,
      level,
      readings: readings ? { ...readings } : {},
      lanes: { hot: lanes.hot.state(), cold: lanes.cold.state() },
      kernel,
      jobHolders: LANES.map((l) => deps.workers[l].id),
      ...(connectionName ? { connection: connectionName } : {}),
      ...withCpu(),
      ...(deps.breakerState ? { breaker: deps.breakerState() } : {}),
      ...(deps.connectionQueue ? { connectionQueue: round2(connectionQueue) } : {}),
    };
  }

  /** Applies a lowered bound at once (a runtime change), without waiting for the next tick. */
  function clampNow(): void {
    for (const lane of LANES) {
      const from = lanes[lane].limit;
      if (lanes[lane].clamp(lanePolicies(live.config)[lane], level, deps.now())) {
        workers[lane].concurrency = lanes[lane].limit;
        deps.metrics?.decisions.inc({ queue: lane, reason: "clamp_bounds" });
        logger.info(
          {
            event: EVENTS.concurrencyChange,
            lane,
            from,
            to: lanes[lane].limit,
            reason: "clamp_bounds",
            level,
          },
          `concurrency ${from} -> ${lanes[lane].limit} (clamp_bounds)`,
        );
      }
    }
  }

  return { tick, clampNow, level: () => level, close: () => sampler.close() };
}

const round = (v: number | null) => (v === null ? null : Math.round(v * 10) / 10);
const round2 = (v: number | null) => (v === null ? null : Math.round(v * 100) / 100);

type DutyChange = { duty: number; dutyFrom: number };
/** A decision's duty is told only when it is below full time before or after. */
const dutyShown = (c: DutyChange): boolean => c.duty < 1 || c.dutyFrom < 1;
const dutyFields = (c: DutyChange): { dutyFrom?: number; duty?: number } =>
  dutyShown(c) ? { dutyFrom: c.dutyFrom, duty: c.duty } : {};
const percent = (d: number): string => `${Math.round(d * 100)}%`;
/** ", duty 50% -> 25%", or "" at full time. */
const dutyText = (c: DutyChange): string =>
  dutyShown(c) ? `, duty ${percent(c.dutyFrom)} -> ${percent(c.duty)}` : "";

export type Controller = ReturnType<typeof createController>;

/**
 * Runs the controller: a first tick once the runtime config is loaded (`ready`), then one every
 * CONTROLLER_INTERVAL_MS; a runtime change clamps the lanes at once. Failed ticks are logged, throttled.
 */
export function startControlLoop(controller: Controller, live: LiveConfig, errors: ErrorLog) {
  const stopping = new AbortController();
  const onTickError = (err: unknown) =>
    errors.log(
      `controller:${String(err)}`,
      { event: EVENTS.concurrencyChange, err: String(err) },
      "controller tick failed",
      "warn",
    );
  live.onChange(() => controller.clampNow());
  const ready = live.start().then(() => controller.tick().catch(onTickError));
  const running = ready.then(() =>
    runLoop(() => controller.tick(), {
      intervalMs: () => live.config.controllerIntervalMs,
      signal: stopping.signal,
      onError: onTickError,
    }),
  );
  return {
    ready,
    async stop(): Promise<void> {
      stopping.abort();
      await running;
      controller.close();
    },
  };
}
