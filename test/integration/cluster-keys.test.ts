import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRedis, type Redis } from "@moonfleet/queues";
import { TokenStore } from "@moonfleet/store";
import { freePort } from "../../apps/launcher/src/free-port.js";
import { redisServerPath } from "../../apps/launcher/src/redis-server.js";
import { demoMints } from "../../apps/simulator/src/index.js";
import { startSimulator, uniquePrefix, waitUntil } from "../support/harness.js";
import { runApp, stopApp, type AppProcess } from "../support/processes.js";

// Redis Cluster: every key of the queues and the store carries the hash tag `{REDIS_KEY_PREFIX}`, so
// they all live in one slot and the Lua scripts (ours and BullMQ's) never touch two slots. The test
// runs the real producer, worker and api against a one-node Redis Cluster, which rejects a script
// or a MULTI that spans slots (CROSSSLOT) just as a sharded one does, then asks it for the slot of
// every key the fleet wrote.

const prefix = uniquePrefix();
let server: ChildProcess;
let dir: string;
let url: string;
let redis: Redis;
const cleanup: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "moonfleet-cluster-"));
  const port = await freePort();
  // One node that owns all 16384 slots: a plain client never gets a MOVED, and cross-slot
  // commands still fail.
  server = spawn(
    redisServerPath() ?? "redis-server",
    [
      ...["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "no"],
      ...["--cluster-enabled", "yes", "--cluster-config-file", join(dir, "nodes.conf")],
      ...["--maxmemory-policy", "noeviction", "--logfile", "", "--loglevel", "warning"],
    ],
    { stdio: "ignore" },
  );
  url = `redis://127.0.0.1:${port}`;
  redis = createRedis(url, { name: "cluster-test", blocking: true });
  await waitUntil("redis-server in cluster mode", async () => (await redis.ping()) === "PONG", 10_000, 50);
  await redis.call("CLUSTER", "ADDSLOTSRANGE", "0", "16383");
  await waitUntil(
    "the cluster to be ok",
    async () => String(await redis.call("CLUSTER", "INFO")).includes("cluster_state:ok"),
    10_000,
    50,
  );
});

afterAll(async () => {
  for (const f of cleanup.reverse()) await f().catch(() => undefined);
  await redis?.quit().catch(() => undefined);
  server?.kill("SIGKILL");
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const slotOf = async (key: string) => Number(await redis.call("CLUSTER", "KEYSLOT", key));

async function allKeys(): Promise<string[]> {
  const keys: string[] = [];
  let cursor = "0";
  do {
    const [next, batch] = await redis.scan(cursor, "COUNT", 1_000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== "0");
  return keys;
}

describe("on Redis Cluster", () => {
  it("refuses a script over keys of two slots (the check below would see a split)", async () => {
    expect(await slotOf("mf:a")).not.toBe(await slotOf("mf:b"));
    await expect(
      redis.eval("return redis.call('MGET', KEYS[1], KEYS[2])", 2, "mf:a", "mf:b"),
    ).rejects.toThrow(/CROSSSLOT/);
  });

  it("the producer, a worker and the api work, and every key they write is in the slot of {prefix}", async () => {
    const { sim, url: upstreamUrl } = await startSimulator();
    cleanup.push(() => sim.close());
    const apiPort = await freePort();
    const env = {
      REDIS_URL: url,
      REDIS_KEY_PREFIX: prefix,
      UPSTREAM_URL: upstreamUrl,
      PRODUCER_TICK_MS: "100",
      API_PORT: String(apiPort),
      API_HOST: "127.0.0.1",
      ADMIN_TOKEN: "cluster-test-admin-token",
    };
    const apps: AppProcess[] = (["producer", "worker", "api"] as const).map((app) => runApp(app, env));
    cleanup.push(() => Promise.all(apps.map((p) => stopApp(p, 5_000))));

    // Registered through the api, so its writes count too.
    const mints = demoMints(50, `cluster-${prefix}`);
    const api = `http://127.0.0.1:${apiPort}`;
    await waitUntil("the api to be ready", async () => (await fetch(`${api}/readyz`)).ok, 20_000);
    const res = await fetch(`${api}/tokens`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${env.ADMIN_TOKEN}` },
      body: JSON.stringify({ mints }),
    });
    expect(res.status).toBe(201);
    const store = new TokenStore(redis, prefix);
    await waitUntil(
      "every token scored",
      async () => (await store.load(mints)).every((x) => x?.snapshot !== null && x?.snapshot !== undefined),
      30_000,
      100,
    );
    expect((await fetch(`${api}/tokens?limit=5`)).ok).toBe(true);
    await Promise.all(apps.map((p) => stopApp(p)));
    for (const p of apps) {
      expect(p.child.exitCode, p.output()).toBe(0);
      expect(p.output()).not.toMatch(/CROSSSLOT|MOVED|ASK /);
    }

    const keys = await allKeys();
    // What both sides wrote: BullMQ's queue keys and the store's token, schedule and index keys.
    const expected = [`{${prefix}}:q:hot:`, `{${prefix}}:q:cold:`, `{${prefix}}:tok:`, `{${prefix}}:snap:`];
    for (const start of expected)
      expect(
        keys.some((k) => k.startsWith(start)),
        start,
      ).toBe(true);
    for (const key of [`{${prefix}}:registry`, `{${prefix}}:due:cold`, `{${prefix}}:q:cold:meta`])
      expect(keys, key).toContain(key);

    const slot = await slotOf(`{${prefix}}`);
    const outside: string[] = [];
    for (const key of keys) if ((await slotOf(key)) !== slot) outside.push(key);
    expect(outside).toEqual([]);
    // Not one slot by luck: every key carries the tag.
    for (const key of keys) expect(key.startsWith(`{${prefix}}:`), key).toBe(true);
  });
});
