import { EVENTS_STREAM_MAXLEN, LANES, luaKey } from "@moonfleet/domain";

// Lua scripts: each runs atomically in Redis, so a claim, a registration or a commit is never seen
// half done, and a worker that dies in the middle of a batch leaves every token due again.

/**
 * KEYS[1] due zset; ARGV now, leaseMs, max, lookaheadMs, fill, holdMs. Returns the claimed mints,
 * each pushed one lease ahead. A call costs one permit of the budget whether it carries 3 mints or
 * 30, so: while fewer than \`fill\` tokens are due, they wait until the oldest has been due for
 * \`holdMs\` (within the due margin, so freshness holds); then tokens due within the lookahead top
 * the claim up to a multiple of \`fill\`, refreshing a few tokens a moment early instead of
 * spending another call on them.
 */
export const CLAIM_DUE = `
local now, max, fill, hold = tonumber(ARGV[1]), tonumber(ARGV[3]), tonumber(ARGV[5]), tonumber(ARGV[6])
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, max)
if fill > 1 and #due > 0 and #due < fill and hold > 0 then
  local oldest = tonumber(redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')[2])
  if now - oldest < hold then return {} end
end
local short = (fill - (#due % fill)) % fill
if #due > 0 and short > 0 and #due + short <= max then
  local soon = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, now + tonumber(ARGV[4]), 'LIMIT', 0, short)
  for _, m in ipairs(soon) do due[#due + 1] = m end
end
local leaseUntil = tonumber(ARGV[1]) + tonumber(ARGV[2])
for _, mint in ipairs(due) do
  redis.call('ZADD', KEYS[1], 'XX', leaseUntil, mint)
end
return due
`;

/**
 * The value scheduler's claim of one tick, every step in one call (a round trip per step waited
 * behind the workers' commits on a busy Redis). KEYS: per lane in LANES order its due zset, then its
 * deadline zset; then the exported set. ARGV: root, now, leaseMs, lookaheadMs, withValues, budget, hotFirst, hotPasses,
 * hotYields ('1'/'0'), then per lane room, fill, leaseDeadlineMs, leadMs, then per step lane index (1-based, LANES order),
 * tier, hotFirst ('1'/'0'), topUp ('1'/'0'), the carrying lane's index (`into`: whose jobs take the
 * step's tokens, and whose count, room and calls its bound reads). Each step takes at most stepMax (@moonfleet/config)
 * tokens: tier 'urgent' the tokens whose deadline is within the lane's leadMs (short of the tokens in
 * flight), earliest deadline first; 'exported' the exported tokens (the set) of the lane due within
 * lookaheadMs (a claim at the tick after its due time made each cycle two ticks), earliest due
 * first; 'wanted' the due
 * tokens, earliest due first, topped up from tokens due within lookaheadMs so that the lane's claim
 * fills whole calls of its fill; 'early' the earliest deadlines ahead, whatever their due time, short of the tokens in flight. Each
 * claimed token is due again one lease ahead (taken back if its job is lost) and its deadline moves
 * the lane's leaseDeadlineMs past that, behind every real deadline, so no later step takes a token
 * already claimed (in its own lane's schedules, whichever lane carries it). Returns per carrying lane a
 * flat list of mint, value, deadline (before the lease), the token's own lane index; value and
 * deadline are 0 unless withValues is '1' (packing matters only when the budget binds).
 */
export const CLAIM_PLAN = `
local root, now, leaseMs = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local lookahead, withValues = tonumber(ARGV[4]), ARGV[5] == '1'
local budget, hotFirstCap, hotPasses = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
local hotYields = ARGV[9] == '1'
local nLanes = ${LANES.length}
local hot = ${LANES.indexOf("hot") + 1}
local rooms, fills, leaseDeadline, inFlight, lead, got, out = {}, {}, {}, {}, {}, {}, {}
for l = 1, nLanes do
  local a = 10 + (l - 1) * 4
  rooms[l] = tonumber(ARGV[a])
  fills[l] = math.max(1, tonumber(ARGV[a + 1]))
  leaseDeadline[l] = now + leaseMs + tonumber(ARGV[a + 2])
  -- a deadline at or past this belongs to a token in flight (claimed within its lease)
  inFlight[l] = now + tonumber(ARGV[a + 2])
  lead[l] = tonumber(ARGV[a + 3])
  got[l] = 0
  out[l] = {}
end
local leaseUntil = now + leaseMs
-- counted in the carrying lane into (its jobs carry the step's tokens)
local function stepMax(l, into, tier, hotFirst, topUp)
  local fill, have = fills[into], got[into]
  local room = math.max(0, rooms[into] - have)
  if topUp then return math.min(room, (fill - (have % fill)) % fill) end
  if hotYields and l == hot and tier == 'wanted' and not hotFirst then return 0 end
  local first = tier == 'urgent' or tier == 'exported'
  local passes = 0
  if l == hot and (first or hotFirst) then passes = hotPasses end
  local m = math.min(math.max(0, budget + passes), room)
  if hotFirst then m = math.min(m, math.max(0, hotFirstCap - got[hot])) end
  if not first and m >= fill then m = m - ((have + m) % fill) end
  return math.max(0, m)
end
local function lease(key, score, mints)
  for j = 1, #mints, 500 do
    local args = {}
    for k = j, math.min(j + 499, #mints) do
      args[#args + 1] = score
      args[#args + 1] = mints[k]
    end
    redis.call('ZADD', key, 'XX', unpack(args))
  end
end
for s = 10 + nLanes * 4, #ARGV, 5 do
  local l, tier, into = tonumber(ARGV[s]), ARGV[s + 1], tonumber(ARGV[s + 4])
  local m = stepMax(l, into, tier, ARGV[s + 2] == '1', ARGV[s + 3] == '1')
  if m > 0 then
    local dueKey, deadlineKey = KEYS[2 * l - 1], KEYS[2 * l]
    local picked
    if tier == 'urgent' then
      -- within the lead, short of the tokens in flight whatever the lead
      local upto = now + lead[l]
      if upto >= inFlight[l] then upto = '(' .. inFlight[l] end
      picked = redis.call('ZRANGEBYSCORE', deadlineKey, '-inf', upto, 'LIMIT', 0, m)
    elseif tier == 'exported' then
      -- a handful (EXPORT_TOP_N): read each one's due time; a claimed one is due a lease ahead
      local due = {}
      for _, mint in ipairs(redis.call('SMEMBERS', KEYS[2 * nLanes + 1])) do
        local at = tonumber(redis.call('ZSCORE', dueKey, mint) or '')
        if at and at <= now + lookahead then due[#due + 1] = {at, mint} end
      end
      table.sort(due, function(a, b) return a[1] < b[1] or (a[1] == b[1] and a[2] < b[2]) end)
      picked = {}
      for j = 1, math.min(m, #due) do picked[j] = due[j][2] end
    elseif tier == 'early' then
      picked = redis.call('ZRANGEBYSCORE', deadlineKey, '-inf', '(' .. inFlight[l], 'LIMIT', 0, m)
    else
      picked = redis.call('ZRANGEBYSCORE', dueKey, '-inf', now, 'LIMIT', 0, m)
      local short = (fills[into] - ((got[into] + #picked) % fills[into])) % fills[into]
      if short > 0 and #picked + short <= m then
        local soon = redis.call('ZRANGEBYSCORE', dueKey, '(' .. now, now + lookahead, 'LIMIT', 0, short)
        for _, mint in ipairs(soon) do picked[#picked + 1] = mint end
      end
    end
    local o = out[into]
    for _, mint in ipairs(picked) do
      local deadline, value = '0', '0'
      if withValues then
        deadline = redis.call('ZSCORE', deadlineKey, mint) or tostring(now)
        value = redis.call('HGET', ${luaKey("token", "root", "mint")}, 'value') or '0'
      end
      o[#o + 1] = mint
      o[#o + 1] = value
      o[#o + 1] = deadline
      o[#o + 1] = l
    end
    lease(dueKey, leaseUntil, picked)
    lease(deadlineKey, leaseDeadline[l], picked)
    got[into] = got[into] + #picked
    budget = budget - #picked
  end
end
return out
`;

/**
 * Pulls tokens' due time and deadline in (tokens that just entered the exports). KEYS: the lane's due
 * zset, its deadline zset. ARGV: inFlightFrom, then mint, at per token. A token scheduled in the lane
 * whose deadline is before inFlightFrom (not claimed: a claim moves the deadline a floor past its
 * lease) gets each schedule lowered to at most `at`; others are left as they are.
 */
export const EXPEDITE = `
local inFlight = tonumber(ARGV[1])
for i = 2, #ARGV, 2 do
  local mint, at = ARGV[i], ARGV[i + 1]
  local deadline = redis.call('ZSCORE', KEYS[2], mint)
  if deadline and tonumber(deadline) < inFlight then
    redis.call('ZADD', KEYS[1], 'XX', 'LT', at, mint)
    redis.call('ZADD', KEYS[2], 'XX', 'LT', at, mint)
  end
end
return 0
`;

/**
 * The hand-back loop of RELEASE_LEASED and RELEASE_FAILED: from KEYS[firstKey], per lane its due
 * zset and its deadline zset; from ARGV[firstArg], mint and leaseUntil per token (ARGV[1] is now).
 * A token still due at its job's lease end (not fetched, not claimed again since) in the lane that
 * schedules it is due now at the latest, its deadline too; others are left alone. Counts into n.
 */
const handBack = (firstKey: number, firstArg: number): string => `
for i = ${firstArg}, #ARGV, 2 do
  for k = ${firstKey}, #KEYS, 2 do
    local due = redis.call('ZSCORE', KEYS[k], ARGV[i])
    if due then
      if tonumber(due) == tonumber(ARGV[i + 1]) then
        redis.call('ZADD', KEYS[k], 'XX', 'LT', now, ARGV[i])
        redis.call('ZADD', KEYS[k + 1], 'XX', 'LT', now, ARGV[i])
        n = n + 1
      end
      break
    end
  end
end
return n
`;

/**
 * Hands back the tokens of a job a dead worker held. KEYS: the queue's active list, the job's lock
 * key, then per lane its due zset and its deadline zset (a job may carry another lane's tokens).
 * ARGV: now, job id, the lock as the caller read it ('' for none), then mint, leaseUntil per token.
 * Nothing happens unless the job is still active with that same lock (it did not finish, move to
 * delayed or get taken again meanwhile). Then a token still due at its job's lease end (not
 * fetched, not claimed again since) in the lane that schedules it is due now at the latest, its
 * deadline too; others are left alone. Returns how many were handed back.
 */
export const RELEASE_LEASED = `
local now, n = ARGV[1], 0
if not redis.call('LPOS', KEYS[1], ARGV[2]) then return 0 end
local lock = redis.call('GET', KEYS[2])
if (lock or '') ~= ARGV[3] then return 0 end
${handBack(3, 4)}`;

/**
 * Hands back the tokens of a job that failed for good (its last attempt failed, so it never runs
 * again). KEYS: per lane its due zset and its deadline zset. ARGV: now, then mint, leaseUntil per
 * token; as RELEASE_LEASED without the job check. Returns how many were handed back.
 */
export const RELEASE_FAILED = `
local now, n = ARGV[1], 0
${handBack(1, 2)}`;

export const REGISTER_FIELDS = 5;

/**
 * KEYS: registry, due:cold, score:all, score:monitoring, updated:all, updated:monitoring, deadline:cold.
 * ARGV: root, now, honourDeletes ('1': a mint an operator deleted recently is refused), then
 * REGISTER_FIELDS per token: mint, name, symbol, createdAt, source. Returns per token 1 (added),
 * 0 (existed) or 2 (deleted recently).
 */
export const REGISTER = `
local root, now, honourDeletes = ARGV[1], ARGV[2], ARGV[3] == '1'
local out = {}
for i = 4, #ARGV, ${REGISTER_FIELDS} do
  local mint, name, symbol, createdAt, source = ARGV[i], ARGV[i+1], ARGV[i+2], ARGV[i+3], ARGV[i+4]
  local tok = ${luaKey("token", "root", "mint")}
  if redis.call('EXISTS', tok) == 1 then
    out[#out+1] = 0
  elseif honourDeletes and redis.call('EXISTS', ${luaKey("deleted", "root", "mint")}) == 1 then
    out[#out+1] = 2
  else
    redis.call('HSET', tok, 'mint', mint, 'name', name, 'symbol', symbol, 'status', 'monitoring',
      'createdAt', createdAt, 'registeredAt', now, 'lastUpdatedAt', now, 'fetchedAt', 0, 'source', source)
    redis.call('ZADD', KEYS[1], createdAt, mint)
    redis.call('ZADD', KEYS[2], now, mint)
    redis.call('ZADD', KEYS[3], '-inf', mint)
    redis.call('ZADD', KEYS[4], '-inf', mint)
    redis.call('ZADD', KEYS[5], 0, mint)
    redis.call('ZADD', KEYS[6], 0, mint)
    redis.call('ZADD', KEYS[7], now, mint)
    out[#out+1] = 1
  end
end
return out
`;

export const COMMIT_FIELDS = 16;

/**
 * KEYS[1]: the events stream. ARGV: root, historyLength, then COMMIT_FIELDS per token: mint,
 * fetchedAt, status, lane ('' when archived), dueAt, smoothedScore, snapshot JSON, history entry JSON,
 * name, symbol, lastGoodScoreAt, activeSince, band, deadlineAt (the latest start of the next refresh
 * that keeps the staleness guarantee), value (what a refresh is worth, for the claim's packing),
 * scoring (PreviousScoring JSON, for its scoring key). A deleted token stays deleted and an older answer
 * never overwrites a newer one. token_activated, token_archived and band_changed go to the events
 * stream in the same step as the status and band they report, so no change is lost or told twice.
 * Returns how many tokens were written.
 *
 * It runs for every token of every refresh, so it makes few calls: the snapshots go in one MSET,
 * and each index or schedule gets one ZREM and one ZADD at the end of the batch. Deferring them
 * keeps the result: per key and member only the last write counts (a ZADD sets the score, a ZREM
 * takes the member out), and a ZREM drops any ZADD of that member before it. One HSET per token,
 * the history trimmed only once it outgrew its length, and the other lanes' schedules cleared only
 * when the status (so the lane) changed: only REGISTER (cold, for a monitoring token) and this
 * script add to a schedule, so a token sits in its status's lane alone.
 */
export const COMMIT = `
local root, histLen = ARGV[1], tonumber(ARGV[2])
local written = 0
local scoreAll, updatedAll = ${luaKey("byScore", "root", "'all'")}, ${luaKey("byUpdated", "root", "'all'")}
local zsets, snaps = {}, {}
local function zset(key)
  local z = zsets[key]
  if not z then
    z = {adds = {}, rems = {}}
    zsets[key] = z
  end
  return z
end
local function zadd(key, score, member) zset(key).adds[member] = score end
local function zrem(key, member)
  local z = zset(key)
  z.adds[member] = nil
  z.rems[member] = true
end
local function each(command, key, args)
  for j = 1, #args, 1000 do redis.call(command, key, unpack(args, j, math.min(j + 999, #args))) end
end
local function event(kind, mint, symbol, at, data)
  redis.call('XADD', KEYS[1], 'MAXLEN', '~', ${EVENTS_STREAM_MAXLEN}, '*', 'type', kind,
    'data', cjson.encode({mint = mint, symbol = symbol, at = tonumber(at), from = data[1], to = data[2]}))
end
for i = 3, #ARGV, ${COMMIT_FIELDS} do
  local mint, fetchedAt, status, lane, dueAt, score = ARGV[i], ARGV[i+1], ARGV[i+2], ARGV[i+3], ARGV[i+4], ARGV[i+5]
  local tok = ${luaKey("token", "root", "mint")}
  local old = redis.call('HMGET', tok, 'status', 'fetchedAt', 'band', 'symbol')
  if old[1] and tonumber(fetchedAt) > tonumber(old[2] or '0') then
    local band, name, symbol = ARGV[i+12], ARGV[i+8], ARGV[i+9]
    local told = symbol
    if told == '' then told = old[4] or '' end
    if status == 'active' and old[1] ~= 'active' then event('token_activated', mint, told, fetchedAt, {old[1], status}) end
    if status == 'archived' and old[1] ~= 'archived' then event('token_archived', mint, told, fetchedAt, {old[1], status}) end
    if old[3] and old[3] ~= band and status ~= 'archived' then event('band_changed', mint, told, fetchedAt, {old[3], band}) end
    snaps[#snaps+1] = ${luaKey("snapshot", "root", "mint")}
    snaps[#snaps+1] = ARGV[i+6]
    snaps[#snaps+1] = ${luaKey("scoring", "root", "mint")}
    snaps[#snaps+1] = ARGV[i+15]
    local hist = ${luaKey("history", "root", "mint")}
    if redis.call('LPUSH', hist, ARGV[i+7]) > histLen then redis.call('LTRIM', hist, 0, histLen - 1) end
    local fields = {'status', status, 'fetchedAt', fetchedAt, 'lastUpdatedAt', fetchedAt,
      'lastGoodScoreAt', ARGV[i+10], 'activeSince', ARGV[i+11], 'band', band, 'value', ARGV[i+14]}
    if name ~= '' then fields[#fields+1] = 'name'; fields[#fields+1] = name end
    if symbol ~= '' then fields[#fields+1] = 'symbol'; fields[#fields+1] = symbol end
    redis.call('HSET', tok, unpack(fields))
    if old[1] ~= status then
      zrem(${luaKey("byScore", "root", "old[1]")}, mint)
      zrem(${luaKey("byUpdated", "root", "old[1]")}, mint)
      for _, l in ipairs({${LANES.map((l) => `'${l}'`).join(", ")}}) do
        if l ~= lane then
          zrem(${luaKey("due", "root", "l")}, mint)
          zrem(${luaKey("deadline", "root", "l")}, mint)
        end
      end
    end
    zadd(${luaKey("byScore", "root", "status")}, score, mint)
    zadd(scoreAll, score, mint)
    zadd(${luaKey("byUpdated", "root", "status")}, fetchedAt, mint)
    zadd(updatedAll, fetchedAt, mint)
    if lane ~= '' then
      zadd(${luaKey("due", "root", "lane")}, dueAt, mint)
      zadd(${luaKey("deadline", "root", "lane")}, ARGV[i+13], mint)
    end
    written = written + 1
  end
end
for key, z in pairs(zsets) do
  local rems, adds = {}, {}
  for member in pairs(z.rems) do rems[#rems+1] = member end
  for member, score in pairs(z.adds) do
    adds[#adds+1] = score
    adds[#adds+1] = member
  end
  each('ZREM', key, rems)
  each('ZADD', key, adds)
end
for j = 1, #snaps, 1000 do redis.call('MSET', unpack(snaps, j, math.min(j + 999, #snaps))) end
return written
`;

/** The registry fields a TokenRecord is read from, in the order LOAD returns them. */
export const TOKEN_FIELDS = [
  "mint",
  "name",
  "symbol",
  "status",
  "createdAt",
  "registeredAt",
  "lastUpdatedAt",
  "fetchedAt",
  "lastGoodScoreAt",
  "activeSince",
  "source",
] as const;

/**
 * KEYS: the registry (it names the slot), the schedule's pressure hash and exported set. ARGV: root,
 * forScoring ('1': what a worker scores from), then mints. Returns TOKEN_FIELDS of each mint in
 * turn (nil where absent), then per mint its snapshot JSON (nil when none), or for scoring its
 * scoring key (the snapshot only where that is missing: written before it was kept), then for
 * scoring the value scheduler's context: the pressure of each lane (LANES order, nil when unset)
 * and 1 or 0 per mint for "exported". One command for a whole batch: a HGETALL per token cost the
 * worker more than the scoring, and reading and parsing each whole snapshot a tenth of its time.
 */
export const LOAD = `
local root, withContext = ARGV[1], ARGV[2] == '1'
local out, n, reads = {}, 0, {}
for i = 3, #ARGV do
  local mint = ARGV[i]
  local h = redis.call('HMGET', ${luaKey("token", "root", "mint")}, ${TOKEN_FIELDS.map((f) => `'${f}'`).join(", ")})
  for j = 1, ${TOKEN_FIELDS.length} do out[n + j] = h[j] end
  n = n + ${TOKEN_FIELDS.length}
  if withContext then reads[i - 2] = ${luaKey("scoring", "root", "mint")}
  else reads[i - 2] = ${luaKey("snapshot", "root", "mint")} end
end
for j = 1, #reads, 1000 do
  local got = redis.call('MGET', unpack(reads, j, math.min(j + 999, #reads)))
  for k = 1, #got do
    local v = got[k]
    if withContext and not v then v = redis.call('GET', ${luaKey("snapshot", "root", "ARGV[j + k + 1]")}) end
    out[n + k] = v
  end
  n = n + #got
end
if withContext then
  local pressure = redis.call('HMGET', KEYS[2], ${LANES.map((l) => `'${l}'`).join(", ")})
  for j = 1, #pressure do out[n + j] = pressure[j] end
  n = n + #pressure
  local any = redis.call('SCARD', KEYS[3]) > 0
  for i = 3, #ARGV do
    out[n + i - 2] = any and redis.call('SISMEMBER', KEYS[3], ARGV[i]) or 0
  end
end
return out
`;

/**
 * A page of mints ordered by KEYS[1] (newest first) whose score in KEYS[2] is at least ARGV[1].
 * ARGV: minScore, offset, limit, scanCap. Returns the mints.
 */
export const PAGE_FILTERED = `
local minScore, offset, limit, cap = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local out, seen, pos, step = {}, 0, 0, 500
while #out < limit and pos < cap do
  local chunk = redis.call('ZREVRANGE', KEYS[1], pos, pos + step - 1)
  if #chunk == 0 then break end
  for _, mint in ipairs(chunk) do
    local s = tonumber(redis.call('ZSCORE', KEYS[2], mint) or '-inf')
    if s and s >= minScore then
      if seen >= offset and #out < limit then out[#out+1] = mint end
      seen = seen + 1
    end
  end
  pos = pos + step
end
return out
`;

/**
 * The heartbeats of the workers whose index entry is at least ARGV[2] (epoch ms), in one round
 * trip (the index read, then a GET per id, was two in a row on the producer's tick). KEYS[1]: the
 * heartbeat index. ARGV: root, minAt. Returns the heartbeat JSONs; an expired one is left out.
 */
export const LIVE_WORKERS = `
local out = {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[2], '+inf')) do
  local hb = redis.call('GET', ${luaKey("worker", "ARGV[1]", "id")})
  if hb then out[#out + 1] = hb end
end
return out
`;
