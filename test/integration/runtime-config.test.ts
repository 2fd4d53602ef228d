import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { updateOptimizationConfig } from "@moonfleet/config";
import { TokenStore } from "@moonfleet/store";
import { createApiApp } from "../../apps/api/src/app.js";
import { startWorkerProcess, type WorkerProcess } from "../../apps/worker/src/worker-process.js";
import {
  redisUrl,
  silentLogger,
  startSimulator,
  testLive,
  testRedis,
  testResolved,
  uniquePrefix,
  waitUntil,
} from "../support/harness.js";

// PATCH /config and updateOptimizationConfig(): validated, stored in Redis, applied by every
// process within a second, kept across restarts, and undone by DELETE /config/overrides.
const ADMIN_TOKEN = "runtime-config-admin-token";
const prefix = uniquePrefix();
const env = { REDIS_KEY_PREFIX: prefix, ADMIN_TOKEN, MAX_CONCURRENT_HOT: "6", MAX_CONCURRENT_COLD: "6" };
const redis = testRedis();
const cleanup: Array<() => Promise<unknown>> = [];
let base = "";
let worker: WorkerProcess;
let upstreamUrl = "";

beforeAll(async () => {
  const { sim, url } = await startSimulator();
  upstreamUrl = url;
  cleanup.push(() => sim.close());
  const live = testLive(env, redis);
  await live.start();
  cleanup.push(() => live.stop());
  const app = createApiApp({ live, redis, store: new TokenStore(redis, prefix), logger: silentLogger() });
  const server = app.listen(0, "127.0.0.1");
  await once(server, "listening");
  cleanup.push(() => new Promise((r) => server.close(r)));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  worker = startWorkerProcess({
    resolved: testResolved(env),
    redisUrl: redisUrl(),
    upstreamUrl,
    logger: silentLogger(),
  });
  cleanup.push(() => worker.stop(500));
  await worker.ready;
});
afterAll(async () => {
  for (const f of cleanup.reverse()) await f().catch(() => undefined);
  await redis.quit();
});

const patch = (body: unknown, token: string | null = ADMIN_TOKEN) =>
  fetch(`${base}/config`, {
    method: "PATCH",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
type Described = { values: Record<string, { value: unknown; source: string; env: string }> };
const getConfig = async () => (await (await fetch(`${base}/config`)).json()) as Described;

describe("runtime configuration", () => {
  it("shows every effective value with its source", async () => {
    const c = await getConfig();
    expect(c.values.maxConcurrentHot).toMatchObject({
      value: 6,
      source: "environment",
      env: "MAX_CONCURRENT_HOT",
    });
    expect(c.values.timeoutHot).toMatchObject({ value: 3, source: "default" });
    expect(c.values.maxBatchSize!.source).toBe("profile");
    expect(c.values.adminToken!.value).toBe("(set)"); // never the secret itself
  });

  it("refuses a change without the admin token, and changes nothing", async () => {
    const r = await patch({ maxConcurrentHot: 2 }, null);
    expect(r.status).toBe(401);
    expect((await getConfig()).values.maxConcurrentHot!.value).toBe(6);
  });

  it.each([
    [{ maxConcurrentHot: 0 }, "MAX_CONCURRENT_HOT"],
    [{ maxConcurrentHot: "lots" }, "MAX_CONCURRENT_HOT"],
    [{ apiPort: 9000 }, "not a runtime setting"],
    [{ lowCpuThreshold: 90 }, "LOW_CPU_THRESHOLD"],
    [[1, 2], "body"],
  ])("rejects %j with 400 naming the problem, and changes nothing", async (body, named) => {
    const r = await patch(body);
    expect(r.status).toBe(400);
    const json = (await r.json()) as { error: string; issues: Array<{ message: string }> };
    expect(json.issues.map((i) => i.message).join(" ")).toContain(named);
    expect((await getConfig()).values.maxConcurrentHot!.value).toBe(6);
    expect(worker.live.config.maxConcurrentHot).toBe(6);
  });

  it("reaches a running worker within one second and caps its concurrency at once", async () => {
    const r = await patch({ MAX_CONCURRENT_HOT: 1, cacheTtlCold: 20 });
    expect(r.status).toBe(200);
    const body = (await r.json()) as Described;
    expect(body.values.maxConcurrentHot).toMatchObject({ value: 1, source: "runtime" });
    await waitUntil(
      "the worker to apply MAX_CONCURRENT_HOT=1",
      () => worker.live.config.maxConcurrentHot === 1 && worker.workers.hot.concurrency === 1,
      1_000,
      10,
    );
    expect(worker.live.config.cacheTtlCold).toBe(20);
    expect(worker.live.current.sources.maxConcurrentHot).toBe("runtime");
  });

  it("keeps the change across a restart of the worker", async () => {
    const restarted = startWorkerProcess({
      resolved: testResolved(env),
      redisUrl: redisUrl(),
      upstreamUrl,
      logger: silentLogger(),
    });
    cleanup.push(() => restarted.stop(500));
    await restarted.ready;
    expect(restarted.live.config.maxConcurrentHot).toBe(1);
    expect(restarted.workers.hot.concurrency).toBe(1);
  });

  it("applies updateOptimizationConfig() from @moonfleet/config the same way", async () => {
    await updateOptimizationConfig({ maxConcurrentCold: 3 }, { redis, prefix, base: testResolved(env) });
    await waitUntil(
      "the worker to apply maxConcurrentCold=3",
      () => worker.live.config.maxConcurrentCold === 3,
      1_000,
      10,
    );
    expect((await getConfig()).values.maxConcurrentCold).toMatchObject({ value: 3, source: "runtime" });
    await expect(
      updateOptimizationConfig({ maxConcurrentCold: -1 }, { redis, prefix, base: testResolved(env) }),
    ).rejects.toThrow(/MAX_CONCURRENT_COLD/);
    expect(worker.live.config.maxConcurrentCold).toBe(3);
  });

  it("returns to the environment on DELETE /config/overrides", async () => {
    const r = await fetch(`${base}/config/overrides`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(r.status).toBe(200);
    expect(((await r.json()) as Described).values.maxConcurrentHot).toMatchObject({
      value: 6,
      source: "environment",
    });
    await waitUntil(
      "the worker to drop the overrides",
      () => worker.live.config.maxConcurrentHot === 6,
      1_000,
      10,
    );
    expect(worker.live.current.sources.maxConcurrentHot).toBe("environment");
    expect(worker.live.config.cacheTtlCold).toBe(30);
  });
});
