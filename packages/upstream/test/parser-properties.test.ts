import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { pairSchema } from "@moonfleet/scoring";
import { parsePairsAnswer, parsePairsBody } from "../src/client.js";
import { UpstreamSchemaError } from "../src/errors.js";

// Whatever text the upstream answers, parsing it gives validated pairs or an UpstreamSchemaError
// that says what is wrong: never another error, never a crash.

const RUNS = { numRuns: 300 };
const MINT = "4k3Dyjzvzp8eMZWUXbBCjEvwSkkk59S5iCNLY3QrkX6R";

type Outcome = { ok: true; pairs: unknown[] } | { ok: false; error: UpstreamSchemaError };

/** Parses `text`, failing the test on any error other than a well-formed UpstreamSchemaError. */
function parse(text: string): Outcome {
  try {
    const pairs = parsePairsBody(text);
    expect(Array.isArray(pairs)).toBe(true);
    return { ok: true, pairs };
  } catch (error) {
    expect(error).toBeInstanceOf(UpstreamSchemaError);
    const e = error as UpstreamSchemaError;
    expect(e.name).toBe("UpstreamSchemaError");
    expect(e.retryable).toBe(false);
    expect(e.message).toMatch(/^answer (is not valid JSON|does not match the Pair schema)/);
    // The message names the problem; it does not carry the answer back (which can be megabytes).
    expect(e.message.length).toBeLessThan(2_000);
    return { ok: false, error: e };
  }
}

const junk = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.string({ maxLength: 8 }),
  fc.jsonValue({ maxDepth: 2 }),
);
const numberish = fc.oneof(
  { arbitrary: fc.double({ min: 0, max: 1e7, noNaN: true }), weight: 5 },
  { arbitrary: fc.constantFrom("12.5", "1e400", "-0", "abc", "", "0x1f"), weight: 1 },
  { arbitrary: fc.constantFrom(1e308, -1e308, Number.MAX_VALUE, Number.MIN_VALUE), weight: 1 },
  { arbitrary: junk, weight: 1 },
);
const mostly = <T>(good: fc.Arbitrary<T>) =>
  fc.oneof({ arbitrary: good, weight: 6 }, { arbitrary: junk, weight: 1 });

/** A DexScreener pair with fields missing, null, junk or extreme. */
const pairish = fc.record(
  {
    chainId: mostly(fc.constant("solana")),
    dexId: mostly(fc.constantFrom("raydium", "pumpswap", "orca")),
    pairAddress: mostly(fc.string({ minLength: 1, maxLength: 6 })),
    baseToken: mostly(
      fc.record({ address: mostly(fc.constant(MINT)), symbol: mostly(fc.string()) }, { requiredKeys: [] }),
    ),
    quoteToken: mostly(fc.record({ symbol: mostly(fc.constantFrom("SOL", "USDC")) }, { requiredKeys: [] })),
    priceUsd: mostly(fc.string({ maxLength: 10 })),
    txns: mostly(
      fc.record({ m5: mostly(fc.record({ buys: numberish, sells: numberish }, { requiredKeys: [] })) }),
    ),
    volume: mostly(fc.record({ m5: numberish, h1: numberish }, { requiredKeys: [] })),
    liquidity: mostly(fc.record({ usd: numberish }, { requiredKeys: [] })),
    pairCreatedAt: numberish,
    info: junk,
  },
  { requiredKeys: ["pairAddress", "baseToken", "quoteToken"] },
);
const answerText = fc.oneof(
  { arbitrary: fc.array(pairish, { maxLength: 6 }).map((a) => JSON.stringify(a)), weight: 4 },
  { arbitrary: fc.jsonValue().map((v) => JSON.stringify(v)), weight: 1 },
);

describe("parsePairsBody on whatever text the upstream answers", () => {
  it("gives pairs or a named schema error for any JSON", () => {
    let accepted = 0;
    fc.assert(
      fc.property(answerText, (text) => {
        if (parse(text).ok) accepted++;
      }),
      RUNS,
    );
    // Guards the arbitraries: both outcomes must be exercised for the property to mean something.
    expect(accepted).toBeGreaterThan(10);
    expect(accepted).toBeLessThan(RUNS.numRuns);
  });

  it("accepts a valid answer, with numeric strings turned into numbers", () => {
    const text = JSON.stringify([
      {
        chainId: "solana",
        dexId: "raydium",
        pairAddress: "p1",
        baseToken: { address: MINT },
        quoteToken: { symbol: "SOL" },
        volume: { m5: "1123.5" },
        liquidity: { usd: 20_000 },
      },
    ]);
    const r = parse(text);
    expect(r.ok && r.pairs).toEqual([expect.objectContaining({ pairAddress: "p1", volume: { m5: 1123.5 } })]);
  });

  it("refuses any truncated answer as invalid JSON", () => {
    fc.assert(
      fc.property(
        fc.array(pairish, { minLength: 1, maxLength: 4 }).map((a) => JSON.stringify(a)),
        fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }),
        (text, at) => {
          // A proper prefix of an array's text is never complete JSON.
          const r = parse(text.slice(0, Math.floor(text.length * at)));
          expect(r.ok).toBe(false);
          if (!r.ok) expect(r.error.message).toMatch(/not valid JSON/);
        },
      ),
      RUNS,
    );
  });

  it("gives pairs or a named schema error for any text at all", () => {
    const text = fc.oneof(
      fc.string({ maxLength: 64 }),
      fc.string({ unit: "binary", maxLength: 64 }),
      fc.string({ unit: fc.constantFrom(...'[]{}",:0123456789.eE-+ ntrufals\\'), maxLength: 64 }),
      fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b).toString("utf8")),
      fc.constantFrom(
        "",
        " ",
        "\uFEFF[]",
        "<html>502 Bad Gateway</html>",
        "NaN",
        "[NaN]",
        "[1e999]",
        '{"pairs":[]}',
      ),
    );
    fc.assert(
      fc.property(text, (t) => void parse(t)),
      RUNS,
    );
  });

  it("names the field at fault when the shape is wrong", () => {
    const r = parse(
      JSON.stringify([
        { chainId: "solana", dexId: "raydium", pairAddress: "p1", baseToken: {}, quoteToken: {} },
      ]),
    );
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.message).toContain("0.baseToken.address");
    const notArray = parse(JSON.stringify({ schemaVersion: "1.0.0", pairs: [] }));
    expect(!notArray.ok && notArray.error.message).toContain("(root)");
  });

  it("survives deeply nested answers and huge arrays", () => {
    for (const depth of [1_000, 100_000]) {
      parse(`${"[".repeat(depth)}${"]".repeat(depth)}`);
      parse(`${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`);
      parse(`[{"pairAddress":"p","info":${"[".repeat(depth)}${"]".repeat(depth)}}]`);
    }
    const many = parse(JSON.stringify(Array.from({ length: 100_000 }, (_, i) => i)));
    expect(many.ok).toBe(false); // numbers are not pairs; only the first issues are named
  });
});

// Issue 20, item 2: one pair with `liquidity.usd: "NaN"` among an answer's pairs cost the whole
// answer. Read pair by pair, the bad pair is dropped (told with its mint and field) and the good
// ones are kept.
const OTHER_MINT = "7GCihgDB8fe6KNjn2MYtkzZcRjQy3t9GHdC8uHYmW2hr";
const finiteNumberish = fc.oneof(
  fc.double({ min: 0, max: 1e7, noNaN: true }),
  fc.double({ min: 0, max: 1e7, noNaN: true }).map(String),
);
/** A pair that validates, with fields present or left out as DexScreener does. */
const goodPair = fc.record(
  {
    chainId: fc.constant("solana"),
    dexId: fc.constantFrom("raydium", "pumpswap", "orca", "meteora"),
    baseToken: fc.record(
      { address: fc.constantFrom(MINT, OTHER_MINT), symbol: fc.string() },
      { requiredKeys: ["address"] },
    ),
    quoteToken: fc.record({ symbol: fc.constantFrom("SOL", "USDC") }, { requiredKeys: [] }),
    priceUsd: fc.option(fc.string({ maxLength: 10 })),
    txns: fc.record({ m5: fc.record({ buys: fc.nat(), sells: fc.nat() }) }, { requiredKeys: [] }),
    volume: fc.record({ m5: finiteNumberish, h1: finiteNumberish }, { requiredKeys: [] }),
    liquidity: fc.record({ usd: finiteNumberish }, { requiredKeys: [] }),
    pairCreatedAt: fc.nat(),
  },
  { requiredKeys: ["chainId", "dexId", "baseToken", "quoteToken"] },
);
/** One field made bad: NaN and infinities as DexScreener's numeric strings, junk of the wrong type. */
const poison = fc.constantFrom<[string[], unknown]>(
  [["liquidity", "usd"], "NaN"],
  [["liquidity", "usd"], "Infinity"],
  [["liquidity", "usd"], "1e400"],
  [["liquidity", "usd"], { value: 1 }],
  [["volume", "m5"], "abc"],
  [
    ["volume", "h1"],
    [1, 2],
  ],
  [["txns", "m5", "buys"], "lots"],
  [["priceChange", "h1"], "-Infinity"],
  [["fdv"], true],
  [["dexId"], 42],
  [["chainId"], null],
  [["pairAddress"], ""],
  [["quoteToken"], "SOL"],
);
function poisoned(
  pair: Record<string, unknown>,
  [path, value]: [string[], unknown],
): Record<string, unknown> {
  const copy = structuredClone(pair);
  let at: Record<string, unknown> = copy;
  for (const key of path.slice(0, -1)) {
    if (typeof at[key] !== "object" || at[key] === null) at[key] = {};
    at = at[key] as Record<string, unknown>;
  }
  at[path.at(-1)!] = value;
  return copy;
}

describe("parsePairsAnswer: one bad pair among good ones", () => {
  it("keeps every good pair and drops only the bad one, naming its mint and field, never throwing", () => {
    fc.assert(
      fc.property(
        fc.array(goodPair, { minLength: 1, maxLength: 8 }),
        goodPair,
        poison,
        fc.nat(),
        (goods, victim, bad, where) => {
          const named = goods.map((g, i) => ({ ...g, pairAddress: `good${i}` }));
          const at = where % (named.length + 1);
          const badPair = poisoned({ ...victim, pairAddress: "bad" }, bad);
          const answer = [...named.slice(0, at), badPair, ...named.slice(at)];

          const r = parsePairsAnswer(JSON.stringify(answer));

          expect(r.pairs.map((p) => p.pairAddress)).toEqual(named.map((g) => g.pairAddress));
          expect(r.rejected).toHaveLength(1);
          expect(r.rejected[0]).toMatchObject({ index: at, mint: victim.baseToken.address });
          expect(r.rejected[0]!.field.startsWith(bad[0].join("."))).toBe(true);
          expect(r.rejected[0]!.message).not.toBe("");
          // The all-or-nothing reading still refuses the answer, naming index and field.
          expect(() => parsePairsBody(JSON.stringify(answer))).toThrow(`${at}.${bad[0].join(".")}`);
        },
      ),
      RUNS,
    );
  });

  it("decides each element of any answer as parsing it alone would, and never throws on an array", () => {
    let kept = 0;
    let dropped = 0;
    fc.assert(
      fc.property(fc.array(fc.oneof(pairish, junk), { maxLength: 8 }), (elements) => {
        const r = parsePairsAnswer(JSON.stringify(elements));
        // JSON round trip first: undefined fields vanish as they do on the wire.
        const wire = JSON.parse(JSON.stringify(elements)) as unknown[];
        const alone = wire.map((e) => pairSchema.safeParse(e));
        expect(r.pairs).toEqual(alone.filter((a) => a.success).map((a) => a.data));
        expect(r.rejected.map((x) => x.index)).toEqual(alone.flatMap((a, i) => (a.success ? [] : [i])));
        kept += r.pairs.length;
        dropped += r.rejected.length;
      }),
      RUNS,
    );
    expect(kept).toBeGreaterThan(10);
    expect(dropped).toBeGreaterThan(10);
  });
});
