// The `discovery` benchmark: does the registry stay bounded when tokens arrive by themselves?
//
//   npm run bench:discovery                         30 minutes at 60 migrations per minute
//   npm run bench:discovery -- --minutes 5 --rate 120 --monitoring-min 1 --retention-min 2
//   npm run bench:discovery -- --time-scale 1       market lives in real time (hours)
//
// A private redis-server, the simulator (its PumpPortal-compatible stream announcing `--rate`
// migrations a minute, DexScreener latency and its 300/min limit), and as processes from
// apps/*/dist: discovery, the producer and 2 workers, with the archive windows shortened to
// minutes (MONITORING_TIMEOUT_HOURS, ARCHIVE_BELOW_HOURS, ARCHIVE_RETENTION_HOURS) and the
// simulator's market time sped up to match (`--time-scale`, an hour a minute). The workers
// reach the simulator through a counting proxy that looks up, before each call, the status of every
// mint it asks for: a call for an archived token (or one already deleted) is an upstream call spent
// on a token that should have left the schedules. Every minute it records the registry by status,
// Redis's used_memory and the simulator's 429s; at the end it writes the series (JSON) and a chart
// (SVG) to bench/results/ and exits 1 when a call went to an archived token or a 429 came back.

import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { startRedisServer } from "../apps/launcher/dist/redis-server.js";
import { createSimulator } from "../apps/simulator/dist/index.js";
import { parseDiscoveryStatus, redisKeys } from "../packages/domain/dist/index.js";
import { createRedis } from "../packages/queues/dist/index.js";
import { discoveryVerdict } from "./lib/discovery-verdict.mjs";
import { redisMemory, rssMb } from "./lib/memory.mjs";
import { Fleet, ROOT, appMain, baseEnv, log } from "./lib/processes.mjs";

const { values: args } = parseArgs({
  options: {
    minutes: { type: "string", default: "30" },
    rate: { type: "string", default: "60" },
    "monitoring-min": { type: "string", default: "3" },
    "active-min": { type: "string", default: "3" },
    "retention-min": { type: "string", default: "6" },
    workers: { type: "string", default: "2" },
    // Market time runs this much faster than real time. The archive windows stand for hours, so
    // market time runs an hour a minute: a migrated market's life (a peak of about 2 market hours
    // for a liquid token, then its trades and liquidity die out) passes in minutes of the run.
    "time-scale": { type: "string", default: "60" },
  },
});
const MINUTES = Number(args.minutes);
const RATE = Number(args.rate);
const WINDOWS = {
  monitoring: Number(args["monitoring-min"]),
  active: Number(args["active-min"]),
  retention: Number(args["retention-min"]),
};
const WORKERS = Number(args.workers);
const TIME_SCALE = Number(args["time-scale"]);
const numbers = { minutes: MINUTES, rate: RATE, workers: WORKERS, "time-scale": TIME_SCALE, ...WINDOWS };
for (const [name, v] of Object.entries(numbers))
  if (!(v > 0)) {
    process.stderr.write(`bench:discovery: --${name} must be a positive number\n`);
    process.exit(2);
  }

const PREFIX = "bd";
const keys = redisKeys(PREFIX);
const tmp = mkdtempSync(join(tmpdir(), "moonfleet-bench-discovery-"));
const redisServer = await startRedisServer({ dir: join(tmp, "redis"), appendOnly: false });
const redis = createRedis(redisServer.url, { name: "bench-discovery" });
const sim = createSimulator({
  settings: {
    migrationsPerMinute: RATE,
    latencyMs: 150,
    jitterMs: 200,
    rateLimitRpm: 300,
    timeScale: TIME_SCALE,
  },
  seed: "bench-discovery",
});
const { port: simPort } = await sim.listen(0, "127.0.0.1");

// The workers' upstream: the simulator's app behind a proxy that checks each requested mint first.
const calls = { total: 0, mints: 0, archived: 0, gone: 0, archivedMints: new Set() };
const MINT_PATH = /^\/(?:tokens\/v1\/solana|token-pairs\/v1\/solana|latest\/dex\/tokens)\/([^/?]+)/;
const proxy = createServer((req, res) => {
  const m = MINT_PATH.exec(req.url ?? "");
  if (!m) return sim.app(req, res);
  const mints = decodeURIComponent(m[1]).split(",").filter(Boolean);
  const p = redis.pipeline();
  for (const mint of mints) p.hget(keys.token(mint), "status");
  p.exec()
    .then((out) => {
      calls.total++;
      calls.mints += mints.length;
      out.forEach(([, status], i) => {
        if (status === "archived") {
          calls.archived++;
          calls.archivedMints.add(mints[i]);
        } else if (status === null) calls.gone++;
      });
    })
    .catch(() => undefined)
    .finally(() => sim.app(req, res));
});
await new Promise((r) => proxy.listen(0, "127.0.0.1", r));
const proxyUrl = `http://127.0.0.1:${proxy.address().port}`;

const env = {
  ...baseEnv,
  REDIS_URL: redisServer.url,
  REDIS_KEY_PREFIX: PREFIX,
  UPSTREAM_URL: proxyUrl,
  DISCOVERY_URL: `ws://127.0.0.1:${simPort}/api/data`,
  MONITORING_TIMEOUT_HOURS: String(WINDOWS.monitoring / 60),
  ARCHIVE_BELOW_HOURS: String(WINDOWS.active / 60),
  ARCHIVE_RETENTION_HOURS: String(WINDOWS.retention / 60),
  LOG_LEVEL: "warn",
};
const fleet = new Fleet();
fleet.start("discovery", [appMain("discovery")], env);
fleet.start("producer", [appMain("producer")], env);
for (let i = 1; i <= WORKERS; i++) fleet.start(`worker-${i}`, [appMain("worker")], env);
fleet.adopt("redis-server", redisServer.process);

/**
 * Where Redis's memory goes (MEMORY USAGE, bytes): the per-token data (each registered token's
 * entry, snapshot and history, and the registry's indexes), which should level off with the
 * registry; and the capped logs, which fill up to fixed caps whatever the registry does: BullMQ's
 * keys (its event streams of EVENTS_MAX_LEN entries, the finished jobs of JOB_RETENTION) and the
 * fleet's events stream (EVENTS_STREAM_MAXLEN entries).
 */
async function memoryParts() {
  const mints = await redis.zrange(keys.registry, 0, -1);
  const tokenKeys = mints.flatMap((m) => [keys.token(m), keys.snapshot(m), keys.history(m)]);
  const indexKeys = [keys.registry, keys.due("hot"), keys.due("cold")];
  for (const s of ["all", "monitoring", "active", "archived"])
    indexKeys.push(keys.byScore(s), keys.byUpdated(s));
  const queueKeys = [];
  let cursor = "0";
  do {
    const [next, batch] = await redis.scan(cursor, "MATCH", `${keys.queues}:*`, "COUNT", 1000);
    cursor = next;
    queueKeys.push(...batch);
  } while (cursor !== "0");
  const sum = async (list) => {
    let total = 0;
    for (let i = 0; i < list.length; i += 500) {
      const p = redis.pipeline();
      for (const key of list.slice(i, i + 500)) p.memory("USAGE", key);
      for (const [, bytes] of await p.exec()) total += Number(bytes ?? 0);
    }
    return total;
  };
  return {
    tokenData: (await sum(tokenKeys)) + (await sum(indexKeys)),
    cappedLogs: (await sum(queueKeys)) + (await sum([keys.events])),
    eventsStreamLength: await redis.xlen(keys.events),
  };
}

const mb2 = (bytes) => Math.round((bytes / 1048576) * 100) / 100;

async function reading(minute) {
  const p = redis.pipeline().zcard(keys.registry);
  for (const s of ["monitoring", "active", "archived"]) p.zcard(keys.byScore(s));
  p.get(keys.discoveryStatus);
  const out = await p.exec();
  const [registry, monitoring, active, archived] = out.slice(0, 4).map(([, v]) => Number(v));
  const status = parseDiscoveryStatus(out[4][1]);
  const s = sim.stats();
  const memory = await redisMemory(redis);
  const parts = await memoryParts();
  const rss = {};
  for (const [label, c] of fleet.children) rss[label] = rssMb(c.pid);
  return {
    minute,
    registry,
    monitoring,
    active,
    archived,
    redisUsedMb: mb2(memory.used),
    redisTokenDataMb: mb2(parts.tokenData),
    redisCappedLogsMb: mb2(parts.cappedLogs),
    eventsStreamLength: parts.eventsStreamLength,
    announced: s.stream.migrations.announced,
    registered: status?.outcomes.registered ?? null,
    // Registered, archived and then deleted after ARCHIVE_RETENTION_HOURS (with their history); the
    // leader writes its status every few seconds, so this lags by a few tokens.
    deleted: status === null ? null : Math.max(0, status.outcomes.registered - registry),
    upstreamCalls: calls.total,
    callsOnArchived: calls.archived,
    callsOnDeleted: calls.gone,
    rateLimited: s.rateLimited,
    http429: s.byStatus["429"] ?? 0,
    rssMb: rss,
  };
}

const series = [];
const started = Date.now();
log(
  `discovery: ${MINUTES} min at ${RATE} migrations/min, archive after ${WINDOWS.monitoring} min (monitoring) / ` +
    `${WINDOWS.active} min (active), delete ${WINDOWS.retention} min later, ${WORKERS} workers, ` +
    `market time x${TIME_SCALE}`,
);
log(
  "min  registry  monitoring  active  archived  deleted  redis MB  token data  capped logs  announced  calls  on-archived  429s",
);
let failed = null;
try {
  for (let minute = 1; minute <= MINUTES; minute++) {
    await sleep(started + minute * 60_000 - Date.now());
    fleet.assertAlive();
    const r = await reading(minute);
    series.push(r);
    log(
      [
        String(minute).padStart(3),
        String(r.registry).padStart(9),
        String(r.monitoring).padStart(11),
        String(r.active).padStart(7),
        String(r.archived).padStart(9),
        String(r.deleted).padStart(8),
        String(r.redisUsedMb).padStart(9),
        String(r.redisTokenDataMb).padStart(12),
        String(r.redisCappedLogsMb).padStart(13),
        String(r.announced).padStart(10),
        String(r.upstreamCalls).padStart(6),
        String(r.callsOnArchived + r.callsOnDeleted).padStart(12),
        String(r.http429).padStart(5),
      ].join(""),
    );
  }
} catch (err) {
  failed = err;
} finally {
  await fleet.stopWhere(() => true, 10_000);
  await new Promise((r) => proxy.close(r));
  proxy.closeAllConnections();
  await sim.close();
  await redis.quit();
  await redisServer.stop();
  rmSync(tmp, { recursive: true, force: true });
}
if (failed) {
  process.stderr.write(`bench:discovery: ${failed.message}\n`);
  process.exit(1);
}

const { lastThird: level, verdict } = discoveryVerdict(series);

const stamp = new Date(started).toISOString().replace(/[:.]/g, "-");
const dir = join(ROOT, "bench", "results");
mkdirSync(dir, { recursive: true });
const base = join(dir, `discovery-${stamp}`);
writeFileSync(
  `${base}.json`,
  JSON.stringify(
    {
      scenario: "discovery",
      settings: {
        minutes: MINUTES,
        rate: RATE,
        windowsMinutes: WINDOWS,
        workers: WORKERS,
        timeScale: TIME_SCALE,
      },
      series,
      lastThird: level,
      archivedMintsCalled: [...calls.archivedMints].slice(0, 50),
      verdict,
    },
    null,
    2,
  ),
);
writeFileSync(`${base}.svg`, chart(series));
log(`last third: registry ${JSON.stringify(level.registry)}, redis MB ${JSON.stringify(level.redisUsedMb)}`);
log(
  `last third: token data MB ${JSON.stringify(level.redisTokenDataMb)}, capped logs MB ${JSON.stringify(level.redisCappedLogsMb)}`,
);
log(`verdict: ${JSON.stringify(verdict)}`);
log(`series and chart: ${base}.json, ${base}.svg`);
process.exit(verdict.noCallOnArchived && verdict.no429 ? 0 : 1);

/** Two panels over minutes: the registry by status, and Redis's used_memory. */
function chart(rows) {
  const W = 900;
  const H = 220;
  const L = 60;
  const R = 140;
  const T = 30;
  const x = (m) => L + ((m - 1) / Math.max(1, rows.length - 1)) * (W - L - R);
  const panel = (top, title, lines) => {
    const max = Math.max(1, ...lines.flatMap((l) => rows.map((r) => r[l.key])));
    const y = (v) => top + T + (1 - v / max) * (H - T - 30);
    const paths = lines.map((l, i) => {
      const d = rows.map((r, j) => `${j ? "L" : "M"}${x(r.minute).toFixed(1)},${y(r[l.key]).toFixed(1)}`);
      return (
        `<path d="${d.join("")}" fill="none" stroke="${l.colour}" stroke-width="2"/>` +
        `<text x="${W - R + 10}" y="${top + T + 14 + i * 16}" fill="${l.colour}" font-size="12">${l.label}</text>`
      );
    });
    return (
      `<text x="${L}" y="${top + 18}" font-size="14" font-weight="bold">${title}</text>` +
      `<line x1="${L}" y1="${y(0)}" x2="${W - R}" y2="${y(0)}" stroke="#999"/>` +
      `<line x1="${L}" y1="${y(max)}" x2="${L}" y2="${y(0)}" stroke="#999"/>` +
      `<text x="${L - 6}" y="${y(max) + 4}" font-size="11" text-anchor="end">${max}</text>` +
      `<text x="${L - 6}" y="${y(0) + 4}" font-size="11" text-anchor="end">0</text>` +
      `<text x="${L}" y="${y(0) + 16}" font-size="11">minute ${rows[0]?.minute ?? 1}</text>` +
      `<text x="${W - R}" y="${y(0) + 16}" font-size="11" text-anchor="end">minute ${rows.length}</text>` +
      paths.join("")
    );
  };
  const body =
    panel(0, `Registry (tokens) at ${RATE} migrations/min, market time x${TIME_SCALE}`, [
      { key: "registry", label: "all", colour: "#333333" },
      { key: "monitoring", label: "monitoring", colour: "#2b7bd9" },
      { key: "active", label: "active", colour: "#d9822b" },
      { key: "archived", label: "archived", colour: "#888888" },
    ]) +
    panel(H, "Redis memory (MB)", [
      { key: "redisUsedMb", label: "used_memory", colour: "#c23b3b" },
      { key: "redisTokenDataMb", label: "token data", colour: "#2b7bd9" },
      { key: "redisCappedLogsMb", label: "capped logs", colour: "#888888" },
    ]);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${2 * H}" font-family="sans-serif"><rect width="100%" height="100%" fill="#fff"/>${body}</svg>\n`;
}
