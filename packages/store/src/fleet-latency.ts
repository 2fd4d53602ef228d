import { redisKeys, type Lane } from "@moonfleet/domain";
import type { Redis } from "@moonfleet/queues";

/**
 * The fleet's shared upstream latency: one histogram per lane in Redis (the buckets of
 * @moonfleet/adaptive's LatencyEstimator -> decayed counts). At production call rates one worker
 * sees a call every few seconds per lane, too few for a percentile of its own; the fleet's calls
 * together, kept over a longer half-life, are enough within a minute.
 *
 * KEYS[1] the lane's hash; ARGV now, halfLifeMs, ttlMs, then bucket/count pairs to add. Decays
 * every count by the time since the last exchange, adds the new samples, drops dust, and returns
 * the histogram as bucket/count pairs.
 */
const EXCHANGE = `
local now, half, ttl = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local at = tonumber(redis.call('HGET', KEYS[1], 'at') or now)
local f = 0.5 ^ (math.max(0, now - at) / half)
local counts = {}
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  if all[i] ~= 'at' then counts[all[i]] = tonumber(all[i + 1]) * f end
end
for i = 4, #ARGV - 1, 2 do
  counts[ARGV[i]] = (counts[ARGV[i]] or 0) + tonumber(ARGV[i + 1])
end
redis.call('DEL', KEYS[1])
local out, fields = {}, {'at', math.max(at, now)}
for b, c in pairs(counts) do
  if c >= 0.001 then
    local v = string.format('%.4f', c)
    fields[#fields + 1] = b
    fields[#fields + 1] = v
    out[#out + 1] = b
    out[#out + 1] = v
  end
end
redis.call('HSET', KEYS[1], unpack(fields))
redis.call('PEXPIRE', KEYS[1], ttl)
return out
`;

/** Half-life of the fleet's shared latency samples. */
export const FLEET_LATENCY_HALF_LIFE_MS = 120_000;

/** Adds a worker's new samples to the lane's shared histogram and returns the fleet's histogram. */
export async function exchangeFleetLatency(
  redis: Redis,
  prefix: string,
  lane: Lane,
  samples: ReadonlyMap<number, number>,
  now: number,
  halfLifeMs = FLEET_LATENCY_HALF_LIFE_MS,
): Promise<Map<number, number>> {
  const args: Array<string | number> = [now, halfLifeMs, 10 * halfLifeMs];
  for (const [bucket, count] of samples) args.push(bucket, count);
  const out = (await redis.eval(EXCHANGE, 1, redisKeys(prefix).upstreamLatency(lane), ...args)) as string[];
  const buckets = new Map<number, number>();
  for (let i = 0; i + 1 < out.length; i += 2) buckets.set(Number(out[i]), Number(out[i + 1]));
  return buckets;
}
