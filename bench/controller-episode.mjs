// One reproducible episode of the adaptive controller under stress: a private redis-server, the
// simulator, the producer and two workers (nothing else), ~3000 demo tokens, then
//
//   warmup 15 s | calm 30 s | CPU hog 30 s | calm 30 s | latency surge 30 s | calm 30 s
//
// The hog is one `node -e "for(;;){}"` per CPU; the surge PATCHes the simulator to latencyMs 1500,
// jitterMs 500 and back. Every producer/worker stdout JSON line is kept; every second the workers'
// heartbeats ({PREFIX}:worker:<id>, found through the {PREFIX}:workers index) are read into a time
// series, with the queue depths and the cost of one createSampler().sample() in this process.
//
//   npx tsc -b && node bench/controller-episode.mjs
//
// Writes bench/results/controller-episode.json (meta, phases, series, decision events, checks),
// controller-episode.md (tables per phase, decision list, checks) and controller-episode.log.jsonl
// (every JSON line the processes printed). BENCH_PHASE_S / BENCH_WARMUP_S shorten the phases for a
// dry run. The whole run takes about 3 minutes.

import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, loadavg, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import { createSampler } from "../packages/adaptive/dist/sampler.js";
import { freePort } from "../apps/launcher/dist/free-port.js";
import { startRedisServer } from "../apps/launcher/dist/redis-server.js";
import { demoMints } from "../apps/simulator/dist/index.js";
import { SETTINGS } from "../packages/config/dist/index.js";
import { createRedis } from "../packages/queues/dist/index.js";
import { TokenStore } from "../packages/store/dist/index.js";
import { ROOT, patchSimulator, waitFor } from "./lib/processes.mjs";

const { fetch } = globalThis;

const OUT_DIR = join(ROOT, "bench", "results");
const PHASE_MS = Number(process.env.BENCH_PHASE_S ?? 30) * 1000;
const WARMUP_MS = Number(process.env.BENCH_WARMUP_S ?? 15) * 1000;
const TOKENS = 3000;
const WORKERS = 2;
const TICK_MS = 1000;
const PREFIX = `bench${Date.now().toString(36)}`;
const CALM_LATENCY = { latencyMs: 150, jitterMs: 40 };
const SURGE_LATENCY = { latencyMs: 1500, jitterMs: 500 };
// The controller's decisions, and the breaker's, which explains a lane that goes silent.
const DECISION_EVENTS = new Set([
  "concurrency_change",
  "timeout_change",
  "load_level",
  "batch_size_change",
  "circuit_breaker",
]);
const LANES = ["hot", "cold"];
const PINO_LEVELS = new Set(["trace", "debug", "info", "warn", "error", "fatal"]);
const HOGS = availableParallelism();
// Optional: the fleet's upstream budget (UPSTREAM_RPM, default 240 fleet-wide) for a follow-up run,
// and a tag for the output file names so such a run does not overwrite the default one.
const UPSTREAM_RPM = process.env.BENCH_UPSTREAM_RPM;
const TAG = process.env.BENCH_TAG ? `-${process.env.BENCH_TAG}` : "";

const log = (msg) => process.stdout.write(`bench: ${msg}\n`);
const appMain = (app) => join(ROOT, "apps", app, "dist", "main.js");

// ---------------------------------------------------------------------------------------------
// Processes

/** Every moonfleet setting is stripped from the inherited environment, so the run is reproducible. */
const baseEnv = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !SETTINGS.some((s) => s.env === k)),
);

let t0 = Date.now();
const phases = []; // { name, startMs, endMs }
const phaseAt = (ms) => {
  let name = "startup";
  for (const p of phases) if (ms >= p.startMs) name = p.name;
  return name;
};
const children = new Map(); // label -> { proc, pid, exited, stderr }
const logLines = [];
const decisions = [];
const eventCounts = {};

function onLine(label, pid, line) {
  let obj;
  try {
    obj = JSON.parse(line);
  } catch {
    return;
  }
  if (obj === null || typeof obj !== "object") return;
  const at = typeof obj.time === "string" ? Date.parse(obj.time) : Date.now();
  recordLine({ who: label, tMs: at - t0, ...obj, pid });
}

/** Keeps one log line; a decision event also goes to `decisions`, with its phase. */
function recordLine(entry) {
  logLines.push(entry);
  const key = `${entry.who} ${entry.event ?? entry.msg ?? "?"}`;
  eventCounts[key] = (eventCounts[key] ?? 0) + 1;
  if (!DECISION_EVENTS.has(entry.event)) return;
  // pino writes its own "level" first; a controller "level" field after it wins in JSON.parse.
  const { msg, event, who, tMs, pid, ...fields } = entry;
  for (const k of ["time", "app", "hostname"]) delete fields[k];
  if (PINO_LEVELS.has(fields.level)) delete fields.level;
  decisions.push({ tMs, phase: phaseAt(tMs), who, pid, event, ...fields, msg });
}

function startChild(label, args, env) {
  const proc = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
  const entry = { proc, pid: proc.pid, stderr: "", exit: null, stopMs: null };
  entry.exited = new Promise((res) =>
    proc.once("exit", (code, signal) => {
      entry.exit = { code, signal };
      res(entry.exit);
    }),
  );
  createInterface({ input: proc.stdout }).on("line", (line) => onLine(label, proc.pid, line));
  proc.stderr.on("data", (d) => {
    entry.stderr = (entry.stderr + d.toString()).slice(-4000);
  });
  children.set(label, entry);
  return entry;
}

async function stopChild(label, graceMs) {
  const entry = children.get(label);
  if (!entry || entry.exit) return entry?.exit ?? null;
  const started = Date.now();
  entry.proc.kill("SIGTERM");
  const killed = await Promise.race([entry.exited, sleep(graceMs).then(() => null)]);
  if (killed === null) {
    entry.proc.kill("SIGKILL");
    await entry.exited;
    entry.exit = { ...entry.exit, forced: true };
  }
  entry.stopMs = Date.now() - started;
  return entry.exit;
}

let hogs = [];
function startHogs() {
  hogs = Array.from({ length: HOGS }, () =>
    spawn(process.execPath, ["-e", "for(;;){}"], { stdio: "ignore" }),
  );
}
async function stopHogs() {
  const all = hogs.map((h) => (h.exitCode !== null || h.signalCode !== null ? null : h));
  await Promise.all(
    all.filter(Boolean).map((h) => {
      const gone = new Promise((res) => h.once("exit", res));
      h.kill("SIGKILL");
      return gone;
    }),
  );
  hogs = [];
}

// ---------------------------------------------------------------------------------------------
// Per-second series

const SCHEDSTAT = `/proc/self/task/${process.pid}/schedstat`;
const loopThreadCpuUs = () => {
  try {
    return Number(readFileSync(SCHEDSTAT, "utf8").split(" ")[0]) / 1000;
  } catch {
    return null;
  }
};

/** CPU time (clock ticks) of one process, from /proc/<pid>/stat; null when it is gone. */
function procTicks(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = text.slice(text.lastIndexOf(")") + 2).split(" ");
    return Number(f[11]) + Number(f[12]);
  } catch {
    return null;
  }
}
/** Busy and total clock ticks of the host, from the cpu line of /proc/stat. */
function hostTicks() {
  try {
    const f = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1, 9).map(Number);
    const total = f.reduce((a, b) => a + b, 0);
    return { busy: total - f[3] - f[4], total };
  } catch {
    return null;
  }
}
const CLK_TCK = 100; // USER_HZ on Linux
/** Who uses the CPUs: % of one core per process group since the previous tick. */
let lastCpu = null;
function cpuByProcess() {
  const groups = { bench: [process.pid], redis: redisServer ? [redisServer.process.pid] : [] };
  for (const [label, c] of children) groups[label] = [c.pid];
  groups.hogs = hogs.map((h) => h.pid);
  const now = performance.now();
  const host = hostTicks();
  const ticks = {};
  for (const [g, pids] of Object.entries(groups))
    for (const pid of pids) ticks[`${g}:${pid}`] = procTicks(pid);
  const prev = lastCpu;
  lastCpu = { now, host, ticks };
  if (prev === null) return null;
  const secs = (now - prev.now) / 1000;
  const out = {};
  let ours = 0;
  for (const [key, t] of Object.entries(ticks)) {
    const before = prev.ticks[key];
    if (t === null || before === undefined || before === null) continue;
    const g = key.split(":")[0];
    const pct = ((t - before) / CLK_TCK / secs) * 100;
    out[g] = r1((out[g] ?? 0) + pct);
    ours += pct;
  }
  if (host && prev.host) {
    const dt = host.total - prev.host.total;
    const busyCores = dt > 0 ? ((host.busy - prev.host.busy) / dt) * availableParallelism() : 0;
    out.hostBusy = r1(busyCores * 100);
    out.other = r1(Math.max(0, busyCores * 100 - ours));
  }
  return out;
}

const series = [];
const pick = (lane) =>
  lane && {
    concurrency: lane.concurrency,
    active: lane.active,
    reason: lane.reason,
    timeoutMs: lane.timeoutMs,
    timeoutReason: lane.timeoutReason,
    p50Ms: lane.latencyP50Ms,
    p95Ms: lane.latencyP95Ms,
    avgJobMs: lane.avgJobMs,
    jobs: lane.jobs,
    tokens: lane.tokens,
    calls: lane.calls,
    timeouts: lane.timeouts,
    errors: lane.errors,
    rateLimited: lane.rateLimited,
  };
const r1 = (v) => (typeof v === "number" ? Math.round(v * 10) / 10 : null);

async function sampleOnce(redis, store, sampler, labelOfPid) {
  const at = Date.now();
  const cpu0 = loopThreadCpuUs();
  const w0 = performance.now();
  await sampler.sample();
  const samplerCost = {
    wallUs: Math.round((performance.now() - w0) * 1000),
    loopCpuUs: cpu0 === null ? null : Math.round(loopThreadCpuUs() - cpu0),
  };
  const root = `{${PREFIX}}`;
  const ids = await redis.zrange(`${root}:workers`, 0, -1);
  const raws = ids.length ? await redis.mget(...ids.map((id) => `${root}:worker:${id}`)) : [];
  const queues = {};
  for (const lane of LANES) {
    const [waiting, prioritized, due] = await Promise.all([
      redis.llen(`${root}:q:${lane}:wait`),
      redis.zcard(`${root}:q:${lane}:prioritized`),
      store.countDue(lane, at),
    ]);
    queues[lane] = { waiting: waiting + prioritized, due };
  }
  const workers = {};
  for (const raw of raws) {
    if (raw === null) continue;
    const hb = JSON.parse(raw);
    const label = labelOfPid.get(hb.pid) ?? `pid${hb.pid}`;
    const r = hb.readings ?? {};
    workers[label] = {
      hbAgeMs: at - hb.at,
      level: hb.level,
      cpu: r1(r.cpuPercent),
      processCpu: r1(r.processCpuPercent),
      memory: r1(r.memoryPercent),
      loopP99Ms: r1(r.eventLoopDelayP99Ms),
      loadPerCpu: r1(r.loadPerCpu),
      hot: pick(hb.lanes?.hot),
      cold: pick(hb.lanes?.cold),
    };
  }
  const tMs = at - t0;
  const cpuPct = cpuByProcess();
  series.push({ tMs, phase: phaseAt(tMs), load1: r1(loadavg()[0]), cpuPct, samplerCost, queues, workers });
}

// ---------------------------------------------------------------------------------------------
// Analysis

const fmtS = (ms) => (ms / 1000).toFixed(1);
const minMax = (vals) => {
  const v = vals.filter((x) => typeof x === "number");
  if (v.length === 0) return "–";
  const lo = Math.min(...v);
  const hi = Math.max(...v);
  return lo === hi ? `${lo}` : `${lo}–${hi}`;
};
const countBy = (items, key) => {
  const out = {};
  for (const it of items) out[key(it)] = (out[key(it)] ?? 0) + 1;
  return out;
};
const fmtCounts = (c) =>
  Object.entries(c)
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${k}×${n}`)
    .join(", ") || "–";
const percentile = (vals, q) => {
  const v = [...vals].sort((a, b) => a - b);
  return v.length ? v[Math.min(v.length - 1, Math.ceil(q * v.length) - 1)] : null;
};

function phaseTables(workerLabels) {
  const tables = [];
  for (const p of phases) {
    const rows = series.filter((s) => s.phase === p.name);
    if (rows.length === 0) continue;
    const before = series.filter((s) => s.tMs < p.startMs).at(-1);
    const last = rows.at(-1);
    const durS = (p.endMs - p.startMs) / 1000;
    const out = { phase: p.name, startS: p.startMs / 1000, endS: p.endMs / 1000, rows: [] };
    for (const w of workerLabels) {
      const ws = rows.map((s) => s.workers[w]).filter(Boolean);
      const levels = [...new Set(ws.map((x) => x.level))];
      const cpuVals = ws.map((x) => x.cpu).filter((x) => typeof x === "number");
      for (const lane of LANES) {
        const ls = ws.map((x) => x[lane]).filter(Boolean);
        const dec = decisions.filter((d) => d.phase === p.name && d.who === w && d.lane === lane);
        const conc = dec.filter((d) => d.event === "concurrency_change");
        const tmo = dec.filter((d) => d.event === "timeout_change");
        const a = before?.workers[w]?.[lane];
        const b = last?.workers[w]?.[lane];
        const lines = logLines.filter(
          (l) => l.who === w && l.lane === lane && l.tMs >= p.startMs && l.tMs < p.endMs,
        );
        const delta = (k) => (a && b ? b[k] - a[k] : b ? b[k] : null);
        out.rows.push({
          worker: w,
          lane,
          levels,
          cpuMean: cpuVals.length ? r1(cpuVals.reduce((s, x) => s + x, 0) / cpuVals.length) : null,
          cpuMax: cpuVals.length ? Math.max(...cpuVals) : null,
          loopP99Max: ws.length ? Math.max(...ws.map((x) => x.loopP99Ms ?? 0)) : null,
          concurrency: minMax([...ls.map((x) => x.concurrency), ...conc.map((d) => d.to)]),
          concurrencyEnd: b?.concurrency ?? null,
          timeoutMs: minMax([...ls.map((x) => x.timeoutMs), ...tmo.map((d) => d.toMs)]),
          concurrencyReasons: countBy(conc, (d) => d.reason),
          timeoutReasons: countBy(tmo, (d) => d.reason),
          calls: delta("calls"),
          timeouts: delta("timeouts"),
          errors: delta("errors"),
          tokensPerS: delta("tokens") === null ? null : r1(delta("tokens") / durS),
          p95MaxMs: ls.length ? Math.max(...ls.map((x) => x.p95Ms ?? 0)) : null,
          budgetWaits: lines.filter((l) => l.kind === "UpstreamBudgetExhaustedError").length,
          jobsDelayed: lines.filter((l) => l.msg?.startsWith("job delayed")).length,
          timeoutStates: countBy(ls, (x) => x.timeoutReason),
        });
      }
    }
    const batch = decisions.filter((d) => d.phase === p.name && d.event === "batch_size_change");
    out.producer = Object.fromEntries(
      LANES.map((lane) => {
        const bl = batch.filter((d) => d.lane === lane);
        return [
          lane,
          { sizes: minMax(bl.flatMap((d) => [d.from, d.to])), reasons: countBy(bl, (d) => d.reason) },
        ];
      }),
    );
    out.queues = Object.fromEntries(
      LANES.map((lane) => [
        lane,
        {
          waitingMax: Math.max(0, ...rows.map((s) => s.queues[lane].waiting)),
          dueMax: Math.max(0, ...rows.map((s) => s.queues[lane].due)),
          dueEnd: last?.queues[lane].due ?? null,
        },
      ]),
    );
    out.load1 = minMax(rows.map((s) => s.load1));
    const cpuRows = rows.map((s) => s.cpuPct).filter(Boolean);
    const groups = [...new Set(cpuRows.flatMap((c) => Object.keys(c)))];
    out.cpuByProcess = Object.fromEntries(
      groups.map((g) => [g, r1(cpuRows.reduce((a, c) => a + (c[g] ?? 0), 0) / Math.max(1, cpuRows.length))]),
    );
    tables.push(out);
  }
  return tables;
}

function checks(workerLabels, tables) {
  const findings = [];
  // Context first: load from outside the fleet, the circuit breaker, the request budget.
  for (const t of tables)
    if ((t.cpuByProcess.other ?? 0) >= 50)
      findings.push(
        `${t.phase}: ${t.cpuByProcess.other}% of one core (mean) was used outside the fleet and the hogs (host busy ${t.cpuByProcess.hostBusy}%, load1 ${t.load1}).`,
      );
  const lastMs = phases.at(-1)?.startMs ?? 0;
  for (const d of decisions.filter((x) => x.event === "circuit_breaker" && x.to === "open")) {
    const next = decisions.find((x) => x.event === "circuit_breaker" && x.who === d.who && x.tMs > d.tMs);
    findings.push(
      `${d.who}: circuit breaker opened at ${fmtS(d.tMs)} s (${d.phase}, ${d.why}); ` +
        (next
          ? `${next.to} at ${fmtS(next.tMs)} s.`
          : `still open at the end of the run (${fmtS(lastMs - d.tMs)} s later).`),
    );
  }
  for (const t of tables)
    for (const r of t.rows) {
      if (r.budgetWaits >= 10 && (r.concurrencyReasons.grow_backlog ?? 0) > 0)
        findings.push(
          `${r.worker} ${r.lane} in ${t.phase}: concurrency grew ${r.concurrencyReasons.grow_backlog}× (grow_backlog, to ${r.concurrency}) while its calls waited on the request budget ${r.budgetWaits}× (${r.calls} calls finished).`,
        );
      if (r.lane === "cold" && r.calls === 0 && r.budgetWaits > 0 && t.phase !== "warmup")
        findings.push(
          `${r.worker} cold in ${t.phase}: no upstream call finished; ${r.budgetWaits} budget waits (UPSTREAM_RPM fleet budget, hot reserve).`,
        );
    }
  for (const w of workerLabels)
    for (const lane of LANES) {
      const ticks = series.filter((x) => x.workers[w]?.[lane]);
      const est = ticks.filter((x) => x.workers[w][lane].timeoutReason === "estimate").length;
      if (ticks.length > 0 && est / ticks.length < 0.2)
        findings.push(
          `${w} ${lane}: the timeout came from the latency estimate in only ${est} of ${ticks.length} ticks (the rest: ${fmtCounts(
            countBy(
              ticks.filter((x) => x.workers[w][lane].timeoutReason !== "estimate"),
              (x) => x.workers[w][lane].timeoutReason,
            ),
          )}).`,
        );
      const flips = decisions.filter(
        (d) => d.who === w && d.lane === lane && d.event === "timeout_change" && d.reason !== "estimate",
      ).length;
      if (flips >= 10)
        findings.push(
          `${w} ${lane}: the timeout switched ${flips}× between the under-load value and the base (no_data), following the load level.`,
        );
    }
  const phase = (n) => phases.find((p) => p.name === n);
  const hog = phase("hog");
  const surge = phase("surge");
  const calm2 = phase("calm2");
  const calm3 = phase("calm3");
  const result = { hog: {}, surge: {}, flapping: {}, recovery: {} };

  for (const w of workerLabels) {
    const mine = decisions.filter((d) => d.who === w);
    // Hog: time to the first high level and the first cut per lane.
    const firstHigh = mine.find((d) => d.event === "load_level" && d.to === "high" && d.tMs >= hog.startMs);
    const cuts = Object.fromEntries(
      LANES.map((lane) => {
        const c = mine.find(
          (d) =>
            d.event === "concurrency_change" &&
            d.lane === lane &&
            d.reason === "cut_high_load" &&
            d.tMs >= hog.startMs &&
            d.tMs <= hog.endMs,
        );
        return [lane, c ? c.tMs - hog.startMs : null];
      }),
    );
    const highDelay = firstHigh && firstHigh.tMs <= hog.endMs + 2000 ? firstHigh.tMs - hog.startMs : null;
    const hogSeries = series.filter((s) => s.phase === "hog" && s.workers[w]);
    const hogLevels = countBy(hogSeries, (s) => s.workers[w].level);
    const atStart = series.filter((s) => s.tMs <= hog.startMs && s.workers[w]).at(-1)?.workers[w];
    result.hog[w] = {
      levelAtStart: atStart?.level ?? null,
      limitsAtStart: atStart ? { hot: atStart.hot?.concurrency, cold: atStart.cold?.concurrency } : null,
      highAfterMs: highDelay,
      cutAfterMs: cuts,
      levelTicks: hogLevels,
    };
    if (atStart?.level === "high")
      findings.push(
        `${w}: already at level high when the hog started (cpu ${atStart.cpu}%, limits hot ${atStart.hot?.concurrency} / cold ${atStart.cold?.concurrency}), so the hog had nothing left to cut.`,
      );
    else if (highDelay === null)
      findings.push(
        `${w}: never reached level high during the hog (cpu max ${Math.max(0, ...hogSeries.map((s) => s.workers[w].cpu ?? 0))}%).`,
      );
    else if (highDelay > 2 * TICK_MS + 500)
      findings.push(`${w}: level high only ${fmtS(highDelay)} s after the hog started (> 2 ticks).`);
    for (const lane of LANES) {
      const c = cuts[lane];
      const startLimit = hogSeries[0]?.workers[w]?.[lane]?.concurrency;
      if (c === null && (startLimit ?? 0) > 1 && atStart?.level !== "high")
        findings.push(`${w} ${lane}: no cut_high_load during the hog (limit ${startLimit} at hog start).`);
      else if (c !== null && c > 2 * TICK_MS + 500)
        findings.push(`${w} ${lane}: first cut_high_load ${fmtS(c)} s after the hog started (> 2 ticks).`);
    }
    const leftHigh = mine.filter(
      (d) =>
        d.event === "load_level" &&
        d.from === "high" &&
        d.tMs > (firstHigh?.tMs ?? Infinity) &&
        d.tMs < hog.endMs,
    );
    if (leftHigh.length > 0)
      findings.push(
        `${w}: left level high ${leftHigh.length}× while the hog was still running (at ${leftHigh.map((d) => fmtS(d.tMs - hog.startMs) + " s").join(", ")} into the hog).`,
      );

    // Flapping: level transitions and concurrency direction reversals per phase.
    result.flapping[w] = {};
    for (const p of phases) {
      const levelChanges = mine.filter((d) => d.event === "load_level" && d.phase === p.name).length;
      const reversals = {};
      for (const lane of LANES) {
        const seq = mine
          .filter((d) => d.event === "concurrency_change" && d.lane === lane && d.phase === p.name)
          .map((d) => Math.sign(d.to - d.from))
          .filter((s) => s !== 0);
        let n = 0;
        for (let i = 1; i < seq.length; i++) if (seq[i] !== seq[i - 1]) n++;
        reversals[lane] = n;
      }
      result.flapping[w][p.name] = { levelChanges, reversals };
      if (levelChanges >= 4)
        findings.push(`${w}: ${levelChanges} load-level changes in ${p.name} (flapping?).`);
      for (const lane of LANES)
        if (reversals[lane] >= 3)
          findings.push(
            `${w} ${lane}: concurrency changed direction ${reversals[lane]}× in ${p.name} (flapping?).`,
          );
    }

    // Surge: did the timeout rise, how many calls timed out, and did it come back?
    result.surge[w] = {};
    result.recovery[w] = {};
    for (const lane of LANES) {
      const tOf = (p) =>
        series
          .filter((s) => s.phase === p && s.workers[w]?.[lane])
          .map((s) => ({ tMs: s.tMs, ms: s.workers[w][lane].timeoutMs, c: s.workers[w][lane].concurrency }));
      const calmT = tOf("calm2").map((x) => x.ms);
      const surgeT = tOf("surge");
      const calmMax = calmT.length ? Math.max(...calmT) : null;
      const surgeMax = surgeT.length ? Math.max(...surgeT.map((x) => x.ms)) : null;
      const firstRise = surgeT.find((x) => calmMax !== null && x.ms > calmMax);
      const sSeries = series.filter((s) => s.phase === "surge" && s.workers[w]?.[lane]);
      const a = series.filter((s) => s.tMs < surge.startMs && s.workers[w]?.[lane]).at(-1)?.workers[w][lane];
      const b = sSeries.at(-1)?.workers[w][lane];
      const calls = a && b ? b.calls - a.calls : null;
      const timeouts = a && b ? b.timeouts - a.timeouts : null;
      const underLoadTicks = sSeries.filter((s) => s.workers[w][lane].timeoutReason === "under_load").length;
      result.surge[w][lane] = {
        ticks: sSeries.length,
        underLoadTicks,
        calmTimeoutMaxMs: calmMax,
        surgeTimeoutMaxMs: surgeMax,
        firstRiseAfterMs: firstRise ? firstRise.tMs - surge.startMs : null,
        calls,
        timeouts,
        concurrency: minMax(sSeries.map((s) => s.workers[w][lane].concurrency)),
      };
      const noData = sSeries.filter((s) => s.workers[w][lane].timeoutReason === "no_data").length;
      result.surge[w][lane].noDataTicks = noData;
      if (sSeries.length > 0 && noData === sSeries.length)
        findings.push(
          `${w} ${lane}: the timeout stayed at the base ${surgeMax} ms for the whole surge: no latency estimate (no_data) at ${calls ?? 0} calls in ${sSeries.length} ticks.`,
        );
      else if (timeouts > 0 && surgeMax !== null && calmMax !== null && surgeMax <= calmMax)
        findings.push(`${w} ${lane}: the timeout did not rise during the surge (stayed ≤ ${calmMax} ms).`);
      if (underLoadTicks > 0)
        findings.push(
          `${w} ${lane}: ${underLoadTicks} of ${sSeries.length} surge ticks ran with the under-load timeout (level high) instead of the estimate.`,
        );
      if (calls >= 10 && timeouts / calls > 0.2)
        findings.push(
          `${w} ${lane}: ${timeouts} of ${calls} upstream calls timed out during the surge (${Math.round((100 * timeouts) / calls)}%).`,
        );

      // Recovery after the surge: back to the calm timeout, and concurrency back to its calm range.
      const after = tOf("calm3");
      // Settled: from this tick to the end of the run the timeout stays at or below the calm value.
      const back = after.find((x, i) => calmMax !== null && after.slice(i).every((y) => y.ms <= calmMax));
      const calm1C = tOf("calm1").map((x) => x.c);
      const calm1Max = calm1C.length ? Math.max(...calm1C) : null;
      const endC = after.at(-1)?.c ?? null;
      result.recovery[w][lane] = {
        // Only meaningful when the timeout rose during the surge.
        timeoutBackAfterMs: back && firstRise ? back.tMs - calm3.startMs : null,
        endTimeoutMs: after.at(-1)?.ms ?? null,
        calm1ConcurrencyMax: calm1Max,
        endConcurrency: endC,
      };
      if (calls > 0 && after.length > 0 && !back)
        findings.push(
          `${w} ${lane}: timeout not back to ${calmMax} ms by the end (ends at ${after.at(-1).ms} ms).`,
        );
    }
    // Recovery after the hog: level normal again in calm2?
    const calm2Levels = series
      .filter((s) => s.phase === "calm2" && s.workers[w])
      .map((s) => s.workers[w].level);
    const c2 = series.filter((s) => s.phase === "calm2" && s.workers[w]);
    const normalAt = c2.find((s, i) => c2.slice(i).every((x) => x.workers[w].level === "normal"));
    result.recovery[w].levelNormalAfterHogMs = normalAt ? normalAt.tMs - calm2.startMs : null;
    if (calm2Levels.length > 0 && !normalAt)
      findings.push(
        `${w}: level not settled at normal after the hog (calm2 ticks: ${fmtCounts(countBy(calm2Levels, (x) => x))}).`,
      );
    const endLevel = series.filter((s) => s.workers[w]).at(-1)?.workers[w].level;
    if (endLevel && endLevel !== "normal") findings.push(`${w}: ends the run at level ${endLevel}.`);
  }
  return { findings, ...result };
}

function markdown(meta, tables, chk, workerLabels) {
  const L = [];
  L.push(`# Controller episode`);
  L.push("");
  L.push(
    `Run ${meta.startedAt}, node ${meta.node}, ${meta.cpus} CPUs (${meta.cpuModel}), ${meta.memoryGb} GB. ` +
      `Load average at start ${meta.loadavgAtStart.join(" / ")} (1/5/15 min), at end ${meta.loadavgAtEnd.join(" / ")}.`,
  );
  L.push(
    `${meta.tokens} demo tokens, ${WORKERS} workers + producer, CONTROLLER_INTERVAL_MS=1000, CACHE_TTL_HOT=CACHE_TTL_COLD=5, ` +
      `simulator latency 150 ms + jitter <40 ms, no rate limit; hog = ${HOGS}× \`node -e "for(;;){}"\`; ` +
      `surge = latencyMs 1500, jitterMs 500. Profile ${meta.profile ?? "?"}, max concurrency hot/cold ${meta.maxConcurrent ?? "?"}.`,
  );
  L.push(
    `Phases (s from the workers' start): ${phases.map((p) => `${p.name} ${fmtS(p.startMs)}–${fmtS(p.endMs)}`).join(", ")}.`,
  );
  L.push("");
  L.push(`## Checks`);
  L.push("");
  if (chk.findings.length === 0) L.push(`- nothing flagged`);
  for (const f of chk.findings) L.push(`- ${f}`);
  L.push("");
  L.push(
    `| worker | hog → level high | hog → first cut hot / cold | level normal after hog | surge: timeout first rise hot / cold | timeout back after surge hot / cold |`,
  );
  L.push(`| --- | --- | --- | --- | --- | --- |`);
  const s = (ms) => (ms === null || ms === undefined ? "–" : `${fmtS(ms)} s`);
  for (const w of workerLabels) {
    const h = chk.hog[w];
    const r = chk.recovery[w];
    const su = chk.surge[w];
    L.push(
      `| ${w} | ${s(h.highAfterMs)} | ${s(h.cutAfterMs.hot)} / ${s(h.cutAfterMs.cold)} | ${s(r.levelNormalAfterHogMs)} | ` +
        `${s(su.hot.firstRiseAfterMs)} / ${s(su.cold.firstRiseAfterMs)} | ${s(r.hot.timeoutBackAfterMs)} / ${s(r.cold.timeoutBackAfterMs)} |`,
    );
  }
  L.push("");
  L.push(`## Per phase`);
  L.push("");
  L.push(
    `conc and timeout are min–max over the heartbeats and the logged decisions; calls/timeouts are upstream calls finished in the phase; tok/s is tokens scored per second.`,
  );
  for (const t of tables) {
    L.push("");
    L.push(`### ${t.phase} (${fmtS(t.startS * 1000)}–${fmtS(t.endS * 1000)} s, load1 ${t.load1})`);
    L.push("");
    L.push(
      `| worker | lane | levels | cpu% mean/max | conc | timeout ms (ticks by reason) | concurrency decisions | timeout decisions | calls / timeouts / errors | budget waits / jobs delayed | tok/s |`,
    );
    L.push(`| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |`);
    for (const r of t.rows)
      L.push(
        `| ${r.worker} | ${r.lane} | ${r.levels.join(", ") || "–"} | ${r.cpuMean ?? "–"} / ${r.cpuMax ?? "–"} | ${r.concurrency} | ${r.timeoutMs} (${fmtCounts(r.timeoutStates)}) | ` +
          `${fmtCounts(r.concurrencyReasons)} | ${fmtCounts(r.timeoutReasons)} | ${r.calls ?? "–"} / ${r.timeouts ?? "–"} / ${r.errors ?? "–"} | ${r.budgetWaits} / ${r.jobsDelayed} | ${r.tokensPerS ?? "–"} |`,
      );
    L.push("");
    L.push(
      `cpu, mean % of one core: ${Object.entries(t.cpuByProcess)
        .map(([g, v]) => `${g} ${v}`)
        .join(", ")}.`,
    );
    L.push("");
    L.push(
      `producer batch size: hot ${t.producer.hot.sizes} (${fmtCounts(t.producer.hot.reasons)}), cold ${t.producer.cold.sizes} (${fmtCounts(t.producer.cold.reasons)}); ` +
        `queue waiting max hot ${t.queues.hot.waitingMax} / cold ${t.queues.cold.waitingMax}; due max hot ${t.queues.hot.dueMax} / cold ${t.queues.cold.dueMax}, at end ${t.queues.hot.dueEnd} / ${t.queues.cold.dueEnd}.`,
    );
  }
  L.push("");
  const shown = decisions.filter((d) => d.phase !== "warmup" && d.phase !== "startup");
  const LIMIT = 60;
  L.push(`## Decision events`);
  L.push("");
  L.push(
    `${decisions.length} in all (${fmtCounts(countBy(decisions, (d) => d.event))}); ` +
      `${decisions.length - shown.length} during startup/warmup are left out below` +
      (shown.length > LIMIT
        ? `, and only the first ${LIMIT} of the remaining ${shown.length} are listed`
        : "") +
      `. All of them are in controller-episode${TAG}.json.`,
  );
  L.push("");
  L.push(`| t s | phase | who | event | lane | change | reason | context |`);
  L.push(`| --- | --- | --- | --- | --- | --- | --- | --- |`);
  for (const d of shown.slice(0, LIMIT)) {
    const change = d.event === "timeout_change" ? `${d.fromMs} → ${d.toMs} ms` : `${d.from} → ${d.to}`;
    const ctx =
      d.event === "load_level"
        ? `cpu ${d.cpu}%, loop p99 ${d.loopP99Ms} ms`
        : d.event === "concurrency_change"
          ? `level ${d.level}, waiting ${d.waiting ?? "–"}, cpu ${d.cpu ?? "–"}%`
          : d.event === "timeout_change"
            ? `p95 ${d.p95Ms ?? "–"} ms`
            : d.event === "circuit_breaker"
              ? `${d.why ?? ""}`
              : `due ${d.dueNow}, waiting ${d.waiting}, slots ${d.slots}, fleet ${d.level}`;
    L.push(
      `| ${fmtS(d.tMs)} | ${d.phase} | ${d.who} | ${d.event.replace("_change", "")} | ${d.lane ?? ""} | ${change} | ${d.reason ?? ""} | ${ctx} |`,
    );
  }
  L.push("");
  const costs = series.map((x) => x.samplerCost);
  const byPhase = phases.map((p) => {
    const c = series.filter((x) => x.phase === p.name).map((x) => x.samplerCost);
    const wall = c.map((x) => x.wallUs);
    const loop = c.map((x) => x.loopCpuUs).filter((x) => x !== null);
    return `| ${p.name} | ${c.length} | ${percentile(wall, 0.5) ?? "–"} | ${percentile(wall, 0.99) ?? "–"} | ${loop.length ? Math.round(loop.reduce((a, b) => a + b, 0) / loop.length) : "–"} |`;
  });
  L.push(`## Sampler cost per tick`);
  L.push("");
  L.push(
    `One createSampler().sample() per second in the bench process itself (the workers do not report it): wall time includes waiting for a CPU, ` +
      `loop CPU is the event-loop thread's CPU time across the await (schedstat, 10 ms scheduler granularity, so only the mean means something; ` +
      `it can include a few log lines parsed meanwhile). ${costs.length} samples.`,
  );
  L.push("");
  L.push(`| phase | samples | wall p50 µs | wall p99 µs | loop CPU mean µs |`);
  L.push(`| --- | --- | --- | --- | --- |`);
  L.push(...byPhase);
  L.push("");
  L.push(
    `Stop: ${Object.entries(meta.stops)
      .map(
        ([k, v]) =>
          `${k} ${v.exit ? (v.exit.signal ?? `exit ${v.exit.code}`) : "?"}${v.exit?.forced ? " (SIGKILL)" : ""} in ${v.stopMs ?? "?"} ms`,
      )
      .join(", ")}.`,
  );
  L.push("");
  return L.join("\n");
}

// ---------------------------------------------------------------------------------------------
// Run (or, with --reanalyze, rebuild the outputs from the last run's json and log.jsonl)

const REANALYZE = process.argv.includes("--reanalyze");
let meta = null;
let failed = null;
let interrupted = false;
let redisServer = null;
let redis = null;
let sampler = null;
const stops = {};

function reanalyze() {
  const j = JSON.parse(readFileSync(join(OUT_DIR, `controller-episode${TAG}.json`), "utf8"));
  meta = j.meta;
  phases.push(...j.phases);
  series.push(...j.series);
  const lines = readFileSync(join(OUT_DIR, `controller-episode${TAG}.log.jsonl`), "utf8")
    .trim()
    .split("\n");
  for (const line of lines) recordLine(JSON.parse(line));
  failed = meta.error ? new Error(meta.error) : null;
  interrupted = meta.interrupted;
  log(`re-analysing the run of ${meta.startedAt}`);
}

async function runEpisode() {
  meta = {
    startedAt: new Date().toISOString(),
    node: process.version,
    cpus: availableParallelism(),
    cpuModel: cpus()[0]?.model ?? "?",
    memoryGb: Math.round(totalmem() / 1e8) / 10,
    loadavgAtStart: loadavg().map((x) => Math.round(x * 100) / 100),
    tokens: TOKENS,
    prefix: PREFIX,
    phaseMs: PHASE_MS,
    warmupMs: WARMUP_MS,
    upstreamRpm: UPSTREAM_RPM ?? "default (240)",
  };
  log(`load average at start ${meta.loadavgAtStart.join(" ")} on ${meta.cpus} CPUs`);

  const tmp = mkdtempSync(join(tmpdir(), "moonfleet-episode-"));
  process.on("SIGINT", () => {
    interrupted = true;
    log("interrupted, stopping...");
  });

  async function stopAll() {
    await stopHogs();
    const fleet = ["producer", ...Array.from({ length: WORKERS }, (_, i) => `w${i + 1}`)];
    const results = await Promise.all(fleet.map((l) => stopChild(l, 8_000).then(() => l)));
    for (const l of results)
      stops[l] = { exit: children.get(l)?.exit ?? null, stopMs: children.get(l)?.stopMs ?? null };
    await stopChild("simulator", 5_000);
    stops.simulator = {
      exit: children.get("simulator")?.exit ?? null,
      stopMs: children.get("simulator")?.stopMs ?? null,
    };
    sampler?.close();
    await redis?.quit().catch(() => undefined);
    await redisServer?.stop();
    rmSync(tmp, { recursive: true, force: true });
  }

  try {
    redisServer = await startRedisServer({ dir: join(tmp, "redis") });
    log(`redis-server on ${redisServer.url}`);
    const simPort = await freePort();
    const simUrl = `http://127.0.0.1:${simPort}`;
    const env = {
      ...baseEnv,
      REDIS_URL: redisServer.url,
      UPSTREAM_URL: simUrl,
      REDIS_KEY_PREFIX: PREFIX,
      LOG_LEVEL: "info",
      CONTROLLER_INTERVAL_MS: String(TICK_MS),
      CACHE_TTL_HOT: "5",
      CACHE_TTL_COLD: "5",
      ...(UPSTREAM_RPM ? { UPSTREAM_RPM } : {}),
    };
    startChild("simulator", [appMain("simulator")], {
      ...env,
      SIMULATOR_PORT: String(simPort),
      SIMULATOR_LATENCY_MS: String(CALM_LATENCY.latencyMs),
      SIMULATOR_JITTER_MS: String(CALM_LATENCY.jitterMs),
      SIMULATOR_RATE_LIMIT_RPM: "0",
    });
    await waitFor(`${simUrl}/livez`, "the simulator");
    meta.simulatorSettings = await (await fetch(`${simUrl}/admin/settings`)).json();

    redis = createRedis(redisServer.url, { name: "bench" });
    const store = new TokenStore(redis, PREFIX);
    const reg = await store.register(
      demoMints(TOKENS).map((mint) => ({ mint })),
      Date.now(),
    );
    log(`registered ${reg.added.length} demo tokens`);

    t0 = Date.now();
    sampler = createSampler();
    startChild("producer", [appMain("producer")], env);
    const labelOfPid = new Map();
    for (let i = 1; i <= WORKERS; i++) {
      const c = startChild(`w${i}`, [appMain("worker")], env);
      labelOfPid.set(c.pid, `w${i}`);
    }

    // The per-second series runs beside the phases.
    let sampling = true;
    const sampling$ = (async () => {
      let k = 1;
      while (sampling) {
        const next = t0 + k * TICK_MS;
        k++;
        if (next > Date.now()) await sleep(next - Date.now());
        if (!sampling) break;
        await sampleOnce(redis, store, sampler, labelOfPid).catch((err) =>
          log(`sample failed: ${err.message}`),
        );
      }
    })();

    const plan = [
      { name: "warmup", ms: WARMUP_MS },
      { name: "calm1", ms: PHASE_MS },
      { name: "hog", ms: PHASE_MS, enter: startHogs, leave: stopHogs },
      { name: "calm2", ms: PHASE_MS },
      {
        name: "surge",
        ms: PHASE_MS,
        enter: () => patchSimulator(simUrl, SURGE_LATENCY),
        leave: () => patchSimulator(simUrl, CALM_LATENCY),
      },
      { name: "calm3", ms: PHASE_MS },
    ];
    for (const step of plan) {
      if (interrupted) break;
      for (const [label, c] of children)
        if (c.exit) throw new Error(`${label} exited early (${JSON.stringify(c.exit)}): ${c.stderr.trim()}`);
      const startMs = Date.now() - t0;
      const phase = { name: step.name, startMs, endMs: startMs + step.ms };
      phases.push(phase);
      await step.enter?.();
      log(`${step.name} at ${fmtS(startMs)} s`);
      const until = t0 + startMs + step.ms;
      while (Date.now() < until && !interrupted) await sleep(Math.min(250, until - Date.now()));
      await step.leave?.();
      phase.endMs = Date.now() - t0;
    }
    sampling = false;
    await sampling$;
    phases.push({ name: "shutdown", startMs: Date.now() - t0, endMs: null });
  } catch (err) {
    failed = err;
    log(`failed: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    log("stopping...");
    await stopAll();
    const sd = phases.find((p) => p.name === "shutdown");
    if (sd) sd.endMs = Date.now() - t0;
  }

  meta.loadavgAtEnd = loadavg().map((x) => Math.round(x * 100) / 100);
  meta.stops = stops;
  meta.interrupted = interrupted;
  meta.error = failed ? String(failed.message ?? failed) : null;
  const started = logLines.find((l) => l.who === "w1" && l.event === "startup");
  meta.profile = started?.profile;
  meta.maxConcurrent = started?.maxConcurrent
    ? `${started.maxConcurrent.hot}/${started.maxConcurrent.cold}`
    : undefined;
  meta.stderrTails = Object.fromEntries(
    [...children].filter(([, c]) => c.stderr.trim()).map(([l, c]) => [l, c.stderr.slice(-1000)]),
  );
}

if (REANALYZE) reanalyze();
else await runEpisode();

const workerLabels = Array.from({ length: WORKERS }, (_, i) => `w${i + 1}`);
const measured = phases.filter((p) => p.name !== "shutdown");
const tables = measured.length ? phaseTables(workerLabels) : [];
let chk = { findings: ["the run did not reach the phases"], hog: {}, surge: {}, recovery: {}, flapping: {} };
if (["hog", "calm2", "surge", "calm3"].every((n) => phases.some((p) => p.name === n)))
  chk = checks(workerLabels, tables);
else if (measured.length) chk.findings = ["the run stopped before all phases ran"];

mkdirSync(OUT_DIR, { recursive: true });
writeFileSync(
  join(OUT_DIR, `controller-episode${TAG}.json`),
  JSON.stringify({ meta, phases, checks: chk, tables, eventCounts, decisions, series }, null, 1) + "\n",
);
writeFileSync(
  join(OUT_DIR, `controller-episode${TAG}.log.jsonl`),
  logLines.map((l) => JSON.stringify(l)).join("\n") + "\n",
);
if (chk.hog && Object.keys(chk.hog).length)
  writeFileSync(join(OUT_DIR, `controller-episode${TAG}.md`), markdown(meta, tables, chk, workerLabels));
log(`wrote ${join("bench", "results")}/controller-episode${TAG}.{json,md,log.jsonl}`);
for (const f of chk.findings) log(`check: ${f}`);
process.exit(failed || interrupted ? 1 : 0);
