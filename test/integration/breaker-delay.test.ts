import { LANES } from "@moonfleet/domain";
import { setTimeout as sleep } from "node:timers/promises";
import { Queue } from "bullmq";
import { afterAll, describe, expect, it } from "vitest";
import { bullPrefix, QUEUE_NAMES, type BatchJob } from "@moonfleet/queues";
import { TokenStore } from "@moonfleet/store";
import { demoMints } from "../../apps/simulator/src/index.js";
import { NOT_NOW_RECHECK_MS, startWorkerProcess } from "../../apps/worker/src/worker-process.js";
import { NOT_NOW_MIN_MS } from "../../apps/worker/src/job-outcome.js";
import {
  redisUrl,
  runTestProducer,
  startSimulator,
  testRedis,
  testResolved,
  uniquePrefix,
  waitUntil,
} from "../support/harness.js";
import { capturingLogger } from "../support/log-capture.js";

// A circuit breaker is one process's own: when it is open, that process takes no jobs for its
// cool-down (its lane workers pause), the jobs it refused go back to the queue at once for the
// other workers (a delay of NOT_NOW_MIN_MS, not the rest of the cool-down), and the lane's queue is
// not rate-limited for the whole fleet. When the cool-down ends it takes jobs again.
const redis = testRedis();
const cleanup: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const f of cleanup.reverse()) await f().catch(() => undefined);
  await redis.quit();
});

async function brokenFleet(cooldownMs: number) {
  const prefix = uniquePrefix();
  const env = {
    REDIS_KEY_PREFIX: prefix,
    PRODUCER_TICK_MS: "100",
    CACHE_TTL_HOT: "2",
    CACHE_TTL_COLD: "2",
    DUE_MARGIN_MS: "0",
    UPSTREAM_RETRIES: "0",
    BREAKER_FAILURE_THRESHOLD: "2",
    BREAKER_COOLDOWN_MS: String(cooldownMs),
    UPSTREAM_RPM: "100000",
    UPSTREAM_BURST: "100",
  };
  const { sim, url } = await startSimulator({ outage: true });
  cleanup.push(() => sim.close());
  const store = new TokenStore(redis, prefix);
  const mints = demoMints(90, `breaker-${prefix}`);
  await store.register(
    mints.map((mint) => ({ mint })),
    Date.now(),
  );
  const { logger, lines } = capturingLogger();
  const worker = startWorkerProcess({
    resolved: testResolved(env),
    redisUrl: redisUrl(),
    upstreamUrl: url,
    logger,
  });
  cleanup.push(() => worker.stop(1_000));
  const { stop: stopProducer } = runTestProducer(env);
  cleanup.push(stopProducer);
  const queues = LANES.map(
    (lane) => new Queue<BatchJob>(QUEUE_NAMES[lane], { connection: redis, prefix: bullPrefix(prefix) }),
  );
  cleanup.push(() => Promise.all(queues.map((q) => q.close())));
  const notNow = () => lines.filter((l) => l.msg === "job delayed: upstream says not now");
  const paused = () => LANES.every((l) => worker.workers[l].isPaused());
  return { sim, store, mints, worker, queues, notNow, paused };
}

describe("an open circuit breaker", () => {
  it("stops its process taking jobs, hands back the ones it holds at once, and never rate-limits the lane for the fleet", async () => {
    const { worker, queues, notNow, paused } = await brokenFleet(60_000);
    await waitUntil("the breaker to open", () => worker.breaker.state === "open", 30_000, 20);
    expect(paused()).toBe(true);
    // The jobs in flight when it opened end "not now", back to the queue for a moment; so may one
    // a lane's worker was already waiting for (BullMQ's blocking fetch does not look at the pause).
    // After that, while it stays open (a minute's cool-down) for longer than the longest hold
    // before (NOT_NOW_RECHECK_MS), the process takes no job; the queues are never rate-limited.
    const openedAt = Date.now();
    let limited = 0;
    let handedBack: number | null = null;
    while (Date.now() < openedAt + 2_500 + NOT_NOW_RECHECK_MS + 1_000) {
      if (handedBack === null && Date.now() >= openedAt + 2_500) handedBack = notNow().length;
      for (const q of queues) if (Number(await redis.pttl(q.keys.limiter!)) > 0) limited++;
      await sleep(25);
    }
    expect(worker.breaker.state).toBe("open");
    expect(paused()).toBe(true);
    expect(limited).toBe(0);
    const lines = notNow();
    expect(lines.length).toBe(handedBack);
    expect(lines.every((l) => l.rateLimited === false && l.delayMs === NOT_NOW_MIN_MS)).toBe(true);
    // Its jobs wait for another worker: none active, none held back for longer than a moment (a
    // due delayed job moves to wait when a worker asks for jobs, and this one asks for none).
    const counts = await Promise.all(queues.map((q) => q.getJobCounts("wait", "delayed", "active")));
    expect(counts.reduce((a, c) => a + (c.wait ?? 0) + (c.delayed ?? 0), 0)).toBeGreaterThan(0);
    expect(counts.reduce((a, c) => a + (c.active ?? 0), 0)).toBe(0);
    const delays = (await Promise.all(queues.map((q) => q.getDelayed()))).flat().map((j) => j.delay);
    expect(delays.every((ms) => ms <= NOT_NOW_MIN_MS)).toBe(true);
  });

  it("takes jobs again when its cool-down ends, and scores them once the upstream answers", async () => {
    const { sim, store, mints, worker, paused } = await brokenFleet(2_000);
    await waitUntil("the breaker to open", () => worker.breaker.state === "open", 30_000, 20);
    expect(paused()).toBe(true);
    sim.settings.update({ outage: false });
    await waitUntil("the lane workers to take jobs again", () => !paused(), 10_000, 20);
    await waitUntil(
      "every token scored",
      async () => (await store.load(mints)).every((t) => Boolean(t?.snapshot)),
      30_000,
      200,
    );
    expect(worker.breaker.state).toBe("closed");
  });
});
