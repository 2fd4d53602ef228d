import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { pairSchema, readPair } from "../src/index.js";
import { MINT, WSOL } from "./fixtures.js";

// readPair is pairSchema without zod: whatever JSON an upstream sends, it must take exactly the
// pairs the schema takes and give exactly the schema's result, or the worker would score (or
// drop) different pairs depending on which path read them.

/** What the worker hands readPair: a value out of JSON.parse. `"__BIG__"` becomes 1e400 (Infinity). */
const fromJson = (v: unknown): unknown => JSON.parse(JSON.stringify(v).replaceAll('"__BIG__"', "1e400"));

const junk = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.string({ maxLength: 4 }),
  fc.constant(""),
  fc.integer(),
  fc.constant([]),
  fc.constant({}),
  fc.constant("__BIG__"),
  fc.jsonValue({ maxDepth: 1 }),
);
type Wrap = <T>(good: fc.Arbitrary<T>) => fc.Arbitrary<unknown>;
/** Mostly `good`, sometimes null or junk (absent comes from the records' optional keys). */
const mostly: Wrap = (good) =>
  fc.oneof(
    { arbitrary: good, weight: 60 },
    { arbitrary: fc.constant(null), weight: 1 },
    { arbitrary: junk, weight: 1 },
  );
const always: Wrap = (good) => good;
const goodNumber = fc.oneof(
  { arbitrary: fc.double({ noNaN: true, noDefaultInfinity: true }), weight: 4 },
  { arbitrary: fc.integer(), weight: 2 },
  { arbitrary: fc.constantFrom("12.5", "-3", "007", "1e5", "-0", "2E-3"), weight: 1 },
);
const anyNumber = fc.oneof(
  { arbitrary: goodNumber, weight: 28 },
  { arbitrary: fc.constantFrom("1e400", "abc", "", "0x1f", " 1", "1.", ".5", "NaN"), weight: 1 },
);

/** A DexScreener pair whose every field goes through `wrap`, with unknown keys at every level. */
function pairOf(wrap: Wrap, numberish: fc.Arbitrary<unknown>) {
  const text = fc.string({ maxLength: 5 });
  const record = <T extends Record<string, fc.Arbitrary<unknown>>>(
    fields: T,
    required: Array<keyof T> = [],
  ) => fc.record({ ...fields, extra: junk }, { requiredKeys: required as string[] });
  const windows = (v: fc.Arbitrary<unknown>) =>
    record({ m5: wrap(v), h1: wrap(v), h6: wrap(v), h24: wrap(v) }, ["m5", "h1"]);
  const tokenRef = record(
    { address: wrap(fc.constantFrom(MINT, WSOL)), name: wrap(text), symbol: wrap(text) },
    ["address"],
  );
  return record(
    {
      chainId: wrap(fc.constant("solana")),
      dexId: wrap(fc.constantFrom("raydium", "pumpswap", "")),
      url: wrap(text),
      pairAddress: wrap(fc.constantFrom("p1", "p2")),
      labels: wrap(fc.array(wrap(text), { maxLength: 3 })),
      baseToken: wrap(tokenRef),
      quoteToken: wrap(tokenRef),
      priceNative: wrap(text),
      priceUsd: wrap(text),
      txns: wrap(windows(record({ buys: wrap(numberish), sells: wrap(numberish) }))),
      volume: wrap(windows(numberish)),
      priceChange: wrap(windows(numberish)),
      liquidity: wrap(record({ usd: wrap(numberish), base: wrap(numberish), quote: wrap(numberish) })),
      fdv: wrap(numberish),
      marketCap: wrap(numberish),
      pairCreatedAt: wrap(numberish),
      info: junk,
    },
    ["chainId", "dexId", "pairAddress", "baseToken", "quoteToken"],
  );
}

/** Every path to a value inside `v` (object keys and array indexes). */
function pathsOf(v: unknown, at: Array<string | number> = []): Array<Array<string | number>> {
  if (typeof v !== "object" || v === null) return [];
  return Object.entries(v).flatMap(([k, x]) => {
    const path = [...at, Array.isArray(v) ? Number(k) : k];
    return [path, ...pathsOf(x, path)];
  });
}

/** `v` with the value at `path` replaced by `to` (removed when `to` is undefined). */
function mutate(v: unknown, path: Array<string | number>, to: unknown): unknown {
  const copy = structuredClone(v) as Record<string | number, unknown>;
  let parent = copy;
  for (const k of path.slice(0, -1)) parent = parent[k] as Record<string | number, unknown>;
  const last = path.at(-1)!;
  if (to === undefined && !Array.isArray(parent)) delete parent[last];
  else parent[last] = to;
  return copy;
}

/** A valid pair with one value anywhere in it removed or replaced by an edge case. */
const oneChange = fc
  .tuple(
    pairOf(always, goodNumber),
    fc.nat(),
    fc.constantFrom(undefined, null, "", "__BIG__", "abc", "12.5", 0, -1, true, {}, []),
  )
  .map(([pair, n, to]) => {
    const paths = pathsOf(pair);
    return mutate(pair, paths[n % paths.length]!, to);
  });

const element = fc.oneof(
  { arbitrary: pairOf(mostly, anyNumber), weight: 6 },
  { arbitrary: oneChange, weight: 3 },
  { arbitrary: junk, weight: 1 },
);

describe("readPair", () => {
  it("takes exactly the pairs pairSchema takes, with exactly its result", () => {
    let taken = 0;
    let refused = 0;
    fc.assert(
      fc.property(element, (raw) => {
        const v = fromJson(raw);
        const schema = pairSchema.safeParse(v);
        const fast = readPair(v);
        if (schema.success) {
          taken++;
          expect(fast).toStrictEqual(schema.data);
        } else {
          refused++;
          expect(fast).toBeNull();
        }
      }),
      { numRuns: 5_000 },
    );
    // Both outcomes must be common for the property to mean something.
    expect(taken).toBeGreaterThan(1_000);
    expect(refused).toBeGreaterThan(1_000);
  });

  it("reads DexScreener's pair as it is sent", () => {
    const sent = {
      chainId: "solana",
      dexId: "raydium",
      url: "https://dexscreener.com/solana/pair",
      pairAddress: "pair",
      labels: ["CLMM"],
      baseToken: { address: MINT, name: "Moon", symbol: "MOON" },
      quoteToken: { address: WSOL, name: "Wrapped SOL", symbol: "SOL" },
      priceNative: "0.000001020",
      priceUsd: "0.0001470",
      txns: { m5: { buys: 2, sells: 2 }, h1: { buys: 28, sells: 13 }, h6: {}, h24: null },
      volume: { m5: 1123.46, h1: "3519.31", h6: 9000, h24: 12000 },
      priceChange: { m5: 20.13, h1: 104, h6: -3.5, h24: 0 },
      liquidity: { usd: 20581.61, base: 69995927, quote: 71.4352 },
      fdv: 147018,
      marketCap: 147018,
      pairCreatedAt: 1742991620000,
      info: { imageUrl: "https://example", websites: [], socials: [] },
      boosts: { active: 0 },
    };
    const pair = readPair(fromJson(sent));
    expect(pair).toStrictEqual(pairSchema.parse(sent));
    expect(pair).not.toHaveProperty("info");
    expect(pair?.volume?.h1).toBe(3519.31);
    expect(pair?.txns?.h6).toEqual({ buys: 0, sells: 0 });
  });
});
