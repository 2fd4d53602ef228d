import { NUMERIC_STRING, type Pair } from "./pair.js";

// pairSchema without zod, for the pairs that need no explanation. zod builds a result and an issue
// list at every node of every pair: on a busy worker that was the single largest cost per token
// after JSON.parse itself. This reader walks the same shape once and builds only the output. It
// accepts a pair only when pairSchema would, with the same result (unknown keys dropped, numeric
// strings turned into numbers, missing trade counts 0); for anything else it says null and the
// caller asks pairSchema, which names the field at fault. A property test holds the two together.

type Json = Record<string, unknown>;
/** Reads a present value; undefined when pairSchema would refuse it. */
type Reader = (v: unknown) => unknown;
/** How a field may be missing: not at all, absent, absent or null, or absent as 0 (a default). */
type Presence = "required" | "optional" | "nullish" | "zero";
type Field = readonly [key: string, presence: Presence, read: Reader];

const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

const string: Reader = (v) => (typeof v === "string" ? v : undefined);
const nonEmpty: Reader = (v) => (typeof v === "string" && v.length > 0 ? v : undefined);
const strings: Reader = (v) =>
  Array.isArray(v) && v.every((s) => typeof s === "string") ? [...v] : undefined;

/** A finite number, or a numeric string as its (finite) number. */
const finite: Reader = (v) => {
  if (typeof v === "number") return Number.isFinite(v) ? v : undefined;
  if (typeof v !== "string" || !NUMERIC_STRING.test(v)) return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
};

function object(fields: readonly Field[]): Reader {
  // Parallel arrays and an index loop: this runs for every field of every pair.
  const keys = fields.map((f) => f[0]);
  const presences = fields.map((f) => f[1]);
  const readers = fields.map((f) => f[2]);
  return (v) => {
    if (!isObject(v)) return undefined;
    const out: Json = {};
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      const x = v[key];
      if (x === undefined) {
        const presence = presences[i];
        if (presence === "required") return undefined;
        if (presence === "zero") out[key] = 0;
        continue;
      }
      if (x === null && presences[i] === "nullish") {
        out[key] = null;
        continue;
      }
      const r = readers[i]!(x);
      if (r === undefined) return undefined;
      out[key] = r;
    }
    return out;
  };
}

const windows = (read: Reader): Reader =>
  object([
    ["m5", "nullish", read],
    ["h1", "nullish", read],
    ["h6", "nullish", read],
    ["h24", "nullish", read],
  ]);

const readPairShape = object([
  ["chainId", "required", string],
  ["dexId", "required", string],
  ["url", "optional", string],
  ["pairAddress", "required", nonEmpty],
  ["labels", "nullish", strings],
  [
    "baseToken",
    "required",
    object([
      ["address", "required", nonEmpty],
      ["name", "optional", string],
      ["symbol", "optional", string],
    ]),
  ],
  [
    "quoteToken",
    "required",
    object([
      ["address", "optional", nonEmpty],
      ["name", "optional", string],
      ["symbol", "optional", string],
    ]),
  ],
  ["priceNative", "nullish", string],
  ["priceUsd", "nullish", string],
  [
    "txns",
    "nullish",
    windows(
      object([
        ["buys", "zero", finite],
        ["sells", "zero", finite],
      ]),
    ),
  ],
  ["volume", "nullish", windows(finite)],
  ["priceChange", "nullish", windows(finite)],
  [
    "liquidity",
    "nullish",
    object([
      ["usd", "nullish", finite],
      ["base", "nullish", finite],
      ["quote", "nullish", finite],
    ]),
  ],
  ["fdv", "nullish", finite],
  ["marketCap", "nullish", finite],
  ["pairCreatedAt", "nullish", finite],
]);

/**
 * One element of an upstream answer (a JSON.parse value) as a Pair, exactly as pairSchema parses
 * it; null when pairSchema must judge it (it may refuse it, and then it says why).
 */
export function readPair(v: unknown): Pair | null {
  return (readPairShape(v) as Pair | undefined) ?? null;
}
