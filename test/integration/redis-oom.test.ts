import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { bullPrefix, createRedis } from "@moonfleet/queues";
import { TokenStore } from "@moonfleet/store";
import { freePort } from "../../apps/launcher/src/free-port.js";
import { startRedisServer } from "../../apps/launcher/src/redis-server.js";
import { demoMints } from "../../apps/simulator/src/index.js";
import { startSimulator, uniquePrefix, waitUntil } from "../support/harness.js";
import { runApp, stopApp, type AppProcess } from "../support/processes.js";

// Issue 20 item 8: Redis at maxmemory with noeviction under a running fleet. The workers wrote a
// log line per failed write (10,611 lines in 32 s), jobs failed for good, /readyz stayed 200 and
// writes answered 500. Here: /readyz says 503, a write gets a 503 that says why and stores nothing,
// the workers log a few lines with counts, and no job fails for good; after Redis has room again,
// every token is scored again.

const TOKENS = 150;
const OOM_MS = 15_000;
/** Worker lines over the whole outage: a handful per kind of error per 10 s interval, not hundreds. */
const MAX_WORKER_LINES = 40;
const ADMIN_TOKEN = "oom-admin-token-0123456789";

const dir = mkdtempSync(join(tmpdir(), "moonfleet-redis-oom-"));
const prefix = uniquePrefix();
const cleanup: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const f of cleanup.reverse()) await f().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

const lines = (text: string) => text.split("\n").filter((l) => l.trim() !== "");

describe("Redis out of memory (maxmemory, noeviction) under a running fleet", () => {
  it("answers 503 on /readyz and writes, logs a few counted lines, and fails no job for good", async () => {
    const redis = await startRedisServer({ dir, port: await freePort() });
    cleanup.push(() => redis.stop());
    const client = createRedis(redis.url, { name: "test", blocking: true });
    cleanup.push(() => client.quit());
    const store = new TokenStore(client, prefix);
    expect(await client.config("GET", "maxmemory-policy")).toEqual(["maxmemory-policy", "noeviction"]);

    const { sim, url } = await startSimulator({ latencyMs: 20, jitterMs: 10 });
    cleanup.push(() => sim.close());
    const apiPort = await freePort();
    const env = {
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: prefix,
      UPSTREAM_URL: url,
      API_PORT: String(apiPort),
      API_HOST: "127.0.0.1",
      ADMIN_TOKEN,
      CACHE_TTL_HOT: "3",
      CACHE_TTL_COLD: "3",
      PRODUCER_TICK_MS: "200",
      SHUTDOWN_TIMEOUT_MS: "1000",
    };
    const api = runApp("api", env);
    const producer = runApp("producer", env);
    const worker = runApp("worker", env);
    for (const p of [api, producer, worker] as AppProcess[]) cleanup.push(() => stopApp(p, 3_000));
    const base = `http://127.0.0.1:${apiPort}`;
    const status = async (path: string) =>
      (await fetch(`${base}${path}`, { signal: AbortSignal.timeout(3_000) }).catch(() => null))?.status ?? 0;
    await waitUntil("the api to be ready", async () => (await status("/readyz")) === 200, 45_000);

    const mints = demoMints(TOKENS, `oom-${prefix}`);
    await store.register(
      mints.map((mint) => ({ mint })),
      Date.now(),
    );
    await waitUntil(
      "every token scored",
      async () => (await store.load(mints)).every((x) => x?.snapshot),
      30_000,
      200,
    );

    // Out of memory: maxmemory below what Redis already holds, so every write that adds is refused.
    const used = Number(/used_memory:(\d+)/.exec(await client.info("memory"))![1]);
    const workerLinesBefore = lines(worker.output()).length;
    await client.config("SET", "maxmemory", String(Math.floor(used / 2)));
    const oomAt = Date.now();
    await expect(client.set(`${prefix}:probe`, "x")).rejects.toThrow(/^OOM/);

    await waitUntil("/readyz to answer 503", async () => (await status("/readyz")) === 503, 5_000, 100);
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { reason: string }).reason).toMatch(/out of memory/);

    const extra = demoMints(1, `oom-extra-${prefix}`)[0]!;
    const write = await fetch(`${base}/tokens`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${ADMIN_TOKEN}` },
      body: JSON.stringify({ mint: extra }),
    });
    const writeBody = (await write.json()) as { error: string };
    expect(write.status, JSON.stringify(writeBody)).toBe(503);
    expect(writeBody.error).toMatch(/out of memory/);
    expect((await store.load([extra]))[0]).toBeFalsy();

    await new Promise((r) => setTimeout(r, Math.max(0, OOM_MS - (Date.now() - oomAt))));
    const outageLines = lines(worker.output()).slice(workerLinesBefore);
    expect(
      outageLines.length,
      `worker lines during ${OOM_MS / 1000} s of OOM:\n${outageLines.slice(0, 20).join("\n")}`,
    ).toBeLessThanOrEqual(MAX_WORKER_LINES);
    // The lines that were held back are counted, not lost.
    expect(
      outageLines.some((l) => /"repeated":\d+/.test(l)),
      outageLines.slice(0, 20).join("\n"),
    ).toBe(true);

    await client.config("SET", "maxmemory", "0");
    const roomAt = Date.now();
    await waitUntil("/readyz to answer 200 again", async () => (await status("/readyz")) === 200, 10_000);
    await waitUntil(
      "every token scored again after Redis has room",
      async () => (await store.load(mints)).every((x) => (x?.snapshot?.fetchedAt ?? 0) > roomAt),
      30_000,
      250,
    );
    // No job failed for good: the batches that met the outage waited and ran again.
    const failed = await Promise.all(
      ["hot", "cold"].map((q) => client.zcard(`${bullPrefix(prefix)}:${q}:failed`)),
    );
    expect(failed, worker.output().slice(-3_000)).toEqual([0, 0]);
    expect(await store.counts(Date.now())).toMatchObject({ registered: TOKENS });
  }, 120_000);
});
