import { spawnSync } from "node:child_process";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import { parseDiscoveryStatus, redisKeys } from "@moonfleet/domain";
import { TokenStore } from "@moonfleet/store";
import { createApiApp } from "../../apps/api/src/app.js";
import { createDiscovery } from "../../apps/discovery/src/discovery.js";
import {
  redisUrl,
  silentLogger,
  startSimulator,
  testLive,
  testRedis,
  uniquePrefix,
  waitUntil,
} from "../support/harness.js";

// The discovery block of /health/scheduler and the discovery and registry metrics, read by a real
// api from a real discovery leader on the simulator's stream.
const redis = testRedis("discovery-visibility");
const cleanup: Array<() => Promise<unknown>> = [];

afterAll(async () => {
  for (const f of cleanup.reverse()) await f().catch(() => undefined);
  await redis.quit();
});

async function startApi(env: Record<string, string>) {
  const closers: Array<() => Promise<void>> = [];
  const app = createApiApp({
    live: testLive({ ADMIN_TOKEN: "visibility-admin-token", ...env }, redis),
    redis,
    store: new TokenStore(redis, env.REDIS_KEY_PREFIX!),
    logger: silentLogger(),
    onClose: (c) => closers.push(c),
  });
  const server = app.listen(0, "127.0.0.1");
  await once(server, "listening");
  cleanup.push(async () => {
    await new Promise((r) => server.close(r));
    await Promise.all(closers.map((c) => c()));
  });
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    scheduler: async () => (await (await fetch(`${base}/health/scheduler`)).json()) as Record<string, any>,
    metrics: async () => (await fetch(`${base}/metrics`)).text(),
  };
}

/** The value of one sample (`name{labels}`) in a Prometheus text exposition. */
function sample(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe("discovery visibility", () => {
  it("says off when DISCOVERY_URL=off and no leader when none leads", async () => {
    const off = await startApi({ REDIS_KEY_PREFIX: uniquePrefix(), DISCOVERY_URL: "off" });
    expect((await off.scheduler()).discovery).toEqual({ state: "off", connected: false, leader: null });
    const none = await startApi({ REDIS_KEY_PREFIX: uniquePrefix() });
    const s = await none.scheduler();
    expect(s.discovery).toEqual({ state: "no_leader", connected: false, leader: null });
    expect(s.registry).toEqual({ tokens: 0, byStatus: { monitoring: 0, active: 0, archived: 0 } });
    const text = await none.metrics();
    expect(sample(text, "moonfleet_discovery_connected")).toBe(0);
    expect(sample(text, 'moonfleet_discovery_events_total{outcome="registered"}')).toBe(0);
  });

  it("shows the leader's stream, arrivals, rejects and the registry by status", async () => {
    const prefix = uniquePrefix();
    const { sim, url } = await startSimulator({ migrationsPerMinute: 600 });
    cleanup.push(() => sim.close());
    const api = await startApi({ REDIS_KEY_PREFIX: prefix });
    const discovery = createDiscovery({
      redisUrl: redisUrl(),
      prefix,
      url: `${url.replace(/^http/, "ws")}/api/data`,
      pingMs: 20_000,
      logger: silentLogger(),
    });
    const stop = new AbortController();
    const running = discovery.run(stop.signal);
    cleanup.push(async () => {
      stop.abort();
      await running;
      await discovery.close();
    });

    await waitUntil("registrations", () => discovery.status().outcomes.registered >= 3);
    sim.dropConnections();
    await waitUntil(
      "a reconnect",
      () => discovery.status().reconnects === 1 && discovery.status().subscribed,
    );
    // Junk only on the connection that stays, so every junk frame sent is received.
    sim.settings.update({ junkRate: 0.5 });
    await waitUntil("every kind of junk", () => Object.values(sim.stats().stream.junk).every((n) => n >= 1));
    sim.settings.update({ migrationsPerMinute: 0 });
    // Let the last migration land and its status be published (every second).
    await new Promise((r) => setTimeout(r, 2_500));

    const k = redisKeys(prefix);
    const registered = await redis.zcard(k.registry);
    const published = parseDiscoveryStatus(await redis.get(k.discoveryStatus))!;
    expect(published.outcomes.registered).toBe(registered);

    const s = await api.scheduler();
    const d = s.discovery;
    expect(d).toMatchObject({ state: "connected", connected: true, leader: published.id, reconnects: 1 });
    expect(d.url).not.toContain("api-key");
    expect(d.eventsPerMinute).toBeGreaterThanOrEqual(registered);
    expect(d.lastEventAgeSeconds).toBeGreaterThanOrEqual(0);
    expect(d.lastEventAgeSeconds).toBeLessThan(60);
    expect(d.lastDisconnectReason).toMatch(/closed by the server/);
    expect(d.registered).toBe(registered);
    const junk = sim.stats().stream.junk;
    expect(d.rejected.not_json).toBe(junk.text);
    // The stream greets each subscription with a message without a mint, counted as no_mint too.
    expect(d.rejected.no_mint).toBe(junk.noMint + sim.stats().stream.subscribes);
    expect(d.rejected.invalid_mint).toBe(junk.badMint);
    expect(d.rejected.oversized).toBe(junk.oversized);
    expect(s.registry).toEqual({
      tokens: registered,
      byStatus: { monitoring: registered, active: 0, archived: 0 },
    });

    const text = await api.metrics();
    expect(sample(text, "moonfleet_discovery_connected")).toBe(1);
    expect(sample(text, 'moonfleet_discovery_events_total{outcome="registered"}')).toBe(registered);
    expect(sample(text, 'moonfleet_discovery_events_total{outcome="not_json"}')).toBe(junk.text);
    expect(sample(text, 'moonfleet_registry_tokens{status="monitoring"}')).toBe(registered);
    expect(sample(text, 'moonfleet_registry_tokens{status="archived"}')).toBe(0);
    const promtool = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
    if (!promtool.error) expect(promtool.stdout + promtool.stderr).toBe("");

    // The leader stops: no leader, not connected, and the counters keep their last totals.
    stop.abort();
    await running;
    const after = await api.scheduler();
    expect(after.discovery).toEqual({ state: "no_leader", connected: false, leader: null });
    const text2 = await api.metrics();
    expect(sample(text2, "moonfleet_discovery_connected")).toBe(0);
    expect(sample(text2, 'moonfleet_discovery_events_total{outcome="registered"}')).toBe(registered);
  });
});
