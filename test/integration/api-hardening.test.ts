import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Queue } from "bullmq";
import { afterAll, describe, expect, it } from "vitest";
import { bullPrefix, createRedis, type Redis } from "@moonfleet/queues";
import { TokenStore } from "@moonfleet/store";
import { createApiApp } from "../../apps/api/src/app.js";
import { freePort } from "../../apps/launcher/src/free-port.js";
import { startRedisServer } from "../../apps/launcher/src/redis-server.js";
import { demoMints } from "../../apps/simulator/src/index.js";
import { startWorkerProcess } from "../../apps/worker/src/worker-process.js";
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
import { runApp, stopApp } from "../support/processes.js";

// Issue 20 items 11 and 12, as the adversarial run did them: headers and Bull Board's actions from a
// cross-site form; a producer SIGSTOPped under a running fleet; Redis gone under the api.

const ADMIN_TOKEN = "hardening-admin-token-0123456789";
const BASIC = `Basic ${Buffer.from(`admin:${ADMIN_TOKEN}`).toString("base64")}`;
const cleanup: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const f of cleanup.reverse()) await f().catch(() => undefined);
});

async function startApi(redis: Redis, env: Record<string, string>): Promise<string> {
  const live = testLive({ ADMIN_TOKEN, ...env }, redis);
  const closers: Array<() => Promise<void>> = [];
  const app = createApiApp({
    live,
    redis,
    store: new TokenStore(redis, live.config.redisKeyPrefix),
    logger: silentLogger(),
    onClose: (c) => closers.push(c),
  });
  const server: Server = app.listen(0, "127.0.0.1");
  await once(server, "listening");
  cleanup.push(async () => {
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
    await Promise.all(closers.map((c) => c()));
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe("security headers and Bull Board's actions", () => {
  const prefix = uniquePrefix();
  const redis = testRedis("hardening-headers");
  cleanup.push(() => redis.quit());
  let base = "";
  let queue: Queue;

  it("answers with the usual security headers and no X-Powered-By, Bull Board included", async () => {
    base = await startApi(redis, { REDIS_KEY_PREFIX: prefix });
    queue = new Queue("hot", { connection: redis, prefix: bullPrefix(prefix) });
    cleanup.push(() => queue.close());
    for (const [path, headers] of [
      ["/", {}],
      ["/tokens", {}],
      ["/livez", {}],
      ["/admin/queues", { authorization: BASIC }],
      ["/admin/queues/api/queues", { authorization: BASIC }],
    ] as const) {
      const r = await fetch(`${base}${path}`, { headers });
      expect(r.status, path).toBe(200);
      expect(r.headers.get("x-powered-by"), path).toBeNull();
      expect(r.headers.get("x-content-type-options"), path).toBe("nosniff");
      expect(r.headers.get("x-frame-options"), path).toBe("DENY");
      const csp = r.headers.get("content-security-policy") ?? "";
      expect(csp, path).toContain("script-src 'self'");
      expect(csp, path).toContain("frame-ancestors 'none'");
    }
  });

  it("refuses a cross-site form that adds a job with the browser's Basic login, and keeps JSON from the board", async () => {
    const add = `${base}/admin/queues/api/queues/hot/add`;
    const job = { name: "batch", data: { lane: "hot", mints: ["evil"] } };
    // What a page on another site can send without a CORS preflight: form and text/plain bodies.
    for (const [type, body] of [
      ["application/x-www-form-urlencoded", "name=batch&data=%7B%7D"],
      ["text/plain", JSON.stringify(job)],
      [
        "multipart/form-data; boundary=x",
        '--x\r\nContent-Disposition: form-data; name="name"\r\n\r\nb\r\n--x--',
      ],
    ] as const) {
      for (const origin of ["https://evil.example", undefined]) {
        const r = await fetch(add, {
          method: "POST",
          headers: {
            authorization: BASIC,
            "content-type": type,
            ...(origin ? { origin, "sec-fetch-site": "cross-site" } : {}),
          },
          body,
        });
        expect([403, 415], `${type} from ${origin ?? "no origin"}`).toContain(r.status);
        expect(((await r.json()) as { error: string }).error).toEqual(expect.any(String));
      }
    }
    // JSON from another site is refused too (a browser would need CORS, but the Origin says enough).
    const crossJson = await fetch(add, {
      method: "POST",
      headers: { authorization: BASIC, "content-type": "application/json", origin: "https://evil.example" },
      body: JSON.stringify(job),
    });
    expect(crossJson.status).toBe(403);
    expect(await queue.getJobCounts("waiting", "delayed", "prioritized")).toEqual({
      waiting: 0,
      delayed: 0,
      prioritized: 0,
    });

    // The board's own page sends JSON from the same origin: that still works.
    const own = await fetch(add, {
      method: "POST",
      headers: { authorization: BASIC, "content-type": "application/json", origin: base },
      body: JSON.stringify(job),
    });
    expect(own.status).toBe(200);
    expect(await queue.getWaitingCount()).toBe(1);
  });
});

describe("/health with a hung producer", () => {
  it("fails once the SIGSTOPped producer's heartbeat (its leader lock) expires, and passes again after SIGCONT", async () => {
    const prefix = uniquePrefix();
    const env = {
      REDIS_KEY_PREFIX: prefix,
      PRODUCER_TICK_MS: "200",
      CACHE_TTL_HOT: "3",
      CACHE_TTL_COLD: "3",
    };
    const { sim, url } = await startSimulator({ latencyMs: 10 });
    cleanup.push(() => sim.close());
    const producer = runApp("producer", { ...env, REDIS_URL: redisUrl() });
    cleanup.push(async () => {
      producer.child.kill("SIGCONT");
      await stopApp(producer, 3_000);
    });
    const worker = startWorkerProcess({
      resolved: testResolved(env),
      redisUrl: redisUrl(),
      upstreamUrl: url,
      logger: silentLogger(),
    });
    cleanup.push(() => worker.stop(500));
    const redis = testRedis("hardening-health");
    cleanup.push(() => redis.quit());
    const base = await startApi(redis, env);
    await new TokenStore(redis, prefix).register(
      demoMints(60, `hung-${prefix}`).map((mint) => ({ mint })),
      Date.now(),
    );
    type Health = { status: string; checks: Record<string, Array<{ status: string }>> };
    const health = async () => {
      const r = await fetch(`${base}/health`);
      return { code: r.status, body: (await r.json()) as Health };
    };
    await waitUntil(
      "/health to pass with a live producer",
      async () => (await health()).code === 200,
      30_000,
    );
    expect((await health()).body.checks["producer:heartbeat"]?.[0]?.status).toBe("pass");

    producer.child.kill("SIGSTOP");
    const stoppedAt = Date.now();
    const failed = await waitUntil(
      "/health to fail with the producer hung",
      async () => {
        const h = await health();
        return h.code === 503 ? h : null;
      },
      15_000,
      250,
    );
    expect(failed.body.status).toBe("fail");
    expect(failed.body.checks["producer:heartbeat"]?.[0]?.status).toBe("fail");
    // The lock lives 5 s (5 ticks, at least 5 s): the hang is seen soon after, not never.
    expect(Date.now() - stoppedAt).toBeLessThan(12_000);

    producer.child.kill("SIGCONT");
    await waitUntil("/health to pass again after SIGCONT", async () => (await health()).code === 200, 20_000);
  }, 90_000);
});

describe("Redis gone under the api", () => {
  it("answers /health, /readyz and GET /tokens with a quick 503, not a slow 500", async () => {
    const dir = mkdtempSync(join(tmpdir(), "moonfleet-hardening-redis-"));
    cleanup.push(() => Promise.resolve(rmSync(dir, { recursive: true, force: true })));
    const server = await startRedisServer({ dir, port: await freePort() });
    cleanup.push(() => server.stop());
    const redis = createRedis(server.url, { name: "hardening-api" });
    cleanup.push(() => Promise.resolve(redis.disconnect()));
    const base = await startApi(redis, { REDIS_KEY_PREFIX: uniquePrefix() });
    expect((await fetch(`${base}/tokens`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);

    await server.stop();
    await waitUntil(
      "the api to see Redis gone",
      async () => (await fetch(`${base}/readyz`)).status === 503,
      5_000,
    );
    for (const path of [
      "/health",
      "/tokens",
      `/tokens/${demoMints(1, "gone")[0]}`,
      "/health/scheduler",
      "/readyz",
    ]) {
      const started = performance.now();
      const r = await fetch(`${base}${path}`, { signal: AbortSignal.timeout(5_000) });
      const ms = performance.now() - started;
      expect(r.status, path).toBe(503);
      expect(ms, path).toBeLessThan(1_000);
      const body = (await r.json()) as { error?: string; status?: string };
      expect(body.error ?? body.status, path).toMatch(/unavailable|fail/);
    }
  }, 60_000);
});
