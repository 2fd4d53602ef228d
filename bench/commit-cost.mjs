// Redis time of the store's COMMIT per token, on its own redis-server: registers a registry, then
// commits refreshes of random tokens in batches as a worker does, and reads Redis's own
// commandstats (microseconds inside the script) per token.
//   node bench/commit-cost.mjs [--tokens 20000] [--batch 30] [--rounds 400]
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { createRedis } from "../packages/queues/dist/index.js";
import { TokenStore } from "../packages/store/dist/index.js";
import { startRedisServer } from "../apps/launcher/dist/redis-server.js";
import { redisCommandTime } from "./lib/memory.mjs";

const { values: args } = parseArgs({
  options: {
    tokens: { type: "string", default: "20000" },
    batch: { type: "string", default: "30" },
    rounds: { type: "string", default: "400" },
  },
});
const N = Number(args.tokens);
const B = Number(args.batch);
const ROUNDS = Number(args.rounds);

const dir = mkdtempSync(join(tmpdir(), "commit-cost-"));
const server = await startRedisServer({ dir });
const redis = createRedis(server.url, { name: "bench" });
try {
  const store = new TokenStore(redis, "cc");
  const mints = Array.from({ length: N }, (_, i) => `Mint${String(i).padStart(40, "x")}`);
  const now = Date.now();
  await store.register(
    mints.map((mint, i) => ({ mint, name: `Token ${i}`, symbol: `T${i}` })),
    now,
  );
  const components = { liquidity: 0.4, volume: 0.3, momentum: 0.2, activity: 0.5, age: 0.1 };
  const snapshot = (mint, t, i) => {
    const score = ((i * 7919) % 1000) / 1000;
    const status = score > 0.8 ? "active" : "monitoring";
    return {
      mint,
      name: `Token ${i}`,
      symbol: `T${i}`,
      status,
      lane: status === "active" ? "hot" : "cold",
      fetchedAt: t,
      score,
      smoothedScore: score,
      band: score > 0.8 ? "high" : "low",
      components,
      smoothed: components,
      metrics: {
        liquidityUsd: 12345.6 + i,
        volume24h: 98765.4,
        priceChange1h: 1.2,
        tx5m: 42,
        buys5m: 20,
        sells5m: 22,
        pairAgeH: 5.5,
        fdv: 1e6,
      },
      volatility: 0.001,
    };
  };
  const update = (mint, t, i) => ({
    snapshot: snapshot(mint, t, i),
    dueAt: t + 30_000,
    deadlineAt: t + 120_000,
    value: 0.5,
    lastGoodScoreAt: t,
    activeSince: null,
  });
  // Every token once, so each has a snapshot and a history, then the measured rounds.
  for (let i = 0; i < N; i += 500)
    await store.commit(mints.slice(i, i + 500).map((m, j) => update(m, now, i + j)));
  await redis.config("RESETSTAT");
  let t = now + 1000;
  const started = performance.now();
  for (let r = 0; r < ROUNDS; r++) {
    const batch = [];
    for (let j = 0; j < B; j++) {
      const i = Math.floor(Math.random() * N);
      batch.push(update(mints[i], t, i + r));
    }
    t += 10;
    await store.commit(batch);
  }
  const wall = performance.now() - started;
  const stats = await redisCommandTime(redis);
  const tokens = ROUNDS * B;
  const usec = Object.values(stats).reduce((a, c) => a + c.usec, 0);
  console.log(
    JSON.stringify({
      tokens: N,
      batch: B,
      rounds: ROUNDS,
      redisUsPerToken: Math.round((usec / tokens) * 10) / 10,
      wallUsPerToken: Math.round(((wall * 1000) / tokens) * 10) / 10,
      byCommand: Object.fromEntries(
        Object.entries(stats).map(([k, c]) => [k, Math.round((c.usec / tokens) * 10) / 10]),
      ),
    }),
  );
} finally {
  redis.disconnect();
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}
