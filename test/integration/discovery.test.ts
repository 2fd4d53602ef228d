import { once } from "node:events";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { WebSocketServer } from "ws";
import { parseDiscoveryStatus, redisKeys, type DiscoveryStatus } from "@moonfleet/domain";
import type { Redis } from "@moonfleet/queues";
import { TokenStore } from "@moonfleet/store";
import { createApiApp } from "../../apps/api/src/app.js";
import { reconnectDelayMs } from "../../apps/discovery/src/backoff.js";
import { freePort } from "../../apps/launcher/src/free-port.js";
import {
  createSimulator,
  type Simulator,
  type SimulatorSettingsPatch,
} from "../../apps/simulator/src/index.js";
import { redisUrl, silentLogger, testLive, testRedis, uniquePrefix, waitUntil } from "../support/harness.js";
import { runApp, stopApp, type AppProcess } from "../support/processes.js";

// Discovery runs as its own process (as npm start and compose run it) against the simulator's
// PumpPortal-compatible stream, in this process, so the test reads the stream's counters directly.

const ADMIN_TOKEN = "test-admin-token-0123456789";
let redis: Redis;
const running: AppProcess[] = [];
const sims: Simulator[] = [];

beforeAll(() => {
  redis = testRedis("discovery-test");
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((p) => stopApp(p, 5_000)));
  // Some were closed by the test already.
  await Promise.all(sims.splice(0).map((s) => s.close().catch(() => undefined)));
});
afterAll(async () => {
  await redis.quit();
});

async function simulator(
  settings: SimulatorSettingsPatch,
  opts: { seed?: string; port?: number } = {},
): Promise<{ sim: Simulator; port: number; streamUrl: string }> {
  const sim = createSimulator({
    settings: { latencyMs: 0, jitterMs: 0, rateLimitRpm: 0, ...settings },
    ...(opts.seed ? { seed: opts.seed } : {}),
  });
  sims.push(sim);
  const { port } = await sim.listen(opts.port ?? 0, "127.0.0.1");
  return { sim, port, streamUrl: `ws://127.0.0.1:${port}/api/data` };
}

function discovery(prefix: string, url: string, env: Record<string, string> = {}): AppProcess {
  const p = runApp("discovery", {
    REDIS_URL: redisUrl(),
    REDIS_KEY_PREFIX: prefix,
    DISCOVERY_URL: url,
    LOG_LEVEL: "info",
    ...env,
  });
  running.push(p);
  return p;
}

async function status(prefix: string): Promise<DiscoveryStatus | null> {
  return parseDiscoveryStatus(await redis.get(redisKeys(prefix).discoveryStatus));
}

/** Every JSON log line of a process's output. */
function logLines(p: AppProcess): Record<string, unknown>[] {
  return p
    .output()
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Polls the simulator's stream counters every 25 ms and keeps the most connections seen open at once. */
function watchOpen(sim: Simulator) {
  let maxOpen = 0;
  const timer = setInterval(() => (maxOpen = Math.max(maxOpen, sim.stats().stream.open)), 25);
  return {
    maxOpen: () => Math.max(maxOpen, sim.stats().stream.maxOpen),
    stop: () => clearInterval(timer),
  };
}

describe("discovery against the simulator's migration stream", () => {
  it("two processes hold one connection; SIGKILL of the leader hands it to the standby within 10 s", async () => {
    const prefix = uniquePrefix();
    const { sim, streamUrl } = await simulator({ migrationsPerMinute: 120 });
    const watch = watchOpen(sim);
    try {
      const a = discovery(prefix, streamUrl);
      const b = discovery(prefix, streamUrl);
      await waitUntil("a subscribed connection", () => sim.stats().stream.subscribes >= 1, 20_000);
      // Both have had several ticks to contend for the lead.
      await new Promise((r) => setTimeout(r, 3_000));
      const leaderId = await redis.get(redisKeys(prefix).discoveryLeader);
      expect(leaderId).toBeTruthy();
      const leaderPid = Number(leaderId!.split("-")[0]);
      const [leader, standby] = a.child.pid === leaderPid ? [a, b] : [b, a];
      expect(leader.child.pid).toBe(leaderPid);
      expect(sim.stats().stream.open).toBe(1);
      const before = sim.stats().stream;

      const killedAt = Date.now();
      leader.child.kill("SIGKILL");
      await leader.exited;
      await waitUntil(
        "the standby's subscribed connection",
        () => {
          const s = sim.stats().stream;
          return s.accepted > before.accepted && s.subscribes > before.subscribes && s.open === 1;
        },
        15_000,
        25,
      );
      const tookMs = Date.now() - killedAt;
      console.info(`standby connected and subscribed ${tookMs} ms after the leader's SIGKILL`);
      expect(tookMs).toBeLessThanOrEqual(10_000);
      const st = await waitUntil("the standby's status", async () => {
        const s = await status(prefix);
        return s?.subscribed ? s : null;
      });
      expect(Number(st.id.split("-")[0])).toBe(standby.child.pid);
      // It also registers what the stream announces from then on.
      const registered = st.outcomes.registered ?? 0;
      await waitUntil(
        "a registration by the standby",
        async () => ((await status(prefix))?.outcomes.registered ?? 0) > registered,
        20_000,
      );
      expect(watch.maxOpen()).toBe(1);
    } finally {
      watch.stop();
    }
  });

  it("reconnects after 5 drops in a minute within the backoff bound, subscribing every time and registering no mint twice", async () => {
    const prefix = uniquePrefix();
    const { sim, streamUrl } = await simulator({ migrationsPerMinute: 300 });
    const p = discovery(prefix, streamUrl, { DISCOVERY_PING_MS: "5000" });
    await waitUntil("a subscribed connection", () => sim.stats().stream.subscribes >= 1, 20_000);
    const started = Date.now();
    const gaps: number[] = [];
    for (let drop = 0; drop < 5; drop++) {
      // Long enough for some migrations, short enough that the backoff keeps growing.
      await new Promise((r) => setTimeout(r, 1_500));
      const before = sim.stats().stream;
      const droppedAt = Date.now();
      expect(sim.dropConnections()).toBe(1);
      await waitUntil(
        `reconnect ${drop + 1}`,
        () => {
          const s = sim.stats().stream;
          return s.accepted > before.accepted && s.subscribes > before.subscribes;
        },
        20_000,
        20,
      );
      gaps.push(Date.now() - droppedAt);
    }
    console.info(`reconnects after each drop: ${gaps.join(", ")} ms`);
    expect(Date.now() - started).toBeLessThan(60_000);
    // Attempt n waits 2^n s (at most 10 s) plus up to 0.5 s: never sooner, and not much later.
    gaps.forEach((gap, n) => {
      expect(gap).toBeGreaterThanOrEqual(reconnectDelayMs(n, 0) - 50);
      expect(gap).toBeLessThanOrEqual(reconnectDelayMs(n, 0.999) + 2_000);
    });
    const stream = sim.stats().stream;
    expect(stream.accepted).toBe(6);
    expect(stream.subscribes).toBe(6);
    expect(stream.maxOpen).toBe(1);

    // Let the last registrations land, then compare the registry with what was announced.
    await waitUntil("a migration after the last reconnect", async () => {
      const st = await status(prefix);
      return st && st.lastEventAt !== null && st.lastEventAt > started + gaps.reduce((a, b) => a + b);
    });
    sim.settings.update({ migrationsPerMinute: 0 });
    await new Promise((r) => setTimeout(r, 1_000));
    // The status is published every second: take one published after the registry was read.
    const registry = await redis.zrange(redisKeys(prefix).registry, 0, -1);
    const readAt = Date.now();
    const st = await waitUntil("a status published after reading the registry", async () => {
      const s = await status(prefix);
      return s && s.at > readAt ? s : null;
    });
    expect(st.reconnects).toBe(5);
    const announced = new Set(sim.stats().stream.migrations.recent.map((m) => m.mint));
    expect(registry.length).toBeGreaterThan(10);
    for (const mint of registry) expect(announced.has(mint)).toBe(true);
    expect(st.outcomes.registered).toBe(registry.length);
    expect(st.outcomes.duplicate).toBe(0);
    const logged = logLines(p)
      .filter((l) => l.event === "tokens_registered")
      .map((l) => l.mint as string);
    expect(logged.length).toBe(registry.length);
    expect(new Set(logged).size).toBe(logged.length);
    const store = new TokenStore(redis, prefix);
    const tokens = await store.load(registry.slice(0, 20));
    for (const t of tokens) {
      expect(t?.token.source).toBe("pumpportal");
      expect(t?.token.status).toBe("monitoring");
    }
    // Each drop is logged with its reason.
    const drops = logLines(p).filter((l) => l.event === "discovery_disconnected");
    expect(drops.length).toBe(5);
    for (const d of drops) expect(String(d.reason)).toMatch(/closed by the server|socket hang up|1006/);
  });

  it("replaces a stream that stops answering pings within 45 s (default 20 s ping)", async () => {
    const prefix = uniquePrefix();
    const { sim, streamUrl } = await simulator({ migrationsPerMinute: 30 });
    const p = discovery(prefix, streamUrl);
    await waitUntil("a subscribed connection", () => sim.stats().stream.subscribes >= 1, 20_000);
    sim.settings.update({ answerPings: false });
    const silentAt = Date.now();
    await waitUntil("a new connection", () => sim.stats().stream.accepted >= 2, 60_000, 50);
    const tookMs = Date.now() - silentAt;
    sim.settings.update({ answerPings: true });
    console.info(`half-dead stream replaced ${tookMs} ms after pings stopped being answered`);
    expect(tookMs).toBeLessThanOrEqual(45_000);
    await waitUntil("the new connection's subscription", () => sim.stats().stream.subscribes >= 2, 10_000);
    expect(sim.stats().stream.maxOpen).toBe(1);
    const drop = logLines(p).find((l) => l.event === "discovery_disconnected");
    expect(String(drop?.reason)).toContain("no pong");
  }, 90_000);

  it("keeps a mint an operator deleted out for 24 h when the stream announces it again", async () => {
    const prefix = uniquePrefix();
    const seed = `replay-${prefix}`;
    const port = await freePort();
    const first = await simulator({ migrationsPerMinute: 600 }, { seed, port });
    discovery(prefix, first.streamUrl);
    const store = new TokenStore(redis, prefix);
    const k = redisKeys(prefix);
    await waitUntil("8 registrations", async () => (await redis.zcard(k.registry)) >= 8, 30_000);
    first.sim.settings.update({ migrationsPerMinute: 0 });
    await new Promise((r) => setTimeout(r, 500));
    const announced = first.sim.stats().stream.migrations.recent.map((m) => m.mint);
    await waitUntil(
      "every announced mint registered",
      async () => (await redis.zcard(k.registry)) === announced.length,
    );
    const victim = announced[1]!;

    // The operator deletes it through the api.
    const app = createApiApp({
      live: testLive({ REDIS_KEY_PREFIX: prefix, ADMIN_TOKEN }, redis),
      redis,
      store,
      logger: silentLogger(),
      stopping: () => false,
    });
    const server: Server = app.listen(0, "127.0.0.1");
    await once(server, "listening");
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const del = await fetch(`${base}/tokens/${victim}`, {
        method: "DELETE",
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      });
      expect(del.status).toBe(204);
    } finally {
      server.close();
      server.closeAllConnections();
    }
    const holdMs = await redis.pttl(k.deleted(victim));
    expect(holdMs).toBeGreaterThan(24 * 3_600_000 - 60_000);
    expect(holdMs).toBeLessThanOrEqual(24 * 3_600_000);

    // A restarted stream with the same seed announces the same mints again, in the same order.
    const kept = announced.length - 1;
    await first.sim.close();
    const second = await simulator({ migrationsPerMinute: 600 }, { seed, port });
    await waitUntil(
      "the replayed announcements",
      async () => {
        const st = await status(prefix);
        return st && (st.outcomes.duplicate ?? 0) >= kept && (st.outcomes.deleted_recently ?? 0) >= 1;
      },
      40_000,
    );
    second.sim.settings.update({ migrationsPerMinute: 0 });
    expect(await store.get(victim)).toBeNull();
    expect(await redis.zscore(k.registry, victim)).toBeNull();
    expect((await status(prefix))!.outcomes.deleted_recently).toBe(1);

    // Without the hold (its 24 h over), the next announcement brings the mint back.
    await redis.del(k.deleted(victim));
    await second.sim.close();
    const third = await simulator({ migrationsPerMinute: 600 }, { seed, port });
    await waitUntil("the mint back", async () => (await store.get(victim)) !== null, 40_000);
    third.sim.settings.update({ migrationsPerMinute: 0 });
  }, 120_000);

  it("sends the api key in the query and never logs it", async () => {
    const prefix = uniquePrefix();
    const key = "sk-secret-4f9d2c71b8e0a6";
    // A bare WebSocket server that records each upgrade's URL and drops the first connection.
    const urls: string[] = [];
    const wss = new WebSocketServer({ port: 0, host: "127.0.0.1" });
    await once(wss, "listening");
    wss.on("connection", (ws, req) => {
      urls.push(req.url ?? "");
      ws.on("message", () => undefined);
      if (urls.length === 1) setTimeout(() => ws.terminate(), 300);
    });
    try {
      const port = (wss.address() as AddressInfo).port;
      const p = discovery(prefix, `ws://127.0.0.1:${port}/api/data?x=1`, {
        DISCOVERY_API_KEY: key,
        LOG_LEVEL: "debug",
      });
      await waitUntil("a reconnect", () => urls.length >= 2, 20_000);
      await stopApp(p, 5_000);
      for (const u of urls) {
        const q = new URL(u, "http://x").searchParams;
        expect(q.get("api-key")).toBe(key);
        expect(q.get("x")).toBe("1");
      }
      const out = p.output();
      expect(out).toContain("discovery_connected");
      expect(out).toContain("discovery_disconnected");
      expect(out).not.toContain(key);
      expect(out).not.toContain(key.slice(3));
    } finally {
      for (const c of wss.clients) c.terminate();
      wss.close();
    }
  });
});
