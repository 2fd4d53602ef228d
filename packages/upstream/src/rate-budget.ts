import { luaKey, luaSubKey, redisKeys, type Lane } from "@moonfleet/domain";
import type { Redis } from "ioredis";

// One request budget for the whole fleet: a token bucket in Redis, refilled at
// (RPM - burst) per minute with room for `burst`, so no 60 s window ever holds more than RPM calls.
// The hot lane may take the last token; the cold lane only while more than `hotReserve` are left,
// so when demand exceeds the budget, cold waits and hot keeps its freshness. A call past its
// start-by (`first`: its tokens' deadline is near) that is refused is kept in the budget's `first`
// set until its wait is over (and FIRST_GRACE_MS more, or until it gives up: release): while it
// waits, every other call leaves it the next token, so it does not lose the race for each new token
// to calls that can wait (a cold job at its deadline lost 3-4 of them, ~1 s each at 60 calls a
// minute, to hot calls topped up with later deadlines). Calls past their start-by are served in
// the order they joined the set (its `first:order` zset), a call carrying an exported token with a
// head start (EXPORTED_HEAD_START_MS): each waits for a token per call ahead of it. A 429 pauses
// every taker until Retry-After (never longer than maxPauseMs; nobody is kept first meanwhile) and
// runs the bucket slower for a while. Redis's clock is the only clock.
const TAKE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local rpm, burst, reserve = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local lane, pf, pms = ARGV[4], tonumber(ARGV[5]), tonumber(ARGV[6])
local maxPause = tonumber(ARGV[7])
local id, grace, head = ARGV[8], tonumber(ARGV[9]), tonumber(ARGV[10]) or 0
local firstKey = ${luaSubKey("budgetFirst", "KEYS[1]")}
local orderKey = ${luaSubKey("budgetFirstOrder", "KEYS[1]")}
-- a claim whose wait is over leaves the set; its place in the order goes at the next scan past it
redis.call('ZREMRANGEBYSCORE', firstKey, '-inf', now)
local first = id ~= ''
-- when it asked, to the microsecond (two takes do not share one), less its head start
local order = now + (tonumber(t[2]) % 1000) / 1000 - head
-- a call that can wait leaves a token to each call past its start-by that waits; one past its
-- start-by, to each of those that joined before it (its head start counted)
local ahead = 0
if not first then ahead = redis.call('ZCARD', firstKey)
else
  order = tonumber(redis.call('ZSCORE', orderKey, id)) or order
  local before = redis.call('ZRANGEBYSCORE', orderKey, '-inf', order, 'WITHSCORES')
  for i = 1, #before, 2 do
    local other = before[i]
    -- a tie (none in practice), by id
    if other ~= id and (tonumber(before[i + 1]) < order or other < id) then
      -- one no longer kept first (its claim lapsed, or an older worker's take dropped it) is not waited for
      if redis.call('ZSCORE', firstKey, other) then ahead = ahead + 1
      else redis.call('ZREM', orderKey, other) end
    end
  end
end
if rpm < 1 then return {0, 60000, '0', '0'} end
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts', 'pausedUntil', 'penaltyAt')
local tokens = tonumber(b[1]) or burst
local ts = tonumber(b[2]) or now
local pausedUntil = tonumber(b[3]) or 0
local penaltyAt = tonumber(b[4]) or 0
-- A pause longer than the cap (an older version stored Retry-After as it came) is cut to the cap.
if pausedUntil - now > maxPause then
  pausedUntil = now + maxPause
  redis.call('HSET', KEYS[1], 'pausedUntil', pausedUntil)
end
local factor = 1
if penaltyAt > 0 then
  local since = now - penaltyAt
  if since < pms then factor = pf
  elseif since < 2 * pms then factor = pf + (1 - pf) * (since - pms) / pms end
end
local perMs = math.max(rpm - burst, 1) * factor / 60000
if now > ts then tokens = math.min(burst, tokens + (now - ts) * perMs) end
local granted, wait, kept = 0, 0, 0
if now < pausedUntil then
  wait = pausedUntil - now
else
  local need = 1 + ahead
  if lane == 'cold' then need = need + reserve end
  if tokens >= need then
    tokens = tokens - 1
    granted = 1
    if first then
      redis.call('ZREM', firstKey, id)
      redis.call('ZREM', orderKey, id)
    end
    local used = ${luaKey("budgetUsed", "KEYS[1]", "math.floor(now / 60000)")}
    redis.call('INCR', used)
    redis.call('PEXPIRE', used, 600000)
  else
    -- the bucket holds at most burst: past it, a call that can wait looks again a token later
    local short = math.min(need, burst) - tokens
    if short <= 0 then short = 1 end
    wait = math.ceil(short / perMs)
  end
  if first and granted == 0 then
    kept = 1
    redis.call('ZADD', firstKey, now + wait + grace, id)
    redis.call('ZADD', orderKey, 'NX', order, id)
    local last = tonumber(redis.call('ZRANGE', firstKey, -1, -1, 'WITHSCORES')[2])
    redis.call('PEXPIREAT', firstKey, last + 60000)
    redis.call('PEXPIREAT', orderKey, last + 60000)
  end
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', now)
redis.call('PEXPIRE', KEYS[1], 3600000)
return {granted, wait, tostring(tokens), tostring(factor * (rpm - burst) + burst), kept}
`;

const PENALIZE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local pauseEnd = now + tonumber(ARGV[1])
local current = tonumber(redis.call('HGET', KEYS[1], 'pausedUntil') or '0')
if pauseEnd > current then redis.call('HSET', KEYS[1], 'pausedUntil', pauseEnd) end
redis.call('HSET', KEYS[1], 'penaltyAt', now, 'tokens', '0', 'ts', now)
redis.call('PEXPIRE', KEYS[1], 3600000)
return pauseEnd - now
`;

const USED = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local minute = math.floor(now / 60000)
local b = redis.call('HMGET', KEYS[1], 'pausedUntil', 'penaltyAt')
return {
  tonumber(redis.call('GET', ${luaKey("budgetUsed", "KEYS[1]", "minute")}) or '0'),
  tonumber(redis.call('GET', ${luaKey("budgetUsed", "KEYS[1]", "(minute - 1)")}) or '0'),
  math.min(tonumber(ARGV[1]), math.max(0, (tonumber(b[1]) or 0) - now)),
  now - (now % 60000),
  tonumber(b[2]) or 0,
  now
}
`;

// A call that was kept first and gave up (or was aborted) leaves the first set.
const RELEASE = `
redis.call('ZREM', ${luaSubKey("budgetFirstOrder", "KEYS[1]")}, ARGV[1])
return redis.call('ZREM', ${luaSubKey("budgetFirst", "KEYS[1]")}, ARGV[1])
`;

// Clears a pause and its slower rate in one step, and whoever was kept first; returns what was cleared.
const CLEAR_PAUSE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local b = redis.call('HMGET', KEYS[1], 'pausedUntil', 'penaltyAt')
redis.call('HDEL', KEYS[1], 'pausedUntil', 'penaltyAt')
redis.call('DEL', ${luaSubKey("budgetFirst", "KEYS[1]")}, ${luaSubKey("budgetFirstOrder", "KEYS[1]")})
return {math.max(0, (tonumber(b[1]) or 0) - now), tonumber(b[2]) or 0}
`;

/**
 * The lane a call takes the budget as: its own, except a cold call whose job was to start by now at
 * the latest (`urgentAt`: the value claim sets its tokens' earliest deadline), which takes as hot
 * does, without the reserve kept from cold. Else a cold job at its deadline waits for the bucket to
 * hold more than UPSTREAM_HOT_RESERVE, which it seldom does while hot calls keep coming, and its
 * tokens go past their staleness floor in the queue.
 */
export const takesAs = (lane: Lane, urgentAt: number | undefined, now: number): Lane =>
  lane === "cold" && asksFirst(urgentAt, now) ? "hot" : lane;

/**
 * Whether a call asks the budget first: its start-by (`urgentAt`) has come, in either lane. While
 * it waits, calls that can wait leave it the next token (TAKE's `first` set).
 */
export const asksFirst = (urgentAt: number | undefined, now: number): boolean =>
  urgentAt !== undefined && now >= urgentAt;

/**
 * How long a call the budget refused waits before it asks again: what the budget said, except a
 * call whose start-by comes sooner asks again then, first (asksFirst) and, in the cold lane, as hot
 * (takesAs). It would otherwise sleep through the moment the reserve stops holding it back and the
 * others start leaving it the next token, or, when the budget's wait is longer than
 * UPSTREAM_MAX_WAIT_MS, give up and hold its lane's queue (a cold job 3.2 s from a permit stopped
 * cold's queue each time while its start-by was nearer).
 */
export function permitWaitMs(urgentAt: number | undefined, now: number, waitMs: number): number {
  const promotedLater = urgentAt !== undefined && !asksFirst(urgentAt, now);
  return promotedLater ? Math.min(waitMs, Math.max(1, urgentAt - now)) : waitMs;
}

/**
 * How long past its wait a refused call past its start-by keeps its claim on the next token: long
 * enough for it to wake and ask again on a busy worker, short enough that a call that gave up
 * (UPSTREAM_MAX_WAIT_MS) or a worker that died holds back the others only briefly.
 */
export const FIRST_GRACE_MS = 1_000;

/**
 * How far ahead of the calls past their start-by that joined before it a call carrying an exported
 * token queues for its permit, ms. Past its start-by an exported token has ~2.5 s left of its
 * guarantee (EXPORT_REFRESH_S, 5 s by default, less the slack and the due margin), a cold one ~14 s
 * of its floor (4 x its TTL), so the exported call goes ahead, but not of a cold call that has
 * waited 5 s longer. Without it an exported call took its turn among cold calls at their deadline
 * (~1 s at 4 calls a second), and a hedge beside a hung one up to 3.6 s.
 */
export const EXPORTED_HEAD_START_MS = 5_000;

/** The longest pause a Retry-After can impose when the settings name none. */
export const DEFAULT_MAX_PAUSE_MS = 120_000;

export interface BudgetSettings {
  readonly rpm: number;
  readonly burst: number;
  readonly hotReserve: number;
  readonly penaltyFactor: number;
  readonly penaltyMs: number;
  /** Bound on any pause, whatever Retry-After the upstream sent (default DEFAULT_MAX_PAUSE_MS). */
  readonly maxPauseMs?: number;
}

export type Take =
  | { readonly granted: true }
  | {
      readonly granted: false;
      readonly waitMs: number;
      /** Kept in the line of calls past their start-by (not during a pause): its place holds while it asks again. */
      readonly queued: boolean;
    };

export interface BudgetUse {
  /** Calls granted in the current and the previous clock minute. */
  readonly thisMinute: number;
  readonly lastMinute: number;
  /** Set after a 429: every taker waits this long. */
  readonly pausedForMs: number;
  /** When the last 429 penalty began (epoch ms, 0 for never). */
  readonly penaltyAt: number;
}

/** The settings the fleet's budget follows, by their config names (Config has them all). */
export interface FleetBudgetConfig {
  readonly upstreamBudgetKey: string;
  readonly upstreamRpm: number;
  readonly upstreamBurst: number;
  readonly upstreamHotReserve: number;
  readonly upstreamPenaltyFactor: number;
  readonly upstreamPenaltyMs: number;
  readonly upstreamMaxPauseMs: number;
  readonly upstreamFallbackShare: number;
}

/** What penalize() did: the pause it set and whether Retry-After was cut to the cap. */
export interface Penalty {
  readonly pausedForMs: number;
  readonly capped: boolean;
}

export class RateBudget {
  /**
   * The one budget of a fleet: the bucket `<keyRoot>:budget:<UPSTREAM_BUDGET_KEY>`, reading its
   * limits from `config()` on every call, so runtime changes apply at once.
   */
  static forFleet(redis: Redis, prefix: string, config: () => FleetBudgetConfig): RateBudget {
    return new RateBudget(redis, redisKeys(prefix).budget(config().upstreamBudgetKey), () => {
      const c = config();
      return {
        rpm: c.upstreamRpm,
        burst: c.upstreamBurst,
        hotReserve: c.upstreamHotReserve,
        penaltyFactor: c.upstreamPenaltyFactor,
        penaltyMs: c.upstreamPenaltyMs,
        maxPauseMs: c.upstreamMaxPauseMs,
      };
    });
  }

  /**
   * The fleet's budget for `/token-pairs` fallbacks, `<main key>:fallback`: UPSTREAM_FALLBACK_SHARE
   * of UPSTREAM_RPM, so a upstream that leaves every batch answer empty cannot turn one call into
   * thirty. A fallback takes a permit here and then one from the main budget.
   */
  static forFallbacks(redis: Redis, prefix: string, config: () => FleetBudgetConfig): RateBudget {
    return new RateBudget(redis, redisKeys(prefix).fallbackBudget(config().upstreamBudgetKey), () => {
      const c = config();
      const rpm = Math.floor(c.upstreamRpm * c.upstreamFallbackShare);
      return {
        rpm,
        burst: Math.max(1, Math.min(rpm - 1, Math.ceil(c.upstreamBurst * c.upstreamFallbackShare))),
        hotReserve: 0,
        penaltyFactor: 1,
        penaltyMs: c.upstreamPenaltyMs,
        maxPauseMs: c.upstreamMaxPauseMs,
      };
    });
  }

  constructor(
    private readonly redis: Redis,
    /** The bucket's key, e.g. `{mf}:budget:default`. */
    readonly key: string,
    private readonly settings: () => BudgetSettings,
  ) {}

  /**
   * One call's permit for `lane`, or how long to wait before asking again. `first`: the id of a
   * call past its start-by (the same on every ask of that call): while it waits, calls without one
   * leave it the next token, and calls with one that joined after it (less their `headStartMs`
   * against its own) leave it theirs.
   */
  async take(lane: Lane, first?: string, headStartMs = 0): Promise<Take> {
    const s = this.settings();
    const [granted, wait, , , kept] = (await this.redis.eval(
      TAKE,
      1,
      this.key,
      s.rpm,
      s.burst,
      s.hotReserve,
      lane,
      s.penaltyFactor,
      s.penaltyMs,
      this.maxPauseMs(s),
      first ?? "",
      FIRST_GRACE_MS,
      Math.max(0, Math.round(headStartMs)),
    )) as [number, number, string, string, number];
    return granted === 1
      ? { granted: true }
      : { granted: false, waitMs: Math.max(1, wait), queued: kept === 1 };
  }

  /** A call kept first (take's `first`) that will not ask again: the others need not leave it a token. */
  async release(first: string): Promise<void> {
    await this.redis.eval(RELEASE, 1, this.key, first);
  }

  /**
   * The upstream said 429: pause every taker for `retryAfterMs`, cut to maxPauseMs, and run slower
   * for a while. Returns the pause set (see penalty() for whether it was cut).
   */
  async penalize(retryAfterMs: number): Promise<number> {
    return (await this.penalty(retryAfterMs)).pausedForMs;
  }

  async penalty(retryAfterMs: number): Promise<Penalty> {
    const asked = Math.max(0, Math.round(retryAfterMs));
    const cap = this.maxPauseMs(this.settings());
    const pausedForMs = (await this.redis.eval(PENALIZE, 1, this.key, Math.min(asked, cap))) as number;
    return { pausedForMs, capped: asked > cap };
  }

  /** Ends a pause and the slower rate after it at once (the operator's override); returns what was cleared. */
  async clearPause(): Promise<{ pausedForMs: number; penaltyAt: number }> {
    const [pausedForMs, penaltyAt] = (await this.redis.eval(CLEAR_PAUSE, 1, this.key)) as number[];
    return { pausedForMs: pausedForMs ?? 0, penaltyAt: penaltyAt ?? 0 };
  }

  private maxPauseMs(s: BudgetSettings): number {
    return Math.max(0, Math.round(s.maxPauseMs ?? DEFAULT_MAX_PAUSE_MS));
  }

  async use(): Promise<BudgetUse> {
    const [thisMinute, lastMinute, pausedForMs, , penaltyAt] = (await this.redis.eval(
      USED,
      1,
      this.key,
      this.maxPauseMs(this.settings()),
    )) as number[];
    return {
      thisMinute: thisMinute ?? 0,
      lastMinute: lastMinute ?? 0,
      pausedForMs: pausedForMs ?? 0,
      penaltyAt: penaltyAt ?? 0,
    };
  }
}
