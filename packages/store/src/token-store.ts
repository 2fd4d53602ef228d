import type { Redis } from "@moonfleet/queues";
import {
  LANE_STATUS,
  LANES,
  MINTS_PER_CALL,
  TOKEN_STATUSES,
  perLane,
  redisKeys,
  type ClaimLimits,
  type ClaimTier,
  type PerLane,
  type TokenSource,
  type Lane,
  type RedisKeys,
  type TokenStatus,
} from "@moonfleet/domain";
import {
  CLAIM_DUE,
  CLAIM_PLAN,
  COMMIT,
  EXPEDITE,
  LOAD,
  PAGE_FILTERED,
  REGISTER,
  RELEASE_FAILED,
  RELEASE_LEASED,
  TOKEN_FIELDS,
} from "./scripts.js";
import { Script } from "@moonfleet/queues";
import { COMPONENT_NAMES, type Components } from "@moonfleet/scoring";
import {
  previousScoringOf,
  type HistoryEntry,
  type ListQuery,
  type NewToken,
  type PreviousScoring,
  type Snapshot,
  type TokenListItem,
  type TokenRecord,
  type TokenUpdate,
} from "./types.js";

/**
 * History entries kept per token: what `GET /tokens/:mint` serves and the dashboard's sparkline
 * draws. Every entry costs ~100 bytes per token in Redis, so keeping more than is ever read (it was
 * 120) made Redis grow for an hour after start (120 cold fetches at a 30 s TTL) to ~12 kB a token.
 */
export const HISTORY_LENGTH = 20;

const numOrNull = (v: string | null | undefined): number | null => {
  if (v === undefined || v === null || v === "" || v === "null") return null;
  const n = Number(v);
  return Number.isFinite(n) && n !== 0 ? n : null;
};

const FIELD_COUNT = TOKEN_FIELDS.length;

/** The record of the TOKEN_FIELDS values that start at `at` (LOAD's answer), null when not registered. */
function toRecord(v: ReadonlyArray<string | null>, at: number): TokenRecord | null {
  const [
    mint,
    name,
    symbol,
    status,
    createdAt,
    registeredAt,
    lastUpdatedAt,
    fetchedAt,
    lastGoodScoreAt,
    activeSince,
    source,
  ] = TOKEN_FIELDS.map((_, j) => v[at + j] ?? undefined);
  if (!mint || !status) return null;
  return {
    mint,
    name: name || null,
    symbol: symbol || null,
    status: status as TokenStatus,
    createdAt: Number(createdAt),
    registeredAt: Number(registeredAt),
    lastUpdatedAt: Number(lastUpdatedAt),
    fetchedAt: numOrNull(fetchedAt),
    lastGoodScoreAt: numOrNull(lastGoodScoreAt),
    activeSince: numOrNull(activeSince),
    // Tokens registered before sources were recorded came through the API.
    source: source === "pumpportal" ? "pumpportal" : "api",
  };
}

/** exec() resolves with each command's error in its slot: a failed read must not look like "none". */
async function execOrThrow(p: ReturnType<Redis["pipeline"]>): Promise<Array<[Error | null, unknown]>> {
  const res = (await p.exec()) ?? [];
  const failed = res.find(([err]) => err)?.[0];
  if (failed) throw failed;
  return res;
}

const parseSnapshot = (raw: string | null | undefined): Snapshot | null =>
  raw ? (JSON.parse(raw) as Snapshot) : null;

/**
 * A PreviousScoring as its scoring key holds it: a JSON array in a fixed order (fetchedAt, score,
 * smoothedScore, pairCount, volatility or null, then the smoothed components in COMPONENT_NAMES
 * order), ~150 bytes where the same as an object took ~260.
 */
export function encodePrevious(p: PreviousScoring): string {
  return JSON.stringify([
    p.fetchedAt,
    p.score,
    p.smoothedScore,
    p.pairCount,
    p.volatility ?? null,
    ...COMPONENT_NAMES.map((c) => p.smoothed[c]),
  ]);
}

/** LOAD's scoring slot: encodePrevious's array, or a whole snapshot stored before those were kept. */
export function decodePrevious(raw: string | null | undefined): PreviousScoring | null {
  if (!raw) return null;
  const v = JSON.parse(raw) as unknown;
  if (!Array.isArray(v)) return previousScoringOf(v as Snapshot);
  const [fetchedAt, score, smoothedScore, pairCount, volatility, ...parts] = v as Array<number | null>;
  const smoothed = {} as Components;
  COMPONENT_NAMES.forEach((c, i) => (smoothed[c] = parts[i] ?? 0));
  return {
    fetchedAt: fetchedAt ?? 0,
    score: score ?? 0,
    smoothedScore: smoothedScore ?? 0,
    smoothed,
    ...(volatility !== null && volatility !== undefined ? { volatility } : {}),
    pairCount: pairCount ?? 0,
  };
}

/**
 * LOAD's answer per mint: its record (TOKEN_FIELDS each, in turn) and its slot after the records
 * (the snapshot, or for scoring the scoring state), read by `row`; null for an unknown mint.
 */
function loadedRows<T>(
  mints: readonly string[],
  flat: ReadonlyArray<string | number | null>,
  row: (token: TokenRecord, raw: string | null) => T,
): Array<T | null> {
  const slotsAt = mints.length * FIELD_COUNT;
  return mints.map((_, i) => {
    const token = toRecord(flat as Array<string | null>, i * FIELD_COUNT);
    return token ? row(token, flat[slotsAt + i] as string | null) : null;
  });
}

const loadScript = new Script(LOAD);
const commitScript = new Script(COMMIT);
const claimPlanScript = new Script(CLAIM_PLAN);
const expediteScript = new Script(EXPEDITE);
const releaseLeasedScript = new Script(RELEASE_LEASED);
const releaseFailedScript = new Script(RELEASE_FAILED);

/** A hand-back script's token arguments: mint, then the lease end its claim gave it. */
const leaseArgs = (tokens: ReadonlyArray<{ mint: string; leaseUntil: number }>): string[] =>
  tokens.flatMap((t) => [t.mint, String(t.leaseUntil)]);

/** Tokens one COMMIT call writes at most: one upstream call's worth (~1.5-2.5 ms of Redis). */
export const COMMIT_CHUNK = MINTS_PER_CALL;

/** The value scheduler's shared state: pressure per lane and the exported mints. */
export interface ScheduleContext {
  pressure: Record<Lane, number>;
  exported: Set<string>;
}

/** A lane's schedules as the producer's tick reads them (scheduleView). */
export interface LaneScheduleView {
  readonly scheduled: number;
  readonly dueNow: number;
  readonly dueLatenessMs: number;
  readonly deadlineLatenessMs: number;
}

export interface ScheduleView {
  readonly lanes: Record<Lane, LaneScheduleView>;
  readonly top: string[];
}

/**
 * A token a value claim took, under the lane whose jobs carry it: its value and deadline (0 unless
 * the claim read them) and its own lane (where it is scheduled; another than the carrying one for
 * cold tokens that complete a hot call).
 */
export interface ClaimedMint {
  readonly mint: string;
  readonly value: number;
  readonly deadlineAt: number;
  readonly lane: Lane;
}

/** The token registry, due schedules, snapshots, history and list indexes, in Redis. */
export class TokenStore {
  readonly keys: RedisKeys;

  constructor(
    private readonly redis: Redis,
    prefix: string,
  ) {
    this.keys = redisKeys(prefix);
  }

  /**
   * Adds new tokens as `monitoring`, due now in the cold lane. Existing mints are left as they are;
   * with `honourDeletes` (discovery), so are mints an operator deleted within DELETED_HOLD_MS.
   */
  async register(
    tokens: readonly NewToken[],
    now: number,
    opts: { source?: TokenSource; honourDeletes?: boolean } = {},
  ): Promise<{ added: string[]; existing: string[]; deleted: string[] }> {
    const k = this.keys;
    const added: string[] = [];
    const existing: string[] = [];
    const deleted: string[] = [];
    const source = opts.source ?? "api";
    // Chunks keep one script call from holding Redis for long.
    for (let i = 0; i < tokens.length; i += 500) {
      const chunk = tokens.slice(i, i + 500);
      const args = chunk.flatMap((t) => [
        t.mint,
        t.name ?? "",
        t.symbol ?? "",
        String(t.createdAt ?? now),
        source,
      ]);
      const out = (await this.redis.eval(
        REGISTER,
        7,
        k.registry,
        k.due("cold"),
        k.byScore("all"),
        k.byScore("monitoring"),
        k.byUpdated("all"),
        k.byUpdated("monitoring"),
        k.deadline("cold"),
        k.root,
        String(now),
        opts.honourDeletes ? "1" : "0",
        ...args,
      )) as number[];
      chunk.forEach((t, j) => (out[j] === 1 ? added : out[j] === 2 ? deleted : existing).push(t.mint));
    }
    return { added, existing, deleted };
  }

  /**
   * Removes a token and everything stored about it. Returns false when it was not registered.
   * `holdMs` (an operator's delete) keeps discovery from registering it again for that long.
   */
  async remove(mint: string, opts: { holdMs?: number } = {}): Promise<boolean> {
    const k = this.keys;
    const tx = this.redis.multi().del(k.token(mint), k.snapshot(mint), k.scoring(mint), k.history(mint));
    if (opts.holdMs) tx.set(k.deleted(mint), "1", "PX", opts.holdMs);
    tx.zrem(k.registry, mint);
    for (const lane of LANES) tx.zrem(k.due(lane), mint).zrem(k.deadline(lane), mint);
    for (const s of [...TOKEN_STATUSES, "all"] as const)
      tx.zrem(k.byScore(s), mint).zrem(k.byUpdated(s), mint);
    const res = await tx.exec();
    return Number(res?.[0]?.[1] ?? 0) > 0;
  }

  /**
   * Atomically takes up to `max` due tokens of a lane and pushes each one lease ahead. With `fill`,
   * fewer than `fill` due tokens wait up to `holdMs` for company, and tokens due within `ms` top
   * the claim up to a multiple of `fill` (a full upstream call).
   */
  async claimDue(
    lane: Lane,
    now: number,
    leaseMs: number,
    max: number,
    lookahead: { ms: number; fill: number; holdMs: number } = { ms: 0, fill: 1, holdMs: 0 },
  ): Promise<string[]> {
    return (await this.redis.eval(
      CLAIM_DUE,
      1,
      this.keys.due(lane),
      String(now),
      String(leaseMs),
      String(max),
      String(lookahead.ms),
      String(Math.max(1, lookahead.fill)),
      String(lookahead.holdMs),
    )) as string[];
  }

  /** Tokens of a lane due at or before `now` (not yet claimed). */
  async countDue(lane: Lane, now: number): Promise<number> {
    return this.redis.zcount(this.keys.due(lane), "-inf", now);
  }

  /**
   * Deletes up to `max` archived tokens whose archiving (their last fetch) is older than `before`,
   * with their snapshot, history and indexes. Returns the mints deleted.
   */
  async purgeArchived(before: number, max: number): Promise<string[]> {
    const mints = await this.redis.zrangebyscore(
      this.keys.byUpdated("archived"),
      "-inf",
      before,
      "LIMIT",
      0,
      max,
    );
    for (const mint of mints) await this.remove(mint);
    return mints;
  }

  /**
   * Makes tokens due at `dueAt` in the lane that schedules each, if one still does (a failed fetch):
   * their deadline too, so the value scheduler takes them back then, before tokens that were
   * refreshed. A job may carry another lane's tokens (cold ones completing a hot call), so each
   * lane's schedules are updated where they hold the token (XX) and no token joins a second lane.
   */
  async reschedule(mints: readonly string[], dueAt: number): Promise<void> {
    if (mints.length === 0) return;
    const pairs = mints.flatMap((m) => [dueAt, m]);
    const tx = this.redis.multi();
    for (const lane of LANES)
      tx.zadd(this.keys.due(lane), "XX", ...pairs).zadd(this.keys.deadline(lane), "XX", ...pairs);
    await tx.exec();
  }

  /**
   * The value scheduler's claim of one tick (CLAIM_PLAN): the steps in order, each taking at most
   * stepMax tokens of its lane's tier: `urgent` tokens whose deadline is within the lane's `leadMs`,
   * `exported` the exported set's tokens (as the producer published it) due within `lookaheadMs`, `wanted`
   * the due ones (topped up from the next `lookaheadMs` to whole calls), `early` the earliest
   * deadlines ahead. Each is due again one lease ahead, its deadline the lane's `leaseDeadlineMs`
   * after that (behind every real one). One call to Redis for the whole tick.
   */
  async claimPlan(
    steps: readonly ClaimTier[],
    limits: ClaimLimits,
    o: {
      now: number;
      leaseMs: number;
      /** How far ahead of its deadline a token is urgent, ms, per lane (urgentLeadMs). */
      leadMs: PerLane<number>;
      lookaheadMs: number;
      /** Read each token's value and deadline for the packing (else 0). */
      withValues: boolean;
      /** How far past the lease a claimed token's deadline goes, ms, per lane. */
      leaseDeadlineMs: PerLane<number>;
    },
  ): Promise<Record<Lane, ClaimedMint[]>> {
    const out = perLane(() => [] as ClaimedMint[]);
    if (steps.length === 0) return out;
    const whole = (n: number) => String(Math.max(0, Math.floor(n)));
    const flat = (await claimPlanScript.run(this.redis, LANES.length * 2 + 1, [
      ...this.laneSchedules(),
      this.keys.scheduleExported,
      this.keys.root,
      String(o.now),
      String(o.leaseMs),
      String(o.lookaheadMs),
      o.withValues ? "1" : "0",
      String(Math.floor(limits.budget)),
      whole(limits.hotFirst),
      whole(limits.hotPasses),
      limits.hotYields ? "1" : "0",
      ...LANES.flatMap((l) => [
        whole(limits.room[l]),
        whole(Math.max(1, limits.fill[l])),
        String(o.leaseDeadlineMs[l]),
        String(o.leadMs[l]),
      ]),
      ...steps.flatMap((s) => [
        String(LANES.indexOf(s.lane) + 1),
        s.tier,
        s.hotFirst ? "1" : "0",
        s.topUp ? "1" : "0",
        String(LANES.indexOf(s.into ?? s.lane) + 1),
      ]),
    ])) as string[][];
    LANES.forEach((lane, i) => {
      const got = flat[i] ?? [];
      for (let j = 0; j + 3 < got.length; j += 4)
        out[lane].push({
          mint: got[j]!,
          value: Number(got[j + 1]) || 0,
          deadlineAt: Number(got[j + 2]),
          lane: LANES[Number(got[j + 3]) - 1] ?? lane,
        });
    });
    return out;
  }

  /**
   * Hands back the tokens of a job a dead worker held, if the job is still in `job.activeKey` with
   * the lock `job.lock` as read (null: none) at `job.lockKey`: each token still due at
   * `leaseUntil` (its job's lease: not fetched, not claimed again since) is due now, its deadline
   * now, so the next claim takes it first instead of a lease later, in whichever lane schedules it
   * (a job may carry another lane's tokens). Returns how many were handed back.
   */
  async releaseLeased(
    job: {
      readonly id: string;
      readonly activeKey: string;
      readonly lockKey: string;
      readonly lock: string | null;
    },
    tokens: ReadonlyArray<{ mint: string; leaseUntil: number }>,
    now: number,
  ): Promise<number> {
    if (tokens.length === 0) return 0;
    const n = await releaseLeasedScript.run(this.redis, 2 + 2 * LANES.length, [
      job.activeKey,
      job.lockKey,
      ...this.laneSchedules(),
      String(Math.round(now)),
      job.id,
      job.lock ?? "",
      ...leaseArgs(tokens),
    ]);
    return Number(n) || 0;
  }

  /** Each lane's due zset then its deadline zset, as the hand-back and claim scripts take them. */
  private laneSchedules(): string[] {
    return LANES.flatMap((l) => [this.keys.due(l), this.keys.deadline(l)]);
  }

  /**
   * Hands back the tokens of a job whose last attempt failed (it never runs again): each token
   * still due at `leaseUntil` is due now, its deadline now, as releaseLeased does for a dead
   * worker's job. Without it they wait out their lease (LEASE_MS). Returns how many were handed back.
   */
  async releaseFailed(
    tokens: ReadonlyArray<{ mint: string; leaseUntil: number }>,
    now: number,
  ): Promise<number> {
    if (tokens.length === 0) return 0;
    const n = await releaseFailedScript.run(this.redis, 2 * LANES.length, [
      ...this.laneSchedules(),
      String(Math.round(now)),
      ...leaseArgs(tokens),
    ]);
    return Number(n) || 0;
  }

  /**
   * Pulls tokens' due time and deadline in to at most `at` each (tokens that just entered the
   * exports), if they are still scheduled in the lane and not in flight: a claimed token's deadline
   * sits at or past `inFlightFrom` (a floor ahead), and pulling it in would fetch it twice.
   */
  async expedite(
    lane: Lane,
    tokens: ReadonlyArray<{ mint: string; at: number }>,
    inFlightFrom: number,
  ): Promise<void> {
    if (tokens.length === 0) return;
    await expediteScript.run(this.redis, 2, [
      this.keys.due(lane),
      this.keys.deadline(lane),
      String(inFlightFrom),
      ...tokens.flatMap((t) => [t.mint, String(Math.round(t.at))]),
    ]);
  }

  /**
   * The schedules as a producer tick reads them, in one round trip: per lane how many tokens it
   * schedules (each non-archived token is in one lane's schedule), how many are due now, how long the
   * oldest due token has waited and how far past its deadline the most overdue one is (ms, 0 when
   * none); and the top `top` mints by score.
   */
  async scheduleView(now: number, top: number): Promise<ScheduleView> {
    const k = this.keys;
    const p = this.redis.pipeline();
    for (const l of LANES)
      p.zcard(k.due(l))
        .zcount(k.due(l), "-inf", now)
        .zrange(k.due(l), 0, 0, "WITHSCORES")
        .zrange(k.deadline(l), 0, 0, "WITHSCORES");
    p.zrevrangebyscore(k.byScore("all"), "+inf", "(-inf", "LIMIT", 0, top);
    const res = (await execOrThrow(p)).map(([, v]) => v);
    const late = (v: unknown) => {
      const score = (v as string[])[1];
      return score === undefined ? 0 : Math.max(0, now - Number(score));
    };
    const lanes = perLane((l) => {
      const at = LANES.indexOf(l) * 4;
      return {
        scheduled: Number(res[at]),
        dueNow: Number(res[at + 1]),
        dueLatenessMs: late(res[at + 2]),
        deadlineLatenessMs: late(res[at + 3]),
      };
    });
    return { lanes, top: res[LANES.length * 4] as string[] };
  }

  /** The value scheduler's shared state: pressure per lane and the exported mints. */
  async scheduleContext(): Promise<ScheduleContext> {
    const k = this.keys;
    const res = await execOrThrow(
      this.redis.pipeline().hgetall(k.schedulePressure).smembers(k.scheduleExported),
    );
    const raw = (res[0]?.[1] ?? {}) as Record<string, string>;
    const pressure = { hot: 1, cold: 1 };
    for (const lane of LANES) pressure[lane] = Number(raw[lane]) || 1;
    return { pressure, exported: new Set((res[1]?.[1] ?? []) as string[]) };
  }

  /** Whether any of these mints is exported now (as the producer last published the exports). */
  async anyExported(mints: readonly string[]): Promise<boolean> {
    if (mints.length === 0) return false;
    const member = await this.redis.smismember(this.keys.scheduleExported, ...mints);
    return member.some((m) => m === 1);
  }

  /** Stores the pressure per lane and, when it changed, the exported mints. */
  async publishSchedule(pressure: Record<Lane, number>, exported: readonly string[] | null): Promise<void> {
    const k = this.keys;
    const tx = this.redis.multi().hset(k.schedulePressure, pressure);
    if (exported) {
      tx.del(k.scheduleExported);
      if (exported.length > 0) tx.sadd(k.scheduleExported, ...exported);
    }
    await tx.exec();
  }

  /** Counts claimed mint slots per token class in this clock minute's bucket (kept 3 minutes). */
  async countClassSlots(now: number, slots: Readonly<Record<string, number>>): Promise<void> {
    const entries = Object.entries(slots).filter(([, n]) => n > 0);
    if (entries.length === 0) return;
    const key = this.keys.classSlots(Math.floor(now / 60_000));
    const tx = this.redis.multi();
    for (const [cls, n] of entries) tx.hincrby(key, cls, n);
    await tx.expire(key, 180).exec();
  }

  /**
   * Mint slots per class over the last 60 s: the current minute's bucket plus the previous one's
   * share of the window still inside it.
   */
  async classSlots(now: number): Promise<Record<string, number>> {
    const minute = Math.floor(now / 60_000);
    const [cur, prev] = await Promise.all([
      this.redis.hgetall(this.keys.classSlots(minute)),
      this.redis.hgetall(this.keys.classSlots(minute - 1)),
    ]);
    const prevWeight = 1 - (now % 60_000) / 60_000;
    const out: Record<string, number> = {};
    for (const [cls, n] of Object.entries(cur)) out[cls] = (out[cls] ?? 0) + Number(n);
    for (const [cls, n] of Object.entries(prev)) out[cls] = (out[cls] ?? 0) + Number(n) * prevWeight;
    return out;
  }

  /** Fetch times of many mints (null when never fetched), from the updated index. */
  async fetchedAt(mints: readonly string[]): Promise<Array<number | null>> {
    if (mints.length === 0) return [];
    const res = await this.redis.zmscore(this.keys.byUpdated("all"), ...mints);
    return res.map((v) => (v === null || Number(v) === 0 ? null : Number(v)));
  }

  /** The top `n` mints by smoothed score (any status but archived is not filtered: callers do). */
  async topByScore(n: number): Promise<string[]> {
    return this.redis.zrevrangebyscore(this.keys.byScore("all"), "+inf", "(-inf", "LIMIT", 0, n);
  }

  /** Token records and latest snapshots of many mints in one command; null for unknown mints. */
  async load(
    mints: readonly string[],
  ): Promise<Array<{ token: TokenRecord; snapshot: Snapshot | null } | null>> {
    if (mints.length === 0) return [];
    return loadedRows(mints, await this.readBatch(mints, false), (token, raw) => ({
      token,
      snapshot: parseSnapshot(raw),
    }));
  }

  /**
   * What a worker needs to score a batch, in one command: the token records, what each one's last
   * scoring left for the next (PreviousScoring, not the whole snapshot), and the value scheduler's
   * context (scheduleContext) as it stands, its exported set cut to these mints.
   */
  async loadForScoring(mints: readonly string[]): Promise<{
    loaded: Array<{ token: TokenRecord; previous: PreviousScoring | null } | null>;
    context: ScheduleContext;
  }> {
    const flat = await this.readBatch(mints, true);
    const loaded = loadedRows(mints, flat, (token, raw) => ({ token, previous: decodePrevious(raw) }));
    // the context follows the records and the slots
    const pressureAt = mints.length * (FIELD_COUNT + 1);
    const pressure = { hot: 1, cold: 1 };
    LANES.forEach((lane, j) => (pressure[lane] = Number(flat[pressureAt + j]) || 1));
    const exportedAt = pressureAt + LANES.length;
    const exported = new Set(mints.filter((_, i) => flat[exportedAt + i] === 1));
    return { loaded, context: { pressure, exported } };
  }

  /** LOAD's answer: TOKEN_FIELDS per mint, then per mint its snapshot (or scoring state), then the context. */
  private async readBatch(mints: readonly string[], forScoring: boolean) {
    const k = this.keys;
    return (await loadScript.run(this.redis, 3, [
      k.registry,
      k.schedulePressure,
      k.scheduleExported,
      k.root,
      forScoring ? "1" : "0",
      ...mints,
    ])) as Array<string | number | null>;
  }

  /**
   * Writes scored tokens: snapshot, history, status, indexes and the next due time, each token
   * atomically, COMMIT_CHUNK tokens a script call, one call after the other. A job of 150 tokens
   * in one call held Redis for ~7 ms, and every other client (the producer's claim, a heartbeat, a
   * lock renewal) waited behind it; in chunks they wait behind one chunk at most.
   */
  async commit(updates: readonly TokenUpdate[]): Promise<number> {
    let written = 0;
    for (let i = 0; i < updates.length; i += COMMIT_CHUNK)
      written += await this.commitChunk(updates.slice(i, i + COMMIT_CHUNK));
    return written;
  }

  private async commitChunk(updates: readonly TokenUpdate[]): Promise<number> {
    const args: string[] = [];
    for (const u of updates) {
      const s = u.snapshot;
      const hist: HistoryEntry = {
        t: s.fetchedAt,
        score: s.score,
        smoothedScore: s.smoothedScore,
        status: s.status,
        liquidityUsd: Math.round(s.metrics.liquidityUsd),
        tx5m: s.metrics.tx5m,
      };
      args.push(
        s.mint,
        String(s.fetchedAt),
        s.status,
        s.lane ?? "",
        String(Math.round(u.dueAt)),
        String(s.smoothedScore),
        JSON.stringify(s),
        JSON.stringify(hist),
        s.name ?? "",
        s.symbol ?? "",
        String(u.lastGoodScoreAt ?? 0),
        String(u.activeSince ?? 0),
        s.band,
        String(Math.round(u.deadlineAt ?? u.dueAt)),
        String(u.value ?? 0),
        encodePrevious(previousScoringOf(s)),
      );
    }
    return (await commitScript.run(this.redis, 1, [
      this.keys.events,
      this.keys.root,
      String(HISTORY_LENGTH),
      ...args,
    ])) as number;
  }

  async get(
    mint: string,
    historyLimit = HISTORY_LENGTH,
  ): Promise<(TokenListItem & { history: HistoryEntry[] }) | null> {
    const [loaded] = await this.load([mint]);
    if (!loaded) return null;
    const raw = await this.redis.lrange(this.keys.history(mint), 0, historyLimit - 1);
    return { ...loaded, history: raw.map((h) => JSON.parse(h) as HistoryEntry) };
  }

  /** One page of tokens from the list indexes; cost follows the page, not the registry. */
  async list(q: ListQuery): Promise<{ total: number; items: TokenListItem[] }> {
    const k = this.keys;
    let filter: TokenStatus | "all" = q.status ?? "all";
    if (q.lane) {
      const laneStatus = LANE_STATUS[q.lane];
      if (q.status && q.status !== laneStatus) return { total: 0, items: [] };
      filter = laneStatus;
    }
    const scoreKey = k.byScore(filter);
    // Unscored tokens sit at -inf: they come last in score_desc; score_asc lists scored tokens only.
    const min = q.minScore !== undefined ? String(q.minScore) : q.sort === "score_asc" ? "(-inf" : "-inf";
    let total: number;
    let mints: string[];
    if (q.sort === "updated_desc") {
      if (q.minScore === undefined) {
        total = await this.redis.zcard(k.byUpdated(filter));
        mints = await this.redis.zrevrange(k.byUpdated(filter), q.offset, q.offset + q.limit - 1);
      } else {
        total = await this.redis.zcount(scoreKey, min, "+inf");
        mints = (await this.redis.eval(
          PAGE_FILTERED,
          2,
          k.byUpdated(filter),
          scoreKey,
          min,
          String(q.offset),
          String(q.limit),
          "1000000",
        )) as string[];
      }
    } else {
      total = await this.redis.zcount(scoreKey, min, "+inf");
      mints =
        q.sort === "score_desc"
          ? await this.redis.zrevrangebyscore(scoreKey, "+inf", min, "LIMIT", q.offset, q.limit)
          : await this.redis.zrangebyscore(scoreKey, min, "+inf", "LIMIT", q.offset, q.limit);
    }
    const loaded = await this.load(mints);
    return { total, items: loaded.filter((x): x is TokenListItem => x !== null) };
  }

  /**
   * Staleness (now - fetchedAt, seconds) of a status's scored tokens: p50, p95, max. Reads three
   * ranks of the updated index, O(log N) each, so it costs the same at 100,000 tokens as at 100.
   */
  async staleness(
    status: TokenStatus,
    now: number,
  ): Promise<{ scored: number; p50: number | null; p95: number | null; max: number | null }> {
    const key = this.keys.byUpdated(status);
    const [total, unscored] = await Promise.all([this.redis.zcard(key), this.redis.zcount(key, 0, 0)]);
    const scored = total - unscored;
    if (scored <= 0) return { scored: 0, p50: null, p95: null, max: null };
    // Oldest first: rank 0 is the stalest; the p95 staleness is the fetchedAt 5% from the old end.
    const at = async (share: number) => {
      const rank = unscored + Math.min(scored - 1, Math.floor(scored * share));
      const [, score] = await this.redis.zrange(key, rank, rank, "WITHSCORES");
      return Math.max(0, Math.round((now - Number(score)) / 100) / 10);
    };
    const [max, p95, p50] = await Promise.all([at(0), at(0.05), at(0.5)]);
    return { scored, p50, p95, max };
  }

  /** Tokens per status and per lane schedule, and how many are due now. */
  async counts(now: number): Promise<{
    registered: number;
    byStatus: Record<TokenStatus, number>;
    due: Record<Lane, { scheduled: number; dueNow: number }>;
  }> {
    const k = this.keys;
    const p = this.redis.pipeline().zcard(k.registry);
    for (const s of TOKEN_STATUSES) p.zcard(k.byScore(s));
    for (const l of LANES) p.zcard(k.due(l)).zcount(k.due(l), "-inf", now);
    const r = (await execOrThrow(p)).map((x) => Number(x[1] ?? 0));
    return {
      registered: r[0] ?? 0,
      byStatus: { monitoring: r[1] ?? 0, active: r[2] ?? 0, archived: r[3] ?? 0 },
      due: {
        hot: { scheduled: r[4] ?? 0, dueNow: r[5] ?? 0 },
        cold: { scheduled: r[6] ?? 0, dueNow: r[7] ?? 0 },
      },
    };
  }
}
