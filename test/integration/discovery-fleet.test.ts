import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseDiscoveryStatus, redisKeys } from "@moonfleet/domain";
import type { Redis } from "@moonfleet/queues";
import { freePort } from "../../apps/launcher/src/free-port.js";
import type { StreamStats } from "../../apps/simulator/src/index.js";
import { redisUrl, testRedis, uniquePrefix, waitUntil } from "../support/harness.js";
import { runApp, stopApp, type AppProcess } from "../support/processes.js";

// The acceptance run of issue 12: npm start's fleet (launcher, simulator, api, producer, discovery,
// 2 workers, each its own process) takes 1,000 migrations announced at 1,200 per minute by itself.

const MIGRATIONS = 1_000;
const CACHE_TTL_COLD_S = 30;

let redis: Redis;
let fleet: AppProcess | undefined;

beforeAll(() => {
  redis = testRedis("discovery-fleet");
});
afterAll(async () => {
  if (fleet) await stopApp(fleet, 20_000);
  await redis.quit();
});

describe("the whole fleet under a migration burst", () => {
  it("registers each of 1,000 migrations (1,200 per minute) once and scores it within CACHE_TTL_COLD + 10 s", async () => {
    const prefix = uniquePrefix();
    const [apiPort, simPort] = [await freePort(), await freePort()];
    const sim = `http://127.0.0.1:${simPort}`;
    fleet = runApp("launcher", {
      REDIS_URL: redisUrl(),
      REDIS_KEY_PREFIX: prefix,
      API_PORT: String(apiPort),
      SIMULATOR_PORT: String(simPort),
      SIMULATOR_MIGRATIONS_PER_MINUTE: "1200",
      CACHE_TTL_COLD: String(CACHE_TTL_COLD_S),
      DEMO_TOKENS: "0",
      WORKER_PROCESSES: "2",
      ADMIN_TOKEN: "test-admin-token-0123456789",
      LOG_LEVEL: "warn",
    });
    const streamStats = async (): Promise<StreamStats> =>
      ((await (await fetch(`${sim}/admin/stats`)).json()) as { stream: StreamStats }).stream;
    await waitUntil("the fleet's banner", () => fleet!.output().includes("the fleet is running"), 60_000);

    // The simulator keeps the latest 500 announcements: collect them as they come.
    const announcedAt = new Map<string, number>();
    let total = 0;
    await waitUntil(
      `${MIGRATIONS} announcements`,
      async () => {
        const s = await streamStats();
        for (const m of s.migrations.recent) announcedAt.set(m.mint, m.at);
        total = s.migrations.announced;
        if (total < MIGRATIONS) return false;
        await fetch(`${sim}/admin/settings`, {
          method: "PATCH",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ migrationsPerMinute: 0 }),
        });
        return true;
      },
      120_000,
      1_000,
    );
    const last = await streamStats();
    for (const m of last.migrations.recent) announcedAt.set(m.mint, m.at);
    expect(last.migrations.announced).toBe(announcedAt.size);
    expect(last.maxOpen).toBe(1);
    const mints = [...announcedAt.keys()];
    expect(mints.length).toBeGreaterThanOrEqual(MIGRATIONS);

    const k = redisKeys(prefix);
    await waitUntil(
      "every announced mint scored",
      async () => {
        const p = redis.pipeline();
        for (const m of mints) p.lindex(k.history(m), -1);
        const res = (await p.exec()) ?? [];
        return res.every(([, v]) => typeof v === "string");
      },
      (CACHE_TTL_COLD_S + 30) * 1_000,
      1_000,
    );

    // Exactly once: the registry holds every announced mint and nothing else, with no duplicate.
    expect(await redis.zcard(k.registry)).toBe(mints.length);
    const status = parseDiscoveryStatus(await redis.get(k.discoveryStatus));
    expect(status?.outcomes.registered).toBe(mints.length);
    expect(status?.outcomes.duplicate).toBe(0);
    expect(status?.reconnects).toBe(0);

    // Scored within the cold lane's TTL plus 10 s of its announcement (first history entry).
    const p = redis.pipeline();
    for (const m of mints) p.lindex(k.history(m), -1).hget(k.token(m), "source");
    const res = (await p.exec()) ?? [];
    const late: Array<{ mint: string; ms: number }> = [];
    const delays: number[] = [];
    mints.forEach((mint, i) => {
      const first = JSON.parse(res[2 * i]?.[1] as string) as { t: number };
      expect(res[2 * i + 1]?.[1]).toBe("pumpportal");
      const ms = first.t - announcedAt.get(mint)!;
      delays.push(ms);
      if (ms > (CACHE_TTL_COLD_S + 10) * 1_000) late.push({ mint, ms });
    });
    delays.sort((a, b) => a - b);
    console.log(
      `first score after announcement: p50 ${delays[Math.floor(delays.length / 2)]} ms, ` +
        `p99 ${delays[Math.floor(delays.length * 0.99)]} ms, max ${delays.at(-1)} ms over ${delays.length} mints`,
    );
    expect(late).toEqual([]);
  }, 240_000);
});
