import type { Readings } from "@moonfleet/domain";
import { afterAll, describe, expect, it } from "vitest";
import { updateOptimizationConfig } from "@moonfleet/config";
import type { Sampler } from "@moonfleet/adaptive";
import { startWorkerProcess } from "../../apps/worker/src/worker-process.js";
import { redisUrl, testRedis, testResolved, uniquePrefix, waitUntil } from "../support/harness.js";
import { capturingLogger } from "../support/log-capture.js";

// A runtime change clamps each lane at once to what the policy allows at the current load: the
// same rule the controller's ticks follow, so a clamp never sets a limit the next tick undoes.
const redis = testRedis();
const cleanup: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const f of cleanup.reverse()) await f().catch(() => undefined);
  await redis.quit();
});

/**
 * A machine whose memory is always at 95% (and CPU at 99%, which alone no longer raises the level
 * unless a co-tenant takes what the fleet gives up): the load level goes high on its second tick.
 */
const hotMachine: Sampler = {
  sample: (): Promise<Readings> =>
    Promise.resolve({
      at: Date.now(),
      cpuPercent: 99,
      memoryPercent: 95,
      processCpuPercent: 5,
      eventLoopDelayP99Ms: 1,
      eventLoopDelayMeanMs: 1,
      rssBytes: 1e8,
      heapUsedBytes: 5e7,
      loadPerCpu: 1,
    }),
  close: () => undefined,
};

describe("clamping on a runtime change", () => {
  it("keeps a fixed concurrency (ENABLE_ADAPTIVE_CONCURRENCY=false) at max under high load", async () => {
    const prefix = uniquePrefix();
    const env = {
      REDIS_KEY_PREFIX: prefix,
      ENABLE_ADAPTIVE_CONCURRENCY: "false",
      MAX_CONCURRENT_HOT: "6",
      MAX_CONCURRENT_COLD: "5",
      MAX_CONCURRENT_UNDER_LOAD: "2",
      CONTROLLER_INTERVAL_MS: "200",
    };
    const { logger, lines } = capturingLogger();
    const worker = startWorkerProcess({
      resolved: testResolved(env),
      redisUrl: redisUrl(),
      upstreamUrl: "http://127.0.0.1:9",
      logger,
      sampler: hotMachine,
    });
    cleanup.push(() => worker.stop(1_000));
    await worker.ready;
    await waitUntil(
      "the load level to go high",
      () => lines.some((l) => l.event === "load_level" && l.to === "high"),
      10_000,
      20,
    );
    expect(worker.workers.hot.concurrency).toBe(6);
    expect(worker.workers.cold.concurrency).toBe(5);

    // Any runtime change makes the controller clamp the lanes at once.
    await updateOptimizationConfig({ maxConcurrentCold: 4 }, { redis, prefix, base: testResolved(env) });
    await waitUntil(
      "the worker to apply the change",
      () => worker.live.config.maxConcurrentCold === 4,
      5_000,
      10,
    );
    // Let a few more ticks run: a clamp below max would show as a cut and a climb back.
    await new Promise((r) => setTimeout(r, 1_000));

    const changes = lines.filter((l) => l.event === "concurrency_change");
    // Fixed means fixed: the cold lane follows its lowered max, and neither lane is cut to the
    // under-load cap.
    expect(changes.filter((l) => l.lane === "hot")).toEqual([]);
    expect(changes.filter((l) => l.lane === "cold").map((l) => l.to)).toEqual([4]);
    expect(worker.workers.hot.concurrency).toBe(6);
    expect(worker.workers.cold.concurrency).toBe(4);
  });
});
