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
 * The value scheduler's claim of one lane (the rule of selectClaims in @moonfleet/config).
 * KEYS[1] due zset, KEYS[2] deadline zset; ARGV root, now, leaseMs, max, tier, leadMs, fill,
 * lookaheadMs, already, withValues, leaseDeadlineMs. Tier 'urgent' takes the tokens whose deadline is
 * within leadMs, earliest deadline first; tier 'wanted' the due tokens, earliest due first, topped up
 * from tokens due within lookaheadMs so that already + claimed fills whole calls of \`fill\`; tier
 * 'early' the earliest deadlines ahead, whatever their due time (budget that would go unspent). Each
 * claimed token is due again one lease ahead (taken back if its job is lost) and its deadline moves
 * leaseDeadlineMs past that, behind every real deadline, so no tier takes a token already in flight.
 * Returns mint, value, deadline (before the lease) per token; value and deadline are 0 unless
 * withValues is '1' (packing matters only when the budget binds).
 */
export const CLAIM_VALUE = `
local root, now, max, tier = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[4]), ARGV[5]
local lead, fill, lookahead, already = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9])
local withValues = ARGV[10] == '1'
local picked
if tier == 'urgent' then
  picked = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now + lead, 'LIMIT', 0, max)
elseif tier == 'early' then
  picked = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '+inf', 'LIMIT', 0, max)
else
  picked = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, max)
  local short = (fill - ((already + #picked) % fill)) % fill
  if short > 0 and #picked + short <= max then
    local soon = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, now + lookahead, 'LIMIT', 0, short)
    for _, m in ipairs(soon) do picked[#picked + 1] = m end
  end
end
local leaseUntil = now + tonumber(ARGV[3])
local leaseDeadline = leaseUntil + tonumber(ARGV[11])
local out = {}
for _, mint in ipairs(picked) do
  local deadline, value = '0', '0'
  if withValues then
    deadline = redis.call('ZSCORE', KEYS[2], mint) or tostring(now)
    value = redis.call('HGET', ${luaKey("token", "root", "mint")}, 'value') or '0'
  end
  redis.call('ZADD', KEYS[1], 'XX', leaseUntil, mint)
  redis.call('ZADD', KEYS[2], 'XX', leaseDeadline, mint)
  out[#out + 1] = mint
  out[#out + 1] = value
  out[#out + 1] = deadline
end
return out
`;

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

export const COMMIT_FIELDS = 15;

/**
 * KEYS[1]: the events stream. ARGV: root, historyLength, then COMMIT_FIELDS per token: mint,
 * fetchedAt, status, lane ('' when archived), dueAt, smoothedScore, snapshot JSON, history entry JSON,
 * name, symbol, lastGoodScoreAt, activeSince, band, deadlineAt (the latest start of the next refresh
 * that keeps the staleness guarantee), value (what a refresh is worth, for the claim's packing). A deleted token stays deleted and an older answer
 * never overwrites a newer one. token_activated, token_archived and band_changed go to the events
 * stream in the same step as the status and band they report, so no change is lost or told twice.
 * Returns how many tokens were written.
 */
export const COMMIT = `
local root, histLen = ARGV[1], tonumber(ARGV[2])
local written = 0
local function event(kind, mint, symbol, at, data)
  redis.call('XADD', KEYS[1], 'MAXLEN', '~', ${EVENTS_STREAM_MAXLEN}, '*', 'type', kind,
    'data', cjson.encode({mint = mint, symbol = symbol, at = tonumber(at), from = data[1], to = data[2]}))
end
for i = 3, #ARGV, ${COMMIT_FIELDS} do
  local mint, fetchedAt, status, lane, dueAt, score = ARGV[i], ARGV[i+1], ARGV[i+2], ARGV[i+3], ARGV[i+4], ARGV[i+5]
  local tok = ${luaKey("token", "root", "mint")}
  local old = redis.call('HMGET', tok, 'status', 'fetchedAt', 'band', 'symbol')
  if old[1] and tonumber(fetchedAt) > tonumber(old[2] or '0') then
    local band, symbol = ARGV[i+12], ARGV[i+9]
    if symbol == '' then symbol = old[4] or '' end
    if status == 'active' and old[1] ~= 'active' then event('token_activated', mint, symbol, fetchedAt, {old[1], status}) end
    if status == 'archived' and old[1] ~= 'archived' then event('token_archived', mint, symbol, fetchedAt, {old[1], status}) end
    if old[3] and old[3] ~= band and status ~= 'archived' then event('band_changed', mint, symbol, fetchedAt, {old[3], band}) end
    redis.call('SET', ${luaKey("snapshot", "root", "mint")}, ARGV[i+6])
    redis.call('LPUSH', ${luaKey("history", "root", "mint")}, ARGV[i+7])
    redis.call('LTRIM', ${luaKey("history", "root", "mint")}, 0, histLen - 1)
    redis.call('HSET', tok, 'status', status, 'fetchedAt', fetchedAt, 'lastUpdatedAt', fetchedAt,
      'lastGoodScoreAt', ARGV[i+10], 'activeSince', ARGV[i+11], 'band', ARGV[i+12], 'value', ARGV[i+14])
    if ARGV[i+8] ~= '' then redis.call('HSET', tok, 'name', ARGV[i+8]) end
    if ARGV[i+9] ~= '' then redis.call('HSET', tok, 'symbol', ARGV[i+9]) end
    if old[1] ~= status then
      redis.call('ZREM', ${luaKey("byScore", "root", "old[1]")}, mint)
      redis.call('ZREM', ${luaKey("byUpdated", "root", "old[1]")}, mint)
    end
    redis.call('ZADD', ${luaKey("byScore", "root", "status")}, score, mint)
    redis.call('ZADD', ${luaKey("byScore", "root", "'all'")}, score, mint)
    redis.call('ZADD', ${luaKey("byUpdated", "root", "status")}, fetchedAt, mint)
    redis.call('ZADD', ${luaKey("byUpdated", "root", "'all'")}, fetchedAt, mint)
    for _, l in ipairs({${LANES.map((l) => `'${l}'`).join(", ")}}) do
      if l ~= lane then
        redis.call('ZREM', ${luaKey("due", "root", "l")}, mint)
        redis.call('ZREM', ${luaKey("deadline", "root", "l")}, mint)
      end
    end
    if lane ~= '' then
      redis.call('ZADD', ${luaKey("due", "root", "lane")}, dueAt, mint)
      redis.call('ZADD', ${luaKey("deadline", "root", "lane")}, ARGV[i+13], mint)
    end
    written = written + 1
  end
end
return written
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
