// `npm run bench`: every scenario in every mode on this machine, one table.
//
//   npm run bench                                   the whole suite (about 30 minutes on 2 cores)
//   npm run bench -- --quick                        every cell shortened: a smoke run
//   npm run bench -- --scenario NAME --mode MODE --duration S   one cell (S: the measured window)
//   npm run bench -- --list                         the scenarios, modes and default durations
//   npm run bench -- --report                       the table of the newest cells in latest.json
//   npm run bench -- --scenario unbounded --mode adaptive --cpu-prof DIR   workers write CPU profiles
//   npm run bench -- --scenario unbounded --quick --env UPSTREAM_CONNECTIONS=32   settings over the cell's
//
// --scenario and --mode take comma-separated lists. Each cell starts its own redis-server (free
// port, temp dir) and simulator, registers the scenario's tokens, starts the producer and the
// workers as processes, samples Redis, the heartbeats and the simulator every second, and stops
// everything. Writes bench/results/<scenario>-<mode>-<timestamp>.json per cell, latest.json (the
// newest cell of each scenario/mode) and <scenario>.svg (the newest cells over time).

import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, loadavg, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { detectMachine } from "../packages/adaptive/dist/index.js";
import { SETTINGS, resolveConfig } from "../packages/config/dist/index.js";
import { createRedis } from "../packages/queues/dist/index.js";
import { TokenStore } from "../packages/store/dist/index.js";
import { freePort } from "../apps/launcher/dist/free-port.js";
import { startRedisServer } from "../apps/launcher/dist/redis-server.js";
import { feedBarePipeline } from "./lib/bare-pipeline.mjs";
import { colourFor, renderChart } from "./lib/chart.mjs";
import { Fleet, ROOT, appMain, baseEnv, log, patchSimulator, waitFor } from "./lib/processes.mjs";
import { LANES, Recorder, chartSeries, percentile, summarize } from "./lib/recorder.mjs";
import { renderTable, targetLines } from "./lib/report.mjs";
import { mb, redisCommandTime, redisMemory, rssMb } from "./lib/memory.mjs";
import { boundedFill, pollLikeAnOperator, soakVerdict } from "./lib/soak.mjs";
import { MODES as BASE_MODES, SCHEDULING_MODES, SCENARIOS, SCENARIO_NAMES, modeEnv } from "./scenarios.mjs";

const { fetch, AbortController, AbortSignal } = globalThis;
// Every mode a cell may name; the default run takes BASE_MODES.
const MODES = [...BASE_MODES, ...SCHEDULING_MODES];
const OUT_DIR = join(ROOT, "bench", "results");
const BARE_MAIN = join(ROOT, "bench", "lib", "bare-pipeline.mjs");
const TIMED_PRODUCER = join(ROOT, "bench", "lib", "timed-producer.mjs");
const COTENANT = join(ROOT, "bench", "lib", "cotenant.mjs");
const REGISTER_CHUNK = 5_000;

const { values: args } = parseArgs({
  options: {
    scenario: { type: "string" },
    mode: { type: "string" },
    duration: { type: "string" },
    warmup: { type: "string" },
    quick: { type: "boolean", default: false },
    list: { type: "boolean", default: false },
    report: { type: "boolean", default: false },
    // Each worker writes a V8 CPU profile here when it stops (node --cpu-prof); read it with
    // `node bench/profile-top.mjs DIR`.
    "cpu-prof": { type: "string" },
    // Settings over the scenario's and the mode's, for experiments: --env UPSTREAM_COALESCE_MS=50,UPSTREAM_CONNECTIONS=32
    env: { type: "string" },
  },
});

const machine = await detectMachine();
/** --env's settings: K=V pairs, comma-separated. */
const EXTRA_ENV = Object.fromEntries(
  (args.env ?? "")
    .split(",")
    .filter(Boolean)
    .map((kv) => {
      const at = kv.indexOf("=");
      if (at < 1) {
        console.error(`bench: --env wants K=V pairs, got ${JSON.stringify(kv)}`);
        process.exit(2);
      }
      const key = kv.slice(0, at);
      if (!SETTINGS.some((s) => s.env === key)) {
        console.error(`bench: --env: ${key} is not a moonfleet setting (see .env.example)`);
        process.exit(2);
      }
      return [key, kv.slice(at + 1)];
    }),
);
const profile = resolveConfig(baseEnv, { machine });
const MAX = { hot: profile.config.maxConcurrentHot, cold: profile.config.maxConcurrentCold };

function plan() {
  // Opt-in scenarios (the 35-minute soak) run only when named.
  const names = args.scenario ? args.scenario.split(",") : SCENARIO_NAMES.filter((n) => !SCENARIOS[n].optIn);
  for (const s of names)
    if (!SCENARIOS[s]) throw new Error(`unknown scenario ${s} (one of ${SCENARIO_NAMES.join(", ")})`);
  const modes = args.mode ? args.mode.split(",") : null;
  for (const m of modes ?? [])
    if (!MODES.includes(m)) throw new Error(`unknown mode ${m} (one of ${MODES.join(", ")})`);
  const cells = [];
  for (const name of names) {
    const scn = SCENARIOS[name];
    const d = args.quick ? scn.quick : scn;
    const measureS = args.duration ? Number(args.duration) : d.measureS;
    const warmupS = args.warmup ? Number(args.warmup) : d.warmupS;
    // Worker counts outside, modes inside: the modes of one count run one after the other, so a
    // host whose speed drifts during the run (this one's CPU per token differed by 30 % between
    // two mornings) shifts them alike, not every adaptive cell against every fixed one.
    for (const workers of scn.workerCounts ?? [scn.workers])
      for (const mode of modes ?? scn.modes ?? BASE_MODES)
        cells.push({ scn, mode, workers, warmupS, measureS });
    // The bare pipeline runs beside `unbounded` in the same run, with the same durations.
    if (scn.bare) cells.push({ scn, mode: "bare", workers: scn.workers, warmupS, measureS });
  }
  return cells;
}

const cellLabel = (scn, workers) => (scn.workerCounts ? `${scn.name} x${workers}` : scn.name);
const cellKey = (c) => `${c.scenario}/${c.mode}${c.scenarioWorkerCounts ? `/w${c.workers}` : ""}`;

let interrupted = false;
process.on("SIGINT", () => {
  if (interrupted) process.exit(130);
  interrupted = true;
  log("interrupted: stopping the current cell (Ctrl-C again to quit at once)");
});

/** Sleeps until `untilMs` (epoch), waking early on Ctrl-C or when `cell.stop` is set. */
async function sleepUntil(untilMs, cell = {}) {
  while (Date.now() < untilMs && !interrupted && !cell.stop) await sleep(Math.min(200, untilMs - Date.now()));
}

const usedMemory = async (redis) => (await redisMemory(redis)).used;

/** Registers through TokenStore.register in chunks; for large-registry, times the claim at 1,000 and at the end. */
async function register(store, mints, at, largeRegistry) {
  const started = performance.now();
  const claim = {};
  for (let i = 0; i < mints.length; i += REGISTER_CHUNK) {
    await store.register(
      mints.slice(i, i + REGISTER_CHUNK).map((mint) => ({ mint })),
      at,
    );
    if (largeRegistry && i === 0) {
      // The first 1,000 alone, measured before the rest arrive.
      claim.small = await timeClaims(store, Math.min(1_000, mints.length), at);
    }
  }
  if (largeRegistry) claim.large = await timeClaims(store, mints.length, at);
  return { ms: Math.round(performance.now() - started), claim: largeRegistry ? claim : null };
}

/**
 * The claim Lua's cost: 50 claims with nothing due (a time before registration), and 5 claims of
 * 300 due tokens with the producer's look-ahead. Those tokens are leased 30 s ahead, as a real claim
 * would; the fleet has not started yet.
 */
async function timeClaims(store, registered, at) {
  const look = { ms: 2_000, fill: 30, holdMs: 1_000 };
  const empty = [];
  for (let i = 0; i < 50; i++) {
    const t = performance.now();
    await store.claimDue("cold", at - 60_000, 30_000, 300, look);
    empty.push(performance.now() - t);
  }
  const full = [];
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    await store.claimDue("cold", at, 30_000, 300, look);
    full.push(performance.now() - t);
  }
  return { registered, emptyMs: percentile(empty, 0.5), claim300Ms: percentile(full, 0.5) };
}

/** Failed BullMQ jobs, and tokens in no schedule (neither due set, not archived): never refreshed again. */
async function lostCounts(redis, store, root, lastRow) {
  const failed = {};
  for (const lane of ["hot", "cold", "bare"]) failed[lane] = await redis.zcard(`${root}:q:${lane}:failed`);
  const k = store.keys;
  const tmpKey = `${root}:bench:orphans`;
  const orphans = await redis.zdiffstore(
    tmpKey,
    4,
    k.registry,
    k.due("hot"),
    k.due("cold"),
    k.byScore("archived"),
  );
  await redis.del(tmpKey);
  const failedJobs = failed.hot + failed.cold + failed.bare;
  const unscored = LANES.reduce((a, l) => a + (lastRow?.stale[l].unscored ?? 0), 0);
  return { failedJobs, failedByQueue: failed, orphans, total: failedJobs + orphans, unscored };
}

/**
 * The soak's own loop beside the cell's: an operator's polling of the api, and every
 * `memoryEveryS` the RSS of each moonfleet process (redis-server included) and Redis's
 * used_memory. `finish()` stops both and returns the readings and the verdict.
 */
const REDIS_DATA = "redis used_memory";

function startSoak({ scn, fleet, redis, store, apiUrl, t0, warmupS, measureS, cell }) {
  const endMs = t0 + (warmupS + measureS) * 1_000;
  const running = () => !interrupted && !cell.stop && Date.now() < endMs;
  const polling = pollLikeAnOperator(apiUrl, running);
  const series = {};
  const fill = [];
  const push = (label, tS, mb) => (series[label] ??= []).push({ tS, mb });
  const read = async () => {
    const tS = Math.round((Date.now() - t0) / 100) / 10;
    for (const [label, c] of fleet.children)
      if (c.role === "moonfleet") push(`${label} rss`, tS, rssMb(c.pid));
    push(REDIS_DATA, tS, mb(await usedMemory(redis)));
    fill.push({ tS, ...(await boundedFill(redis, store.keys.root, store.keys)) });
  };
  const reading = (async () => {
    // At 0, then on the minute, with one reading exactly at the end of the warm-up (the baseline).
    const marks = new Set([0, warmupS, warmupS + measureS]);
    for (let t = scn.memoryEveryS; t < warmupS + measureS; t += scn.memoryEveryS) marks.add(t);
    for (const t of [...marks].sort((a, b) => a - b)) {
      await sleepUntil(t0 + t * 1_000, cell);
      if (interrupted || cell.stop) break;
      await read().catch((err) => log(`soak reading: ${err.message}`));
      if (t >= warmupS) {
        const last = Object.entries(series).map(([l, r]) => `${l} ${r.at(-1).mb}`);
        const f = fill.at(-1);
        log(
          `soak ${t} s: MB ${last.join(", ")}; completed jobs ${f.completed.hot}/${f.completed.cold}, events ${f.events.hot}/${f.events.cold}, history ${f.historyMean}`,
        );
      }
    }
  })();
  return {
    async finish() {
      await reading;
      const api = await polling;
      const verdict = soakVerdict(series, {
        warmupS,
        tolerance: scn.memoryTolerance,
        bothWays: [REDIS_DATA],
      });
      return {
        memoryEveryS: scn.memoryEveryS,
        tolerance: scn.memoryTolerance,
        apiRequests: api,
        series,
        fill,
        verdict,
        ok: verdict.every((v) => v.judged && v.ok),
      };
    },
  };
}

async function runCell({ scn, mode, workers, warmupS, measureS }) {
  const prefix = `bench${Date.now().toString(36)}`;
  const root = `{${prefix}}`;
  const tmp = mkdtempSync(join(tmpdir(), "moonfleet-bench-"));
  const bare = mode === "bare";
  const ticks = [];
  const bareTotals = {};
  const eventCounts = {};
  let t0 = Date.now();
  const started = new Set();
  // The co-tenants' last progress line, by label.
  const progress = {};
  const fleet = new Fleet((label, obj) => {
    if (obj.event === "cotenant_progress") {
      progress[label] = obj;
      return;
    }
    if (obj.event === "startup" || obj.event === "bench_tick" || obj.event === "bare_done")
      started.add(label);
    if (obj.event === "bench_tick")
      ticks.push({ tMs: Date.now() - t0, ms: obj.ms, pingMs: obj.pingMs, claimed: obj.claimed });
    else if (obj.event === "bare_done") bareTotals[label] = obj.tokens;
    else if (obj.event)
      eventCounts[`${label.replace(/\d+$/, "")} ${obj.event}`] =
        (eventCounts[`${label.replace(/\d+$/, "")} ${obj.event}`] ?? 0) + 1;
  });
  let redisServer = null;
  let redis = null;
  const result = {
    scenario: scn.name,
    label: cellLabel(scn, workers),
    mode,
    workers,
    scenarioWorkerCounts: Boolean(scn.workerCounts),
    about: scn.about,
    startedAt: new Date().toISOString(),
    warmupS,
    measureS,
    loadavgAtStart: loadavg().map((x) => Math.round(x * 100) / 100),
  };
  log(`${result.label} / ${mode}: warmup ${warmupS} s, measure ${measureS} s`);
  try {
    // at the nice npm start gives its own (REDIS_SERVER_NICE), so the cells measure what it runs
    redisServer = await startRedisServer({ dir: join(tmp, "redis"), nice: profile.config.redisServerNice });
    if (redisServer.niceRefused) log(`redis-server at the default priority: ${redisServer.niceRefused}`);
    result.redisNice = redisServer.niceRefused ? 0 : profile.config.redisServerNice;
    fleet.adopt("redis", redisServer.process);
    const simPort = await freePort();
    const simUrl = `http://127.0.0.1:${simPort}`;
    const env = {
      ...baseEnv,
      REDIS_URL: redisServer.url,
      UPSTREAM_URL: simUrl,
      REDIS_KEY_PREFIX: prefix,
      LOG_LEVEL: "info",
      ...scn.env,
      ...(bare ? {} : modeEnv(mode, MAX)),
      ...(bare ? {} : EXTRA_ENV),
    };
    const cfg = resolveConfig(env, { machine }).config;
    result.env = Object.fromEntries(
      Object.entries(env).filter(
        ([k]) => k in scn.env || k in modeEnv(mode === "bare" ? "adaptive" : mode, MAX) || k in EXTRA_ENV,
      ),
    );
    result.effective = {
      profile: profile.profile,
      maxConcurrent: {
        hot: cfg.maxConcurrentHot,
        cold: cfg.maxConcurrentCold,
        underLoad: cfg.maxConcurrentUnderLoad,
      },
      ttlS: { hot: cfg.cacheTtlHot, cold: cfg.cacheTtlCold },
      upstreamRpm: cfg.upstreamRpm,
    };
    fleet.start(
      "simulator",
      [appMain("simulator")],
      { ...env, SIMULATOR_PORT: String(simPort), LOG_LEVEL: "warn" },
      { role: "upstream" },
    );
    await waitFor(`${simUrl}/livez`, "the simulator");
    result.simulator = await patchSimulator(simUrl, scn.sim);

    redis = createRedis(redisServer.url, { name: "bench" });
    const store = new TokenStore(redis, prefix);
    const memBase = await usedMemory(redis);
    const mints = scn.mints();
    const registeredAt = Date.now();
    const reg = await register(store, mints, registeredAt, Boolean(scn.largeRegistry));
    const memRegistered = await usedMemory(redis);
    result.registered = { tokens: mints.length, ms: reg.ms };
    log(`registered ${mints.length} tokens in ${(reg.ms / 1000).toFixed(1)} s`);

    let apiUrl = null;
    if ((scn.largeRegistry || scn.soak) && !bare) {
      // Up before the clock starts, so its start-up does not eat the window.
      const apiPort = await freePort();
      fleet.start("api", [appMain("api")], {
        ...env,
        API_PORT: String(apiPort),
        API_HOST: "127.0.0.1",
        ADMIN_TOKEN: randomBytes(18).toString("base64url"),
      });
      apiUrl = `http://127.0.0.1:${apiPort}`;
      await waitFor(`${apiUrl}/livez`, "the api");
    }

    // Another tenant for the whole cell: one process keeping one core `background` busy.
    if (scn.background)
      fleet.start("background", [COTENANT, "--duty", String(scn.background)], process.env, { role: "hog" });

    const spawnedAt = Date.now();
    const labelOfPid = new Map();
    const workerLabels = [];
    if (bare) {
      for (let i = 1; i <= workers; i++) {
        fleet.start(`bare${i}`, [BARE_MAIN, "--worker"], env, { role: "bare" });
        workerLabels.push(`bare${i}`);
      }
    } else {
      if (scn.largeRegistry) fleet.start("producer", [TIMED_PRODUCER], env);
      else fleet.start("producer", [appMain("producer")], env);
      for (let i = 1; i <= workers; i++) {
        const profiled = args["cpu-prof"] ? ["--cpu-prof", `--cpu-prof-dir=${args["cpu-prof"]}`] : [];
        const c = fleet.start(`w${i}`, [...profiled, appMain("worker")], env);
        labelOfPid.set(c.pid, `w${i}`);
        workerLabels.push(`w${i}`);
      }
    }

    // The clock starts when every process has said it started: on a busy 2-core machine five node
    // processes loading at once take 10-20 s, which would otherwise eat a short warmup.
    const expected = [...(bare ? [] : ["producer"]), ...workerLabels];
    while (!expected.every((l) => started.has(l))) {
      fleet.assertAlive();
      if (interrupted) throw new Error("interrupted");
      if (Date.now() - spawnedAt > 120_000)
        throw new Error(`not started after 120 s: ${expected.filter((l) => !started.has(l)).join(", ")}`);
      await sleep(100);
    }
    t0 = Date.now();
    result.startupS = Math.round((t0 - spawnedAt) / 100) / 10;
    const recorder = new Recorder({
      redis,
      store,
      prefix,
      simUrl,
      registeredAt,
      labelOfPid,
      t0,
    });
    if (bare)
      // The bare workers publish no heartbeat: their running totals stand in as the cold lane.
      recorder.extraWorkers = () =>
        Object.fromEntries(
          Object.entries(bareTotals).map(([label, tokens]) => [
            label,
            {
              level: "normal",
              loopP99Ms: null,
              cold: {
                tokens,
                concurrency: 16,
                timeoutMs: null,
                failedTokens: 0,
                jobs: 0,
                calls: 0,
                timeouts: 0,
                errors: 0,
                rateLimited: 0,
              },
            },
          ]),
        );
    let sampling = true;
    const sampling$ = (async () => {
      const everyMs = (scn.sampleEveryS ?? 1) * 1_000;
      for (let k = 1; sampling; k++) {
        const next = t0 + k * everyMs;
        if (next > Date.now()) await sleep(next - Date.now());
        if (!sampling) break;
        try {
          fleet.assertAlive();
          await recorder.sample();
        } catch (err) {
          log(`sample: ${err.message}`);
          if (/exited early/.test(err.message)) throw err;
        }
      }
    })();
    // A child that died ends this cell early (its error is the cell's), not the whole run.
    const cell = { stop: false };
    let samplingFailed = null;
    sampling$.catch((err) => {
      samplingFailed = err;
      cell.stop = true;
    });

    const feeder = new AbortController();
    const feeding = bare
      ? feedBarePipeline({ redisUrl: redisServer.url, prefix, mints, signal: feeder.signal })
      : null;
    // The soak's poller and memory readings run from the start, so the warm-up is in its chart.
    const soak = scn.soak
      ? startSoak({ scn, fleet, redis, store, apiUrl, t0, warmupS, measureS, cell })
      : null;

    // warmup | window (before | disturbance | after)
    const warmupMs = warmupS * 1_000;
    const measureMs = measureS * 1_000;
    await sleepUntil(t0 + warmupMs, cell);
    recorder.phase = scn.disturbance ? "before" : "measure";
    const cpu0 = fleet.cpu();
    await redis.config("RESETSTAT");
    const windowStart = Date.now() - t0;
    const apiTimes = [];
    const probing =
      apiUrl && scn.largeRegistry
        ? (async () => {
            while (!interrupted && !cell.stop && Date.now() < t0 + warmupMs + measureMs) {
              const t = performance.now();
              try {
                const res = await fetch(`${apiUrl}/tokens?limit=50`, { signal: AbortSignal.timeout(5_000) });
                await res.arrayBuffer();
                if (res.ok) apiTimes.push(performance.now() - t);
              } catch {
                // counted by its absence
              }
              await sleep(100);
            }
          })()
        : null;
    let band = null;
    if (scn.disturbance) {
      const d = scn.disturbance;
      await sleepUntil(t0 + warmupMs + measureMs / 3, cell);
      if (!interrupted && !cell.stop) {
        recorder.phase = "during";
        band = [(Date.now() - t0) / 1000, null];
        if (d.cotenants)
          for (let i = 1; i <= d.cotenants; i++)
            fleet.start(`cotenant${i}`, [COTENANT], process.env, { role: "hog" });
        if (d.sim) await patchSimulator(simUrl, d.sim);
        await sleepUntil(t0 + warmupMs + (2 * measureMs) / 3, cell);
        if (d.cotenants) await fleet.stopWhere((c) => c.label.startsWith("cotenant"), 2_000);
        if (d.sim)
          await patchSimulator(simUrl, Object.fromEntries(Object.keys(d.sim).map((k) => [k, scn.sim[k]])));
        band[1] = (Date.now() - t0) / 1000;
        recorder.phase = "after";
      }
    }
    await sleepUntil(t0 + warmupMs + measureMs, cell);
    await probing;
    if (soak) result.soak = await soak.finish();
    sampling = false;
    await sampling$.catch(() => undefined);
    if (samplingFailed) throw samplingFailed;
    await recorder.sample();
    const windowEnd = recorder.rows.at(-1).tMs;
    const cpu1 = fleet.cpu();
    const commands = await redisCommandTime(redis);
    feeder.abort();
    const bareCounts = feeding ? await feeding : null;

    // Figures
    const ttl = { hot: cfg.cacheTtlHot, cold: cfg.cacheTtlCold };
    const opts = { ttl, budgetRpm: cfg.upstreamRpm };
    result.disturbance = scn.disturbance?.name ?? null;
    result.summary = { all: summarize(recorder.rows, windowStart, windowEnd, opts) };
    if (band && band[1] !== null) {
      const third = (ms) => recorder.rows.filter((r) => r.phase === ms);
      for (const ph of ["before", "during", "after"]) {
        const rs = third(ph);
        if (rs.length >= 2) result.summary[ph] = summarize(recorder.rows, rs[0].tMs, rs.at(-1).tMs, opts);
      }
      result.disturbanceS = band.map((x) => Math.round(x * 10) / 10);
    }
    if (!result.summary.all) throw new Error("the window holds fewer than two samples");
    const cpu = {};
    let ours = 0;
    for (const [label, c] of fleet.children) {
      const a = cpu0[label];
      const b = cpu1[label];
      if (a === null || a === undefined || b === null || b === undefined) continue;
      cpu[label] = Math.round((b - a) * 100) / 100;
      if (c.role === "moonfleet" || c.role === "bare") ours += b - a;
    }
    const tokens = result.summary.all.tokens;
    result.cpu = {
      secondsByProcess: cpu,
      moonfleetSeconds: Math.round(ours * 100) / 100,
      perThousandTokens: tokens > 0 ? Math.round((ours / (tokens / 1000)) * 1000) / 1000 : null,
      note: "producer, workers, api and redis-server (bare: its workers and redis-server); not the simulator, the hogs or the bench",
    };
    // Redis's own time by command over the window, per 1,000 tokens scored: where its share of
    // the CPU above goes (a Lua script's calls count inside EVALSHA).
    result.cpu.redisCommands = Object.entries(commands)
      .sort((a, b) => b[1].usec - a[1].usec)
      .slice(0, 12)
      .map(([command, c]) => ({
        command,
        calls: c.calls,
        ms: Math.round(c.usec / 1000),
        usPerCall: Math.round((c.usec / Math.max(1, c.calls)) * 10) / 10,
        msPerThousandTokens: tokens > 0 ? Math.round((c.usec / 1000 / (tokens / 1000)) * 100) / 100 : null,
      }));
    result.peakRssMb = fleet.peakRss();
    if (scn.disturbance?.cotenants) result.cotenant = cotenantProgress(progress, "cotenant");
    const mem = await usedMemory(redis);
    result.redis = {
      usedMemoryBytes: mem,
      baseBytes: memBase,
      bytesPerToken: Math.round((mem - memBase) / mints.length),
      // Registry, schedule and indexes only, before any snapshot or job exists.
      bytesPerTokenRegistered: Math.round((memRegistered - memBase) / mints.length),
    };
    result.lost = await lostCounts(redis, store, root, recorder.rows.at(-1));
    if (bareCounts) result.lost.bareJobCounts = bareCounts;
    if (scn.largeRegistry) {
      const inWin = ticks.filter((t) => t.tMs >= windowStart && t.tMs <= windowEnd);
      const ms = inWin.map((t) => t.ms);
      const claimed = inWin.map((t) => t.claimed.hot + t.claimed.cold);
      const pings = inWin.map((t) => t.pingMs).filter((x) => typeof x === "number");
      result.largeRegistry = {
        registered: mints.length,
        registerMs: reg.ms,
        producerTickMs: {
          count: ms.length,
          p50: percentile(ms, 0.5),
          p95: percentile(ms, 0.95),
          max: ms.length ? Math.max(...ms) : null,
          claimedPerTickMean: claimed.length
            ? Math.round(claimed.reduce((a, b) => a + b, 0) / claimed.length)
            : null,
        },
        // one PING from the producer's process beside each tick: what a round trip waits then
        redisRoundTripMs: { p50: percentile(pings, 0.5), p95: percentile(pings, 0.95) },
        apiTokensMs: {
          count: apiTimes.length,
          p50: percentile(apiTimes, 0.5),
          p95: percentile(apiTimes, 0.95),
          max: apiTimes.length ? Math.max(...apiTimes) : null,
        },
        claim: reg.claim,
      };
    }
    result.eventCounts = eventCounts;
    result.series = recorder.rows;
    result.chart = chartSeries(recorder.rows);
    result.band = band;
    result.workerLabels = workerLabels;
  } catch (err) {
    result.error = String(err?.message ?? err);
    log(`${result.label} / ${mode} failed: ${result.error}`);
  } finally {
    await fleet.stopWhere((c) => c.role === "hog", 1_000);
    await fleet.stopWhere((c) => c.role !== "upstream" && c.label !== "redis", 8_000);
    await fleet.stopWhere((c) => c.role === "upstream", 5_000);
    result.stderr = Object.fromEntries(
      [...fleet.children].filter(([, c]) => c.stderr.trim()).map(([l, c]) => [l, c.stderr.slice(-1_000)]),
    );
    result.forcedStops = [...fleet.children.values()].filter((c) => c.forced).map((c) => c.label);
    await redis?.quit().catch(() => undefined);
    await redisServer?.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
  if (scn.background)
    result.background = { duty: scn.background, ...cotenantProgress(progress, "background") };
  result.loadavgAtEnd = loadavg().map((x) => Math.round(x * 100) / 100);
  return result;
}

/** The co-tenants' progress: work units per second of their own run, summed over the processes. */
function cotenantProgress(progress, prefix) {
  const runs = Object.entries(progress).filter(([label]) => label.startsWith(prefix));
  const sum = (f) => runs.reduce((a, [, p]) => a + f(p), 0);
  return {
    processes: runs.length,
    unitsPerS: Math.round(sum((p) => (p.wallMs > 0 ? p.units / (p.wallMs / 1000) : 0))),
    cpuPerS: Math.round(sum((p) => (p.wallMs > 0 ? p.cpuMs / p.wallMs : 0)) * 100) / 100,
  };
}

function writeResults(cells) {
  mkdirSync(OUT_DIR, { recursive: true });
  const latestPath = join(OUT_DIR, "latest.json");
  const latest = existsSync(latestPath) ? JSON.parse(readFileSync(latestPath, "utf8")) : { cells: {} };
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  for (const c of cells) {
    const key = cellKey(c);
    const file = `${c.label.replace(/ x/, "-w")}-${c.mode}-${stamp}.json`;
    writeFileSync(join(OUT_DIR, file), JSON.stringify(c, null, 1) + "\n");
    if (c.error) continue;
    const short = Object.fromEntries(
      Object.entries(c).filter(([k]) => !["series", "chart", "eventCounts"].includes(k)),
    );
    latest.cells[key] = { file, ...short };
  }
  latest.updatedAt = new Date().toISOString();
  latest.machine = machineFacts();
  writeFileSync(latestPath, JSON.stringify(latest, null, 1) + "\n");
  // One chart per scenario, from the newest cell of each of its modes (this run's or an earlier one).
  const scenarios = new Set(cells.map((c) => c.scenario));
  for (const name of scenarios) {
    const entries = Object.values(latest.cells).filter((e) => e.scenario === name);
    const chartCells = [];
    entries
      .sort((a, b) => a.workers - b.workers || MODES.indexOf(a.mode) - MODES.indexOf(b.mode))
      .forEach((e, i) => {
        const path = join(OUT_DIR, e.file);
        if (!existsSync(path)) return;
        const full = JSON.parse(readFileSync(path, "utf8"));
        const key = SCENARIOS[name].workerCounts ? `w${e.workers}-${e.mode}` : e.mode;
        chartCells.push({
          label: SCENARIOS[name].workerCounts ? `${e.mode}, ${e.workers} worker(s)` : e.mode,
          colour: colourFor(SCENARIOS[name].workerCounts ? key : e.mode, i),
          series: full.chart ?? [],
          band: full.band,
          windowStartS: full.warmupS,
        });
      });
    const ttl = entries[0]?.effective?.ttlS ?? { hot: 15, cold: 30 };
    writeFileSync(
      join(OUT_DIR, `${name}.svg`),
      renderChart({ title: `${name}: ${SCENARIOS[name].about}`, cells: chartCells, ttl }),
    );
  }
  return stamp;
}

function machineFacts() {
  return {
    cpus: availableParallelism(),
    cpuModel: cpus()[0]?.model ?? "?",
    memoryGb: Math.round(totalmem() / 1e8) / 10,
    node: process.version,
    profile: profile.profile,
    maxConcurrent: MAX,
  };
}

if (args.list) {
  for (const s of Object.values(SCENARIOS)) {
    const modes = s.modes ?? MODES;
    process.stdout.write(
      `${s.name.padEnd(15)} warmup ${s.warmupS} s + window ${s.measureS} s (quick ${s.quick.warmupS} + ${s.quick.measureS}), modes ${modes.join("/")}${s.workerCounts ? `, workers ${s.workerCounts.join("/")}` : ""}${s.bare ? ", + bare pipeline" : ""}${s.optIn ? ", only when named" : ""}\n  ${s.about}\n`,
    );
  }
  const est = plan().reduce((a, c) => a + c.warmupS + c.measureS + 12 + (c.scn.largeRegistry ? 25 : 0), 0);
  process.stdout.write(`${plan().length} cells, about ${Math.round(est / 60)} minutes with these options\n`);
  process.exit(0);
}

if (args.report) {
  // The table and targets of the newest cell of every scenario/mode, without running anything.
  const latest = JSON.parse(readFileSync(join(OUT_DIR, "latest.json"), "utf8"));
  const order = (c) =>
    SCENARIO_NAMES.indexOf(c.scenario) * 100 + c.workers * 10 + [...MODES, "bare"].indexOf(c.mode);
  const all = Object.values(latest.cells).sort((a, b) => order(a) - order(b));
  process.stdout.write(`${renderTable(all)}\n\n`);
  for (const line of targetLines(all)) process.stdout.write(`- ${line}\n`);
  process.exit(0);
}

const cells = plan();
const m = machineFacts();
log(
  `${cells.length} cell(s) on ${m.cpus} CPUs (${m.cpuModel}), ${m.memoryGb} GB, node ${m.node}, profile ${m.profile} (max concurrency hot ${MAX.hot} / cold ${MAX.cold}); load average ${loadavg()
    .map((x) => x.toFixed(2))
    .join(" ")}`,
);
const results = [];
const started = Date.now();
for (const cell of cells) {
  if (interrupted) break;
  results.push(await runCell(cell));
  writeResults([results.at(-1)]);
}
const ok = results.filter((r) => !r.error);
process.stdout.write(`\n${renderTable(ok)}\n\n`);
for (const line of targetLines(ok)) process.stdout.write(`- ${line}\n`);
const lost = ok.filter((r) => r.lost.total > 0);
if (lost.length)
  process.stdout.write(
    `- jobs lost in: ${lost.map((r) => `${r.label}/${r.mode} (${JSON.stringify(r.lost)})`).join(", ")}\n`,
  );
for (const r of results.filter((x) => x.error))
  process.stdout.write(`- FAILED ${r.label}/${r.mode}: ${r.error}\n`);
log(
  `done in ${Math.round((Date.now() - started) / 1000)} s; results in bench/results/ (latest.json, <scenario>.svg)`,
);
for (const r of results.filter((x) => x.soak)) {
  process.stdout.write(
    `\nsoak: memory every ${r.soak.memoryEveryS} s; no reading more than ${r.soak.tolerance * 100}% above its value at the end of the ${r.warmupS} s warm-up (Redis's data: nor below)\n`,
  );
  for (const v of r.soak.verdict)
    process.stdout.write(
      v.judged
        ? `  ${v.ok ? "ok    " : "BREACH"} ${v.label.padEnd(22)} ${v.baseMb} MB -> min ${v.minMb}, max ${v.maxMb}, last ${v.lastMb} (+${(v.up * 100).toFixed(1)}% / -${(v.down * 100).toFixed(1)}%${!v.bothWays && v.down > r.soak.tolerance ? ": a dip, not judged" : ""}, ${v.readings} readings)\n`
        : `  NOT JUDGED ${v.label}: ${v.readings} reading(s) after the warm-up\n`,
    );
  const f0 = r.soak.fill.find((f) => f.tS >= r.warmupS);
  const f1 = r.soak.fill.at(-1);
  const fillText = (f) =>
    `completed jobs hot ${f.completed.hot} / cold ${f.completed.cold}, event streams ${f.events.hot} / ${f.events.cold}, history ${f.historyMean} per token`;
  if (f0 && f1)
    process.stdout.write(
      `  bounded structures at the baseline: ${fillText(f0)}\n  at the end: ${fillText(f1)}\n`,
    );
  process.stdout.write(
    `  api: ${r.soak.apiRequests.ok} answers, ${r.soak.apiRequests.failed} failed; lost ${r.lost?.total ?? "?"}\n`,
  );
}
const soakFailed = results.some((r) => r.soak && !r.soak.ok);
process.exit(results.some((r) => r.error) || soakFailed || interrupted ? 1 : 0);
