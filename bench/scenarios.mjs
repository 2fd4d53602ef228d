// The benchmark's scenarios and modes. A scenario fixes the token set, the simulated upstream (its
// settings are part of the definition), the fleet's environment and the disturbance; a mode is the
// set of flags the fleet runs with. Durations are seconds: `warmupS` before the measured window
// (the first cold pass, the controller finding its level), `measureS` the window itself; a
// disturbance takes the middle third of the window.

import { availableParallelism } from "node:os";
import { marketProfile, demoMints } from "../apps/simulator/dist/index.js";

export const MODES = ["legacy", "fixed", "adaptive"];
/**
 * Adaptive with each scheduling named (SCHEDULING=lanes / value): run only when asked
 * (`--mode lanes,value`), to compare the value scheduler with the lanes in one run.
 */
export const SCHEDULING_MODES = ["lanes", "value"];

/**
 * The env of each mode. `max` is the performance profile's concurrency on this machine.
 *
 * `fixed` is "optimizations on, adaptive parts off, concurrency at its maximum": fixed
 * 35/70 batches (ENABLE_ADAPTIVE_BATCHING=false), a fixed 5 s timeout
 * (ENABLE_DYNAMIC_TIMEOUTS=false) and each queue at the profile's maximum whatever the load and the
 * upstream (ENABLE_ADAPTIVE_CONCURRENCY=false).
 */
export function modeEnv(mode, max) {
  if (mode === "legacy") return { ENABLE_SCHEDULER_OPTIMIZATION: "false" };
  if (mode === "adaptive") return {};
  if (SCHEDULING_MODES.includes(mode)) return { SCHEDULING: mode };
  if (mode !== "fixed") throw new Error(`unknown mode ${mode}`);
  return {
    ENABLE_ADAPTIVE_BATCHING: "false",
    ENABLE_DYNAMIC_TIMEOUTS: "false",
    ENABLE_ADAPTIVE_CONCURRENCY: "false",
    MAX_CONCURRENT_HOT: String(max.hot),
    MAX_CONCURRENT_COLD: String(max.cold),
    TIMEOUT_HOT: "5",
    TIMEOUT_COLD: "5",
  };
}

/**
 * `count` demo mints of which `hotShare` have an active market (they turn hot on their first
 * fetch) and the rest a monitoring one (they stay cold). Fading markets are left out: they change
 * lane during a run.
 */
export function mixedMints(count, hotShare) {
  const wantHot = Math.round(count * hotShare);
  const hot = [];
  const cold = [];
  for (const mint of demoMints(count * 4)) {
    const kind = marketProfile(mint).naturalKind;
    if (kind === "active" && hot.length < wantHot) hot.push(mint);
    else if (kind === "monitoring" && cold.length < count - wantHot) cold.push(mint);
    if (hot.length + cold.length === count) break;
  }
  return [...hot, ...cold];
}

// The simulator has a uniform jitter only, so "about 250 ms median with a long tail" is 150 ms +
// [0, 200) ms (median 250 ms) plus 0.3% of calls that hang for 8 s: the tail a timeout must cut.
export const DEX_SIM = {
  latencyMs: 150,
  jitterMs: 200,
  errorRate: 0.01,
  rateLimitRpm: 300,
  rateLimitWindowMs: 60_000,
  hangRate: 0.003,
  hangMs: 8_000,
  outage: false,
};
const UNBOUNDED_SIM = {
  latencyMs: 50,
  jitterMs: 0,
  errorRate: 0,
  rateLimitRpm: 0,
  hangRate: 0,
  outage: false,
};
// A budget the fleet cannot reach: its own cost is the limit.
const NO_BUDGET = { UPSTREAM_RPM: "100000", UPSTREAM_BURST: "1000", UPSTREAM_HOT_RESERVE: "4" };
// Every token is due at once and always (next due = fetchedAt + 1 s - a 999 ms margin; the config
// refuses a margin of a whole TTL): the fleet runs flat out, so its tokens/s is its capacity, not
// the schedule's demand.
const ALWAYS_DUE = { CACHE_TTL_HOT: "1", CACHE_TTL_COLD: "1", DUE_MARGIN_MS: "999" };

const dexscreener = {
  name: "dexscreener",
  about:
    "4,000 tokens (10% hot), ~250 ms median latency with a tail, 1% 5xx, upstream limit 300/min, budget 240/min",
  mints: () => mixedMints(4_000, 0.1),
  sim: DEX_SIM,
  env: {},
  workers: 2,
  warmupS: 40,
  measureS: 75,
  quick: { warmupS: 20, measureS: 24 },
};

export const SCENARIOS = {
  dexscreener,
  unbounded: {
    name: "unbounded",
    about: "20,000 tokens, 50 ms latency, no upstream limit, every token always due: the fleet's own cost",
    mints: () => demoMints(20_000),
    sim: UNBOUNDED_SIM,
    env: { ...NO_BUDGET, ...ALWAYS_DUE },
    workers: 2,
    warmupS: 10,
    measureS: 30,
    quick: { warmupS: 6, measureS: 12 },
    bare: true,
  },
  "cpu-squeeze": {
    name: "cpu-squeeze",
    about:
      "20,000 tokens (10% hot, TTL 5 s; cold always due), 50 ms latency, no limit: a fleet that could eat every core; one co-tenant per CPU needing CPU for the middle third",
    mints: () => mixedMints(20_000, 0.1),
    sim: UNBOUNDED_SIM,
    env: { ...NO_BUDGET, CACHE_TTL_HOT: "5", CACHE_TTL_COLD: "1", DUE_MARGIN_MS: "999" },
    workers: 2,
    // The co-tenants count their own work (bench/lib/cotenant.mjs): the table says how much
    // progress each mode left them.
    disturbance: { name: "squeeze", cotenants: availableParallelism() },
    modes: ["fixed", "adaptive"],
    warmupS: 20,
    measureS: 90,
    quick: { warmupS: 10, measureS: 45 },
  },
  "latency-surge": {
    ...dexscreener,
    name: "latency-surge",
    about: "dexscreener, with latency x8 and 2% of calls hanging (30 s) for the middle third of the window",
    disturbance: {
      name: "surge",
      sim: {
        latencyMs: DEX_SIM.latencyMs * 8,
        jitterMs: DEX_SIM.jitterMs * 8,
        hangRate: 0.02,
        hangMs: 30_000,
      },
    },
    warmupS: 35,
    measureS: 75,
    quick: { warmupS: 20, measureS: 30 },
  },
  "scale-out": {
    name: "scale-out",
    about: "unbounded with 1, 2 and 4 worker processes",
    mints: () => demoMints(20_000),
    sim: UNBOUNDED_SIM,
    env: { ...NO_BUDGET, ...ALWAYS_DUE },
    workerCounts: [1, 2, 4],
    // Legacy runs one call at a time per lane per process; its scaling says nothing new and would
    // add three cells to the default run (`--mode legacy` still runs it).
    modes: ["fixed", "adaptive"],
    warmupS: 8,
    measureS: 20,
    quick: { warmupS: 6, measureS: 10 },
  },
  "large-registry": {
    name: "large-registry",
    about:
      "100,000 registered tokens, no upstream limit, default TTLs: producer tick, GET /tokens latency, Redis memory per token",
    mints: () => demoMints(100_000),
    sim: UNBOUNDED_SIM,
    env: { ...NO_BUDGET },
    workers: 2,
    largeRegistry: true,
    warmupS: 10,
    measureS: 30,
    quick: { warmupS: 5, measureS: 12 },
  },
  soak: {
    ...dexscreener,
    name: "soak",
    about:
      "dexscreener for 30 minutes with the api polled like an open dashboard: RSS and Redis memory every minute",
    // Only when named (`--scenario soak`): it takes 35 minutes.
    optIn: true,
    modes: ["adaptive"],
    soak: true,
    memoryEveryS: 60,
    memoryTolerance: 0.1,
    // Redis grows by design until its bounded structures are full, so the baseline comes after
    // them: each token's 20 history entries (up to ~18 min: this load, over its budget, refreshes
    // a cold token every 40-55 s), the 500 completed jobs BullMQ keeps per queue (~13 min for hot
    // at ~0.6 jobs/s) and the 2,000-entry event streams. The bench prints how full they are.
    warmupS: 1_200,
    measureS: 1_800,
    // One row every 5 s instead of every second: 480 rows, not 2,400.
    sampleEveryS: 5,
    quick: { warmupS: 120, measureS: 240 },
  },
};

// unbounded and scale-out beside another tenant that keeps one core half busy all along: the
// controller must not give its throughput away to a neighbour that is not starving. Only when named.
for (const base of ["unbounded", "scale-out"]) {
  SCENARIOS[`${base}-bg`] = {
    ...SCENARIOS[base],
    // The bare pipeline runs beside `unbounded` only.
    bare: false,
    name: `${base}-bg`,
    about: `${base}, with a background process keeping one core 50% busy`,
    background: 0.5,
    modes: ["fixed", "adaptive"],
    optIn: true,
  };
}

export const SCENARIO_NAMES = Object.keys(SCENARIOS);
