import { z } from "zod";

/** A number the upstream sent as a string ("1123.5", "-2e3"). */
export const NUMERIC_STRING = /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/;

// DexScreener's Pair, as loose as the real API is: every field but the identity may be missing,
// prices are strings and numbers may come back as numeric strings.
const num = z.union([z.number(), z.string().regex(NUMERIC_STRING).transform(Number)]);
const finite = num.pipe(z.number().finite());

const tokenRef = z.object({
  address: z.string().min(1),
  name: z.string().optional(),
  symbol: z.string().optional(),
});

const txnWindow = z.object({ buys: finite.default(0), sells: finite.default(0) });
const windows = <T extends z.ZodType>(v: T) =>
  z.object({ m5: v.nullish(), h1: v.nullish(), h6: v.nullish(), h24: v.nullish() });

export const pairSchema = z.object({
  chainId: z.string(),
  dexId: z.string(),
  url: z.string().optional(),
  pairAddress: z.string().min(1),
  labels: z.array(z.string()).nullish(),
  baseToken: tokenRef,
  quoteToken: tokenRef.partial({ address: true }),
  priceNative: z.string().nullish(),
  priceUsd: z.string().nullish(),
  txns: windows(txnWindow).nullish(),
  volume: windows(finite).nullish(),
  priceChange: windows(finite).nullish(),
  liquidity: z.object({ usd: finite.nullish(), base: finite.nullish(), quote: finite.nullish() }).nullish(),
  fdv: finite.nullish(),
  marketCap: finite.nullish(),
  pairCreatedAt: finite.nullish(),
});

export type Pair = z.infer<typeof pairSchema>;
export type PairInput = z.input<typeof pairSchema>;

export const pairsSchema = z.array(pairSchema);

/** The older `/latest/dex/tokens` shape. */
export const latestPairsSchema = z.object({
  schemaVersion: z.string().optional(),
  pairs: pairsSchema.nullable(),
});
