import { LANES, redisKeys, type Lane } from "@moonfleet/domain";
import type { Redis } from "@moonfleet/queues";
import type { RateBudget } from "@moonfleet/upstream";
import { readFleet, type Fleet, type FleetDeps } from "./fleet-status.js";

/** One sample per slot of 10 s, kept 24 h: 8,640 samples of ~400 bytes, ~3.5 MB at most. */
export const HISTORY_STEP_MS = 10_000;
export const HISTORY_KEEP_MS = 24 * 3_600_000;

/** The fleet's figures at one moment: what the dashboard's charts draw. */
export interface FleetSample {
  /** Slot start, epoch ms. */
  readonly t: number;
  readonly tokensPerSecond: Record<Lane, number>;
  readonly staleness: Record<Lane, { p50: number | null; p95: number | null; ttl: number }>;
  readonly concurrency: Record<Lane, number>;
  readonly waitingJobs: Record<Lane, number>;
  readonly workers: number;
  readonly budget: {
    readonly limitPerMinute: number;
    /** The budget's clock minute (Redis time) and its count so far: the next samples' baseline. */
    readonly minute: number;
    readonly thisMinute: number;
    /** Calls granted in the 60 s before the sample. */
    readonly last60s: number;
  };
}

/** The budget's clock-minute counters at one moment. */
export interface BudgetReading {
  readonly minute: number;
  readonly thisMinute: number;
  readonly lastMinute: number;
  /** How far into `minute` the reading is, ms. */
  readonly msIntoMinute: number;
}

/**
 * Calls granted over the rolling 60 s before `now`, from the budget's per-minute counters and the
 * reading taken 60 s earlier: (previous minute's total - what it held 60 s ago) + this minute's.
 * Without that reading, the previous minute counts in proportion to the part still in the window.
 */
export function rollingBudgetUse(
  now: BudgetReading,
  minuteAgo: { minute: number; thisMinute: number } | null,
): number {
  if (minuteAgo && minuteAgo.minute === now.minute - 1)
    return Math.max(0, now.lastMinute - minuteAgo.thisMinute) + now.thisMinute;
  if (minuteAgo && minuteAgo.minute === now.minute) return Math.max(0, now.thisMinute - minuteAgo.thisMinute);
  const share = Math.max(0, Math.min(1, 1 - now.msIntoMinute / 60_000));
  return now.thisMinute + Math.round(now.lastMinute * share);
}

/** A sample from a fleet reading. Pure. */
export function sampleOf(f: Fleet, slot: number, budget: BudgetReading, last60s: number): FleetSample {
  const per = <T>(fn: (lane: Lane) => T) =>
    Object.fromEntries(LANES.map((l) => [l, fn(l)])) as Record<Lane, T>;
  return {
    t: slot,
    tokensPerSecond: per((l) => f.lanes[l].tokensPerSecond),
    staleness: per((l) => ({
      p50: f.lanes[l].staleness.p50,
      p95: f.lanes[l].staleness.p95,
      ttl: f.lanes[l].staleness.ttlSeconds,
    })),
    concurrency: per((l) => f.lanes[l].concurrency),
    waitingJobs: per((l) => f.lanes[l].waitingJobs),
    workers: f.workers.length,
    budget: {
      limitPerMinute: f.upstream.budget.limitPerMinute,
      minute: budget.minute,
      thisMinute: budget.thisMinute,
      last60s,
    },
  };
}

/** Adds the slot's sample unless one is there (one writer per slot across replicas), then trims. */
const RECORD = `
if redis.call('ZCOUNT', KEYS[1], ARGV[1], ARGV[1]) > 0 then return 0 end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[3])
return 1
`;

/** Stores a sample in its slot; false when another api replica wrote that slot first. */
export async function recordSample(redis: Redis, prefix: string, sample: FleetSample): Promise<boolean> {
  const key = redisKeys(prefix).fleetHistory;
  const out = await redis.eval(
    RECORD,
    1,
    key,
    String(sample.t),
    JSON.stringify(sample),
    String(sample.t - HISTORY_KEEP_MS),
  );
  return out === 1;
}

/** The samples of [from, to], oldest first. */
export async function readSamples(
  redis: Redis,
  prefix: string,
  from: number,
  to: number,
): Promise<FleetSample[]> {
  const raw = await redis.zrangebyscore(redisKeys(prefix).fleetHistory, from, to);
  const out: FleetSample[] = [];
  for (const r of raw)
    try {
      out.push(JSON.parse(r) as FleetSample);
    } catch {
      // A sample an older version wrote in another shape is skipped, not a 500.
    }
  return out;
}

/** Redis's clock (the budget's minutes are Redis minutes), epoch ms. */
async function redisNow(redis: Redis): Promise<number> {
  const [seconds, micros] = await redis.time();
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}

/** The budget's counters now and the newest sample at least 60 s old (at most 70 s). */
async function budgetWindow(
  redis: Redis,
  prefix: string,
  nowMs: number,
  counts: { thisMinute: number; lastMinute: number },
): Promise<{ reading: BudgetReading; last60s: number }> {
  const minute = Math.floor(nowMs / 60_000);
  const reading: BudgetReading = { minute, ...counts, msIntoMinute: nowMs - minute * 60_000 };
  const raw = await redis.zrevrangebyscore(
    redisKeys(prefix).fleetHistory,
    nowMs - 60_000,
    nowMs - 60_000 - HISTORY_STEP_MS,
    "LIMIT",
    0,
    1,
  );
  let earlier: FleetSample | null;
  try {
    earlier = raw[0] ? (JSON.parse(raw[0]) as FleetSample) : null;
  } catch {
    earlier = null; // a sample in another shape: estimate instead
  }
  return { reading, last60s: rollingBudgetUse(reading, earlier ? earlier.budget : null) };
}

/** The budget's use over the rolling 60 s, for the dashboard's budget panel. */
export async function budgetLast60s(
  redis: Redis,
  prefix: string,
  budget: Pick<RateBudget, "use">,
  limitPerMinute: number,
) {
  const [use, nowMs] = await Promise.all([budget.use(), redisNow(redis)]);
  const { last60s } = await budgetWindow(redis, prefix, nowMs, use);
  return { limitPerMinute, last60s, thisMinute: use.thisMinute, pausedForMs: use.pausedForMs };
}

/**
 * One tick of the api's sampler: every replica runs it every 10 s; the slot's first writer wins
 * (RECORD), so several replicas keep one sample per slot without a leader.
 */
export async function sampleFleet(deps: FleetDeps & { redis: Redis }): Promise<boolean> {
  const prefix = deps.config().redisKeyPrefix;
  const nowMs = await redisNow(deps.redis);
  const slot = Math.floor(nowMs / HISTORY_STEP_MS) * HISTORY_STEP_MS;
  const fleet = await readFleet(deps);
  const { reading, last60s } = await budgetWindow(deps.redis, prefix, nowMs, {
    thisMinute: fleet.upstream.budget.usedThisMinute,
    lastMinute: fleet.upstream.budget.usedLastMinute,
  });
  return recordSample(deps.redis, prefix, sampleOf(fleet, slot, reading, last60s));
}
