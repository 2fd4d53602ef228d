// GET /tokens?format=ndjson|csv over a large registry: the api's resident memory while it streams
// every token, against its memory at rest. The export walks the score index one page (500 tokens)
// at a time, so the api's RSS should not grow with the registry.
//
//   npm run build && node bench/tokens-export.mjs [--tokens 100000] [--heap-mb 64]
//
// A private redis-server; the tokens are registered through TokenStore.register and each gets a
// snapshot scored by the real evaluateToken (two pools, every component non-zero); then the api
// runs from apps/api/dist as its own process and its VmRSS is read every 50 ms during each export.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { setInterval, clearInterval } from "node:timers";
import { setTimeout as sleep } from "node:timers/promises";
import { startRedisServer } from "../apps/launcher/dist/redis-server.js";
import { freePort } from "../apps/launcher/dist/free-port.js";
import { demoMints } from "../apps/simulator/dist/index.js";
import { createRedis } from "../packages/queues/dist/index.js";
import { evaluateToken, pairsSchema } from "../packages/scoring/dist/index.js";
import { TokenStore } from "../packages/store/dist/index.js";
import { Fleet, appMain, baseEnv, log, waitFor } from "./lib/processes.mjs";
import { rssMb, redisMemory, mb } from "./lib/memory.mjs";

const { fetch } = globalThis;
const { values: args } = parseArgs({
  options: { tokens: { type: "string", default: "100000" }, "heap-mb": { type: "string" } },
});
const TOKENS = Number(args.tokens);
/** A cap on the api's V8 old space: an export that held the list would die of it. */
const HEAP_MB = args["heap-mb"] ? Number(args["heap-mb"]) : null;
const PREFIX = "bench-export";
const WSOL = "So11111111111111111111111111111111111111112";

function pairsOf(mint, i) {
  const [a, b] = demoMints(2, `pools-${i % 1000}`);
  const pool = (address, dexId, labels, liquidity) => ({
    chainId: "solana",
    dexId,
    pairAddress: address,
    labels,
    baseToken: { address: mint, name: `Token ${i}`, symbol: `TK${i}` },
    quoteToken: { address: WSOL, symbol: "SOL" },
    priceUsd: "0.00021",
    txns: { m5: { buys: 10 + (i % 40), sells: 12 }, h1: { buys: 160, sells: 90 } },
    volume: { m5: 800 + (i % 3000), h1: 9_000 },
    priceChange: { m5: 4.2, h1: 18 },
    liquidity: { usd: liquidity },
  });
  return pairsSchema.parse([pool(a, "raydium", ["CPMM"], 42_000), pool(b, "meteora", ["DLMM"], 18_000)]);
}

async function seed(store, now) {
  const mints = demoMints(TOKENS, "bench-export");
  for (let i = 0; i < mints.length; i += 1_000) {
    const chunk = mints.slice(i, i + 1_000);
    await store.register(
      chunk.map((mint) => ({ mint, createdAt: now - 3_600_000 })),
      now - 60_000,
    );
    await store.commit(
      chunk.map((mint, j) => {
        const e = evaluateToken({
          mint,
          status: "monitoring",
          createdAt: now - 3_600_000 - (i + j) * 100,
          lastGoodScoreAt: null,
          activeSince: null,
          pairs: pairsOf(mint, i + j),
          previous: null,
          now,
        });
        return {
          snapshot: {
            mint,
            name: e.name,
            symbol: e.symbol,
            status: e.status,
            lane: e.lane,
            fetchedAt: now,
            score: e.raw.score,
            smoothedScore: e.smoothed.score,
            band: e.band,
            components: e.raw,
            smoothed: e.smoothed,
            metrics: e.metrics,
          },
          dueAt: now + 3_600_000,
          lastGoodScoreAt: e.lastGoodScoreAt,
          activeSince: e.activeSince,
        };
      }),
    );
  }
}

/** Streams `path`, counting lines and bytes, reading the api's RSS every 50 ms meanwhile. */
async function measure(base, pid, path) {
  const before = rssMb(pid);
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, rssMb(pid) ?? 0)), 50);
  const started = Date.now();
  const res = await fetch(`${base}${path}`);
  let bytes = 0;
  let lines = 0;
  for await (const chunk of res.body) {
    bytes += chunk.length;
    for (const b of chunk) if (b === 10) lines++;
  }
  clearInterval(sampler);
  return {
    path,
    status: res.status,
    lines,
    mb: mb(bytes),
    seconds: (Date.now() - started) / 1000,
    rssBeforeMb: before,
    rssPeakMb: peak,
  };
}

const tmp = mkdtempSync(join(tmpdir(), "moonfleet-export-"));
const fleet = new Fleet();
let redisServer;
let redis;
try {
  redisServer = await startRedisServer({ dir: join(tmp, "redis") });
  redis = createRedis(redisServer.url, { name: "bench" });
  const store = new TokenStore(redis, PREFIX);
  const seedStart = Date.now();
  await seed(store, Date.now());
  const mem = await redisMemory(redis);
  log(
    `${TOKENS} tokens registered and scored in ${Math.round((Date.now() - seedStart) / 1000)} s; redis used ${mb(mem.used)} MB`,
  );

  const port = await freePort();
  const nodeArgs = HEAP_MB ? [`--max-old-space-size=${HEAP_MB}`] : [];
  const api = fleet.start("api", [...nodeArgs, appMain("api")], {
    ...baseEnv,
    REDIS_URL: redisServer.url,
    REDIS_KEY_PREFIX: PREFIX,
    API_PORT: String(port),
    API_HOST: "127.0.0.1",
    LOG_LEVEL: "warn",
  });
  const base = `http://127.0.0.1:${port}`;
  await waitFor(`${base}/readyz`, "the api");
  await sleep(2_000);
  const results = [];
  results.push(await measure(base, api.pid, "/tokens?limit=100"));
  // A search walks the whole index too (symbol prefix, any case): its cost follows the registry.
  results.push(await measure(base, api.pid, "/tokens?q=tk4242&limit=50"));
  results.push(await measure(base, api.pid, "/tokens?band=watch&limit=50"));
  for (const path of [
    "/tokens?format=ndjson",
    "/tokens?format=csv",
    "/tokens?format=ndjson&sort=updated_desc",
    "/tokens?format=ndjson",
  ])
    results.push(await measure(base, api.pid, path));
  console.table(results);
  const page = results[0];
  const worst = Math.max(...results.slice(3).map((r) => r.rssPeakMb - page.rssBeforeMb));
  log(
    `api RSS at rest ${page.rssBeforeMb} MB; largest growth during an export ${Math.round(worst * 10) / 10} MB`,
  );
} finally {
  await fleet.stop("api");
  await redis?.quit().catch(() => undefined);
  await redisServer?.stop();
  rmSync(tmp, { recursive: true, force: true });
}
