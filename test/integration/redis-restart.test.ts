import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createRedis } from "@moonfleet/queues";
import { TokenStore, liveWorkers, type Snapshot } from "@moonfleet/store";
import { freePort } from "../../apps/launcher/src/free-port.js";
import { startRedisServer, type RedisServer } from "../../apps/launcher/src/redis-server.js";
import { demoMints } from "../../apps/simulator/src/index.js";
import { startSimulator, uniquePrefix, waitUntil } from "../support/harness.js";
import { runApp, stopApp, type AppProcess } from "../support/processes.js";

// Redis stopped and started again under a running fleet, with AOF on as `npm start` and compose run
// it: nothing registered or scored is lost, every process reconnects by itself, the api is unready
// while Redis is away, and every token is scored again soon after Redis returns.

const TOKENS = 200;
const TTL_HOT_S = 3;
const TTL_COLD_S = 5;
/** How long Redis stays away: longer than a few reconnect attempts (capped at 2 s each). */
const OUTAGE_MS = 5_000;
/** ioredis's retryStrategy in packages/queues/src/connection.ts never waits longer than this. */
const RECONNECT_BACKOFF_CAP_MS = 2_000;
/**
 * After Redis returns, a token is scored again within twice its TTL plus one reconnect backoff
 * (the longest a client can still be waiting to try again) and one second for the producer tick,
 * the queue hop and the upstream call.
 */
const rescoreBoundMs = (ttlS: number) => 2 * ttlS * 1_000 + RECONNECT_BACKOFF_CAP_MS + 1_000;

const dir = mkdtempSync(join(tmpdir(), "moonfleet-redis-restart-"));
const prefix = uniquePrefix();
const cleanup: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const f of cleanup.reverse()) await f().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

const get = async (url: string) => {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(3_000) })).status;
  } catch {
    return 0;
  }
};

describe("Redis stopped and restarted under a running fleet (AOF on)", () => {
  it("loses no token or snapshot, every process reconnects, and every token is scored again", async () => {
    // A private Redis on a fixed port, so it can come back where the fleet expects it.
    const port = await freePort();
    let redis: RedisServer = await startRedisServer({ dir, port, appendOnly: true });
    cleanup.push(() => redis.stop());
    const client = createRedis(redis.url, { name: "test", blocking: true });
    cleanup.push(() => client.quit());
    const store = new TokenStore(client, prefix);

    const { sim, url } = await startSimulator({ latencyMs: 20, jitterMs: 20 });
    cleanup.push(() => sim.close());
    const apiPort = await freePort();
    const env = {
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: prefix,
      UPSTREAM_URL: url,
      API_PORT: String(apiPort),
      API_HOST: "127.0.0.1",
      CACHE_TTL_HOT: String(TTL_HOT_S),
      CACHE_TTL_COLD: String(TTL_COLD_S),
      PRODUCER_TICK_MS: "200",
      DUE_MARGIN_MS: "500",
      SHUTDOWN_TIMEOUT_MS: "1000",
      // The default lease (30 s) is longer than the bound below: a token that comes back only
      // because its lease ended was dropped by a process on the way, and fails the test.
      LEASE_MS: "30000",
    };
    const apps: Record<string, AppProcess> = {
      api: runApp("api", env),
      producer: runApp("producer", env),
      "worker-1": runApp("worker", env),
      "worker-2": runApp("worker", env),
    };
    for (const p of Object.values(apps)) cleanup.push(() => stopApp(p, 3_000));
    const api = `http://127.0.0.1:${apiPort}`;
    const outputs = () =>
      Object.entries(apps)
        .map(([name, p]) => `--- ${name}\n${p.output().slice(-3_000)}`)
        .join("\n");
    await waitUntil("the api to be ready", async () => (await get(`${api}/readyz`)) === 200, 45_000);

    const mints = demoMints(TOKENS, `restart-${prefix}`);
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

    // What Redis holds before it goes away.
    const registered = (await store.counts(Date.now())).registered;
    expect(registered).toBe(TOKENS);
    const before = new Map<string, Snapshot>();
    for (const [i, x] of (await store.load(mints)).entries()) before.set(mints[i]!, x!.snapshot!);

    // SIGTERM makes Redis fsync the AOF and exit, as `redis-cli SHUTDOWN` does with AOF on
    // (`SHUTDOWN NOSAVE` only skips the RDB, which this server does not write: --save "").
    await redis.stop();
    const stoppedAt = Date.now();
    await waitUntil("/readyz to answer 503", async () => (await get(`${api}/readyz`)) === 503, 5_000, 100);
    expect(await get(`${api}/livez`)).toBe(200);
    await new Promise((r) => setTimeout(r, Math.max(0, OUTAGE_MS - (Date.now() - stoppedAt))));
    expect(await get(`${api}/readyz`)).toBe(503);
    expect(await get(`${api}/livez`)).toBe(200);

    redis = await startRedisServer({ dir, port, appendOnly: true });
    const backAt = Date.now();

    // Nothing lost: the registry and every snapshot came back from the AOF.
    expect((await store.counts(Date.now())).registered).toBe(registered);
    const after = await store.load(mints);
    for (const [i, x] of after.entries()) {
      const was = before.get(mints[i]!)!;
      expect(x?.snapshot, `snapshot of ${mints[i]}`).toBeTruthy();
      expect(x!.snapshot!.fetchedAt).toBeGreaterThanOrEqual(was.fetchedAt);
    }

    await waitUntil("/readyz to answer 200 again", async () => (await get(`${api}/readyz`)) === 200, 10_000);

    // Each worker is back: its controller writes heartbeats again (its store connection), and
    // below, it takes jobs again (its BullMQ connection). Jobs are counted from here on.
    const workerPids = [apps["worker-1"]!.child.pid!, apps["worker-2"]!.child.pid!];
    const jobsOf = async () => {
      const beats = await liveWorkers(client, prefix, Date.now(), 5_000);
      return new Map(
        beats.filter((h) => h.at > backAt).map((h) => [h.pid, h.lanes.hot.jobs + h.lanes.cold.jobs]),
      );
    };
    const jobsAtReturn = await waitUntil(
      "a heartbeat from every worker after Redis returned",
      async () => {
        const jobs = await jobsOf();
        return workerPids.every((pid) => jobs.has(pid)) ? jobs : null;
      },
      10_000,
    );

    // Every token scored again after Redis returned, within its bound.
    const ttlOf = (mint: string) => (before.get(mint)!.lane === "hot" ? TTL_HOT_S : TTL_COLD_S);
    const rescoredAt = new Map<string, number>();
    await waitUntil(
      "every token scored again after Redis returned",
      async () => {
        for (const [i, x] of (await store.load(mints)).entries()) {
          const fetchedAt = x?.snapshot?.fetchedAt ?? 0;
          if (fetchedAt > backAt && !rescoredAt.has(mints[i]!)) rescoredAt.set(mints[i]!, fetchedAt);
        }
        return rescoredAt.size === mints.length;
      },
      rescoreBoundMs(TTL_COLD_S) + 10_000,
      100,
    ).catch((err: Error) => {
      throw new Error(`${err.message} (${rescoredAt.size}/${mints.length})\n${outputs()}`);
    });
    const late = mints
      .map((m) => ({ m, ms: rescoredAt.get(m)! - backAt, bound: rescoreBoundMs(ttlOf(m)) }))
      .filter((x) => x.ms > x.bound);
    expect(late, outputs()).toEqual([]);

    await waitUntil(
      "every worker to take jobs again",
      async () => {
        const jobs = await jobsOf();
        return workerPids.every((pid) => (jobs.get(pid) ?? 0) > jobsAtReturn.get(pid)!);
      },
      10_000,
    );

    // No process exited: each one reconnected by itself.
    for (const [name, p] of Object.entries(apps)) {
      expect({ name, exitCode: p.child.exitCode, signal: p.child.signalCode }, outputs()).toEqual({
        name,
        exitCode: null,
        signal: null,
      });
    }
  });
});
