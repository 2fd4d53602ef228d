import {
  heartbeatTtlMs,
  parseDiscoveryStatus,
  LANE_STATUS,
  LANES,
  redisKeys,
  TOKEN_CLASSES,
  TOP_CLASS_SIZE,
  type Lane,
  type TokenClass,
} from "@moonfleet/domain";
import type { Queue } from "bullmq";
import { floorCoverage, refreshParams, sustainedRpm, type Config } from "@moonfleet/config";
import { liveWorkers, type TokenStore } from "@moonfleet/store";
import type { RateBudget } from "@moonfleet/upstream";
import { discoveryView } from "./discovery-view.js";

const HOUR = 3_600_000;

export interface FleetDeps {
  readonly store: TokenStore;
  readonly queues: Readonly<Record<Lane, Queue>>;
  readonly budget: RateBudget;
  readonly redis: Parameters<typeof liveWorkers>[0];
  readonly config: () => Config;
  readonly now?: () => number;
}

const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);
const round = (v: number, digits = 1) => Math.round(v * 10 ** digits) / 10 ** digits;

/**
 * The producer's heartbeat is its leader lock: the leader renews it (PX, 5 producer ticks and at
 * least 5 s) on every tick, so the key is gone soon after the leader stops ticking (hung,
 * SIGSTOPped, dead) and no other producer has taken over. Whether a producer leads (its lock is
 * live), and for how much longer the lock holds.
 */
export async function readProducer(redis: FleetDeps["redis"], prefix: string) {
  const ttlMs = await redis.pttl(redisKeys(prefix).producerLeader);
  return { leading: ttlMs > 0 || ttlMs === -1, lockTtlMs: ttlMs > 0 ? ttlMs : null };
}

/** p95 of `now - fetchedAt` in seconds over the fetched ones; null when none was fetched. */
function stalenessP95(now: number, fetched: ReadonlyArray<number | null>): number | null {
  const ages = fetched.filter((t): t is number => t !== null).map((t) => Math.max(0, now - t) / 1000);
  if (ages.length === 0) return null;
  ages.sort((a, b) => a - b);
  return round(ages[Math.min(ages.length - 1, Math.ceil(ages.length * 0.95) - 1)]!);
}

export type ClassView = { tokens: number; stalenessP95Seconds: number | null; callShare: number };
export type ClassesView = Record<TokenClass, ClassView> & { floorCovered: boolean };

/**
 * Staleness and the budget's spending per class of token (exported, top 50 by score, other
 * active, monitoring). Exported and top 50 are read per mint (a few dozen); active and monitoring
 * from the status indexes (their p95 includes the exported and top tokens among them). callShare:
 * the share of the last minute's claimed mint slots spent on the class, as the producer counted
 * them. floorCovered: whether the budget pays for every token's MAX_STALENESS_FACTOR x TTL floor.
 */
export async function readClasses(
  deps: FleetDeps,
  now: number,
  byStatus: { active: number; monitoring: number },
): Promise<ClassesView> {
  const c = deps.config();
  const [ctx, topRaw, slots, active, monitoring] = await Promise.all([
    deps.store.scheduleContext(),
    deps.store.topByScore(TOP_CLASS_SIZE + 100),
    deps.store.classSlots(now),
    deps.store.staleness("active", now),
    deps.store.staleness("monitoring", now),
  ]);
  const exported = [...ctx.exported];
  const top = topRaw.filter((m) => !ctx.exported.has(m)).slice(0, TOP_CLASS_SIZE);
  const [exportedAt, topAt] = await Promise.all([deps.store.fetchedAt(exported), deps.store.fetchedAt(top)]);
  const totalSlots = sum(Object.values(slots));
  const share = (cls: TokenClass) => (totalSlots > 0 ? round((slots[cls] ?? 0) / totalSlots, 3) : 0);
  const special = exported.length + top.length;
  const view = {
    exported: { tokens: exported.length, stalenessP95Seconds: stalenessP95(now, exportedAt) },
    top50: { tokens: top.length, stalenessP95Seconds: stalenessP95(now, topAt) },
    active: { tokens: Math.max(0, byStatus.active - special), stalenessP95Seconds: active.p95 },
    monitoring: { tokens: byStatus.monitoring, stalenessP95Seconds: monitoring.p95 },
  };
  const floor = floorCoverage(
    { hot: byStatus.active, cold: byStatus.monitoring },
    sustainedRpm(c),
    refreshParams(c),
    exported.length,
  );
  return {
    ...(Object.fromEntries(
      TOKEN_CLASSES.map((cls) => [cls, { ...view[cls], callShare: share(cls) }]),
    ) as Record<TokenClass, ClassView>),
    floorCovered: floor.covered,
  };
}

/** Everything the health endpoints, /metrics and the dashboard show, read in one pass. */
export async function readFleet(deps: FleetDeps) {
  const now = (deps.now ?? Date.now)();
  const c = deps.config();
  const [workers, counts, budgetUse, laneReads, discoveryStatus] = await Promise.all([
    liveWorkers(deps.redis, c.redisKeyPrefix, now, heartbeatTtlMs(c.controllerIntervalMs)),
    deps.store.counts(now),
    deps.budget.use(),
    Promise.all(
      LANES.map(async (lane) => {
        const q = deps.queues[lane];
        const [jobs, staleness, failed] = await Promise.all([
          q.getJobCounts("active", "waiting", "delayed", "failed", "prioritized"),
          deps.store.staleness(LANE_STATUS[lane], now),
          // BullMQ's failed set is scored by finish time: a count over the last hour, not a job fetch.
          deps.redis.zcount(q.keys.failed!, now - HOUR, "+inf"),
        ]);
        const failedLastHour = failed;
        return { lane, jobs, staleness, failedLastHour };
      }),
    ),
    deps.redis.get(redisKeys(c.redisKeyPrefix).discoveryStatus),
  ]);

  const lanes = Object.fromEntries(
    laneReads.map(({ lane, jobs, staleness, failedLastHour }) => {
      const states = workers.map((w) => w.lanes[lane]);
      const tps = sum(states.map((s) => s.tokensPerSecond ?? 0));
      const calls = sum(states.map((s) => s.recentCalls ?? 0));
      const latencies = states.map((s) => s.latencyP95Ms).filter((v): v is number => v !== null);
      const ttlSeconds = lane === "hot" ? c.cacheTtlHot : c.cacheTtlCold;
      return [
        lane,
        {
          tokens: lane === "hot" ? counts.byStatus.active : counts.byStatus.monitoring,
          scheduled: counts.due[lane].scheduled,
          due: counts.due[lane].dueNow,
          lastRun:
            staleness.scored > 0 && staleness.p50 !== null
              ? new Date(now - staleness.p50 * 1000).toISOString()
              : null,
          tokensPerSecond: round(tps),
          tokensPerMinute: Math.round(tps * 60),
          staleness: {
            ttlSeconds,
            p50: staleness.p50,
            p95: staleness.p95,
            max: staleness.max,
            scored: staleness.scored,
          },
          errorRate: calls > 0 ? round(sum(states.map((s) => s.recentErrors ?? 0)) / calls, 3) : 0,
          timeoutRate: calls > 0 ? round(sum(states.map((s) => s.recentTimeouts ?? 0)) / calls, 3) : 0,
          activeJobs: jobs.active ?? 0,
          waitingJobs: (jobs.waiting ?? 0) + (jobs.prioritized ?? 0),
          delayedJobs: jobs.delayed ?? 0,
          failedJobsLastHour: failedLastHour,
          concurrency: sum(states.map((s) => s.concurrency)),
          latencyP95Ms: latencies.length ? Math.max(...latencies) : null,
          backlogPerWorker: workers.length
            ? round((counts.due[lane].dueNow + (jobs.waiting ?? 0)) / workers.length)
            : null,
        },
      ];
    }),
  ) as Record<Lane, LaneView>;

  const breakers = workers.map((w) => w.breaker ?? "closed");
  const upstream = {
    budget: {
      limitPerMinute: c.upstreamRpm,
      usedThisMinute: budgetUse.thisMinute,
      usedLastMinute: budgetUse.lastMinute,
      pausedForMs: budgetUse.pausedForMs,
      key: c.upstreamBudgetKey,
    },
    rateLimited: sum(workers.flatMap((w) => LANES.map((l) => w.lanes[l].rateLimited))),
    breaker: {
      closed: breakers.filter((b) => b === "closed").length,
      halfOpen: breakers.filter((b) => b === "half_open").length,
      open: breakers.filter((b) => b === "open").length,
    },
    latencyP50Ms: maxOf(workers.flatMap((w) => LANES.map((l) => w.lanes[l].latencyP50Ms))),
    latencyP95Ms: maxOf(workers.flatMap((w) => LANES.map((l) => w.lanes[l].latencyP95Ms))),
  };

  const discovery = discoveryView(parseDiscoveryStatus(discoveryStatus), now, c.discoveryUrl);
  const classes = await readClasses(deps, now, counts.byStatus);
  return {
    now,
    config: c,
    workers,
    counts,
    lanes,
    upstream,
    discovery,
    classes,
  };
}

export type Fleet = Awaited<ReturnType<typeof readFleet>>;
type LaneView = {
  tokens: number;
  scheduled: number;
  due: number;
  lastRun: string | null;
  tokensPerSecond: number;
  tokensPerMinute: number;
  staleness: {
    ttlSeconds: number;
    p50: number | null;
    p95: number | null;
    max: number | null;
    scored: number;
  };
  errorRate: number;
  timeoutRate: number;
  activeJobs: number;
  waitingJobs: number;
  delayedJobs: number;
  failedJobsLastHour: number;
  concurrency: number;
  latencyP95Ms: number | null;
  backlogPerWorker: number | null;
};

function maxOf(xs: ReadonlyArray<number | null>): number | null {
  const v = xs.filter((x): x is number => x !== null);
  return v.length ? Math.max(...v) : null;
}
