import { laneSchema, tokenStatusSchema } from "@moonfleet/domain";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  DEFAULT_WEIGHTS,
  TX_ACCEL_CAP,
  VOL_MOMENTUM_CAP,
  evaluateToken,
  pairsSchema,
  smooth,
} from "../src/index.js";
import type { Components, Pair, Scores, TokenEvaluation, Weights } from "../src/index.js";
import { MINT, NOW, OTHER_MINT, WSOL } from "./fixtures.js";

// Property-based tests over "any JSON the upstream could send": the Pair schema either accepts a
// value or rejects it with issues (never throws), and whatever it accepts scores to finite numbers
// within the model's bounds, whatever the token's state, clock and previous scores.

const RUNS = { numRuns: 300 };

/** Each component's range: txAccel and volMomentum are capped, freshness and orderflow clamped. */
const BOUNDS: Readonly<Record<keyof Components, readonly [number, number]>> = {
  txAccel: [0, TX_ACCEL_CAP],
  volMomentum: [0, VOL_MOMENTUM_CAP],
  freshness: [0, 1],
  orderflow: [-1, 1],
};
const COMPONENTS = Object.keys(BOUNDS) as Array<keyof Components>;
const EPSILON = 1e-9;

/** The range of the weighted sum when each component stays within its bounds. */
function scoreRange(w: Weights): [number, number] {
  let lo = 0;
  let hi = 0;
  for (const key of COMPONENTS) {
    const [a, b] = BOUNDS[key];
    lo += Math.min(w[key] * a, w[key] * b);
    hi += Math.max(w[key] * a, w[key] * b);
  }
  return [lo, hi];
}

// --- Arbitraries: values the upstream could put where a number is expected -------------------

const extremeNumber = fc.constantFrom(
  0,
  -0,
  1,
  -1,
  Number.MAX_VALUE,
  -Number.MAX_VALUE,
  Number.MIN_VALUE,
  Number.MAX_SAFE_INTEGER,
  1e308,
  -1e308,
  1e-320,
  NaN,
  Infinity,
  -Infinity,
);
const numericString = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }).map(String),
  fc.integer().map(String),
  fc.bigInt({ min: -(10n ** 400n), max: 10n ** 400n }).map(String),
  fc.constantFrom("0", "-0", "1e400", "-1e400", "1e-400", "00012", "12.50", "1E+308", "2e308"),
);
const nonNumericString = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.constantFrom("", " 5", "5 ", "1.", ".5", "0x10", "Infinity", "NaN", "1_000", "1,5", "--1", "١٢٣"),
);
const wrongType = fc.oneof(
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 4 }), fc.integer(), { maxKeys: 3 }),
);
const junk = fc.oneof(
  { depthSize: "small" },
  wrongType,
  fc.string({ maxLength: 8 }),
  fc.jsonValue({ maxDepth: 3 }),
  fc.anything({ maxDepth: 2 }),
);

/** Mostly plausible numbers, sometimes extremes, strings (numeric and not) and wrong types. */
const numberish = fc.oneof(
  { arbitrary: fc.double({ min: 0, max: 1e7, noNaN: true }), weight: 6 },
  { arbitrary: fc.integer({ min: 0, max: 5_000 }), weight: 4 },
  { arbitrary: fc.double(), weight: 2 },
  { arbitrary: extremeNumber, weight: 2 },
  { arbitrary: numericString, weight: 2 },
  { arbitrary: nonNumericString, weight: 1 },
  { arbitrary: wrongType, weight: 1 },
);

/** A field that is usually well formed, sometimes junk. */
const mostly = <T>(good: fc.Arbitrary<T>) =>
  fc.oneof({ arbitrary: good, weight: 8 }, { arbitrary: junk, weight: 1 });

const windowsOf = (value: fc.Arbitrary<unknown>) =>
  fc.record(
    {
      m5: fc.oneof(value, fc.constant(null)),
      h1: fc.oneof(value, fc.constant(null)),
      h6: value,
      h24: value,
    },
    { requiredKeys: [] },
  );

const tokenRef = (addresses: fc.Arbitrary<unknown>) =>
  fc.record(
    {
      address: addresses,
      name: mostly(fc.string({ maxLength: 10 })),
      symbol: mostly(fc.constantFrom("SOL", "WSOL", " sol ", "USDC", "USD1", "BONK", "MOON", "")),
    },
    { requiredKeys: [] },
  );

/** One element of an answer: a DexScreener pair with any field missing, null, junk or extreme. */
const pairish = fc.record(
  {
    chainId: mostly(fc.constantFrom("solana", "ethereum", "")),
    dexId: mostly(
      fc.constantFrom("raydium", "orca", "meteora", "pumpswap", "pumpfun-amm", "pumpfun", "launchlab"),
    ),
    url: mostly(fc.webUrl()),
    pairAddress: mostly(fc.stringMatching(/^[1-9A-HJ-NP-Za-km-z]{1,6}$/)),
    labels: fc.oneof(fc.array(fc.constantFrom("CLMM", "DLMM", "CPMM", "wp"), { maxLength: 2 }), junk),
    baseToken: mostly(tokenRef(mostly(fc.constantFrom(MINT, OTHER_MINT)))),
    quoteToken: mostly(tokenRef(mostly(fc.constant(WSOL)))),
    priceNative: mostly(fc.oneof(numericString, nonNumericString)),
    priceUsd: mostly(fc.oneof(numericString, nonNumericString)),
    txns: mostly(windowsOf(mostly(fc.record({ buys: numberish, sells: numberish }, { requiredKeys: [] })))),
    volume: mostly(windowsOf(numberish)),
    priceChange: mostly(windowsOf(numberish)),
    liquidity: mostly(fc.record({ usd: numberish, base: numberish, quote: numberish }, { requiredKeys: [] })),
    fdv: numberish,
    marketCap: numberish,
    pairCreatedAt: numberish,
    info: junk,
  },
  { requiredKeys: ["baseToken", "quoteToken", "pairAddress"] },
);

/** Whole answers: arrays of pairs, the odd junk element, or not an array at all. */
const answer = fc.oneof(
  { arbitrary: fc.array(pairish, { maxLength: 8 }), weight: 8 },
  { arbitrary: fc.array(fc.oneof(pairish, junk), { maxLength: 4 }), weight: 1 },
  { arbitrary: junk, weight: 1 },
  {
    arbitrary: fc.record({ schemaVersion: fc.string(), pairs: fc.array(pairish, { maxLength: 2 }) }),
    weight: 1,
  },
);

/** A value nested `depth` levels down: `[[[...]]]` or `{"a":{"a":...}}`. */
function nested(depth: number, inArray: boolean): unknown {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = inArray ? [v] : { a: v };
  return v;
}

// --- Arbitraries: the token's state around one evaluation ----------------------------------

const anyTime = fc.oneof(
  fc.integer({ min: NOW - 30 * 86_400_000, max: NOW + 86_400_000 }),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(0, -1, Number.MAX_SAFE_INTEGER, Number.MAX_VALUE, -Number.MAX_VALUE),
);
const finiteDouble = fc.double({ noNaN: true, noDefaultInfinity: true });
const boundedScores: fc.Arbitrary<Scores> = fc.record({
  txAccel: fc.double({ min: 0, max: TX_ACCEL_CAP, noNaN: true }),
  volMomentum: fc.double({ min: 0, max: VOL_MOMENTUM_CAP, noNaN: true }),
  freshness: fc.double({ min: 0, max: 1, noNaN: true }),
  orderflow: fc.double({ min: -1, max: 1, noNaN: true }),
  score: fc.double({ min: -0.25, max: 6.75, noNaN: true }),
});
const anyScores: fc.Arbitrary<Scores> = fc.record({
  txAccel: finiteDouble,
  volMomentum: finiteDouble,
  freshness: finiteDouble,
  orderflow: finiteDouble,
  score: finiteDouble,
});
/** An alpha in (0, 1]. */
const alpha = fc.double({ min: Number.MIN_VALUE, max: 1, noNaN: true });

const context = fc.record({
  mint: fc.constantFrom(MINT, OTHER_MINT),
  status: fc.constantFrom("monitoring", "active", "archived" as const),
  createdAt: anyTime,
  now: anyTime,
  lastGoodScoreAt: fc.option(anyTime),
  activeSince: fc.option(anyTime),
  previous: fc.option(fc.oneof(boundedScores, anyScores)),
  alpha: fc.option(alpha, { nil: undefined }),
  weights: fc.option(
    fc.record({
      txAccel: fc.double({ min: -10, max: 10, noNaN: true }),
      volMomentum: fc.double({ min: -10, max: 10, noNaN: true }),
      freshness: fc.double({ min: -10, max: 10, noNaN: true }),
      orderflow: fc.double({ min: -10, max: 10, noNaN: true }),
    }),
    { nil: undefined },
  ),
  liquidityThresholdUsd: fc.option(fc.double({ min: 0, max: 1e6, noNaN: true }), { nil: undefined }),
});
type Context = typeof context extends fc.Arbitrary<infer C> ? C : never;

// --- Checks ----------------------------------------------------------------------------------

function expectParsedOrIssues(value: unknown): Pair[] | null {
  const parsed = pairsSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  expect(parsed.error.issues.length).toBeGreaterThan(0);
  for (const issue of parsed.error.issues) {
    expect(Array.isArray(issue.path)).toBe(true);
    expect(issue.message).toEqual(expect.any(String));
    expect(issue.message).not.toBe("");
  }
  return null;
}

function expectInBounds(scores: Scores, what: string): void {
  for (const key of COMPONENTS) {
    const [lo, hi] = BOUNDS[key];
    expect(scores[key], `${what}.${key}`).toBeGreaterThanOrEqual(lo);
    expect(scores[key], `${what}.${key}`).toBeLessThanOrEqual(hi);
  }
}

function expectAllFinite(e: TokenEvaluation): void {
  for (const [key, value] of Object.entries(e.metrics))
    if (typeof value === "number") expect(Number.isFinite(value), `metrics.${key} = ${value}`).toBe(true);
  for (const [what, scores] of [
    ["raw", e.raw],
    ["smoothed", e.smoothed],
  ] as const)
    for (const [key, value] of Object.entries(scores))
      expect(Number.isFinite(value), `${what}.${key} = ${value}`).toBe(true);
}

function evaluate(pairs: Pair[], c: Context): TokenEvaluation {
  return evaluateToken({
    mint: c.mint,
    status: c.status,
    createdAt: c.createdAt,
    now: c.now,
    lastGoodScoreAt: c.lastGoodScoreAt,
    activeSince: c.activeSince,
    previous: c.previous,
    pairs,
    ...(c.alpha !== undefined ? { alpha: c.alpha } : {}),
    ...(c.weights !== undefined ? { weights: c.weights } : {}),
    ...(c.liquidityThresholdUsd !== undefined ? { liquidityThresholdUsd: c.liquidityThresholdUsd } : {}),
  });
}

/** Everything the model promises about one evaluation. */
function expectSound(e: TokenEvaluation, c: Context): void {
  expectAllFinite(e);
  expectInBounds(e.raw, "raw");
  const [lo, hi] = scoreRange(c.weights ?? DEFAULT_WEIGHTS);
  expect(e.raw.score).toBeGreaterThanOrEqual(lo - EPSILON);
  expect(e.raw.score).toBeLessThanOrEqual(hi + EPSILON);
  // A convex combination of in-bounds values stays in bounds; the first evaluation is the raw one.
  if (c.previous === null) expect(e.smoothed).toEqual(e.raw);
  else if (COMPONENTS.every((k) => c.previous![k] >= BOUNDS[k][0] && c.previous![k] <= BOUNDS[k][1]))
    expectInBounds(e.smoothed, "smoothed");
  expect(tokenStatusSchema.safeParse(e.status).success).toBe(true);
  expect(e.lane === null ? e.status === "archived" : laneSchema.safeParse(e.lane).success).toBe(true);
  if (c.status === "archived") expect(e.status).toBe("archived");
  expect(e.metrics.pairCount).toBeGreaterThanOrEqual(0);
}

// --- Properties ------------------------------------------------------------------------------

describe("pairsSchema on anything the upstream could send", () => {
  it("accepts the value or rejects it with issues, and never throws", () => {
    fc.assert(
      fc.property(fc.oneof(answer, fc.anything()), (value) => {
        expectParsedOrIssues(value);
      }),
      RUNS,
    );
  });

  it("accepts often enough for the scoring properties to mean something", () => {
    // Guards the arbitraries: if they drifted to all-junk, the properties below would test nothing.
    const samples = fc.sample(fc.array(pairish, { maxLength: 8 }), { numRuns: 300, seed: 42 });
    const accepted = samples.filter((s) => pairsSchema.safeParse(s).success).length;
    expect(accepted).toBeGreaterThan(30);
  });

  it("never lets a non-finite number or a non-numeric string through", () => {
    fc.assert(
      fc.property(fc.array(pairish, { maxLength: 6 }), (value) => {
        const pairs = expectParsedOrIssues(value);
        for (const p of pairs ?? []) {
          const numbers = [
            p.txns?.m5?.buys,
            p.txns?.m5?.sells,
            p.txns?.h1?.buys,
            p.txns?.h1?.sells,
            p.volume?.m5,
            p.volume?.h1,
            p.priceChange?.m5,
            p.priceChange?.h1,
            p.liquidity?.usd,
            p.fdv,
            p.marketCap,
            p.pairCreatedAt,
          ];
          for (const n of numbers) if (n !== undefined && n !== null) expect(Number.isFinite(n)).toBe(true);
        }
      }),
      RUNS,
    );
  });

  it("rejects deeply nested junk with an issue instead of overflowing the stack", () => {
    for (const inArray of [true, false]) {
      const deep = nested(20_000, inArray);
      expectParsedOrIssues(deep);
      expectParsedOrIssues([deep]);
      expectParsedOrIssues([
        {
          chainId: "solana",
          dexId: "raydium",
          pairAddress: "p",
          baseToken: { address: MINT },
          quoteToken: {},
          txns: deep,
          labels: [deep],
        },
      ]);
      // An unknown field is dropped, however deep it goes.
      const kept = expectParsedOrIssues([
        {
          chainId: "solana",
          dexId: "raydium",
          pairAddress: "p",
          baseToken: { address: MINT },
          quoteToken: {},
          info: deep,
        },
      ]);
      expect(kept).toHaveLength(1);
    }
  });
});

describe("evaluateToken on whatever the schema accepts", () => {
  it("gives finite numbers within the model's bounds, a valid status and lane", () => {
    fc.assert(
      fc.property(answer, context, (value, c) => {
        const pairs = expectParsedOrIssues(value);
        if (pairs === null) return;
        expectSound(evaluate(pairs, c), c);
      }),
      RUNS,
    );
  });

  it("stays finite when every number is at the edge of the double range", () => {
    const edge = fc.constantFrom(
      Number.MAX_VALUE,
      1e308,
      "1e308",
      "1.7976931348623157e308",
      Number.MIN_VALUE,
      1e-320,
    );
    const extremePair = fc.record({
      chainId: fc.constant("solana"),
      dexId: fc.constantFrom("raydium", "pumpswap", "orca"),
      pairAddress: fc.stringMatching(/^[1-9A-HJ-NP-Za-km-z]{1,4}$/),
      baseToken: fc.constant({ address: MINT }),
      quoteToken: fc.constantFrom({ symbol: "SOL" }, { symbol: "USDC" }),
      txns: fc.record({
        m5: fc.record({ buys: edge, sells: edge }),
        h1: fc.record({ buys: edge, sells: edge }),
      }),
      volume: fc.record({ m5: edge, h1: edge }),
      priceChange: fc.record({ m5: edge, h1: edge }),
      liquidity: fc.record({ usd: edge }),
      priceUsd: fc.constantFrom("1e308", "1e400", "0"),
    });
    fc.assert(
      fc.property(fc.array(extremePair, { minLength: 1, maxLength: 6 }), context, (value, c) => {
        const pairs = pairsSchema.parse(value);
        expectSound(evaluate(pairs, { ...c, mint: MINT }), { ...c, mint: MINT });
      }),
      { numRuns: 150 },
    );
  });

  it("scores a huge list (150,000 pairs of one token) without crashing", () => {
    // One 8 MB answer holds ~40k pairs today, but nothing in the scoring bounds the list: spreading
    // that many values into Math.max used to overflow the call stack (at ~125k).
    const pairs: Pair[] = Array.from({ length: 150_000 }, (_, i) => ({
      chainId: "solana",
      dexId: i % 2 ? "raydium" : "pumpswap",
      pairAddress: `p${i}`,
      baseToken: { address: MINT },
      quoteToken: { symbol: "SOL" },
      liquidity: { usd: 1_000 + i },
      txns: { m5: { buys: 1 + (i % 7), sells: 1 }, h1: { buys: 30, sells: 30 } },
      volume: { m5: 100 + i, h1: 5_000 },
    }));
    const c: Context = {
      mint: MINT,
      status: "active",
      createdAt: NOW - 3_600_000,
      now: NOW,
      lastGoodScoreAt: null,
      activeSince: NOW - 60_000,
      previous: null,
      alpha: undefined,
      weights: undefined,
      liquidityThresholdUsd: undefined,
    };
    const e = evaluate(pairs, c);
    expectSound(e, c);
    expect(e.metrics.pairCount).toBe(150_000);
  });
});

describe("smooth (EWMA)", () => {
  it("stays finite for any finite previous value and any alpha in (0, 1]", () => {
    fc.assert(
      fc.property(boundedScores, anyScores, alpha, (raw, previous, a) => {
        const s = smooth(raw, previous, a);
        for (const [key, value] of Object.entries(s))
          expect(Number.isFinite(value), `${key} = ${value}`).toBe(true);
      }),
      RUNS,
    );
  });

  it("stays between the raw and the previous value", () => {
    fc.assert(
      fc.property(boundedScores, boundedScores, alpha, (raw, previous, a) => {
        const s = smooth(raw, previous, a);
        for (const key of [...COMPONENTS, "score"] as const) {
          const lo = Math.min(raw[key], previous[key]);
          const hi = Math.max(raw[key], previous[key]);
          expect(s[key]).toBeGreaterThanOrEqual(lo - EPSILON);
          expect(s[key]).toBeLessThanOrEqual(hi + EPSILON);
        }
      }),
      RUNS,
    );
  });

  it("treats a non-finite previous value as absent", () => {
    fc.assert(
      fc.property(boundedScores, fc.constantFrom(NaN, Infinity, -Infinity), alpha, (raw, bad, a) => {
        const s = smooth(raw, { ...raw, score: bad, orderflow: bad }, a);
        expect(s.score).toBe(raw.score);
        expect(s.orderflow).toBe(raw.orderflow);
      }),
      { numRuns: 50 },
    );
  });
});
