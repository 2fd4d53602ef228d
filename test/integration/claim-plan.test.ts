import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import {
  CLAIM_TIER_KINDS,
  LANES,
  perLane,
  type ClaimLimits,
  type ClaimTier,
  type Lane,
} from "@moonfleet/domain";
import { claimTiers, stepMax } from "@moonfleet/config";
import { TokenStore } from "@moonfleet/store";
import { demoMints } from "../../apps/simulator/src/index.js";
import { testRedis, uniquePrefix } from "../support/harness.js";

// The producer claims a whole tick of SCHEDULING=value in one script (CLAIM_PLAN) that applies
// stepMax in Redis. Whatever the schedules hold and whatever the steps and limits, it must take
// exactly what the rule takes step by step: stepMax tokens of the step's tier (urgent by deadline
// within the lead, exported by due time within the lookahead among the exported set, wanted by due
// time topped up to whole calls, early by deadline), each leased before the next step looks.

const redis = testRedis("claim-plan");
afterAll(() => redis.quit());

const NOW = 1_800_000_000_000;
const LEASE_MS = 20_000;
const MINTS = demoMints(24, "claim-plan");

interface Entry {
  mint: string;
  due: number;
  deadline: number;
  value: number;
}

interface Plan {
  schedules: Record<Lane, Entry[]>;
  steps: ClaimTier[];
  limits: ClaimLimits;
  leadMs: Record<Lane, number>;
  lookaheadMs: number;
  leaseDeadlineMs: Record<Lane, number>;
  withValues: boolean;
  /** The exported set (of either lane's mints, as the producer publishes it). */
  exported: string[];
}

const byScoreThenMint = (score: (e: Entry) => number) => (a: Entry, b: Entry) =>
  score(a) - score(b) || (a.mint < b.mint ? -1 : a.mint > b.mint ? 1 : 0);

/** The rule, step by step over plain arrays: what CLAIM_PLAN must take. */
function expected(
  p: Plan,
): Record<Lane, Array<{ mint: string; value: number; deadlineAt: number; lane: Lane }>> {
  const sched = perLane((l) => p.schedules[l].map((e) => ({ ...e })));
  const out = perLane(() => [] as Array<{ mint: string; value: number; deadlineAt: number; lane: Lane }>);
  let budget = p.limits.budget;
  for (const s of p.steps) {
    // counted per carrying lane: the step's tokens go into `into`'s jobs
    const into = s.into ?? s.lane;
    const got = perLane((l) => out[l].length);
    const m = stepMax(s, got, budget, p.limits);
    if (m <= 0) continue;
    const lane = sched[s.lane];
    let picked: Entry[];
    if (s.tier === "urgent")
      picked = lane
        // within the lead, but never a token in flight, however long the lead
        .filter((e) => e.deadline <= NOW + p.leadMs[s.lane] && e.deadline < NOW + p.leaseDeadlineMs[s.lane])
        .sort(byScoreThenMint((e) => e.deadline))
        .slice(0, m);
    else if (s.tier === "exported")
      picked = lane
        .filter((e) => e.due <= NOW + p.lookaheadMs && p.exported.includes(e.mint))
        .sort(byScoreThenMint((e) => e.due))
        .slice(0, m);
    else if (s.tier === "early")
      // not the tokens in flight: their deadline went a lease and a floor ahead
      picked = lane
        .filter((e) => e.deadline < NOW + p.leaseDeadlineMs[s.lane])
        .sort(byScoreThenMint((e) => e.deadline))
        .slice(0, m);
    else {
      picked = lane
        .filter((e) => e.due <= NOW)
        .sort(byScoreThenMint((e) => e.due))
        .slice(0, m);
      const fill = Math.max(1, p.limits.fill[into]);
      const short = (fill - ((got[into] + picked.length) % fill)) % fill;
      if (short > 0 && picked.length + short <= m)
        picked.push(
          ...lane
            .filter((e) => e.due > NOW && e.due <= NOW + p.lookaheadMs)
            .sort(byScoreThenMint((e) => e.due))
            .slice(0, short),
        );
    }
    for (const e of picked) {
      out[into].push({
        mint: e.mint,
        value: p.withValues ? e.value : 0,
        deadlineAt: p.withValues ? e.deadline : 0,
        lane: s.lane,
      });
      e.due = NOW + LEASE_MS;
      e.deadline = NOW + LEASE_MS + p.leaseDeadlineMs[s.lane];
    }
    budget -= picked.length;
  }
  return out;
}

/** A scheduled token; in flight (claimed in an earlier tick) its deadline is a floor past its lease. */
const entry = (mint: string, floorMs: number) =>
  fc.record({
    mint: fc.constant(mint),
    // whole seconds around now, so ties (broken by mint, as Redis does) happen often
    due: fc.integer({ min: -5, max: 5 }).map((s) => NOW + s * 1_000),
    deadline: fc.oneof(
      fc.integer({ min: -5, max: floorMs / 1_000 - 1 }).map((s) => NOW + s * 1_000),
      fc.integer({ min: 0, max: LEASE_MS / 1_000 }).map((s) => NOW + floorMs + s * 1_000),
    ),
    value: fc.integer({ min: 0, max: 50 }).map((v) => v / 10),
  });

const step = fc.record(
  {
    lane: fc.constantFrom(...LANES),
    tier: fc.constantFrom(...CLAIM_TIER_KINDS),
    hotFirst: fc.boolean(),
    topUp: fc.boolean(),
    into: fc.constantFrom(...LANES),
  },
  { requiredKeys: ["lane", "tier", "hotFirst", "topUp"] },
);

const plan: fc.Arbitrary<Plan> = fc
  .tuple(
    fc.subarray(MINTS, { minLength: 0 }),
    fc.record({
      hot: fc.integer({ min: 5, max: 60 }).map((s) => s * 1_000),
      cold: fc.integer({ min: 5, max: 150 }).map((s) => s * 1_000),
    }),
  )
  .chain(([mints, leaseDeadlineMs]) => {
    const cut = Math.floor(mints.length / 2);
    return fc.record({
      schedules: fc.record({
        hot: fc.tuple(...mints.slice(0, cut).map((m) => entry(m, leaseDeadlineMs.hot))),
        cold: fc.tuple(...mints.slice(cut).map((m) => entry(m, leaseDeadlineMs.cold))),
      }),
      steps: fc.oneof(
        fc.boolean().map((binds) => claimTiers(binds)),
        fc.array(step, { maxLength: 8 }),
      ),
      limits: fc.record({
        budget: fc.integer({ min: -5, max: 30 }),
        room: fc.record({ hot: fc.integer({ min: 0, max: 20 }), cold: fc.integer({ min: 0, max: 20 }) }),
        hotFirst: fc.integer({ min: 0, max: 15 }),
        hotPasses: fc.integer({ min: 0, max: 10 }),
        hotYields: fc.boolean(),
        fill: fc.record({ hot: fc.integer({ min: 1, max: 5 }), cold: fc.integer({ min: 1, max: 5 }) }),
      }),
      // each lane its own lead (urgentLeadMs: cold's takes in the queue hot passes)
      leadMs: fc
        .record({
          hot: fc.integer({ min: 0, max: 3 }).map((s) => s * 1_000),
          cold: fc.integer({ min: 0, max: 6 }).map((s) => s * 1_000),
        })
        .chain((lead) =>
          // now and then a lead past the floor (a long tick, a short TTL), which must not reach in flight
          fc.oneof(fc.constant(lead), fc.constant({ hot: lead.hot + 200_000, cold: lead.cold + 200_000 })),
        ),
      lookaheadMs: fc.integer({ min: 0, max: 4 }).map((s) => s * 1_000),
      leaseDeadlineMs: fc.constant(leaseDeadlineMs),
      withValues: fc.boolean(),
      exported: fc.subarray(mints),
    });
  })
  .map((p) => ({ ...p, schedules: { hot: [...p.schedules.hot], cold: [...p.schedules.cold] } }));

describe("the value claim of a tick in one script", () => {
  it("takes what stepMax and the tiers take, step by step, and leases both schedules", async () => {
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(plan, async (p) => {
        const store = new TokenStore(redis, uniquePrefix());
        const k = store.keys;
        const tx = redis.multi();
        for (const lane of LANES)
          for (const e of p.schedules[lane]) {
            tx.zadd(k.due(lane), e.due, e.mint).zadd(k.deadline(lane), e.deadline, e.mint);
            tx.hset(`${k.root}:tok:${e.mint}`, "value", String(e.value));
          }
        if (p.exported.length > 0) tx.sadd(k.scheduleExported, ...p.exported);
        await tx.exec();
        const got = await store.claimPlan(p.steps, p.limits, {
          now: NOW,
          leaseMs: LEASE_MS,
          leadMs: p.leadMs,
          lookaheadMs: p.lookaheadMs,
          withValues: p.withValues,
          leaseDeadlineMs: p.leaseDeadlineMs,
        });
        const want = expected(p);
        expect(got).toEqual(want);
        // every claimed token is leased in both schedules; the others are untouched
        for (const lane of LANES) {
          // leased in its own lane, whichever lane's jobs carry it
          const claimed = new Set(
            LANES.flatMap((l) => want[l])
              .filter((t) => t.lane === lane)
              .map((t) => t.mint),
          );
          for (const e of p.schedules[lane]) {
            const due = Number(await redis.zscore(k.due(lane), e.mint));
            const deadline = Number(await redis.zscore(k.deadline(lane), e.mint));
            if (claimed.has(e.mint)) {
              expect(due).toBe(NOW + LEASE_MS);
              expect(deadline).toBe(NOW + LEASE_MS + p.leaseDeadlineMs[lane]);
            } else expect([due, deadline]).toEqual([e.due, e.deadline]);
          }
        }
        const keys = await redis.keys(`${k.root}*`);
        if (keys.length > 0) await redis.del(...keys);
        runs += 1;
      }),
      { numRuns: 300 },
    );
    expect(runs).toBe(300);
  });
});
