import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  DEADLINE_SLACK,
  INTERVAL_JITTER,
  MIN_INTERVAL_MS,
  MIN_INTERVAL_UNEXPORTED_MS,
  PRESSURE_MAX,
  VOLATILITY_PRIOR,
  claimTiers,
  coldQueueLatenessMs,
  groupDeadlines,
  sustainedRpm,
  fetchJitter,
  floorCoverage,
  hotFirstShare,
  HOT_SHARE_SLACK,
  loadConfig,
  nextPressures,
  floorPressure,
  laneStretch,
  coldSlackMs,
  guaranteeSlackMs,
  guaranteeMs,
  hotPressureCeiling,
  accrueCredit,
  hotCreditSpent,
  budgetPerMs,
  BONUS_PRESSURE,
  nextVolatility,
  packCalls,
  urgentLeadMs,
  refreshParams,
  refreshPlan,
  refreshValue,
  selectClaims,
  stepMax,
  entryDeadline,
  deadlineIntervalMs,
  slotsPerTick,
  tokenClass,
  type RefreshInput,
} from "../src/index.js";

const HIGH = { machine: { cpus: 8, memoryBytes: 16 * 1024 ** 3 } };
const params = refreshParams(loadConfig({}, HIGH));
const token = (o: Partial<RefreshInput> = {}): RefreshInput => ({
  lane: "hot",
  exported: false,
  smoothedScore: 0.2,
  volatility: 0.001,
  ...o,
});

describe("the value of a refresh", () => {
  it("grows with volatility, score, closeness to the exports and being exported", () => {
    const base = refreshValue(token(), params);
    expect(refreshValue(token({ volatility: 0.01 }), params)).toBeGreaterThan(base);
    expect(refreshValue(token({ smoothedScore: 0.35 }), params)).toBeGreaterThan(base);
    // 0.3 is within 0.2 of the exit threshold (0.45): near the exports
    const near = refreshValue(token({ smoothedScore: 0.3 }), params);
    expect(near).toBeGreaterThan(2.5 * refreshValue(token({ smoothedScore: 0.2 }), params));
    expect(refreshValue(token({ smoothedScore: 0.3, exported: true }), params)).toBeGreaterThan(near);
    expect(refreshValue(token({ lane: "cold" }), params)).toBeLessThan(base);
  });

  it("is never zero: a token that has not moved is still worth a refresh some day", () => {
    expect(refreshValue(token({ volatility: 0, smoothedScore: -1 }), params)).toBeGreaterThan(0);
  });
});

describe("the refresh plan", () => {
  it("keeps a quiet token within its lane's TTL at pressure 1 and within the floor less its slack under any pressure", () => {
    const within = (v: number, hi: number) => {
      // an interval at its cap loses up to INTERVAL_JITTER of it, never more
      expect(v).toBeLessThanOrEqual(hi);
      expect(v).toBeGreaterThanOrEqual(hi * (1 - INTERVAL_JITTER) - 1e-6);
    };
    const quiet = token({ volatility: 0 });
    const at1 = refreshPlan(quiet, 0, 1, params);
    within(at1.dueAt, params.ttlMs.hot - params.dueMarginMs);
    within(at1.deadlineAt, 4 * params.ttlMs.hot * (1 - DEADLINE_SLACK) - params.dueMarginMs);
    const hotStretched = refreshPlan(quiet, 0, PRESSURE_MAX, params);
    expect(hotStretched.dueAt).toBe(hotStretched.deadlineAt);
    const cold = token({ lane: "cold", volatility: 0, smoothedScore: 0 });
    within(refreshPlan(cold, 0, 1, params).dueAt, params.ttlMs.cold - params.dueMarginMs);
    const stretched = refreshPlan(cold, 0, PRESSURE_MAX, params);
    expect(stretched.dueAt).toBe(stretched.deadlineAt);
    within(stretched.deadlineAt, 4 * params.ttlMs.cold * (1 - DEADLINE_SLACK) - params.dueMarginMs);
  });

  it("spreads tokens fetched together: the jitter differs from fetch to fetch, the same fetch gets the same", () => {
    const cold = token({ lane: "cold", volatility: 0, smoothedScore: 0 });
    const deadlines = new Set(
      Array.from({ length: 50 }, (_, i) => refreshPlan(cold, 1_000 + i, 8, params).deadlineAt - i),
    );
    expect(deadlines.size).toBeGreaterThan(40);
    expect(refreshPlan(cold, 1_000, 8, params)).toEqual(refreshPlan(cold, 1_000, 8, params));
    for (let i = 0; i < 200; i++) {
      const j = fetchJitter(i * 7_919, i / 100);
      expect(j).toBeGreaterThanOrEqual(0);
      expect(j).toBeLessThan(1);
    }
  });

  it("wants a volatile token sooner than a quiet one, never sooner than the minimum interval", () => {
    const quiet = refreshPlan(token({ volatility: 0.0005 }), 1_000, 1, params);
    const busy = refreshPlan(token({ volatility: 0.01 }), 1_000, 1, params);
    expect(busy.dueAt).toBeLessThan(quiet.dueAt);
    const wild = refreshPlan(token({ volatility: 10 }), 1_000, 1, params);
    expect(wild.dueAt).toBe(1_000 + MIN_INTERVAL_UNEXPORTED_MS);
    const wildExported = refreshPlan(token({ volatility: 10, exported: true }), 1_000, 1, params);
    expect(wildExported.dueAt).toBe(1_000 + MIN_INTERVAL_MS);
    expect(busy.value).toBeGreaterThan(quiet.value);
  });

  it("gives an exported token EXPORT_REFRESH_S less its slack as its deadline", () => {
    const p = refreshPlan(token({ exported: true, volatility: 0 }), 10_000, 50, params);
    const hi = params.exportRefreshMs * (1 - DEADLINE_SLACK) - params.dueMarginMs;
    expect(p.deadlineAt - 10_000).toBeLessThanOrEqual(hi);
    expect(p.deadlineAt - 10_000).toBeGreaterThanOrEqual(hi * (1 - INTERVAL_JITTER) - 1e-6);
    expect(p.dueAt).toBeLessThanOrEqual(p.deadlineAt);
  });

  it("stretches the wanted interval with the pressure", () => {
    const t = token({ volatility: 0.01 });
    expect(refreshPlan(t, 0, 3, params).dueAt).toBeGreaterThan(refreshPlan(t, 0, 1, params).dueAt);
  });

  it("takes back the bonuses before any quiet token of the lane waits past its target", () => {
    const target = params.ttlMs.hot - params.dueMarginMs;
    const quiet = token({ volatility: 0 });
    const busy = token({ volatility: 0.02 });
    // up to BONUS_PRESSURE a quiet token keeps its target, a volatile one slows down towards it
    for (const press of [1, 1.5, BONUS_PRESSURE]) {
      expect(refreshPlan(quiet, 0, press, params).dueAt).toBeLessThanOrEqual(target);
      expect(laneStretch(press)).toBe(1);
    }
    expect(refreshPlan(busy, 0, BONUS_PRESSURE, params).dueAt).toBeGreaterThan(
      refreshPlan(busy, 0, 1, params).dueAt,
    );
    // past it the target stretches by pressure / BONUS_PRESSURE
    expect(laneStretch(3 * BONUS_PRESSURE)).toBe(3);
    const stretched = refreshPlan(quiet, 0, 3 * BONUS_PRESSURE, params).dueAt;
    expect(stretched).toBeGreaterThan(target);
    expect(stretched).toBeLessThanOrEqual(3 * target);
    expect(stretched).toBeGreaterThanOrEqual(3 * target * (1 - INTERVAL_JITTER) - 1e-6);
  });
});

describe("a token that enters the exports", () => {
  it("is due by its exported guarantee counted from its last fetch, at once when its snapshot is older", () => {
    const now = 1_000_000;
    const interval = deadlineIntervalMs("hot", true, params);
    expect(interval).toBeLessThan(params.exportRefreshMs);
    // fetched a moment ago: the rest of its exported interval
    expect(entryDeadline("hot", now - 500, now, params)).toBe(now - 500 + interval);
    // fetched 20 s ago, past what an exported token may be: refreshed now
    expect(entryDeadline("hot", now - 20_000, now, params)).toBe(now);
    // a fetch time from a clock ahead never puts the deadline past a whole interval from now
    expect(entryDeadline("hot", now + 60_000, now, params)).toBe(now + interval);
  });
});

describe("volatility and pressure", () => {
  it("learns the score change per second, weighting long gaps more", () => {
    expect(nextVolatility(null, 0.5, 0)).toBe(VOLATILITY_PRIOR);
    const prev = { volatility: 0, score: 0.2, at: 0 };
    const short = nextVolatility(prev, 0.3, 1_000); // 0.1/s over 1 s
    const long = nextVolatility(prev, 0.3 + 0.9, 10_000); // 0.1/s over 10 s
    expect(short).toBeGreaterThan(0);
    expect(long).toBeGreaterThan(short);
    expect(long).toBeLessThan(0.1);
    expect(nextVolatility({ volatility: 0.02, score: 0.2, at: 0 }, 0.2, 30_000)).toBeLessThan(0.02);
  });

  it("stretches hot past its bonuses only as far as its tokens at their target need more than its share", () => {
    const hotLate = { hot: 10_000, cold: 0 };
    // 121 hot tokens at an 8 s target need ~16/s; 179 cold ones leave hot ~18/s of 30/s: no stretch
    const small = { ...params, ttlMs: { hot: 10_000, cold: 5_000 } };
    const fits = hotPressureCeiling({ hot: 121, cold: 179 }, 60, small);
    expect(fits).toBe(BONUS_PRESSURE);
    let press = { hot: 1, cold: floorPressure("cold", small) };
    for (let i = 0; i < 200; i++) press = nextPressures(press, hotLate, 1_000, small, fits);
    expect(press.hot).toBe(BONUS_PRESSURE);
    expect(laneStretch(press.hot)).toBe(1);
    // three times the tokens: stretched by about what they need beyond the share
    const over = hotPressureCeiling({ hot: 363, cold: 179 }, 60, small);
    const needPerS = 363 / ((8_000 * (1 - INTERVAL_JITTER)) / 1000);
    const sharePerS = hotFirstShare(179, 60, small) * 30;
    expect(over).toBeCloseTo(BONUS_PRESSURE * (needPerS / sharePerS));
    // no share at all (the cold floor takes the budget): up to the hot floor, as before
    expect(hotPressureCeiling({ hot: 10, cold: 1_000_000 }, 60, small)).toBe(floorPressure("hot", small));
  });

  it("hands out a share of the budget as a credit that grows with time, not with the claims", () => {
    const rate = 0.5 * budgetPerMs(240); // half of 120 tokens/s
    expect(budgetPerMs(240)).toBeCloseTo(0.12);
    // a second at 60/s, then the cap
    expect(accrueCredit(0, 1_000, rate, 500)).toBeCloseTo(60);
    expect(accrueCredit(450, 1_000, rate, 500)).toBe(500);
    // ten claims in one second earn what one claim a second earns
    let many = 0;
    for (let i = 0; i < 10; i++) many = accrueCredit(many, 100, rate, 500);
    expect(many).toBeCloseTo(accrueCredit(0, 1_000, rate, 500));
    // a whole call spent on a little credit is paid back first, never more than the cap
    expect(accrueCredit(9 - 30, 0, rate, 500)).toBe(-21);
    expect(accrueCredit(-10_000, 0, rate, 500)).toBe(-500);
    expect(accrueCredit(-21, 1_000, rate, 500)).toBeCloseTo(39);
    // a clock that went back adds nothing
    expect(accrueCredit(10, -5_000, rate, 500)).toBe(10);
  });

  it("charges hot's credit the calls its share began, less the slots cold's tokens took in them", () => {
    const lanes = (hot: number, cold: number) => [
      ...Array.from({ length: hot }, () => ({ lane: "hot" as const })),
      ...Array.from({ length: cold }, () => ({ lane: "cold" as const })),
    ];
    // 3 exported and 15 wanted tokens under a credit of 18, the call completed by 12 cold ones: 18
    expect(hotCreditSpent(lanes(18, 12), 18, 30)).toBe(18);
    // ... completed by hot's own earliest deadlines (cold had none): the whole call
    expect(hotCreditSpent(lanes(30, 0), 18, 30)).toBe(30);
    // a little credit and a few exported tokens: only what hot put in the call
    expect(hotCreditSpent(lanes(3, 27), 5, 30)).toBe(3);
    // whole calls under a large credit
    expect(hotCreditSpent(lanes(60, 0), 100, 30)).toBe(60);
    // a call cold's tokens fill alone (hot's urgent ones, no credit): nothing
    expect(hotCreditSpent(lanes(2, 28), 0, 30)).toBe(0);
    // the budget did not bind (no top-up): 3 exported tokens alone cost a whole call
    expect(hotCreditSpent(lanes(3, 0), 18, 30)).toBe(30);
    expect(hotCreditSpent([], 18, 30)).toBe(0);
  });

  it("stretches a lane only while it is late itself, cold first, and relaxes hot first", () => {
    const coldLate = { hot: 0, cold: 10_000 };
    const bothLate = { hot: 10_000, cold: 10_000 };
    expect(nextPressures({ hot: 1, cold: 1 }, coldLate, 2_000, params)).toEqual({ hot: 1, cold: 1.05 });
    const coldFloor = floorPressure("cold", params);
    expect(coldFloor).toBeCloseTo((BONUS_PRESSURE * (4 * 30_000 * (1 - DEADLINE_SLACK) - 2_000)) / 28_000);
    // cold late at its floor never stretches hot while hot is on time (the budget-fleet case)
    expect(nextPressures({ hot: 1, cold: coldFloor }, coldLate, 2_000, params)).toEqual({
      hot: 1,
      cold: coldFloor,
    });
    // both late: cold first, hot once cold is at its floor
    expect(nextPressures({ hot: 1, cold: 1 }, bothLate, 2_000, params)).toEqual({ hot: 1, cold: 1.05 });
    expect(nextPressures({ hot: 1, cold: coldFloor }, bothLate, 2_000, params)).toEqual({
      hot: 1.05,
      cold: coldFloor,
    });
    // hot late on its own (its demand is above what the budget leaves it): hot stretches
    expect(nextPressures({ hot: 1, cold: 1 }, { hot: 10_000, cold: 0 }, 2_000, params).hot).toBeCloseTo(1.05);
    expect(nextPressures({ hot: 99, cold: 99 }, bothLate, 2_000, params)).toEqual({
      hot: floorPressure("hot", params),
      cold: coldFloor,
    });
    const calm = { hot: 0, cold: 0 };
    expect(nextPressures({ hot: 2, cold: 3 }, calm, 2_000, params).hot).toBeCloseTo(2 / 1.02);
    expect(nextPressures({ hot: 1, cold: 3 }, calm, 2_000, params).cold).toBeCloseTo(3 / 1.02);
    // between half the target and the target: hold
    expect(nextPressures({ hot: 2, cold: 3 }, { hot: 1_500, cold: 0 }, 2_000, params)).toEqual({
      hot: 2,
      cold: 3,
    });
  });
});

describe("packing and claims", () => {
  it("packs the most valuable first, the earliest deadline first among equals", () => {
    const calls = packCalls(
      [
        { mint: "a", value: 1, deadlineAt: 5 },
        { mint: "b", value: 3, deadlineAt: 9 },
        { mint: "c", value: 1, deadlineAt: 2 },
        { mint: "d", value: 2, deadlineAt: 1 },
        { mint: "e", value: 3, deadlineAt: 4 },
      ],
      2,
    );
    expect(calls).toEqual([["e", "b"], ["d", "c"], ["a"]]);
    expect(packCalls([])).toEqual([]);
    // jobs of whole calls: 45 asked, 30 given (a job of 45 would pay two calls)
    const many = Array.from({ length: 90 }, (_, i) => ({ mint: `m${i}`, value: 1, deadlineAt: i }));
    expect(packCalls(many, 45).map((g) => g.length)).toEqual([30, 30, 30]);
    expect(packCalls(many, 60).map((g) => g.length)).toEqual([60, 30]);
    // another lane's tokens complete the last call, after the lane's own whatever their value
    const cold = [
      { mint: "x", value: 9, deadlineAt: 0 },
      { mint: "y", value: 0, deadlineAt: 1 },
    ];
    expect(packCalls(many.slice(0, 3), 2, -Infinity, cold)).toEqual([["m0", "m1"], ["m2", "x"], ["y"]]);
  });

  it("packs the tokens at their deadline first, earliest first, then the rest by value", () => {
    const tokens = [
      { mint: "a", value: 1, deadlineAt: 5 },
      { mint: "b", value: 3, deadlineAt: 9 },
      { mint: "c", value: 1, deadlineAt: 2 },
      { mint: "d", value: 2, deadlineAt: 1 },
      { mint: "e", value: 3, deadlineAt: 4 },
    ];
    // urgent up to 4: d (1), c (2), e (4) by deadline; then b before a by value
    expect(packCalls(tokens, 2, 4)).toEqual([["d", "c"], ["e", "b"], ["a"]]);
    // nothing urgent: value order, as without the bound
    expect(packCalls(tokens, 2, 0)).toEqual(packCalls(tokens, 2));
  });

  it("makes a lane's token urgent from the wait its job has before its calls, within half its slack", () => {
    const c = loadConfig({ UPSTREAM_RPM: "240" }, HIGH);
    const p = refreshParams(c);
    // 240 calls/min of 30 mints: 0.12 mint slots per ms
    const rate = budgetPerMs(240);
    const ahead = { hot: 60, cold: 240 };
    // hot passes cold's queue: its own queue and its job (here within its cap)
    const hotCap = guaranteeSlackMs("hot", true, p) / 2;
    expect(hotCap).toBeGreaterThan((60 + 30) / rate);
    expect(urgentLeadMs("hot", ahead, 30, 240, 1_000, p)).toBeCloseTo(1_000 + (60 + 30) / rate, 6);
    // cold waits behind both queues and its job
    expect(urgentLeadMs("cold", ahead, 30, 240, 1_000, p)).toBeCloseTo(1_000 + (60 + 240 + 30) / rate, 6);
    // a long queue makes a token urgent at most half its lane's tightest slack ahead (plus the
    // tick): cold's floor slack; for hot the exported tokens' slack, far less than its floor's
    const long = { hot: 1e6, cold: 1e6 };
    expect(urgentLeadMs("cold", long, 30, 240, 1_000, p)).toBeCloseTo(1_000 + coldSlackMs(p) / 2, 6);
    expect(urgentLeadMs("hot", long, 30, 240, 1_000, p)).toBeCloseTo(1_000 + hotCap, 6);
    expect(hotCap).toBeLessThan(guaranteeSlackMs("hot", false, p) / 2);
    // a budget far above the queue: about one tick
    expect(urgentLeadMs("cold", ahead, 30, 1_000_000, 1_000, p)).toBeLessThan(1_001);
  });

  it("takes urgent tokens before wanted ones, then wanted ones by due time", () => {
    const got = selectClaims(
      [
        { mint: "wanted-late", dueAt: 5, deadlineAt: 100 },
        { mint: "wanted-early", dueAt: 1, deadlineAt: 100 },
        { mint: "urgent", dueAt: 50, deadlineAt: 11 },
        { mint: "not-due", dueAt: 20, deadlineAt: 100 },
      ],
      10,
      3,
      1,
    );
    expect(got).toEqual(["urgent", "wanted-early", "wanted-late"]);
    expect(selectClaims([{ mint: "x", dueAt: 0, deadlineAt: 0 }], 10, 0, 1)).toEqual([]);
  });

  it("takes the exported tokens that are due before the lane's other due ones, after the urgent", () => {
    const tokens = [
      { mint: "wanted-early", dueAt: 1, deadlineAt: 100 },
      { mint: "bot-late", dueAt: 9, deadlineAt: 100 },
      { mint: "bot-early", dueAt: 8, deadlineAt: 100 },
      { mint: "bot-not-due", dueAt: 20, deadlineAt: 100 },
      { mint: "urgent", dueAt: 50, deadlineAt: 11 },
    ];
    const bots = new Set(["bot-late", "bot-early", "bot-not-due"]);
    expect(selectClaims(tokens, 10, 3, 1, bots)).toEqual(["urgent", "bot-early", "bot-late"]);
    expect(selectClaims(tokens, 10, 4, 1, bots)).toEqual(["urgent", "bot-early", "bot-late", "wanted-early"]);
    // without the exported set, due order alone
    expect(selectClaims(tokens, 10, 3, 1)).toEqual(["urgent", "wanted-early", "bot-early"]);
    // an exported token due within the lookahead goes now, not a tick after its due time
    expect(selectClaims(tokens, 10, 5, 1, bots, 10)).toEqual([
      "urgent",
      "bot-early",
      "bot-late",
      "bot-not-due",
      "wanted-early",
    ]);
  });

  it("fills what the budget leaves with the earliest deadlines ahead", () => {
    const got = selectClaims(
      [
        { mint: "later", dueAt: 90, deadlineAt: 200 },
        { mint: "sooner", dueAt: 90, deadlineAt: 150 },
        { mint: "due", dueAt: 5, deadlineAt: 300 },
      ],
      10,
      2,
      1,
    );
    expect(got).toEqual(["due", "sooner"]);
  });

  it("claims hot's urgent and wanted tokens within the share beyond the cold floor before cold's urgent ones", () => {
    const tiers = claimTiers(true).map(
      (t) =>
        `${t.lane}:${t.tier}${t.hotFirst ? "*" : ""}${t.topUp ? "+" : ""}${t.into && t.into !== t.lane ? `>${t.into}` : ""}`,
    );
    expect(tiers).toEqual([
      "hot:urgent",
      // the bots' tokens do not queue behind the lane's other due ones
      "hot:exported*",
      "hot:wanted*",
      "cold:urgent",
      "hot:wanted",
      "cold:wanted",
      // while the budget binds: complete hot's last call with cold's earliest deadlines (cold's own
      // work: hot's credit pays for hot's tokens only), then with hot's; cold's last call, then
      // cold's whole calls
      "cold:early+>hot",
      "hot:early+",
      "cold:early+",
      "cold:early",
    ]);
    // no early claims while the budget does not bind (every claimed token is fetched soon anyway)
    expect(claimTiers(false).some((t) => t.tier === "early")).toBe(false);
    // 240/min pays 120 tokens/s; 9,500 cold tokens need about 9,500 / 100 s of it
    const share = hotFirstShare(9_500, 240, params);
    expect(share).toBeGreaterThan(0.1);
    expect(share).toBeLessThan(0.3);
    expect(hotFirstShare(0, 240, params)).toBe(1);
    expect(hotFirstShare(1_000_000, 240, params)).toBe(0);
    expect(hotFirstShare(10, 0, params)).toBe(0);
    // a cold deadline passed by up to a tick: the whole share
    expect(hotFirstShare(9_500, 240, params, 1_000, 1_000)).toBe(share);
    // later: the share shrinks with the cold lateness, gone once it has used HOT_SHARE_SLACK of the cold slack
    const slack = coldSlackMs(params);
    expect(slack).toBeCloseTo(4 * 30_000 * DEADLINE_SLACK + 2_000);
    const used = HOT_SHARE_SLACK * slack;
    expect(hotFirstShare(9_500, 240, params, used / 2, 1_000)).toBeCloseTo(share / 2);
    expect(hotFirstShare(9_500, 240, params, used / 4, 1_000)).toBeCloseTo((share * 3) / 4);
    expect(hotFirstShare(9_500, 240, params, used, 1_000)).toBe(0);
    expect(hotFirstShare(9_500, 240, params, slack, 1_000)).toBe(0);
    expect(hotFirstShare(9_500, 240, params, slack * 3, 1_000)).toBe(0);
  });

  it("bounds each step of a claim: budget, room, hot's first share, whole calls, top-ups", () => {
    const limits = {
      budget: 70,
      hotPasses: 60,
      hotYields: false,
      room: { hot: 200, cold: 200 },
      hotFirst: 40,
      fill: { hot: 30, cold: 30 },
    };
    const none = { hot: 0, cold: 0 };
    const s = (lane: "hot" | "cold", tier: "urgent" | "exported" | "wanted" | "early", o = {}) => ({
      lane,
      tier,
      hotFirst: false,
      topUp: false,
      ...o,
    });
    // urgent takes what budget and room allow, not cut to whole calls
    expect(stepMax(s("cold", "urgent"), none, 70, limits)).toBe(70);
    expect(stepMax(s("cold", "urgent"), { hot: 0, cold: 190 }, 70, limits)).toBe(10);
    // wanted and early whole calls, counting what the lane holds
    expect(stepMax(s("cold", "wanted"), none, 70, limits)).toBe(60);
    expect(stepMax(s("cold", "early"), { hot: 0, cold: 10 }, 70, limits)).toBe(50);
    expect(stepMax(s("cold", "wanted"), none, 20, limits)).toBe(20);
    // hot's first share caps the hot tokens of the claim
    expect(stepMax(s("hot", "wanted", { hotFirst: true }), { hot: 10, cold: 0 }, 70, limits)).toBe(20);
    // the exported step too, not cut to whole calls (the next step completes the call)
    expect(stepMax(s("hot", "exported", { hotFirst: true }), { hot: 3, cold: 0 }, 70, limits)).toBe(37);
    expect(stepMax(s("hot", "exported", { hotFirst: true }), none, 0, limits)).toBe(40);
    expect(stepMax(s("hot", "exported", { hotFirst: true }), none, 0, { ...limits, hotFirst: 0 })).toBe(0);
    // queued cold jobs do not hold hot's urgent and first-share steps back (hot is fetched first) ...
    expect(stepMax(s("hot", "urgent"), none, 0, limits)).toBe(60);
    expect(stepMax(s("hot", "wanted", { hotFirst: true }), none, 0, limits)).toBe(30);
    // ... but do hold back hot's other wanted tokens and every cold step
    expect(stepMax(s("hot", "wanted"), none, 0, limits)).toBe(0);
    expect(stepMax(s("cold", "urgent"), none, 0, limits)).toBe(0);
    // a top-up completes the lane's last call even with no budget left
    expect(stepMax(s("hot", "early", { topUp: true }), { hot: 35, cold: 0 }, 0, limits)).toBe(25);
    expect(stepMax(s("hot", "early", { topUp: true }), { hot: 60, cold: 0 }, 0, limits)).toBe(0);
    // while cold's queue runs late, hot's wanted step beyond its first share yields; the rest do not
    const late = { ...limits, hotYields: true };
    expect(stepMax(s("hot", "wanted"), none, 70, late)).toBe(0);
    expect(stepMax(s("hot", "wanted", { hotFirst: true }), none, 70, late)).toBe(30);
    expect(stepMax(s("hot", "urgent"), none, 0, late)).toBe(60);
    expect(stepMax(s("cold", "wanted"), none, 70, late)).toBe(60);
    expect(stepMax(s("hot", "early", { topUp: true }), { hot: 35, cold: 0 }, 0, late)).toBe(25);
  });

  it("reads cold's queue as late once a queued job's earliest deadline has passed", () => {
    const now = 1_800_000_000_000;
    expect(coldQueueLatenessMs(now, null)).toBe(0);
    expect(coldQueueLatenessMs(now, now + 3_000)).toBe(0);
    expect(coldQueueLatenessMs(now, now)).toBe(0);
    expect(coldQueueLatenessMs(now, now - 6_500)).toBe(6_500);
    // as late as a deadline gone by: hot's first share shrinks with it, and is gone past half the slack
    const share = hotFirstShare(170, 56, params, 0, 500);
    expect(share).toBeGreaterThan(0);
    const half = (HOT_SHARE_SLACK * coldSlackMs(params)) / 2;
    expect(hotFirstShare(170, 56, params, coldQueueLatenessMs(now, now - half), 500)).toBeCloseTo(share / 2);
  });

  it("gives each packed job its tokens' earliest deadline, none when the claim read none", () => {
    const t = (mint: string, deadlineAt: number) => ({ mint, value: 1, deadlineAt });
    const tokens = [t("a", 5_000.7), t("b", 2_000), t("c", 9_000), t("d", 0)];
    expect(groupDeadlines([["a", "b"], ["c"], ["d"], ["zz"]], tokens)).toEqual([
      2_000,
      9_000,
      undefined,
      undefined,
    ]);
    expect(groupDeadlines([["a"]], tokens)).toEqual([5_000]);
    // the claim's lead comes off: the job takes the budget as hot that much before its deadline
    expect(groupDeadlines([["a", "b"], ["c"], ["d"]], tokens, 1_500)).toEqual([500, 7_500, undefined]);
    expect(groupDeadlines([["c"]], tokens, -5)).toEqual([9_000]);
    expect(groupDeadlines([["c"]], tokens, Number.NaN)).toEqual([9_000]);
  });

  it("plans on the rate the budget's bucket refills at, UPSTREAM_RPM less its burst", () => {
    expect(sustainedRpm({ upstreamRpm: 240, upstreamBurst: 8 })).toBe(232);
    expect(sustainedRpm({ upstreamRpm: 60, upstreamBurst: 4 })).toBe(56);
    expect(sustainedRpm({ upstreamRpm: 2, upstreamBurst: 1 })).toBe(1);
    // the defaults: what the fleet's bucket (rate-budget.ts) refills at
    const c = loadConfig({});
    expect(sustainedRpm(c)).toBe(c.upstreamRpm - c.upstreamBurst);
    expect(budgetPerMs(sustainedRpm(c)) * 60_000).toBe((c.upstreamRpm - c.upstreamBurst) * 30);
  });

  it("counts the budget's mint slots per tick and whether the floor is covered", () => {
    expect(slotsPerTick(240, 1_000)).toBe(120);
    const small = floorCoverage({ hot: 300, cold: 9_700 }, 240, params);
    expect(small.budgetPerS).toBe(120);
    expect(small.covered).toBe(true);
    expect(floorCoverage({ hot: 3_000, cold: 97_000 }, 240, params).covered).toBe(false);
  });

  it("classes a token: exported, then top 50, then its lane", () => {
    expect(tokenClass({ lane: "hot", exported: true, top: true })).toBe("exported");
    expect(tokenClass({ lane: "cold", exported: false, top: true })).toBe("top50");
    expect(tokenClass({ lane: "hot", exported: false, top: false })).toBe("active");
    expect(tokenClass({ lane: "cold", exported: false, top: false })).toBe("monitoring");
    expect(tokenClass({ lane: null, exported: false, top: false })).toBeNull();
  });
});

/**
 * The guarantee, in ticks of 1 s: every tick the budget refreshes up to `capacity` tokens chosen by
 * selectClaims, each refreshed token gets a new plan from its (arbitrary) value and pressure, and no
 * token may ever wait longer than its guarantee. "The budget covers the floor": tokens of one
 * guarantee (a lane, exported or not), registered over time so that no tick holds more than
 * `capacity` deadlines (a refresh starts one new deadline, so no tick ever does).
 */
describe("the staleness guarantee (property)", () => {
  const TICK = 1_000;
  const p = { ...params, dueMarginMs: TICK };

  it("holds for any mix of values while the budget covers the floor", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12 }),
        fc.constantFrom("hot" as const, "cold" as const),
        fc.boolean(),
        fc.array(
          fc.record({
            smoothedScore: fc.double({ min: -1, max: 3, noNaN: true }),
            // from dead still to wildly volatile
            volatility: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 5, noNaN: true })),
            pressure: fc.double({ min: 1, max: 64, noNaN: true }),
          }),
          { minLength: 1, maxLength: 150 },
        ),
        (capacity, lane, exported, specs) => {
          const limit = (exported ? p.exportRefreshMs : 4 * p.ttlMs[lane]) - p.dueMarginMs;
          // the floor: every token once per `limit`, in `capacity` slots a tick
          fc.pre(specs.length <= capacity * (limit / TICK));
          const state = specs.map((s, i) => {
            const fetchedAt = -Math.floor(i / capacity) * TICK;
            const t = { ...s, lane, exported };
            return { ...t, mint: `m${i}`, fetchedAt, ...refreshPlan(t, fetchedAt, s.pressure, p) };
          });
          const horizon = 3 * limit;
          let refreshed = 0;
          for (let now = 0; now <= horizon; now += TICK) {
            const picked = new Set(selectClaims(state, now, capacity, TICK));
            expect(picked.size).toBeLessThanOrEqual(capacity);
            for (const t of state) {
              if (picked.has(t.mint)) {
                Object.assign(t, { fetchedAt: now, ...refreshPlan(t, now, t.pressure, p) });
                refreshed++;
              } else expect(now - t.fetchedAt).toBeLessThanOrEqual(limit);
            }
          }
          expect(refreshed).toBeGreaterThanOrEqual(state.length);
        },
      ),
      { numRuns: 80 },
    );
  });

  it("fails when the budget does not cover the floor (the property can fail)", () => {
    const lane = "hot" as const;
    const limit = 4 * p.ttlMs[lane] - p.dueMarginMs;
    const n = limit / TICK + 5; // more tokens than one slot a tick can keep within the floor
    const state = Array.from({ length: n }, (_, i) => {
      const t = { lane, exported: false, smoothedScore: 0, volatility: 0 };
      return { ...t, mint: `m${i}`, fetchedAt: -Math.floor(i) * TICK, ...refreshPlan(t, -i * TICK, 1, p) };
    });
    let worst = 0;
    for (let now = 0; now <= 3 * limit; now += TICK) {
      const picked = new Set(selectClaims(state, now, 1, TICK));
      for (const t of state) {
        if (picked.has(t.mint)) Object.assign(t, { fetchedAt: now, ...refreshPlan(t, now, 1, p) });
        else worst = Math.max(worst, now - t.fetchedAt);
      }
    }
    expect(worst).toBeGreaterThan(limit);
  });
});

/**
 * Both lanes in one claim, in ticks of 1 s: claimTiers' steps, each bounded by stepMax, with hot's
 * first share handed out as the producer does (hotFirstShare accrued by accrueCredit, shrinking
 * while a cold deadline has passed, paid back for what hot took under it); every claimed token is
 * fetched within its tick and gets a new plan from its (arbitrary) value and pressure. While the
 * budget covers the floors and the exported guarantee (floorCoverage), no token of either lane waits
 * past its guarantee, whatever the values, pressures and the share want.
 */
describe("the staleness guarantee over both lanes and hot's first share (property)", () => {
  const TICK = 1_000;
  const p = { ...params, dueMarginMs: TICK };
  type Lane = "hot" | "cold";
  interface Sim extends RefreshInput {
    readonly mint: string;
    readonly pressure: number;
    fetchedAt: number;
    dueAt: number;
    deadlineAt: number;
  }
  const limitOf = (t: Sim) => guaranteeMs(t.lane, t.exported, p) - p.dueMarginMs;
  const refresh = (t: Sim, at: number) => {
    const plan = refreshPlan(t, at, t.pressure, p);
    Object.assign(t, { fetchedAt: at, dueAt: plan.dueAt, deadlineAt: plan.deadlineAt });
  };
  const byThenMint = (key: (t: Sim) => number) => (a: Sim, b: Sim) =>
    key(a) - key(b) || (a.mint < b.mint ? -1 : 1);

  /** One tick's claim over both lanes: the tiers in order, as CLAIM_PLAN takes them (fill 1). */
  function claim(state: Sim[], now: number, capacity: number, hotFirst: number) {
    const limits = {
      budget: capacity,
      room: { hot: capacity * 10, cold: capacity * 10 },
      fill: { hot: 1, cold: 1 },
      hotFirst,
      hotPasses: 0,
      hotYields: false,
    };
    const taken = new Set<string>();
    const got = { hot: 0, cold: 0 };
    let budget = capacity;
    for (const s of claimTiers(true)) {
      const m = stepMax(s, got, budget, limits);
      if (m <= 0) continue;
      const lane = state.filter((t) => t.lane === s.lane && !taken.has(t.mint));
      const picked =
        s.tier === "urgent"
          ? lane.filter((t) => t.deadlineAt <= now + TICK).sort(byThenMint((t) => t.deadlineAt))
          : s.tier === "exported"
            ? lane.filter((t) => t.exported && t.dueAt <= now + TICK).sort(byThenMint((t) => t.dueAt))
            : s.tier === "wanted"
              ? lane.filter((t) => t.dueAt <= now).sort(byThenMint((t) => t.dueAt))
              : lane.sort(byThenMint((t) => t.deadlineAt));
      for (const t of picked.slice(0, m)) taken.add(t.mint);
      got[s.lane] += Math.min(m, picked.length);
      budget -= Math.min(m, picked.length);
    }
    return { taken, got };
  }

  /** The largest wait past its guarantee any token had over `horizon` (0: none), and refreshes made. */
  function run(state: Sim[], capacity: number, horizon: number) {
    const rpm = 2 * capacity; // 30 mints a call: `capacity` mint slots a second
    const cold = state.filter((t) => t.lane === "cold").length;
    let credit: number | null = null;
    let worstOver = 0;
    let refreshed = 0;
    for (let now = 0; now <= horizon; now += TICK) {
      const coldDeadlines = state.filter((t) => t.lane === "cold").map((t) => t.deadlineAt);
      const coldLate = Math.max(0, now - Math.min(Infinity, ...coldDeadlines));
      const share = hotFirstShare(cold, rpm, p, coldLate, TICK);
      const rate = share * budgetPerMs(rpm);
      const cap = rate * Math.max(2 * TICK, coldSlackMs(p) / 2);
      credit = accrueCredit(credit ?? Math.min(cap, share * capacity), credit === null ? 0 : TICK, rate, cap);
      const hotFirst = Math.max(0, Math.min(Math.floor(credit), capacity));
      const { taken, got } = claim(state, now, capacity, hotFirst);
      expect(taken.size).toBeLessThanOrEqual(capacity);
      credit -= Math.min(got.hot, hotFirst);
      for (const t of state) {
        if (taken.has(t.mint)) {
          refresh(t, now);
          refreshed++;
        } else worstOver = Math.max(worstOver, now - t.fetchedAt - limitOf(t));
      }
    }
    return { worstOver, refreshed };
  }

  const spec = fc.record({
    smoothedScore: fc.double({ min: -1, max: 3, noNaN: true }),
    volatility: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 5, noNaN: true })),
    pressure: fc.double({ min: 1, max: 64, noNaN: true }),
  });

  /** The shortest interval a token of this kind gets to its deadline (all its jitter taken). */
  const shortest = (lane: Lane, exported: boolean) =>
    deadlineIntervalMs(lane, exported, p) * (1 - INTERVAL_JITTER);

  /**
   * Exported, hot and cold tokens, each kind's last fetches spread evenly over its shortest deadline
   * interval before the start (a registry that has run a while), in whole ticks.
   */
  function registry(exported: unknown[], hot: unknown[], cold: unknown[]): Sim[] {
    const kinds: Array<[Lane, boolean, unknown[]]> = [
      ["hot", true, exported],
      ["hot", false, hot],
      ["cold", false, cold],
    ];
    let i = 0;
    return kinds.flatMap(([lane, isExported, specs]) =>
      specs.map((s, j) => {
        const t = { ...(s as object), lane, exported: isExported, mint: `m${i++}` } as Sim;
        const ago = Math.floor((j * shortest(lane, isExported)) / specs.length / TICK) * TICK;
        refresh(t, -ago);
        return t;
      }),
    );
  }

  /** A registry whose floors need `load` of `capacity` slots a second: exported, hot, then cold. */
  const mix = fc
    .record({
      capacity: fc.integer({ min: 2, max: 6 }),
      load: fc.double({ min: 0.5, max: 1, noNaN: true }),
      exported: fc.integer({ min: 0, max: 3 }),
      hot: fc.integer({ min: 0, max: 40 }),
    })
    .chain((m) => {
      const perS = (lane: Lane, exported: boolean) => 1000 / shortest(lane, exported);
      const left = m.load * m.capacity - m.exported * perS("hot", true) - m.hot * perS("hot", false);
      const cold = Math.max(1, Math.floor(left / perS("cold", false)));
      const specs = (n: number) => fc.array(spec, { minLength: n, maxLength: n });
      return fc.record({
        capacity: fc.constant(m.capacity),
        exported: specs(m.exported),
        hot: specs(m.hot),
        cold: specs(cold),
      });
    });

  it("holds for any mix of values, pressures and share while the budget covers the floors", () => {
    fc.assert(
      fc.property(mix, ({ capacity, exported, hot, cold }) => {
        const need = floorCoverage({ hot: hot.length, cold: cold.length }, 2 * capacity, p, exported.length);
        fc.pre(need.covered);
        const state = registry(exported, hot, cold);
        const { worstOver, refreshed } = run(state, capacity, 2 * guaranteeMs("cold", false, p));
        expect(worstOver).toBeLessThanOrEqual(0);
        expect(refreshed).toBeGreaterThanOrEqual(state.length);
      }),
      { numRuns: 60 },
    );
  });

  it("fails when the cold floor is not covered (the property can fail)", () => {
    const capacity = 2;
    // more cold tokens than two slots a second keep within the cold floor
    const quiet = { smoothedScore: 0, volatility: 0, pressure: 64 };
    const n = Math.ceil((capacity * deadlineIntervalMs("cold", false, p)) / TICK) + 40;
    const state = registry(
      [],
      [quiet, quiet],
      Array.from({ length: n }, () => quiet),
    );
    expect(floorCoverage({ hot: 2, cold: n }, 2 * capacity, p).covered).toBe(false);
    expect(run(state, capacity, 2 * guaranteeMs("cold", false, p)).worstOver).toBeGreaterThan(0);
  });
});
