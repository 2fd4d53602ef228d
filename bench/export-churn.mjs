// Export churn: set changes per hour with and without the damping (EXPORT_EXIT_SCORE and
// EXPORT_MIN_HOLD_S), on the same snapshots.
//
//   npm run build && node bench/export-churn.mjs [--tokens 4000] [--hours 1] [--warmup 300]
//
// One benchmark hour-equivalent of the dexscreener scenario's tokens (10% active), replayed from
// the simulator's market (a pure function of mint and market time, so no fleet and no hour of wall
// time are needed): each token is refreshed at its lane's TTL (hot 15 s, cold 30 s, staggered), as
// the fleet keeps them, scored by the real evaluateToken, and the export step runs every second
// twice, with the default rule and with the damping switched off (exit = entry score, hold 0).

import { parseArgs } from "node:util";
import { stepExport, undamped, EMPTY_EXPORT_STATE } from "../packages/exports/dist/index.js";
import { evaluateToken, pairsSchema } from "../packages/scoring/dist/index.js";
import { resolveConfig } from "../packages/config/dist/index.js";
import { createSimulator } from "../apps/simulator/dist/index.js";
import { exportSettingsOf } from "../apps/api/dist/export-bodies.js";
import { mixedMints } from "./scenarios.mjs";

const { values: args } = parseArgs({
  options: {
    tokens: { type: "string", default: "4000" },
    hours: { type: "string", default: "1" },
    warmup: { type: "string", default: "300" },
  },
});
const TOKENS = Number(args.tokens);
const MEASURE_S = Math.round(Number(args.hours) * 3600);
const WARMUP_S = Number(args.warmup);

const config = resolveConfig({ LOG_LEVEL: "silent" }).config;
const damped = exportSettingsOf(config);
const plain = undamped(damped);
const ttlMs = { hot: config.cacheTtlHot * 1000, cold: config.cacheTtlCold * 1000 };

const sim = createSimulator();
const t0 = sim.marketNow();
const tokens = mixedMints(TOKENS, 0.1).map((mint, i) => ({
  mint,
  status: "monitoring",
  createdAt: t0,
  lastGoodScoreAt: null,
  activeSince: null,
  previous: null,
  // Staggered like a fleet that has been running: due times spread over the lane's TTL.
  dueAt: t0 + ((i * 7919) % ttlMs.cold),
  candidate: null,
}));

function refresh(tok, now) {
  const pairs = pairsSchema.parse(sim.truth([tok.mint], now).pairs[tok.mint] ?? []);
  const e = evaluateToken({ ...tok, pairs, now });
  tok.status = e.status;
  tok.lastGoodScoreAt = e.lastGoodScoreAt;
  tok.activeSince = e.activeSince;
  tok.previous = e.smoothed;
  tok.candidate = {
    mint: tok.mint,
    name: e.name,
    symbol: e.symbol,
    status: e.status,
    lane: e.lane,
    fetchedAt: now,
    smoothedScore: e.smoothed.score,
    band: e.band,
    metrics: { pools: e.metrics.pools },
  };
  tok.dueAt = e.lane ? now + ttlMs[e.lane] : Infinity;
}

/** What the exporter reads: the best active tokens by smoothed score (50 at least) and the members. */
function candidates(state, floor, topN) {
  const active = tokens
    .filter((t) => t.candidate?.status === "active" && t.candidate.smoothedScore >= floor)
    .sort((a, b) => b.candidate.smoothedScore - a.candidate.smoothedScore)
    .slice(0, Math.max(50, topN * 5));
  const members = new Set(state.members.map((m) => m.mint));
  const extra = tokens.filter((t) => members.has(t.mint) && !active.includes(t));
  return [...active, ...extra].map((t) => t.candidate).filter(Boolean);
}

const runs = {
  damped: { settings: damped, state: EMPTY_EXPORT_STATE, changes: 0, byReason: {}, versions: 0 },
  undamped: { settings: plain, state: EMPTY_EXPORT_STATE, changes: 0, byReason: {}, versions: 0 },
};
let maxActive = 0;
let aboveEntry = 0;
const started = performance.now();
for (let s = 0; s < WARMUP_S + MEASURE_S; s++) {
  const now = t0 + s * 1000;
  for (const tok of tokens) if (tok.dueAt <= now) refresh(tok, now);
  const active = tokens.filter((t) => t.candidate?.status === "active");
  maxActive = Math.max(maxActive, active.length);
  if (s >= WARMUP_S) aboveEntry += active.filter((t) => t.candidate.smoothedScore >= damped.minScore).length;
  for (const run of Object.values(runs)) {
    const r = stepExport(
      run.state,
      candidates(run.state, run.settings.exitScore, run.settings.topN),
      now,
      run.settings,
    );
    run.state = r.state;
    if (s < WARMUP_S) continue;
    for (const c of [...r.entered, ...r.left]) {
      run.changes += 1;
      run.byReason[c.reason] = (run.byReason[c.reason] ?? 0) + 1;
    }
    if (r.changed) run.versions += 1;
  }
}
const hours = MEASURE_S / 3600;
const line = (name, run) =>
  `${name.padEnd(9)} set changes/h ${(run.changes / hours).toFixed(1).padStart(7)}  new versions/h ${(run.versions / hours).toFixed(1).padStart(7)}  ${JSON.stringify(run.byReason)}`;
console.log(
  `export churn: ${TOKENS} tokens (dexscreener mix), ${hours} h measured after ${WARMUP_S} s warm-up, ` +
    `top ${damped.topN}, entry ${damped.minScore}, exit ${damped.exitScore}, hold ${damped.minHoldMs / 1000} s; ` +
    `up to ${maxActive} active, ${(aboveEntry / MEASURE_S).toFixed(1)} at or above the entry score on average ` +
    `(${((performance.now() - started) / 1000).toFixed(0)} s of CPU)`,
);
console.log(line("damped", runs.damped));
console.log(line("undamped", runs.undamped));
