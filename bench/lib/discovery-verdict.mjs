// The discovery scenario's verdict on its per-minute series (a pure function, so a recorded run can
// be judged again).

/**
 * A figure levels off when, over the last third of the run, it moves by at most `tolerance` of its
 * mean from the first reading to the last (a band around the mean would pass a steady climb).
 */
export function levelOff(series, key, tolerance = 0.05) {
  const third = series.slice(Math.floor((series.length * 2) / 3));
  const v = third.map((r) => r[key]);
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  const growth = v.at(-1) - v[0];
  const perMinute = v.length > 1 ? growth / (v.length - 1) : 0;
  return {
    mean: Math.round(mean * 10) / 10,
    min: Math.min(...v),
    max: Math.max(...v),
    growth: Math.round(growth * 10) / 10,
    perMinute: Math.round(perMinute * 100) / 100,
    levelsOff: v.length >= 3 && Math.abs(growth) <= tolerance * mean,
  };
}

export function discoveryVerdict(series) {
  const last = series.at(-1);
  const level = Object.fromEntries(
    ["registry", "monitoring", "active", "archived", "redisUsedMb", "redisTokenDataMb", "redisCappedLogsMb"]
      .filter((k) => k in last)
      .map((k) => [k, levelOff(series, k)]),
  );
  return {
    lastThird: level,
    verdict: {
      registryLevelsOff: level.registry.levelsOff,
      redisLevelsOff: level.redisUsedMb.levelsOff,
      // Runs before the split into token data and capped logs have no such series.
      tokenDataLevelsOff: level.redisTokenDataMb?.levelsOff ?? null,
      noCallOnArchived: last.callsOnArchived === 0 && last.callsOnDeleted === 0,
      no429: last.http429 === 0 && last.rateLimited === 0,
    },
  };
}
