import { randomBytes } from "node:crypto";
import { inject } from "vitest";
import { LiveConfig, loadConfig, resolveConfig, type Config, type ResolvedConfig } from "@moonfleet/config";
import { createRedis, type Redis } from "@moonfleet/queues";
import { liveWorkerMetrics } from "@moonfleet/store";
import { createLogger } from "@moonfleet/telemetry";
import { CircuitBreaker, createPairsGateway, createUpstreamClient } from "@moonfleet/upstream";
import { createProducer } from "../../apps/producer/src/producer.js";
import {
  createSimulator,
  type Simulator,
  type SimulatorSettingsPatch,
} from "../../apps/simulator/src/index.js";

export const redisUrl = (): string => inject("redisUrl");

/** A key prefix no other test file uses. */
export const uniquePrefix = (): string => `t${randomBytes(5).toString("hex")}`;

/** Settings as a process would read them, with test overrides in env form. */
export function testConfig(env: Record<string, string> = {}): Config {
  return loadConfig({ LOG_LEVEL: "silent", ...env });
}

/** The same, with where each value came from (for LiveConfig and GET /config). */
export function testResolved(env: Record<string, string> = {}): ResolvedConfig {
  return resolveConfig({ LOG_LEVEL: "silent", ...env });
}

/** A LiveConfig over `redis` on the env's REDIS_KEY_PREFIX, not started. */
export function testLive(env: Record<string, string>, redis: Redis): LiveConfig {
  const resolved = testResolved(env);
  return new LiveConfig(resolved, { redis, prefix: resolved.config.redisKeyPrefix });
}

/** A gateway straight to `url`: no budget, a breaker that never opens, fixed timeouts. */
export function testGateway(url: string, opts: { timeoutMs?: number; now?: () => number } = {}) {
  const client = createUpstreamClient({ baseUrl: url });
  const breaker = new CircuitBreaker(
    () => ({ failureThreshold: 1_000_000, cooldownMs: 1_000, halfOpenCalls: 1, closeAfter: 1 }),
    Date.now,
  );
  const gateway = createPairsGateway({
    client,
    budget: null,
    breaker,
    settings: () => ({ retries: 0, maxWaitMs: 0, coalesceMs: 0 }),
    timeoutFor: () => opts.timeoutMs ?? 5_000,
    ...(opts.now ? { now: opts.now } : {}),
  });
  return { gateway, client, close: () => client.close() };
}

export const silentLogger = () => createLogger("test", "silent");

/** An in-process producer on `env` with its loop running; `stop()` ends the loop and closes it. */
export function runTestProducer(env: Record<string, string>) {
  const producer = createProducer({
    resolved: testResolved(env),
    redisUrl: redisUrl(),
    logger: silentLogger(),
  });
  const abort = new AbortController();
  const loop = producer.run(abort.signal);
  const stop = async (): Promise<void> => {
    abort.abort();
    await loop;
    await producer.close();
  };
  return { producer, stop };
}

export function testRedis(name = "test"): Redis {
  return createRedis(redisUrl(), { name, blocking: true });
}

export async function startSimulator(
  settings: SimulatorSettingsPatch = {},
): Promise<{ sim: Simulator; url: string }> {
  const sim = createSimulator({ settings: { latencyMs: 0, jitterMs: 0, rateLimitRpm: 0, ...settings } });
  const { url } = await sim.listen(0, "127.0.0.1");
  return { sim, url };
}

/** Polls `check` until it returns a truthy value or the deadline passes (then throws with `what`). */
export async function waitUntil<T>(
  what: string,
  check: () => Promise<T> | T,
  timeoutMs = 30_000,
  everyMs = 100,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last instanceof Error ? `: ${last.message}` : ""}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * A counter the workers publish with their heartbeats (prom-client's JSON, liveWorkerMetrics),
 * summed over `workers` by the value of one label: { scored: 12, deferred: 3 } for
 * moonfleet_tokens_processed_total by outcome.
 */
export async function publishedCounter(
  redis: Redis,
  prefix: string,
  workers: readonly string[],
  name: string,
  label: string,
): Promise<Record<string, number>> {
  type Family = { name: string; values: Array<{ labels: Record<string, string>; value: number }> };
  const all = (await liveWorkerMetrics(redis, prefix, workers)) as Family[][];
  const out: Record<string, number> = {};
  for (const v of all.flat().find((f) => f.name === name)?.values ?? []) {
    const key = v.labels[label] ?? "";
    out[key] = (out[key] ?? 0) + v.value;
  }
  return out;
}
