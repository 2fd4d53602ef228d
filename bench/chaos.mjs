// A chaos run: the whole fleet (a private redis-server with AOF, the simulator, the producer, the
// api and N workers, each its own process) under a DexScreener-like load while
//
//   - every --kill-every s a random worker process gets SIGKILL and a new one starts at once,
//   - every --outage-every s the simulator answers 503 to everything for --outage s,
//
// and all along (every 2 s) it checks that no token is lost (registered = scheduled in a lane,
// none left unscored), that no token is staler than its bound (printed at the start), that no
// BullMQ job has failed for good and that no process died unasked; RSS of every process is sampled
// every --rss-every s and must stay within --rss-tolerance above its value --rss-warmup s after the
// process started (a restarted worker starts over). The default warm-up is 3 minutes: a worker's
// RSS climbs for its first ~3 minutes (JIT, heap growth) and is flat after (the 30-minute soak:
// 125-130 MB, +4% at most); judged from 30 s, a worker that lived 2 minutes read as +24%. Most
// workers here die sooner, so the long-lived api and producer carry this check and the soak
// (`npm run bench -- --scenario soak`) carries the workers'.
//
//   npm run chaos -- --minutes 10          (tsc -b, then this file)
//   node bench/chaos.mjs --seconds 60 --tokens 300 --workers 2 ...   (see --help)
//
// Prints the figures and `chaos: result PASS|FAIL`, then one `chaos-result {json}` line for
// scripts; exits 1 when an invariant broke.

import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { Queue } from "bullmq";
import { freePort } from "../apps/launcher/dist/free-port.js";
import { startRedisServer } from "../apps/launcher/dist/redis-server.js";
import { demoMints } from "../apps/simulator/dist/index.js";
import { SETTINGS } from "../packages/config/dist/index.js";
import { LANE_STATUS, SCHEDULING_MODES, redisKeys } from "../packages/domain/dist/index.js";
import { bullPrefix, createRedis } from "../packages/queues/dist/index.js";
import { TokenStore } from "../packages/store/dist/index.js";
import { EVENTS } from "../packages/telemetry/dist/index.js";
import {
  demandPerMinute,
  memoryVerdict,
  seededRandom,
  stalenessBounds,
  tokensForBudget,
} from "./lib/chaos-checks.mjs";
import { mb, redisMemory as readRedisMemory, rssMb } from "./lib/memory.mjs";
import { ROOT, waitFor } from "./lib/processes.mjs";

const { fetch, AbortSignal } = globalThis;
const appMain = (app) => join(ROOT, "apps", app, "dist", "main.js");
const say = (msg) => process.stdout.write(`chaos: ${msg}\n`);

const { values: args } = parseArgs({
  options: {
    minutes: { type: "string" },
    seconds: { type: "string" },
    tokens: { type: "string", default: "1500" },
    workers: { type: "string", default: "3" },
    "kill-every": { type: "string", default: "20" },
    "outage-every": { type: "string", default: "60" },
    outage: { type: "string", default: "5" },
    "ttl-hot": { type: "string", default: "15" },
    "ttl-cold": { type: "string", default: "30" },
    lease: { type: "string", default: "30" },
    "breaker-cooldown": { type: "string", default: "5" },
    warmup: { type: "string", default: "60" },
    "rss-every": { type: "string", default: "10" },
    "rss-warmup": { type: "string", default: "180" },
    "rss-tolerance": { type: "string", default: "0.2" },
    "restart-allowance": { type: "string", default: "5" },
    slack: { type: "string", default: "5" },
    seed: { type: "string", default: "1" },
    scheduling: { type: "string" },
    help: { type: "boolean", default: false },
  },
});
if (args.help) {
  say(
    "node bench/chaos.mjs [--minutes N | --seconds N] [--tokens 1500] [--workers 3] [--kill-every 20] " +
      "[--outage-every 60] [--outage 5] [--ttl-hot 15] [--ttl-cold 30] [--lease 30] [--breaker-cooldown 5] " +
      "[--warmup 60] [--rss-every 10] [--rss-warmup 180] [--rss-tolerance 0.2] [--restart-allowance 5] [--slack 5] [--seed 1] [--scheduling value|lanes]" +
      " (times in seconds; the chaos lasts --minutes/--seconds after the warm-up)",
  );
  process.exit(0);
}
const num = (name) => {
  const v = Number(args[name]);
  if (!Number.isFinite(v) || v < 0) {
    process.stderr.write(`chaos: --${name} must be a number >= 0, got ${args[name]}\n`);
    process.exit(2);
  }
  return v;
};
const O = {
  chaosMs: args.seconds !== undefined ? num("seconds") * 1000 : (args.minutes ? num("minutes") : 3) * 60_000,
  tokens: num("tokens"),
  workers: Math.max(1, num("workers")),
  killEveryMs: num("kill-every") * 1000,
  outageEveryMs: num("outage-every") * 1000,
  outageMs: num("outage") * 1000,
  ttlHotS: num("ttl-hot"),
  ttlColdS: num("ttl-cold"),
  leaseMs: num("lease") * 1000,
  cooldownMs: num("breaker-cooldown") * 1000,
  warmupMs: num("warmup") * 1000,
  rssEveryMs: Math.max(1000, num("rss-every") * 1000),
  rssWarmupMs: num("rss-warmup") * 1000,
  rssTolerance: num("rss-tolerance"),
  restartAllowanceMs: num("restart-allowance") * 1000,
  slackMs: num("slack") * 1000,
  seed: num("seed"),
  scheduling: args.scheduling,
};
if (O.scheduling !== undefined && !SCHEDULING_MODES.includes(O.scheduling)) {
  process.stderr.write(
    `chaos: --scheduling must be one of ${SCHEDULING_MODES.join(", ")}, got ${O.scheduling}\n`,
  );
  process.exit(2);
}
// The dexscreener-like upstream: ~250 ms median latency with jitter, 1% errors, 300/min limit;
// the fleet's budget stays at its default 240/min.
const SIMULATOR = { latencyMs: 150, jitterMs: 200, errorRate: 0.01, rateLimitRpm: 300 };
const UPSTREAM_RPM = 240;
const UPSTREAM_BURST = 8;
const DUE_MARGIN_MS = 2_000;
const CHECK_EVERY_MS = 2_000;
const PREFIX = `chaos${Date.now().toString(36)}`;

/** Kill to first heartbeat of the replacement: the longest seen so far, or of one still coming up. */
const restartStarts = new Set();
let longestRestartMs = 0;
const restartTermMs = () =>
  Math.max(O.restartAllowanceMs, longestRestartMs, ...[...restartStarts].map((t) => Date.now() - t));
/** The bound at this moment: its restart term grows when a restart takes longer than the allowance. */
const boundsNow = () =>
  stalenessBounds({ ...O, restartMs: restartTermMs(), outageMs: O.outageEveryMs > 0 ? O.outageMs : 0 });
let bounds = boundsNow();
/** A replacement worker that has not written a heartbeat this long after the kill never came up. */
const RESTART_GIVE_UP_MS = 60_000;

// ---------------------------------------------------------------------------------------------
// Processes

/** The inherited environment without any moonfleet setting, so a run does not depend on the shell. */
const baseEnv = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !SETTINGS.some((s) => s.env === k)),
);
const children = new Map(); // label -> current instance
const instances = []; // every instance ever started
const eventCounts = {};
/** The producer's hand-backs of lost jobs (lost_jobs), with their time in the run. */
const lostJobLog = [];
const expectedExit = new Set();
const violations = [];
const violation = (kind, msg) => {
  if (violations.filter((v) => v.kind === kind).length < 20) violations.push({ kind, t: elapsed(), msg });
};
let t0 = Date.now();
const elapsed = () => Math.round((Date.now() - t0) / 100) / 10;

function start(label, app, env) {
  const proc = spawn(process.execPath, [appMain(app)], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
  const inst = {
    label,
    app,
    instance: instances.filter((i) => i.label === label).length + 1,
    proc,
    pid: proc.pid,
    startedAt: Date.now(),
    exit: null,
    stderr: "",
  };
  inst.exited = new Promise((res) =>
    proc.once("exit", (code, signal) => {
      inst.exit = { code, signal };
      if (!expectedExit.has(proc) && !stopping)
        violation("processes", `${label} (pid ${proc.pid}) exited unasked: ${JSON.stringify(inst.exit)}`);
      res(inst.exit);
    }),
  );
  createInterface({ input: proc.stdout }).on("line", (line) => {
    if (line[0] !== "{") return;
    try {
      const o = JSON.parse(line);
      if (o.level === "error" || o.level === "fatal" || o.level === "warn") {
        const k = `${app} ${o.level} ${o.event ?? o.msg}`;
        eventCounts[k] = (eventCounts[k] ?? 0) + 1;
        if (o.event === EVENTS.lostJobs)
          lostJobLog.push({ t: elapsed(), lane: o.lane, jobs: o.jobs, tokens: o.tokens });
      }
    } catch {
      // not JSON: ignored
    }
  });
  proc.stderr.on("data", (d) => (inst.stderr = (inst.stderr + d.toString()).slice(-4000)));
  children.set(label, inst);
  instances.push(inst);
  return inst;
}

async function stop(inst, graceMs = 8_000) {
  if (!inst || inst.exit) return;
  expectedExit.add(inst.proc);
  inst.proc.kill("SIGTERM");
  if ((await Promise.race([inst.exited, sleep(graceMs).then(() => null)])) === null) {
    inst.proc.kill("SIGKILL");
    await inst.exited;
  }
}

async function simulator(simUrl, method, path, body) {
  const res = await fetch(`${simUrl}${path}`, {
    method,
    headers: { "content-type": "application/json" },
    body: body ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(5_000),
  });
  if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status}`);
  return res.json();
}

// ---------------------------------------------------------------------------------------------
// The run

let stopping = false;
let redisServer = null;
let redis = null;
const queues = [];
const tmp = mkdtempSync(join(tmpdir(), "moonfleet-chaos-"));
const rssSamples = [];
const restarts = []; // { label, killedPid, newPid, killedAtS, readyMs }
const outages = [];
const minutes = []; // per-minute figures
/** Every check's largest staleness and value scheduling's pressure per lane, to read a failure by. */
const trace = [];
const worst = { hot: 0, cold: 0 };
let lastCounts = null;
let failedJobs = 0;
let demand = null;
let simStats = null;
const redisMemory = { warmMb: null, endMb: null };
let aborted = null;

process.on("SIGINT", () => (aborted = "SIGINT"));
process.on("SIGTERM", () => (aborted = "SIGTERM"));

const redisUsedMb = async () => mb((await readRedisMemory(redis)).used);

/** The fleet's state in one round trip: registry, schedules, and per status the unscored count and oldest fetch. */
async function readState(now) {
  const k = redisKeys(PREFIX);
  const p = redis.pipeline().zcard(k.registry).zcard(k.due("hot")).zcard(k.due("cold"));
  const ttlMs = { active: O.ttlHotS * 1000, monitoring: O.ttlColdS * 1000, archived: 0 };
  for (const s of ["active", "monitoring", "archived"])
    p.zcard(k.byUpdated(s))
      .zcount(k.byUpdated(s), 0, 0)
      .zrangebyscore(k.byUpdated(s), "(0", "+inf", "WITHSCORES", "LIMIT", 0, 1)
      .zcount(k.byUpdated(s), "(0", now - ttlMs[s]);
  p.hgetall(k.schedulePressure);
  const r = (await p.exec()).map(([err, v]) => {
    if (err) throw err;
    return v;
  });
  const status = {};
  ["active", "monitoring", "archived"].forEach((s, i) => {
    const [total, unscored, oldest, overTtl] = r.slice(3 + i * 4, 7 + i * 4);
    status[s] = {
      total: Number(total),
      unscored: Number(unscored),
      overTtl: Number(overTtl),
      maxStalenessMs: oldest.length ? now - Number(oldest[1]) : null,
      oldestMint: oldest.length ? oldest[0] : null,
    };
  });
  const pressure = r.at(-1) ?? {}; // the HGETALL, last in the pipeline
  return {
    registered: Number(r[0]),
    scheduled: { hot: Number(r[1]), cold: Number(r[2]) },
    status,
    // value scheduling's stretch per lane (absent under lanes, or before the first publish)
    pressure: { hot: Number(pressure.hot) || 1, cold: Number(pressure.cold) || 1 },
  };
}

async function failedCount() {
  const counts = await Promise.all(queues.map((q) => q.getFailedCount()));
  return counts.reduce((a, b) => a + b, 0);
}

/** Where a stale token stands in its lane's schedules (due and deadline, relative to now), to read a failure by. */
async function whereIs(mint, lane, now) {
  if (!mint) return "-";
  const k = redisKeys(PREFIX);
  const [due, deadline] = await Promise.all([
    redis.zscore(k.due(lane), mint),
    redis.zscore(k.deadline(lane), mint),
  ]);
  const rel = (v) => (v === null ? "absent" : `${((Number(v) - now) / 1000).toFixed(1)} s from now`);
  return `${mint} due ${rel(due)}, deadline ${rel(deadline)}`;
}

/** The lane's recent jobs that carried `mint`, with their times relative to the run's start. */
async function jobsOf(mint, lane) {
  const q = queues.find((x) => x.name === lane);
  if (!mint || !q) return "-";
  const jobs = await q.getJobs(
    ["active", "waiting", "delayed", "prioritized", "completed", "failed"],
    0,
    600,
  );
  const t = (ms) => (ms ? `${((ms - t0) / 1000).toFixed(1)}` : "-");
  const mine = jobs.filter((j) => j?.data?.mints?.includes(mint)).sort((a, b) => a.timestamp - b.timestamp);
  if (mine.length === 0) return "none kept";
  const states = await Promise.all(mine.map((j) => j.getState()));
  return mine
    .map(
      (j, i) =>
        `#${j.id} ${states[i]} claimed ${t(j.data.claimedAt)} taken ${t(j.processedOn)} done ${t(j.finishedOn)} attempts ${j.attemptsMade}`,
    )
    .join(", ");
}

/** The invariants that hold at every check once the warm-up is over. */
async function check(inChaos) {
  const now = Date.now();
  const s = await readState(now);
  lastCounts = s;
  if (!inChaos) return s;
  trace.push({
    t: elapsed(),
    staleS: {
      hot: (s.status[LANE_STATUS.hot].maxStalenessMs ?? 0) / 1000,
      cold: (s.status[LANE_STATUS.cold].maxStalenessMs ?? 0) / 1000,
    },
    pressure: s.pressure,
  });
  if (s.registered !== O.tokens) violation("tokens", `${s.registered} registered, expected ${O.tokens}`);
  const scheduled = s.scheduled.hot + s.scheduled.cold;
  if (scheduled !== s.registered - s.status.archived.total)
    violation(
      "tokens",
      `${scheduled} scheduled in a lane, ${s.registered - s.status.archived.total} expected`,
    );
  for (const [lane, status] of Object.entries(LANE_STATUS)) {
    const st = s.status[status];
    if (st.unscored > 0) violation("tokens", `${st.unscored} ${status} tokens have no snapshot`);
    if (st.maxStalenessMs === null) continue;
    worst[lane] = Math.max(worst[lane], st.maxStalenessMs);
    const cur = minutes.at(-1);
    if (cur) {
      cur.stale[lane] = Math.max(cur.stale[lane], st.maxStalenessMs);
      cur.overTtl[lane] = Math.max(cur.overTtl[lane], st.overTtl);
    }
    bounds = boundsNow();
    if (st.maxStalenessMs > bounds[lane].boundMs)
      violation(
        "staleness",
        `a ${lane} token is ${(st.maxStalenessMs / 1000).toFixed(1)} s stale (bound ${bounds[lane].boundMs / 1000} s): ` +
          `${await whereIs(st.oldestMint, lane, now)}; its jobs: ${await jobsOf(st.oldestMint, lane)}`,
      );
  }
  failedJobs = await failedCount();
  if (failedJobs > 0) violation("failed-jobs", `${failedJobs} BullMQ jobs failed`);
  return s;
}

/** SIGKILL a random worker, start its replacement, and time it until its first heartbeat. */
async function killAndRestart(rand, env) {
  const labels = [...children.keys()].filter((l) => l.startsWith("worker"));
  const label = labels[Math.floor(rand() * labels.length)];
  const victim = children.get(label);
  expectedExit.add(victim.proc);
  const killedAt = Date.now();
  restartStarts.add(killedAt);
  victim.proc.kill("SIGKILL");
  await victim.exited;
  const next = start(label, "worker", env);
  const k = redisKeys(PREFIX).workers;
  let readyMs = null;
  while (Date.now() - killedAt < RESTART_GIVE_UP_MS && !next.exit) {
    const ids = await redis.zrange(k, 0, -1);
    if (ids.some((id) => id.includes(`-${next.pid}-`))) {
      readyMs = Date.now() - killedAt;
      break;
    }
    await sleep(100);
  }
  restartStarts.delete(killedAt);
  if (readyMs !== null) longestRestartMs = Math.max(longestRestartMs, readyMs);
  restarts.push({
    label,
    killedPid: victim.pid,
    newPid: next.pid,
    killedAtS: Math.round((killedAt - t0) / 100) / 10,
    readyMs,
  });
  const cur = minutes.at(-1);
  if (cur) cur.kills++;
  if (readyMs === null)
    violation(
      "restart",
      `${label} (pid ${next.pid}) wrote no heartbeat within ${RESTART_GIVE_UP_MS / 1000} s`,
    );
}

function sampleRss() {
  const t = Date.now();
  for (const inst of children.values()) {
    if (inst.exit) continue;
    const mb = rssMb(inst.pid);
    if (mb !== null)
      rssSamples.push({
        label: inst.label,
        instance: inst.instance,
        pid: inst.pid,
        startedAt: inst.startedAt,
        t,
        rssMb: mb,
      });
  }
}

async function run() {
  redisServer = await startRedisServer({ dir: join(tmp, "redis"), appendOnly: true });
  const simPort = await freePort();
  const apiPort = await freePort();
  const simUrl = `http://127.0.0.1:${simPort}`;
  const env = {
    ...baseEnv,
    LOG_LEVEL: "info",
    REDIS_URL: redisServer.url,
    REDIS_KEY_PREFIX: PREFIX,
    UPSTREAM_URL: simUrl,
    API_PORT: String(apiPort),
    API_HOST: "127.0.0.1",
    CACHE_TTL_HOT: String(O.ttlHotS),
    CACHE_TTL_COLD: String(O.ttlColdS),
    LEASE_MS: String(O.leaseMs),
    DUE_MARGIN_MS: String(DUE_MARGIN_MS),
    UPSTREAM_RPM: String(UPSTREAM_RPM),
    UPSTREAM_BURST: String(UPSTREAM_BURST),
    BREAKER_COOLDOWN_MS: String(O.cooldownMs),
    ...(O.scheduling ? { SCHEDULING: O.scheduling } : {}),
  };
  start("simulator", "simulator", {
    ...env,
    SIMULATOR_PORT: String(simPort),
    SIMULATOR_LATENCY_MS: String(SIMULATOR.latencyMs),
    SIMULATOR_JITTER_MS: String(SIMULATOR.jitterMs),
    SIMULATOR_ERROR_RATE: String(SIMULATOR.errorRate),
    SIMULATOR_RATE_LIMIT_RPM: String(SIMULATOR.rateLimitRpm),
  });
  await waitFor(`${simUrl}/livez`, "the simulator");

  redis = createRedis(redisServer.url, { name: "chaos", blocking: true });
  for (const lane of ["hot", "cold"]) {
    const q = new Queue(lane, { connection: redis, prefix: bullPrefix(PREFIX) });
    q.on("error", () => undefined);
    queues.push(q);
  }
  const store = new TokenStore(redis, PREFIX);
  await store.register(
    demoMints(O.tokens).map((mint) => ({ mint })),
    Date.now(),
  );

  t0 = Date.now();
  start("api", "api", env);
  start("producer", "producer", env);
  for (let i = 1; i <= O.workers; i++) start(`worker-${i}`, "worker", env);
  await waitFor(`http://127.0.0.1:${apiPort}/readyz`, "the api");
  say(
    `${O.tokens} demo tokens, ${O.workers} workers, redis-server (AOF) ${redisServer.url}, simulator ${simUrl}, api :${apiPort}`,
  );

  // Warm-up: every token scored once, and at least --warmup seconds.
  let warm = null;
  while (!aborted) {
    const s = await check(false);
    const unscored = s.status.active.unscored + s.status.monitoring.unscored;
    if (unscored === 0 && Date.now() - t0 >= O.warmupMs) {
      warm = s;
      break;
    }
    if (Date.now() - t0 > O.warmupMs + 180_000)
      throw new Error(`${unscored} tokens still unscored after the warm-up`);
    await sleep(500);
  }
  if (!warm) return;
  const hot = warm.status.active.total;
  const cold = warm.status.monitoring.total;
  const ttl = { ttlHotS: O.ttlHotS, ttlColdS: O.ttlColdS, dueMarginMs: DUE_MARGIN_MS };
  const budgetPerMin = UPSTREAM_RPM - UPSTREAM_BURST;
  demand = {
    hot,
    cold,
    archived: warm.status.archived.total,
    callsPerMin: Math.round(demandPerMinute({ hot, cold, ...ttl })),
    budgetPerMin,
    dexscreener4000: Math.round(
      demandPerMinute({ hot: (4000 * hot) / (hot + cold), cold: (4000 * cold) / (hot + cold), ...ttl }),
    ),
    fits75: tokensForBudget({ budgetPerMin, hotShare: hot / (hot + cold), utilisation: 0.75, ...ttl }),
  };
  redisMemory.warmMb = await redisUsedMb();
  say(`warm after ${elapsed()} s: ${hot} hot, ${cold} cold, ${demand.archived} archived`);
  say(
    `demand ${demand.callsPerMin} calls/min against a budget of ${budgetPerMin}/min (UPSTREAM_RPM ${UPSTREAM_RPM} - burst ${UPSTREAM_BURST}): ` +
      `${Math.round((100 * demand.callsPerMin) / budgetPerMin)}%; 4,000 tokens at this hot share and these TTLs would need ${demand.dexscreener4000}/min ` +
      `(${demand.fits75} fit at 75% of the budget)`,
  );
  const p = bounds.parts;
  say(
    `staleness bound = TTL + lease ${p.leaseMs / 1000} s + restart ${p.restartMs / 1000} s (the allowance, or the ` +
      `longest kill-to-first-heartbeat seen if longer) + outage ${p.outageMs / 1000} s ` +
      `+ breaker cooldown ${p.cooldownMs / 1000} s + slack ${p.slackMs / 1000} s (tick, budget wait, call): ` +
      `hot ${bounds.hot.boundMs / 1000} s, cold ${bounds.cold.boundMs / 1000} s`,
  );
  say(
    `chaos for ${O.chaosMs / 1000} s: SIGKILL a worker every ${O.killEveryMs / 1000} s, simulator outage of ${O.outageMs / 1000} s every ${O.outageEveryMs / 1000} s`,
  );

  // The chaos: checks every 2 s, kills, outages and RSS samples on their own clocks.
  const rand = seededRandom(O.seed);
  const chaosStart = Date.now();
  const chaosEnd = chaosStart + O.chaosMs;
  let nextKill = O.killEveryMs > 0 ? chaosStart + O.killEveryMs : Infinity;
  let nextOutage = O.outageEveryMs > 0 ? chaosStart + O.outageEveryMs / 2 : Infinity;
  let outageEnds = null;
  let nextRss = Date.now();
  let nextMinute = chaosStart;
  const pending = new Set();
  const bg = (promise) => {
    const p = promise
      .catch((err) => violation("driver", String(err?.message ?? err)))
      .finally(() => pending.delete(p));
    pending.add(p);
  };
  while (!aborted && Date.now() < chaosEnd) {
    const now = Date.now();
    if (now >= nextMinute) {
      const s = await simulator(simUrl, "GET", "/admin/stats");
      const cur = minutes.at(-1);
      if (cur) cur.upstreamPerMin = s.lastMinuteRequests;
      minutes.push({
        minute: minutes.length + 1,
        stale: { hot: 0, cold: 0 },
        overTtl: { hot: 0, cold: 0 },
        kills: 0,
        outages: 0,
        upstreamPerMin: null,
      });
      nextMinute += 60_000;
    }
    if (now >= nextKill) {
      bg(killAndRestart(rand, env));
      nextKill += O.killEveryMs;
    }
    if (outageEnds === null && now >= nextOutage) {
      await simulator(simUrl, "PATCH", "/admin/settings", { outage: true });
      outages.push({ at: elapsed(), ms: O.outageMs });
      minutes.at(-1).outages++;
      outageEnds = now + O.outageMs;
      nextOutage += O.outageEveryMs;
    }
    if (outageEnds !== null && now >= outageEnds) {
      await simulator(simUrl, "PATCH", "/admin/settings", { outage: false });
      outageEnds = null;
    }
    if (now >= nextRss) {
      sampleRss();
      nextRss += O.rssEveryMs;
    }
    await check(true);
    for (const inst of children.values())
      if (inst.exit && !expectedExit.has(inst.proc)) violation("processes", `${inst.label} is not running`);
    await sleep(Math.max(0, Math.min(CHECK_EVERY_MS, chaosEnd - Date.now())));
  }
  if (outageEnds !== null) await simulator(simUrl, "PATCH", "/admin/settings", { outage: false });
  await Promise.all(pending);
  sampleRss();
  await check(true);
  const s = await simulator(simUrl, "GET", "/admin/stats");
  if (minutes.at(-1)) minutes.at(-1).upstreamPerMin = s.lastMinuteRequests;
  redisMemory.endMb = await redisUsedMb();
  simStats = { requests: s.requests, byStatus: s.byStatus, rateLimited: s.rateLimited };
}

async function stopAll() {
  stopping = true;
  const fleet = [...children.values()].filter((i) => i.app !== "simulator");
  await Promise.all(fleet.map((i) => stop(i)));
  await stop(children.get("simulator"));
  await Promise.all(queues.map((q) => q.close().catch(() => undefined)));
  await redis?.quit().catch(() => undefined);
  await redisServer?.stop();
  rmSync(tmp, { recursive: true, force: true });
}

let crash = null;
try {
  await run();
} catch (err) {
  crash = err;
  violation("driver", `the run failed: ${err instanceof Error ? err.message : String(err)}`);
} finally {
  await stopAll();
}

// ---------------------------------------------------------------------------------------------
// Figures and verdict

const memory = memoryVerdict(rssSamples, { warmupMs: O.rssWarmupMs, tolerance: O.rssTolerance });
// The simulator stands in for DexScreener: its memory is shown, not judged.
for (const m of memory) if (m.label === "simulator") m.judged = false;
for (const m of memory)
  if (m.judged && !m.ok)
    violation(
      "memory",
      `${m.key}: RSS ${m.baseMb} MB after warm-up, up to ${m.maxMb} MB (+${Math.round(m.growth * 100)}%)`,
    );
if (aborted) violation("driver", `interrupted by ${aborted}`);
const fmt = (ms) => (ms / 1000).toFixed(1);

say("");
say("minute  max staleness hot/cold (s)  most over TTL hot/cold  kills  outages  upstream calls/min");
for (const m of minutes) {
  const stale = `${fmt(m.stale.hot)} / ${fmt(m.stale.cold)}`;
  const over = `${m.overTtl.hot} / ${m.overTtl.cold}`;
  say(
    `${String(m.minute).padStart(6)}  ${stale.padStart(26)}  ${over.padStart(22)}  ${String(m.kills).padStart(5)}  ${String(m.outages).padStart(7)}  ${String(m.upstreamPerMin ?? "-").padStart(18)}`,
  );
}
say("");
say("process RSS (MB): baseline after warm-up -> max, last");
const labels = [...new Set(memory.map((m) => m.label))];
for (const label of labels) {
  const all = memory.filter((m) => m.label === label).length;
  const rows = memory.filter((m) => m.label === label && m.samples > 1 && m.baseMb !== undefined);
  if (rows.length === 0) {
    say(`  ${label.padEnd(10)} no instance with two samples after its warm-up (${all} instance(s))`);
    continue;
  }
  const worstRow = rows.reduce((a, b) => (b.growth > a.growth ? b : a));
  const note =
    label === "simulator"
      ? "not judged: the stand-in upstream"
      : `worst of ${rows.length} judged instance(s) of ${all}`;
  say(
    `  ${label.padEnd(10)} ${worstRow.baseMb} -> ${worstRow.maxMb}, ${worstRow.lastMb} (+${Math.round(worstRow.growth * 100)}%, ${note})`,
  );
}
say(
  `  redis      used_memory ${redisMemory.warmMb} MB after warm-up -> ${redisMemory.endMb} MB at the end ` +
    "(not judged: it grows until each token's 20 history entries, the kept jobs and the event streams are full; the soak judges it)",
);
const readies = restarts.map((r) => r.readyMs).filter((x) => x !== null);
say("");
say(
  `restarts: ${restarts.length}, ready (first heartbeat) after the kill in ${readies.length ? `${fmt(Math.min(...readies))}-${fmt(Math.max(...readies))}` : "-"} s`,
);
say(`outages: ${outages.length} x ${O.outageMs / 1000} s`);
if (simStats)
  say(
    `upstream: ${simStats.requests} calls, ${simStats.rateLimited} x 429, by status ${JSON.stringify(simStats.byStatus)}`,
  );
const topEvents = Object.entries(eventCounts)
  .sort((a, b) => b[1] - a[1])
  .slice(0, 8);
if (topEvents.length) say(`warn/error lines: ${topEvents.map(([k, n]) => `${k} x${n}`).join(", ")}`);

const kinds = ["tokens", "staleness", "failed-jobs", "memory", "processes", "restart", "driver"];
const broken = new Set(violations.map((v) => v.kind));
const c = lastCounts;
const detail = {
  tokens: c
    ? `${c.registered} registered, ${c.scheduled.hot + c.scheduled.cold} scheduled, ${c.status.active.unscored + c.status.monitoring.unscored} unscored`
    : "-",
  staleness: `hot max ${fmt(worst.hot)} s <= ${fmt(bounds.hot.boundMs)} s, cold max ${fmt(worst.cold)} s <= ${fmt(bounds.cold.boundMs)} s (restart term ${fmt(bounds.parts.restartMs)} s)`,
  "failed-jobs": `${failedJobs} failed`,
  memory: `${memory.filter((m) => m.judged).length} instances judged, tolerance +${Math.round(O.rssTolerance * 100)}%`,
  processes: "no unasked exit",
  restart: `${restarts.filter((r) => r.readyMs !== null).length}/${restarts.length} replacements up, longest ${fmt(longestRestartMs)} s`,
  driver: crash ? String(crash.message ?? crash) : "ok",
};
say("");
for (const k of kinds) say(`invariant ${k.padEnd(12)} ${broken.has(k) ? "BROKEN" : "ok    "} ${detail[k]}`);
for (const v of violations) say(`  at ${v.t} s [${v.kind}] ${v.msg}`);
const maxPressure = (l) => Math.max(1, ...trace.map((x) => x.pressure[l]));
say(
  `scheduling pressure: hot up to ${maxPressure("hot").toFixed(2)}, cold up to ${maxPressure("cold").toFixed(2)}`,
);
if (broken.has("staleness")) {
  say(`kills at ${restarts.map((r) => `${r.killedAtS} s (${r.label})`).join(", ")}`);
  say(
    `lost jobs handed back at ${lostJobLog.map((x) => `${x.t} s (${x.lane}: ${x.jobs} jobs, ${x.tokens} tokens)`).join(", ") || "-"}`,
  );
  say("check  stale hot/cold (s)  pressure hot/cold");
  for (const x of trace)
    say(
      `${String(x.t).padStart(5)}  ${`${x.staleS.hot.toFixed(1)} / ${x.staleS.cold.toFixed(1)}`.padStart(18)}  ${`${x.pressure.hot.toFixed(2)} / ${x.pressure.cold.toFixed(2)}`.padStart(17)}`,
    );
}
const pass = violations.length === 0;
say(`result ${pass ? "PASS" : "FAIL"}`);
process.stdout.write(
  `chaos-result ${JSON.stringify({
    pass,
    options: O,
    bounds,
    demand,
    worstStalenessMs: worst,
    failedJobs,
    restarts,
    outages,
    minutes,
    trace,
    lostJobs: lostJobLog,
    memory,
    violations,
    upstream: simStats,
    redisMemory,
  })}\n`,
);
process.exit(pass ? 0 : 1);
