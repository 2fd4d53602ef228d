// The chaos run's arithmetic and verdicts, as pure functions of the run's settings and samples, so
// bench/chaos.mjs stays a thin loop around them.

/** Mints per upstream call (the budget counts calls, not mints). */
export const MINTS_PER_CALL = 30;

/**
 * Upstream calls per minute the fleet needs to keep `hot` and `cold` tokens fresh: each token is
 * due again TTL - DUE_MARGIN_MS after its fetch, and one call carries 30 mints.
 */
export function demandPerMinute({ hot, cold, ttlHotS, ttlColdS, dueMarginMs }) {
  const perLane = (n, ttlS) => (n / MINTS_PER_CALL) * (60_000 / (ttlS * 1000 - dueMarginMs));
  return perLane(hot, ttlHotS) + perLane(cold, ttlColdS);
}

/** The most tokens a budget keeps fresh at `utilisation` of its refill, for a hot share. */
export function tokensForBudget({ budgetPerMin, hotShare, ttlHotS, ttlColdS, dueMarginMs, utilisation }) {
  const perToken = demandPerMinute({ hot: hotShare, cold: 1 - hotShare, ttlHotS, ttlColdS, dueMarginMs });
  return Math.floor((budgetPerMin * utilisation) / perToken);
}

/**
 * The staleness no token may exceed, per lane: its TTL, plus a lease (its batch died with a killed
 * worker, so it waits until the lease ends), plus a worker restart, plus one simulator outage and
 * the breaker cooldown it may trigger, plus a fixed slack for the producer tick, a budget wait and
 * the call itself. Each part is returned so the run can print how the bound is made.
 */
export function stalenessBounds({ ttlHotS, ttlColdS, leaseMs, restartMs, outageMs, cooldownMs, slackMs }) {
  const parts = { leaseMs, restartMs, outageMs, cooldownMs, slackMs };
  const extra = leaseMs + restartMs + outageMs + cooldownMs + slackMs;
  return {
    hot: { ttlMs: ttlHotS * 1000, boundMs: ttlHotS * 1000 + extra },
    cold: { ttlMs: ttlColdS * 1000, boundMs: ttlColdS * 1000 + extra },
    parts,
  };
}

/**
 * Memory verdict per process instance. `samples` are {label, instance, pid, startedAt, t, rssMb};
 * an instance's baseline is its first sample at least `warmupMs` after it started, and every later
 * sample must stay within `tolerance` above it (a drop is not a leak). Instances without a later
 * sample (a worker killed soon after its warm-up) are listed but not judged.
 */
export function memoryVerdict(samples, { warmupMs, tolerance }) {
  const byInstance = new Map();
  for (const s of samples) {
    const key = `${s.label}#${s.instance}`;
    if (!byInstance.has(key)) byInstance.set(key, []);
    byInstance.get(key).push(s);
  }
  const out = [];
  for (const [key, list] of byInstance) {
    const warm = list.filter((s) => s.t - s.startedAt >= warmupMs);
    const base = warm[0];
    if (!base) {
      out.push({ key, label: list[0].label, judged: false, samples: list.length });
      continue;
    }
    const later = warm.slice(1);
    const maxMb = Math.max(base.rssMb, ...later.map((s) => s.rssMb));
    const lastMb = (later.at(-1) ?? base).rssMb;
    const growth = maxMb / base.rssMb - 1;
    out.push({
      key,
      label: list[0].label,
      judged: later.length > 0,
      samples: warm.length,
      baseMb: base.rssMb,
      maxMb,
      lastMb,
      growth,
      ok: later.length === 0 || growth <= tolerance,
    });
  }
  return out;
}

/** A small seeded PRNG (mulberry32), so a run's choice of victims can be replayed with --seed. */
export function seededRandom(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
