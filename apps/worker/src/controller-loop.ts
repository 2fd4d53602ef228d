import {
  heartbeatTtlMs,
  LANES,
  type BreakerState,
  type Lane,
  type LoadLevel,
  type Readings,
  type WorkerHeartbeat,
} from "@moonfleet/domain";
import { hostname } from "node:os";
import type { Worker } from "bullmq";
import type { Queue } from "bullmq";
import { createSampler, nextLoadLevel, type Sampler } from "@moonfleet/adaptive";
import { lanePolicies, type Config, type LiveConfig } from "@moonfleet/config";
import { publishHeartbeat } from "@moonfleet/store";
import type { Redis } from "@moonfleet/queues";
import { BREAKER_CODES, EVENTS, LEVEL_CODES, type Logger, type WorkerMetrics } from "@moonfleet/telemetry";
import type { LaneController } from "./lane-controller.js";

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
  readonly metrics?: WorkerMetrics;
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
  let smoothed: { cpuPercent: number; memoryPercent: number } | null = null;
  let ticks = 0;

  const thresholds = (c: Config) => ({
    highCpu: c.highCpuThreshold,
    mediumCpu: c.mediumCpuThreshold,
    lowCpu: c.lowCpuThreshold,
    highMemory: c.highMemoryThreshold,
    mediumMemory: c.mediumMemoryThreshold,
    lowMemory: c.lowMemoryThreshold,
  });

  async function tick(): Promise<void> {
    await live.refresh().catch(() => false);
    const c = live.config;
    readings = await sampler.sample();
    const previousLevel = level;
    // The level follows a short EWMA of CPU and memory (alpha 0.5: a jump to 100% reads 75% after
    // two ticks from 50%), so one noisy reading does not flip it, yet a real hog shows within two.
    smoothed = smoothed
      ? {
          cpuPercent: smoothed.cpuPercent + 0.5 * (readings.cpuPercent - smoothed.cpuPercent),
          memoryPercent: smoothed.memoryPercent + 0.5 * (readings.memoryPercent - smoothed.memoryPercent),
        }
      : { cpuPercent: readings.cpuPercent, memoryPercent: readings.memoryPercent };
    // The first reading covers the process's own start-up (module loading, connecting): not load.
    if (ticks > 0) level = nextLoadLevel(level, { ...readings, ...smoothed }, thresholds(c));
    if (level !== previousLevel)
      logger.info(
        {
          event: EVENTS.loadLevel,
          from: previousLevel,
          to: level,
          cpu: round(readings.cpuPercent),
          memory: round(readings.memoryPercent),
          loopP99Ms: round(readings.eventLoopDelayP99Ms),
        },
        `load level ${level}`,
      );
    const now = deps.now();
    for (const lane of LANES) {
      const waiting = await deps.queues[lane].getWaitingCount();
      const t = lanes[lane].tick(
        level,
        waiting,
        lanePolicies(c)[lane],
        now,
        c.controllerIntervalMs,
        readings.eventLoopDelayP99Ms,
      );
      if (t.concurrency.changed) {
        workers[lane].concurrency = t.concurrency.limit;
        deps.metrics?.decisions.inc({ queue: lane, reason: t.concurrency.reason });
        logger.info(
          {
            event: EVENTS.concurrencyChange,
            lane,
            from: t.concurrency.from,
            to: t.concurrency.limit,
            reason: t.concurrency.reason,
            level,
            waiting,
            cpu: round(readings.cpuPercent),
          },
          `concurrency ${t.concurrency.from} -> ${t.concurrency.limit} (${t.concurrency.reason})`,
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
    if (++ticks % 10 === 0) {
      logger.info(
        {
          event: EVENTS.cpuUsage,
          cpuPercent: round(readings.cpuPercent),
          processCpuPercent: round(readings.processCpuPercent),
          loadPerCpu: round(readings.loadPerCpu),
          level,
        },
        "cpu usage",
      );
      logger.info(
        {
          event: EVENTS.memoryUsage,
          memoryPercent: round(readings.memoryPercent),
          rssMb: Math.round(readings.rssBytes / 1e6),
          heapUsedMb: Math.round(readings.heapUsedBytes / 1e6),
          level,
        },
        "memory usage",
      );
    }
    const m = deps.metrics;
    if (m) {
      for (const lane of LANES) {
        m.concurrency.set({ queue: lane }, lanes[lane].limit);
        m.timeout.set({ lane }, lanes[lane].timeout / 1000);
      }
      m.breaker.set(BREAKER_CODES[deps.breakerState?.() ?? "closed"] ?? 0);
      m.loadLevel.set(LEVEL_CODES[level] ?? 0);
      m.cpu.set(readings.cpuPercent / 100);
      m.memory.set(readings.memoryPercent / 100);
      m.eventLoop.set(readings.eventLoopDelayP99Ms / 1000);
      m.rss.set(readings.rssBytes);
    }
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
      ...(deps.breakerState ? { breaker: deps.breakerState() } : {}),
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
