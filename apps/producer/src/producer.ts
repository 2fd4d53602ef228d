import {
  heartbeatIndexWindowMs,
  perLane,
  redisKeys,
  type Lane,
  LANES,
  type LoadLevel,
  type TokenClass,
  type WorkerHeartbeat,
  TOP_CLASS_SIZE,
} from "@moonfleet/domain";
import { randomUUID } from "node:crypto";
import {
  initialBatchSizerState,
  nextBatchSize,
  type BatchSizerBounds,
  type BatchSizerState,
} from "@moonfleet/adaptive";
import {
  LiveConfig,
  lanePolicies,
  accrueCredit,
  hotCreditSpent,
  budgetPerMs,
  claimTiers,
  coldSlackMs,
  entryDeadline,
  floorMs,
  hotFirstShare,
  coldQueueLatenessMs,
  groupDeadlines,
  sustainedRpm,
  hotPressureCeiling,
  nextPressures,
  refreshParams,
  packCalls,
  urgentLeadMs,
  wholeCallGroup,
  schedulingMode,
  slotsPerTick,
  tokenClass,
  type BatchPolicy,
  type Config,
  type ResolvedConfig,
} from "@moonfleet/config";
import { parseExportDocument } from "@moonfleet/exports";
import {
  JOB_RETENTION,
  batchJobName,
  createRedis,
  earliestQueuedUrgentAt,
  openLaneQueues,
  type BatchJob,
} from "@moonfleet/queues";
import { runLoop } from "@moonfleet/runtime";
import { LeaderLock, TokenStore, liveWorkers, type ClaimedMint, type ScheduleView } from "@moonfleet/store";
import { EVENTS, redisLogging, type Logger } from "@moonfleet/telemetry";
import { createLostJobSweeper } from "./lost-jobs.js";

export interface ProducerOptions {
  readonly resolved: ResolvedConfig;
  readonly redisUrl: string;
  readonly logger: Logger;
  readonly now?: () => number;
}

export interface TickResult {
  readonly leader: boolean;
  readonly claimed: Record<Lane, number>;
  readonly jobs: Record<Lane, number>;
  readonly batchSize: Record<Lane, number>;
  /**
   * A lane's claim came within a call of MAX_CLAIM_PER_TICK (it may have stopped there with more
   * to take): tick again at once. At worst one tick that claims nothing.
   */
  readonly more: boolean;
}

/**
 * Tokens one lane's claim takes in a tick at most. A claim script holds Redis for about 10 us a
 * token and addBulk as long again, so a fleet that moves thousands of tokens a second claims them
 * in several short ticks, one after another, not in one that stalls every other client of Redis.
 */
export const MAX_CLAIM_PER_TICK = 500;

const LEVEL_RANK: Record<string, number> = { normal: 0, reduced: 1, high: 2 };

/** The fleet as the batch sizer sees it: slots and recent job figures per lane, the worst load. */
export function fleetView(workers: readonly WorkerHeartbeat[], lane: Lane) {
  let slots = 0;
  let level: LoadLevel = "normal";
  let weightedMs = 0;
  let jobs = 0;
  let tokens = 0;
  for (const w of workers) {
    const l = w.lanes[lane];
    slots += l.concurrency;
    if ((LEVEL_RANK[w.level] ?? 0) > LEVEL_RANK[level]!) level = w.level;
    if (l.avgJobMs !== null && l.jobs > 0) {
      weightedMs += l.avgJobMs * l.jobs;
      jobs += l.jobs;
      tokens += l.tokens;
    }
  }
  return {
    fleet: { workers: workers.length, slots, level },
    avgJobMs: jobs > 0 ? weightedMs / jobs : null,
    avgJobTokens: jobs > 0 ? tokens / jobs : null,
  };
}

/**
 * Jobs of a lane that live workers hold: the queue's active count, but no more than the live
 * heartbeats say they hold. A SIGKILLed worker's jobs stay active in BullMQ until their lock runs
 * out (lockDuration, then the stalled check: 30-45 s), and their tokens come back long before
 * (lost-jobs.ts, or their lease); counted as taken, they would fill the claim's budget with work
 * nobody does.
 * A heartbeat lags its worker by a controller tick at most, so jobs taken since are missed for
 * that long (the next tick counts them).
 */
export function jobsTakenByLiveWorkers(
  activeInQueue: number,
  workers: readonly WorkerHeartbeat[],
  lane: Lane,
): number {
  const held = workers.reduce((a, w) => a + Math.max(0, w.lanes[lane].active), 0);
  return Math.max(0, Math.min(activeInQueue, held));
}

/** The batch sizer's bounds under the lane's batch policy. */
export function batchBounds(p: BatchPolicy): BatchSizerBounds {
  return p.kind === "adaptive"
    ? { min: p.min, max: p.max, adaptive: true, fixed: p.start }
    : { min: p.size, max: p.size, adaptive: false, fixed: p.size };
}

/** Jobs are retried by BullMQ only for crashes; upstream failures are rescheduled per token. */
const JOB_OPTIONS = {
  attempts: 3,
  backoff: { type: "exponential", delay: 1_000 },
  ...JOB_RETENTION,
} as const;

/**
 * A job carrying an exported token (SCHEDULING=value) goes to the head of its lane's queue: it
 * has ~2.5 s of its guarantee left past its start-by, and waited up to 3.6 s behind the lane's jobs
 * that waited for permits.
 */
const HEAD_JOB_OPTIONS = { ...JOB_OPTIONS, lifo: true } as const;

const PURGE_EVERY_MS = 10_000;
/** Value scheduling keeps this many ticks of budget queued: enough to spend it all, little to wait behind. */
const QUEUED_TICKS = 2;
const PURGE_BATCH = 1_000;

/** A lane's jobs not done yet, as a tick reads them (queuedJobs). */
interface QueuedJobs {
  readonly waiting: number;
  readonly taken: number;
  /** The earliest time one of them was to start at the latest (BatchJob.urgentAt), epoch ms; null for none. */
  readonly urgentAt: number | null;
}

/** Waits for every promise, then throws the first failure: one failing never stops the others. */
async function settled(work: ReadonlyArray<Promise<unknown>>): Promise<void> {
  const failed = (await Promise.allSettled(work)).find((r) => r.status === "rejected");
  if (failed) throw failed.reason;
}

/** Claims due tokens per lane and enqueues them as batch jobs; one producer leads at a time. */
export function createProducer(opts: ProducerOptions) {
  const { logger } = opts;
  const now = opts.now ?? Date.now;
  const prefix = opts.resolved.config.redisKeyPrefix;
  const redis = createRedis(opts.redisUrl, {
    name: "producer",
    ...redisLogging(logger, opts.redisUrl, "producer"),
  });
  const store = new TokenStore(redis, prefix);
  const live = new LiveConfig(opts.resolved, { redis, prefix }, (err) =>
    logger.warn({ event: EVENTS.configChange, err: String(err) }, "runtime config not applied"),
  );
  const config = () => live.config;
  const queues = openLaneQueues<BatchJob>(redis, prefix);
  const lost = createLostJobSweeper({ redis, queues, store, logger });
  const lock = new LeaderLock(
    redis,
    redisKeys(prefix).producerLeader,
    `${process.pid}-${randomUUID()}`,
    Math.max(5_000, opts.resolved.config.producerTickMs * 5),
  );
  let leading = false;
  // Claimed tokens whose jobs were not enqueued (Redis went away between the claim and the
  // enqueue): returned to the schedule at the next tick instead of waiting out their lease.
  const unqueued: Record<Lane, string[]> = { hot: [], cold: [] };
  async function returnUnqueued(at: number): Promise<void> {
    for (const lane of LANES) {
      // taken out first: an enqueue that fails meanwhile adds to a fresh list, not to one cleared after
      const mints = unqueued[lane];
      if (mints.length === 0) continue;
      unqueued[lane] = [];
      try {
        await store.reschedule(mints, at);
      } catch (err) {
        unqueued[lane].push(...mints);
        throw err;
      }
      logger.info(
        { event: EVENTS.producerTick, lane, tokens: mints.length },
        "returned claimed tokens whose jobs were not enqueued",
      );
    }
  }

  // The batch sizer's state lives in Redis, so a new leader (or a restart) goes on from what the
  // last one learned instead of starting over.
  const sizerKey = redisKeys(prefix).batchSizer;
  const sizers: Partial<Record<Lane, BatchSizerState>> = {};
  async function sizerState(lane: Lane): Promise<BatchSizerState> {
    const cached = sizers[lane];
    if (cached) return cached;
    const raw = await redis.get(sizerKey(lane));
    const stored = raw ? (JSON.parse(raw) as BatchSizerState) : null;
    return (sizers[lane] = stored ?? initialBatchSizerState(batchBounds(lanePolicies(config())[lane].batch)));
  }

  /** The lane's batch size for this tick, from the sizer's state (read by sizerState beforehand). */
  function decideBatchSize(
    lane: Lane,
    previous: BatchSizerState,
    workers: readonly WorkerHeartbeat[],
    waiting: number,
    dueNow: number,
  ): number {
    const c = config();
    const view = fleetView(workers, lane);
    const d = nextBatchSize(
      previous,
      { dueNow, waitingJobs: waiting, ...view },
      batchBounds(lanePolicies(c)[lane].batch),
    );
    sizers[lane] = d.state;
    if (d.changed) {
      sizerDirty[lane] = true;
      logger.info(
        {
          event: EVENTS.batchSizeChange,
          lane,
          from: previous.size,
          to: d.size,
          reason: d.reason,
          dueNow,
          waiting,
          slots: view.fleet.slots,
          level: view.fleet.level,
        },
        `batch size ${previous.size} -> ${d.size} (${d.reason})`,
      );
    }
    return d.size;
  }
  // The state is written after the claim, off the tick's path: when it changed, and every tenth
  // tick (a new leader reads it back).
  const sizerDirty: Record<Lane, boolean> = { hot: false, cold: false };
  let persistTicks = 0;
  async function persistSizers(): Promise<void> {
    const every = ++persistTicks % 10 === 0;
    await Promise.all(
      LANES.map(async (lane) => {
        const state = sizers[lane];
        if (!state || !(every || sizerDirty[lane])) return;
        sizerDirty[lane] = false;
        await redis.set(sizerKey(lane), JSON.stringify(state)).catch((err: unknown) => {
          sizerDirty[lane] = true;
          throw err;
        });
      }),
    );
  }

  // The registry stays bounded: archived tokens keep their last snapshot for
  // ARCHIVE_RETENTION_HOURS, then leave with their history and indexes (a batch per sweep).
  let lastPurge = 0;
  async function purgeArchived(at: number): Promise<void> {
    if (at - lastPurge < PURGE_EVERY_MS) return;
    lastPurge = at;
    const purged = await store.purgeArchived(at - config().archiveRetentionHours * 3_600_000, PURGE_BATCH);
    if (purged.length > 0)
      logger.info(
        { event: EVENTS.registryPurge, tokens: purged.length },
        "deleted archived tokens past retention",
      );
  }

  // Value scheduling: each lane's pressure (how far the budget stretches the wanted intervals) and
  // the exported mints, shared with the workers through Redis; a new leader goes on from them.
  let pressure: Record<Lane, number> | null = null;
  let exported: string[] = [];
  let exportedKey = "";
  const readExportDocument = async () =>
    parseExportDocument(await redis.get(redisKeys(prefix).exportDocument));
  /**
   * The exported mints, from the document read this tick. When they changed (only then: a round trip
   * or two), a leader publishes them and, under value, pulls a token that just entered in to its
   * exported deadline, counted from its last fetch.
   */
  async function applyExports(
    doc: ReturnType<typeof parseExportDocument>,
    at: number,
    c: Config,
    value: boolean,
  ): Promise<Set<string>> {
    const members = (doc?.members ?? []).map((m) => m.mint).sort();
    const key = members.join(",");
    if (key === exportedKey) return new Set(exported);
    const before = new Set(exported);
    // a new leader goes on from the stored pressure rather than publishing 1 over it
    pressure ??= (await store.scheduleContext()).pressure;
    await store.publishSchedule(pressure, members);
    const entered = (doc?.members ?? []).filter((m) => !before.has(m.mint));
    if (value && entered.length > 0) {
      const params = refreshParams(c);
      await Promise.all(
        LANES.map((lane) =>
          store.expedite(
            lane,
            entered.map((m) => ({ mint: m.mint, at: entryDeadline(lane, m.fetchedAt, at, params) })),
            at + floorMs(lane, params),
          ),
        ),
      );
    }
    // only now: a failed write above is tried again at the next tick
    exported = members;
    exportedKey = key;
    return new Set(members);
  }

  async function updatePressure(c: Config, view: ScheduleView): Promise<void> {
    pressure ??= (await store.scheduleContext()).pressure;
    const target = Math.max(2 * c.producerTickMs, c.dueMarginMs);
    const lateness = perLane((l) => view.lanes[l].dueLatenessMs);
    const params = refreshParams(c);
    const tokens = perLane((l) => view.lanes[l].scheduled);
    const next = nextPressures(
      pressure,
      lateness,
      target,
      params,
      hotPressureCeiling(tokens, sustainedRpm(c), params),
    );
    const changed = LANES.some((l) => Math.abs(next[l] - pressure![l]) > 1e-9);
    pressure = next;
    if (changed || ++pressureTicks % 10 === 0) await store.publishSchedule(next, null);
  }
  let pressureTicks = 0;
  // the last tick stopped at MAX_CLAIM_PER_TICK: this one goes on with its claim at once
  let subTick = false;

  /**
   * Mint slots per class of the tokens claimed this tick into a lane's jobs (the health's
   * callShare), each by its own lane (`own`: cold tokens completing a hot call are cold's).
   */
  async function countClasses(
    at: number,
    lane: Lane,
    mints: readonly string[],
    exportedSet: ReadonlySet<string>,
    top: ReadonlySet<string>,
    own: ReadonlyMap<string, Lane> = new Map(),
  ) {
    const slots: Partial<Record<TokenClass, number>> = {};
    for (const mint of mints) {
      const cls = tokenClass({
        lane: own.get(mint) ?? lane,
        exported: exportedSet.has(mint),
        top: top.has(mint),
      });
      if (cls) slots[cls] = (slots[cls] ?? 0) + 1;
    }
    await store.countClassSlots(at, slots);
  }

  /**
   * SCHEDULING=value: claim at most QUEUED_TICKS ticks of budget, less the jobs not done yet (waiting,
   * taken by a worker, or delayed), in the tiers of claimTiers: hot's urgent tokens (deadline within
   * the lane's lead); hot's wanted ones within its credit of the share of the budget beyond the cold floor
   * (hotFirstShare, less while a cold deadline has passed), these two past cold's queued jobs (the
   * budget serves hot first); cold's urgent ones; every lane's wanted ones; then, while the budget binds and has room,
   * cold's earliest deadlines ahead, so no call goes unspent and deadlines that came bunched spread
   * out. A lane's token is urgent a tick and its queue's wait before its deadline (urgentLeadMs). One
   * script call (CLAIM_PLAN); returns each lane's claim and where its urgent tokens end (the packing
   * puts them first).
   */
  async function claimByValue(
    at: number,
    c: Config,
    view: ScheduleView,
    queued: Record<Lane, QueuedJobs>,
    size: Record<Lane, number>,
  ): Promise<{ got: Record<Lane, ClaimedMint[]>; urgentUntil: Record<Lane, number> }> {
    const rpm = sustainedRpm(c);
    const slots = QUEUED_TICKS * slotsPerTick(rpm, c.producerTickMs);
    // Packing by value matters only when the budget binds: else every claimed token is fetched soon.
    const room = perLane((l) => Math.max(0, c.maxQueuedJobs - queued[l].waiting) * size[l]);
    const binds = slots < LANES.reduce((a, l) => a + room[l], 0);
    // Jobs a worker took are not fetched yet either while the budget binds (they wait for permits):
    // what the claim may add is what the budget pays for beyond every job not yet done.
    const ahead = perLane((l) => (queued[l].waiting + queued[l].taken) * size[l]);
    const budget = slots - LANES.reduce((a, l) => a + ahead[l], 0);
    // hot is fetched before the cold jobs already queued (the budget serves hot first)
    const hotPasses = ahead.cold;
    const params = refreshParams(c);
    const leadMs = perLane((l) => urgentLeadMs(l, ahead, size[l], rpm, c.producerTickMs, params));
    // a cold job still queued past its tokens' deadline is as late as a deadline gone by
    const queueLateMs = coldQueueLatenessMs(at, queued.cold.urgentAt);
    const share = hotFirstShare(
      view.lanes.cold.scheduled,
      rpm,
      params,
      Math.max(view.lanes.cold.deadlineLatenessMs, queueLateMs),
      c.producerTickMs,
    );
    // hot's first share is a rate: it accrues with the time between ticks (the budget's rate times
    // the share); hot passes cold's queue, so a share counted against the queue instead would hand
    // hot the queue's whole budget again every tick. It saves up at most half the cold slack's
    // worth (or the queue's), so hot tokens that came due together go at once and cold's deadlines
    // keep within their floor. A new leader starts with the share of the queue's budget.
    const rate = share * budgetPerMs(rpm);
    const cap = rate * Math.max(QUEUED_TICKS * c.producerTickMs, coldSlackMs(params) / 2);
    hotCredit = accrueCredit(
      hotCredit ?? Math.min(cap, share * slots),
      hotCreditAt === null ? 0 : at - hotCreditAt,
      rate,
      cap,
    );
    hotCreditAt = at;
    const limits = {
      budget,
      room: perLane((l) => Math.min(room[l], MAX_CLAIM_PER_TICK)),
      fill: perLane((l) => lanePolicies(c)[l].mintsPerCall),
      hotFirst: Math.max(0, Math.min(Math.floor(hotCredit), budget + hotPasses)),
      hotPasses,
      hotYields: queueLateMs > 0,
    };
    const got = await store.claimPlan(claimTiers(binds), limits, {
      now: at,
      leaseMs: c.leaseMs,
      leadMs,
      lookaheadMs: c.dueMarginMs,
      withValues: binds,
      leaseDeadlineMs: perLane((l) => floorMs(l, params)),
    });
    // a share spent ahead is paid back before hot goes first again
    hotCredit -= hotCreditSpent(got.hot, limits.hotFirst, limits.fill.hot);
    return { got, urgentUntil: perLane((l) => at + leadMs[l]) };
  }
  let hotCredit: number | null = null;
  let hotCreditAt: number | null = null;

  async function enqueue(
    lane: Lane,
    at: number,
    leaseMs: number,
    groups: string[][],
    urgentAt: ReadonlyArray<number | undefined> = [],
    head: (mints: readonly string[]) => boolean = () => false,
  ): Promise<number> {
    const batch = groups.map((mints, i) => ({
      name: batchJobName(lane, mints.length),
      data: {
        lane,
        mints,
        claimedAt: at,
        leaseUntil: at + leaseMs,
        ...(urgentAt[i] !== undefined ? { urgentAt: urgentAt[i] } : {}),
      },
      opts: head(mints) ? HEAD_JOB_OPTIONS : JOB_OPTIONS,
    }));
    try {
      await queues[lane].addBulk(batch);
    } catch (err) {
      unqueued[lane].push(...groups.flat());
      throw err;
    }
    return batch.length;
  }

  /**
   * Jobs per lane not done yet: waiting, and taken (active with a live worker, under a binding
   * budget waiting for a permit: jobsTakenByLiveWorkers; or delayed because a worker's breaker or
   * Redis said "not now": they come back with their tokens); and, under SCHEDULING=value, the
   * earliest time one of cold's was to start at the latest (BatchJob.urgentAt; null for none: only
   * cold's is read, as only the claim's cold queue lateness uses it).
   */
  async function queuedJobs(
    workers: Promise<readonly WorkerHeartbeat[]>,
    value: boolean,
  ): Promise<Record<Lane, QueuedJobs>> {
    const [counts, coldUrgentAt, live] = await Promise.all([
      Promise.all(LANES.map((l) => queues[l].getJobCounts("wait", "active", "delayed"))),
      value ? earliestQueuedUrgentAt(redis, queues.cold) : null,
      workers,
    ]);
    return perLane((l) => {
      const n = counts[LANES.indexOf(l)];
      return {
        waiting: n?.wait ?? 0,
        taken: jobsTakenByLiveWorkers(n?.active ?? 0, live, l) + (n?.delayed ?? 0),
        urgentAt: l === "cold" ? coldUrgentAt : null,
      };
    });
  }

  /**
   * What a leader's tick reads before it claims, all at once and without writing: the live workers
   * (every heartbeat whose key lives, whatever interval its worker beats at: a live worker read as
   * dead would have its jobs handed back, lost-jobs.ts, and not counted as taken), the export
   * document, the schedules, the queues and the batch sizers' state.
   */
  async function readTick(at: number, c: Config) {
    const fleet = liveWorkers(redis, prefix, at, heartbeatIndexWindowMs(c.controllerIntervalMs));
    const [workers, doc, view, queued, sizer] = await Promise.all([
      fleet,
      readExportDocument(),
      store.scheduleView(at, TOP_CLASS_SIZE),
      queuedJobs(fleet, schedulingMode(c) === "value"),
      Promise.all(LANES.map(sizerState)),
    ]);
    return { workers, doc, view, queued, sizer: perLane((l) => sizer[LANES.indexOf(l)]!) };
  }

  // A tick waits on three steps in a row (each a round trip or two to Redis, and each waits behind
  // the workers' commits on a busy one): the lead and the config, with everything the claim reads
  // beside them for a leader; the claim; each lane's enqueue. The bookkeeping (call shares, purge,
  // pressure, lost jobs, sizer state) goes beside the last two. What was claimed is handed over
  // whatever else fails: a lane's failed enqueue returns its tokens (returnUnqueued), and one
  // lane's failure keeps nothing from the other.
  async function tick(): Promise<TickResult> {
    const before = config();
    const readAt = now();
    const [, , leader, early] = await Promise.all([
      live.refresh().catch(() => false),
      returnUnqueued(readAt),
      lock.acquireOrRenew(),
      // a leader reads beside its renewal (writing nothing: a lead lost meanwhile reads in vain);
      // a failed read is tried again below, once the lead is known
      leading ? readTick(readAt, before).catch(() => null) : null,
    ]);
    const c = config();
    if (leader !== leading) {
      leading = leader;
      logger.info(
        { event: EVENTS.leadership, leader },
        leader ? "took the producer lead" : "lost the producer lead",
      );
    }
    const claimed = { hot: 0, cold: 0 };
    const jobs = { hot: 0, cold: 0 };
    const batchSize = { hot: sizers.hot?.size ?? 0, cold: sizers.cold?.size ?? 0 };
    if (!leader) {
      subTick = false;
      lost.reset();
      return { leader, claimed, jobs, batchSize, more: false };
    }
    const value = schedulingMode(c) === "value";
    // a new leader reads once it knows it leads, and a tick whose config changed meanwhile (by
    // broadcast or refresh) reads again under the new one: a change applies from the tick it lands in
    const { workers, doc, view, queued, sizer } = early && c === before ? early : await readTick(readAt, c);
    const at = now();
    const exportedSet = await applyExports(doc, at, c, value);
    for (const l of LANES)
      batchSize[l] = decideBatchSize(l, sizer[l], workers, queued[l].waiting, view.lanes[l].dueNow);

    const top = new Set(view.top);
    // a lane's claimed jobs go to its queue; their mint slots per class are counted beside (a lane
    // whose enqueue fails has its tokens counted again when they are claimed again)
    const handOver = async (
      lane: Lane,
      groups: string[][],
      urgentAt?: ReadonlyArray<number | undefined>,
      own?: ReadonlyMap<string, Lane>,
    ) => {
      if (groups.length === 0) return;
      const mints = groups.flat();
      claimed[lane] = mints.length;
      const [sent, counted] = await Promise.allSettled([
        enqueue(
          lane,
          at,
          c.leaseMs,
          groups,
          urgentAt,
          (mints) => value && mints.some((m) => exportedSet.has(m)),
        ),
        countClasses(at, lane, mints, exportedSet, top, own),
      ]);
      if (sent.status === "rejected") throw sent.reason;
      jobs[lane] = sent.value;
      if (counted.status === "rejected") throw counted.reason;
    };
    const claim = async () => {
      if (value) {
        // jobs of whole calls: the claim counts what waits and what fits in the jobs packCalls makes
        const jobSize = perLane((l) => wholeCallGroup(batchSize[l]));
        const { got, urgentUntil } = await claimByValue(at, c, view, queued, jobSize);
        await settled(
          LANES.map((l) => {
            // another lane's tokens (cold ones completing hot's last call) go last
            const ownTokens = got[l].filter((t) => t.lane === l);
            const carried = got[l].filter((t) => t.lane !== l);
            const groups = packCalls(ownTokens, batchSize[l], urgentUntil[l], carried);
            // each job says when it must start (its earliest deadline less the claim's lead): a
            // cold one past it takes the budget as hot does (takesAs)
            return handOver(
              l,
              groups,
              groupDeadlines(groups, got[l], urgentUntil[l] - at),
              new Map(carried.map((t) => [t.mint, t.lane])),
            );
          }),
        );
        return;
      }
      // SCHEDULING=lanes: each lane claims its due tokens, as it always has.
      await settled(
        LANES.map(async (lane) => {
          // Backpressure: claim only what the queue can absorb, so tokens wait in the schedule (where
          // their staleness is visible) rather than as leased jobs that might outlive their lease.
          const size = batchSize[lane];
          const room = c.maxQueuedJobs - queued[lane].waiting;
          if (room <= 0) return;
          // Full upstream calls: a few due tokens wait up to half the due margin for company, and the
          // last call is topped up with tokens due within the margin (legacy calls carry one mint).
          const fill = lanePolicies(c)[lane].mintsPerCall;
          const mints = await store.claimDue(lane, at, c.leaseMs, Math.min(room * size, MAX_CLAIM_PER_TICK), {
            ms: c.dueMarginMs,
            fill,
            holdMs: c.dueMarginMs / 2,
          });
          const groups: string[][] = [];
          for (let i = 0; i < mints.length; i += size) groups.push(mints.slice(i, i + size));
          await handOver(lane, groups);
        }),
      );
    };
    await settled([
      claim(),
      purgeArchived(at),
      // the pressure steps once a tick interval, not again in the ticks that go on with a cut claim
      value && !subTick ? updatePressure(c, view) : Promise.resolve(),
      lost.sweep(at, c, workers),
      persistSizers(),
    ]);
    if (claimed.hot + claimed.cold > 0)
      logger.debug({ event: EVENTS.producerTick, claimed, jobs }, "enqueued");
    // a claim within a call of the cap stopped there: the rest goes in the next tick, at once
    const more = LANES.some((l) => claimed[l] > MAX_CLAIM_PER_TICK - lanePolicies(c)[l].mintsPerCall);
    subTick = more;
    return { leader, claimed, jobs, batchSize, more };
  }

  return {
    tick,
    live,
    queues,
    store,
    /** Ticks until the signal aborts, then releases the lead so another producer takes over at once. */
    async run(signal: AbortSignal): Promise<void> {
      await live.start();
      let more = false;
      await runLoop(
        async () => {
          more = false;
          more = (await tick()).more;
        },
        {
          intervalMs: () => (more ? 0 : config().producerTickMs),
          signal,
          onError: (err) =>
            logger.error({ event: EVENTS.producerTick, err: String(err) }, "producer tick failed"),
        },
      );
      await returnUnqueued(now()).catch(() => undefined);
      if (leading) await lock.release().catch(() => undefined);
    },
    async close(): Promise<void> {
      await Promise.all(LANES.map((l) => queues[l].close()));
      await live.stop();
      await redis.quit().catch(() => undefined);
    },
  };
}
