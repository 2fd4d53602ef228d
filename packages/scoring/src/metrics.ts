import type { Pair } from "./pair.js";
import { liquidityUsd, nonNegative, quoteSymbol, relevantPairs } from "./pairs.js";
import { poolType } from "./pool-type.js";
import type { PoolType } from "./pool-type.js";

const HOUR_MS = 3_600_000;

/** Pools kept per snapshot: enough for any export (EXPORT_POOLS_PER_TOKEN <= this), bounded in size. */
export const STORED_POOLS_PER_TOKEN = 8;

/** One relevant pool of a token as the snapshot stores it: what the bot exports are built from. */
export interface TokenPool {
  address: string;
  dexId: string;
  poolType: PoolType;
  /** The quote token's symbol, upper-cased (SOL, WSOL, USDC, ...). */
  quote: string;
  liquidityUsd: number;
}

export interface TokenMetrics {
  liquidityUsd: number;
  primaryDex: string | null;
  primaryPool: string | null;
  primaryPoolType: PoolType | null;
  pairCount: number;
  tx5m: number;
  tx1h: number;
  volume5m: number;
  volume1h: number;
  buys5m: number;
  sells5m: number;
  buyVolume5m: number;
  sellVolume5m: number;
  /** Fractions (DexScreener's percent / 100) from the most liquid pair; 0 when unknown. */
  priceChange5m: number;
  priceChange1h: number;
  priceUsd: number | null;
  hoursSinceCreation: number;
  /** Per relevant pair with m5 trades: volume.m5 / (buys + sells); the largest and the mean of those. */
  largestAvgTrade5m: number;
  meanAvgTrade5m: number;
  /** The most liquid relevant pools, most liquid first, at most STORED_POOLS_PER_TOKEN. */
  pools: TokenPool[];
}

export interface MetricsInput {
  mint: string;
  pairs: readonly Pair[];
  /** Epoch ms when the token was registered (its migration time). */
  createdAt: number;
  now: number;
  minLiquidityUsd: number;
}

/** Most liquid first; equal liquidity falls back to the pair address so input order never matters. */
function byLiquidity(a: Pair, b: Pair): number {
  const diff = liquidityUsd(b) - liquidityUsd(a);
  if (diff !== 0) return diff;
  return a.pairAddress < b.pairAddress ? -1 : a.pairAddress > b.pairAddress ? 1 : 0;
}

function finiteOr(x: number | null | undefined, fallback: number): number {
  return x !== undefined && x !== null && Number.isFinite(x) ? x : fallback;
}

/** Sums of huge (junk) upstream figures saturate rather than overflow to Infinity. */
function capped(x: number): number {
  return Math.min(x, Number.MAX_VALUE);
}

function parsePrice(s: string | null | undefined): number | null {
  if (s === undefined || s === null || s.trim() === "") return null;
  const n = Number(s);
  return Number.isFinite(n) ? n : null;
}

export function computeMetrics({ mint, pairs, createdAt, now, minLiquidityUsd }: MetricsInput): TokenMetrics {
  const relevant = relevantPairs(mint, pairs, minLiquidityUsd).sort(byLiquidity);
  const primary = relevant[0];

  let liquidity = 0;
  let buys5m = 0;
  let sells5m = 0;
  let tx1h = 0;
  let volume5m = 0;
  let volume1h = 0;
  let buyVolume5m = 0;
  let sellVolume5m = 0;
  const avgTrades: number[] = [];

  for (const pair of relevant) {
    const buys = nonNegative(pair.txns?.m5?.buys);
    const sells = nonNegative(pair.txns?.m5?.sells);
    const vol5m = nonNegative(pair.volume?.m5);
    liquidity += liquidityUsd(pair);
    buys5m += buys;
    sells5m += sells;
    tx1h += nonNegative(pair.txns?.h1?.buys) + nonNegative(pair.txns?.h1?.sells);
    volume5m += vol5m;
    volume1h += nonNegative(pair.volume?.h1);
    const trades = buys + sells;
    if (trades > 0) {
      // Shares first: vol5m * buys can overflow where vol5m * (buys / trades) cannot.
      buyVolume5m += vol5m * (buys / trades);
      sellVolume5m += vol5m * (sells / trades);
      avgTrades.push(capped(vol5m / trades));
    }
  }

  // A loop, not Math.max(...avgTrades): spreading ~125k values overflows the call stack.
  const largestAvgTrade5m = avgTrades.reduce((max, x) => Math.max(max, x), 0);
  const meanAvgTrade5m =
    avgTrades.length > 0 ? capped(avgTrades.reduce((s, x) => s + x, 0) / avgTrades.length) : 0;

  return {
    liquidityUsd: capped(liquidity),
    primaryDex: primary?.dexId ?? null,
    primaryPool: primary?.pairAddress ?? null,
    primaryPoolType: primary ? poolType(primary.dexId, primary.labels) : null,
    pairCount: relevant.length,
    tx5m: capped(buys5m + sells5m),
    tx1h: capped(tx1h),
    volume5m: capped(volume5m),
    volume1h: capped(volume1h),
    buys5m: capped(buys5m),
    sells5m: capped(sells5m),
    buyVolume5m: capped(buyVolume5m),
    sellVolume5m: capped(sellVolume5m),
    priceChange5m: finiteOr(primary?.priceChange?.m5, 0) / 100,
    priceChange1h: finiteOr(primary?.priceChange?.h1, 0) / 100,
    priceUsd: parsePrice(primary?.priceUsd),
    hoursSinceCreation: Math.max(0, finiteOr((now - createdAt) / HOUR_MS, 0)),
    largestAvgTrade5m,
    meanAvgTrade5m,
    pools: relevant.slice(0, STORED_POOLS_PER_TOKEN).map((pair) => ({
      address: pair.pairAddress,
      dexId: pair.dexId,
      poolType: poolType(pair.dexId, pair.labels),
      quote: quoteSymbol(pair),
      liquidityUsd: capped(liquidityUsd(pair)),
    })),
  };
}
