import { marketProfile } from "./market-profile.js";
import type { FadeShape, LifeCycle, MarketProfile } from "./market-profile.js";
import { unitNoise } from "./prng.js";

export const SOL_MINT = "So11111111111111111111111111111111111111112";
export const USDC_MINT = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v";

export interface TxnCounts {
  buys: number;
  sells: number;
}

export interface TimeWindows<T> {
  m5: T;
  h1: T;
  h6: T;
  h24: T;
}

export interface TokenRef {
  address: string;
  name: string;
  symbol: string;
}

/** A DexScreener Pair exactly as the real API writes it (prices as strings, changes in percent). */
export interface DexPair {
  chainId: string;
  dexId: string;
  url: string;
  pairAddress: string;
  labels?: string[];
  baseToken: TokenRef;
  quoteToken: TokenRef;
  priceNative: string;
  priceUsd: string;
  txns: TimeWindows<TxnCounts>;
  volume: TimeWindows<number>;
  priceChange: TimeWindows<number>;
  liquidity: { usd: number; base: number; quote: number };
  fdv: number;
  marketCap: number;
  pairCreatedAt: number;
  info?: {
    imageUrl: string;
    websites: Array<{ label: string; url: string }>;
    socials: Array<{ type: string; url: string }>;
  };
  boosts: { active: number };
}

const MINUTE = 60_000;
// Noise changes every 5 s of market time, so two calls in the same bucket agree exactly.
const BUCKET_MS = 5_000;
const FADE_FLOOR = 0.01;
const TAU = 2 * Math.PI;

const solToken: TokenRef = { address: SOL_MINT, name: "Wrapped SOL", symbol: "SOL" };
const usdcToken: TokenRef = { address: USDC_MINT, name: "USD Coin", symbol: "USDC" };

/** The pairs of a mint at market time `tMs`: a pure function of (mint, tMs). */
export function pairsFor(mint: string, tMs: number): DexPair[] {
  return pairsForProfile(marketProfile(mint), tMs);
}

export function pairsForProfile(profile: MarketProfile, tMs: number): DexPair[] {
  const { pools, seed } = profile;
  if (pools.length === 0) return [];
  const w = marketWaves(seed);
  const m = tMs / MINUTE;
  const bucket = Math.floor(tMs / BUCKET_MS);
  const n1 = unitNoise(seed, bucket);
  const n2 = unitNoise(seed ^ 0x5bd1e995, bucket);
  const n3 = unitNoise(seed ^ 0x27d4eb2f, bucket);

  const logPrice = (x: number) =>
    w.priceAmp[0] * wave(x, w.pricePeriodMin[0], w.pricePhase[0]) +
    w.priceAmp[1] * wave(x, w.pricePeriodMin[1], w.pricePhase[1]) +
    w.priceAmp[2] * wave(x, w.pricePeriodMin[2], w.pricePhase[2]);
  const logNow = logPrice(m) + 0.01 * (n1 - 0.5);
  const change = (minutes: number) => round(100 * (Math.exp(logNow - logPrice(m - minutes)) - 1), 2);
  const priceChange = { m5: change(5), h1: change(60), h6: change(360), h24: change(1440) };
  const priceUsd = profile.priceUsd * Math.exp(logNow);
  const solUsd = 150 * (1 + 0.03 * wave(m, 720, 0));

  const cyclePosMs = mod(tMs + profile.cycle.phaseMs, profile.cycle.periodMs);
  const cycleStart = tMs - cyclePosMs;
  const fade = fadeMultiplier(profile.fade, cyclePosMs / MINUTE);
  const rate = profile.tradesPerMin * tradeShare(profile.fade, fade);
  const burst =
    Math.max(
      0.05,
      1 +
        0.6 * wave(m, w.activityPeriodMin[0], w.activityPhase[0]) +
        0.3 * wave(m, w.activityPeriodMin[1], w.activityPhase[1]),
    ) *
    (0.7 + 0.6 * n2);
  const hourly = 1 + 0.3 * wave(m - 30, w.activityPeriodMin[1], w.activityPhase[1]);
  const buyShare = clamp(0.5 + 0.3 * wave(m, w.buyPeriodMin, w.buyPhase) + 0.15 * (n3 - 0.5), 0.05, 0.95);
  const tradeSize = profile.avgTradeUsd * (0.6 + 0.8 * n1);
  const baseToken: TokenRef = { address: profile.mint, name: profile.name, symbol: profile.symbol };
  const fdv = Math.round(priceUsd * profile.supply);
  const info = profile.hasInfo
    ? {
        imageUrl: `https://dd.dexscreener.com/ds-data/tokens/solana/${profile.mint}.png`,
        websites: [],
        socials: [],
      }
    : undefined;

  return pools.map((pool) => {
    const poolPrice = priceUsd * (1 + 0.004 * (unitNoise(pool.seed, bucket) - 0.5));
    const quoteUsd = pool.quote === "SOL" ? solUsd : 1;
    const liquidityUsd =
      pool.liquidityUsd *
      (1 + 0.08 * wave(m, w.liquidityPeriodMin, pool.seed % 7)) *
      (pool.fadeExponent === 0 ? 1 : fade ** pool.fadeExponent);
    const txns = tradeCounts(rate, pool.share, burst, hourly, buyShare);
    const pair: DexPair = {
      chainId: "solana",
      dexId: pool.dexId,
      url: `https://dexscreener.com/solana/${pool.pairAddress.toLowerCase()}`,
      pairAddress: pool.pairAddress,
      ...(pool.labels.length > 0 ? { labels: [...pool.labels] } : {}),
      baseToken,
      quoteToken: pool.quote === "SOL" ? solToken : usdcToken,
      priceNative: formatPrice(poolPrice / quoteUsd),
      priceUsd: formatPrice(poolPrice),
      txns,
      volume: volumes(txns, tradeSize, profile.avgTradeUsd),
      priceChange,
      liquidity: {
        usd: round(liquidityUsd, 2),
        base: Math.round(liquidityUsd / 2 / poolPrice),
        quote: round(liquidityUsd / 2 / quoteUsd, 4),
      },
      fdv,
      marketCap: fdv,
      pairCreatedAt: cycleStart + Math.min(Math.round(pool.createdAfterMin * MINUTE), cyclePosMs),
      ...(info === undefined ? {} : { info }),
      boosts: { active: profile.boosts },
    };
    return pair;
  });
}

/** Periods (minutes), amplitudes and phases of a mint's price, activity and liquidity waves. */
export interface MarketWaves {
  priceAmp: [number, number, number];
  pricePeriodMin: [number, number, number];
  pricePhase: [number, number, number];
  activityPeriodMin: [number, number];
  activityPhase: [number, number];
  buyPeriodMin: number;
  buyPhase: number;
  liquidityPeriodMin: number;
}

export function marketWaves(seed: number): MarketWaves {
  const u = (key: number, lo: number, hi: number) => lo + (hi - lo) * unitNoise(seed, 0x7fff0000 + key);
  return {
    priceAmp: [u(0, 0.02, 0.06), u(1, 0.08, 0.2), u(2, 0.2, 0.5)],
    pricePeriodMin: [u(3, 6, 15), u(4, 40, 90), u(5, 300, 900)],
    pricePhase: [u(6, 0, TAU), u(7, 0, TAU), u(8, 0, TAU)],
    activityPeriodMin: [u(9, 3, 8), u(10, 20, 60)],
    activityPhase: [u(11, 0, TAU), u(12, 0, TAU)],
    buyPeriodMin: u(13, 4, 12),
    buyPhase: u(14, 0, TAU),
    liquidityPeriodMin: u(15, 30, 120),
  };
}

/** Liquidity multiplier of a fading token at `positionMin` minutes into its cycle (1 when not fading). */
export function fadeMultiplier(fade: FadeShape | null, positionMin: number): number {
  if (fade === null) return 1;
  if (positionMin < fade.rampMin) return Math.max(FADE_FLOOR, positionMin / fade.rampMin);
  if (positionMin < fade.holdMin) return 1;
  return Math.max(FADE_FLOOR, Math.exp(-(positionMin - fade.holdMin) / fade.tauMin));
}

/** The share of its trade rate a token has at fade multiplier `fade`. */
function tradeShare(shape: FadeShape | null, fade: number): number {
  if (shape === null) return 1;
  return shape.tradeExponent === undefined ? Math.max(0.05, fade) : fade ** shape.tradeExponent;
}

/** Where `tMs` falls in the profile's life cycle, in minutes. */
export function cyclePositionMin(cycle: LifeCycle, tMs: number): number {
  return mod(tMs + cycle.phaseMs, cycle.periodMs) / MINUTE;
}

function tradeCounts(
  rate: number,
  share: number,
  burst: number,
  hourly: number,
  buyShare: number,
): TimeWindows<TxnCounts> {
  const m5 = split(Math.round(rate * 5 * burst * share), buyShare);
  const h1 = extend(m5, Math.round(rate * 55 * hourly * share));
  const h6 = extend(h1, Math.round(rate * 300 * 0.7 * share));
  const h24 = extend(h6, Math.round(rate * 1080 * 0.5 * share));
  return { m5, h1, h6, h24 };
}

function volumes(txns: TimeWindows<TxnCounts>, tradeSize: number, avgTradeUsd: number): TimeWindows<number> {
  const count = (t: TxnCounts) => t.buys + t.sells;
  const m5 = count(txns.m5) * tradeSize;
  const h1 = m5 + (count(txns.h1) - count(txns.m5)) * avgTradeUsd;
  const h6 = h1 + (count(txns.h6) - count(txns.h1)) * avgTradeUsd;
  const h24 = h6 + (count(txns.h24) - count(txns.h6)) * avgTradeUsd;
  return { m5: round(m5, 2), h1: round(h1, 2), h6: round(h6, 2), h24: round(h24, 2) };
}

function split(total: number, buyShare: number): TxnCounts {
  const buys = Math.round(total * buyShare);
  return { buys, sells: total - buys };
}

function extend(previous: TxnCounts, extra: number): TxnCounts {
  const more = split(extra, 0.52);
  return { buys: previous.buys + more.buys, sells: previous.sells + more.sells };
}

/** Four significant digits in plain decimal notation, as DexScreener writes prices ("0.000001020"). */
export function formatPrice(value: number): string {
  if (!Number.isFinite(value) || value <= 0) return "0";
  const decimals = Math.min(20, Math.max(0, 3 - Math.floor(Math.log10(value))));
  return value.toFixed(decimals);
}

function wave(minutes: number, periodMin: number, phase: number): number {
  return Math.sin((TAU * minutes) / periodMin + phase);
}

function mod(value: number, modulus: number): number {
  return ((value % modulus) + modulus) % modulus;
}

function clamp(value: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, value));
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
