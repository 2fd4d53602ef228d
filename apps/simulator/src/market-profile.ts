import { isMintLike } from "./base58.js";
import { seededAddress } from "./demo-mints.js";
import { hashString, mulberry32 } from "./prng.js";

/** How a token's market behaves: `dead` has no pools at all. */
export const marketKinds = ["active", "monitoring", "fading", "dead"] as const;
export type MarketKind = (typeof marketKinds)[number];

export interface PoolProfile {
  dexId: string;
  /** Empty when DexScreener shows no label (the field is then left out). */
  labels: string[];
  pairAddress: string;
  quote: "SOL" | "USDC";
  /** Liquidity before the slow wave and the fade. */
  liquidityUsd: number;
  /** This pool's share of the token's trades. */
  share: number;
  /** How strongly the fade applies: liquidity is multiplied by fade^fadeExponent. */
  fadeExponent: number;
  /** Minutes between the token's cycle start and this pool's creation (pools appear in the ramp). */
  createdAfterMin: number;
  seed: number;
}

/** A repeating life cycle, in market time: ramp up, hold, then decay below the threshold. */
export interface LifeCycle {
  periodMs: number;
  phaseMs: number;
}

export interface FadeShape {
  rampMin: number;
  holdMin: number;
  /** Time constant of the exponential decay after the hold. */
  tauMin: number;
  /** When set, trades follow fade^tradeExponent and die out; left out, a faded token keeps 5 % of them. */
  tradeExponent?: number;
}

/**
 * What stays fixed for a mint. 100,000 of them may be cached, so the wave shapes are not kept here:
 * they are re-derived from `seed` on each call.
 */
export interface MarketProfile {
  mint: string;
  kind: MarketKind;
  /** The kind the mint's seed gives, before any override. */
  naturalKind: MarketKind;
  name: string;
  symbol: string;
  seed: number;
  supply: number;
  priceUsd: number;
  tradesPerMin: number;
  avgTradeUsd: number;
  boosts: number;
  hasInfo: boolean;
  cycle: LifeCycle;
  fade: FadeShape | null;
  pools: PoolProfile[];
}

const MINUTE = 60_000;
// Enough for 100,000 distinct mints (about 1 KB each); beyond it the oldest entries go first.
const PROFILE_CACHE_LIMIT = 150_000;
const profileCache = new Map<string, MarketProfile>();

const words = [
  "Moon",
  "Cat",
  "Pepe",
  "Doge",
  "Frog",
  "Based",
  "Giga",
  "Chad",
  "Wif",
  "Bonk",
  "Sol",
  "Pump",
  "Rocket",
  "Shiba",
  "Turbo",
  "Baby",
  "Mega",
  "Hyper",
  "Neko",
  "Lambo",
  "Fleet",
  "Degen",
  "Ape",
  "Bull",
  "Otter",
  "Comet",
];

const noLabels: string[] = [];

const externalDexes: ReadonlyArray<{ dexId: string; labels: string[] }> = [
  { dexId: "raydium", labels: ["CLMM"] },
  { dexId: "raydium", labels: ["CPMM"] },
  { dexId: "meteora", labels: ["DLMM"] },
  { dexId: "meteora", labels: ["DAMM v2"] },
  { dexId: "orca", labels: ["wp"] },
];

/** The mint's natural profile, cached (bounded) so repeated requests cost no set-up. */
export function marketProfile(mint: string): MarketProfile {
  let profile = profileCache.get(mint);
  if (profile === undefined) {
    profile = buildMarketProfile(mint);
    if (profileCache.size >= PROFILE_CACHE_LIMIT) {
      const oldest = profileCache.keys().next();
      if (oldest.done !== true) profileCache.delete(oldest.value);
    }
    profileCache.set(mint, profile);
  }
  return profile;
}

/**
 * Derives a static market profile from the mint alone. Roughly 35% of mints are `active` (several
 * pools that meet the activation rule), 45% `monitoring` (never meet it) and 20% `fading` (meet it,
 * then their liquidity decays below the threshold). Strings that are not Solana addresses are
 * `dead`. `kind` forces a kind while keeping the mint's names and waves.
 */
export function buildMarketProfile(mint: string, kind?: MarketKind): MarketProfile {
  const seed = hashString(mint);
  const next = mulberry32(seed);
  const roll = next();
  const naturalKind: MarketKind = !isMintLike(mint)
    ? "dead"
    : roll < 0.35
      ? "active"
      : roll < 0.8
        ? "monitoring"
        : "fading";
  const chosen = kind ?? naturalKind;
  const first = pick(next, words);
  const second = pick(next, words);
  const fading = chosen === "fading";
  const profile: MarketProfile = {
    mint,
    kind: chosen,
    naturalKind,
    name: `${first} ${second}`,
    symbol: (first.slice(0, 3) + second.slice(0, 2)).toUpperCase(),
    seed,
    supply: 1_000_000_000,
    priceUsd: logBetween(next, 0.00003, 0.003),
    tradesPerMin: chosen === "monitoring" ? logBetween(next, 0.3, 6) : logBetween(next, 4, 40),
    avgTradeUsd: logBetween(next, 20, 300),
    boosts: next() < 0.05 ? 1 + Math.floor(next() * 5) : 0,
    hasInfo: next() < 0.8,
    cycle: {
      periodMs: fading ? Math.round(between(next, 100, 160) * MINUTE) : 24 * 60 * MINUTE,
      phaseMs: Math.floor(next() * 24 * 60 * MINUTE),
    },
    fade: fading
      ? { rampMin: between(next, 2, 4), holdMin: between(next, 20, 40), tauMin: between(next, 5, 8) }
      : null,
    pools: [],
  };
  profile.pools = buildPools(chosen, next);
  return profile;
}

function buildPools(kind: MarketKind, next: () => number): PoolProfile[] {
  const pools: PoolProfile[] = [];
  const pump = (liquidityUsd: number, fadeExponent = 0, dexId = next() < 0.9 ? "pumpswap" : "pumpfun-amm") =>
    pools.push(pool(next, dexId, noLabels, "SOL", liquidityUsd, 3, fadeExponent, 0));
  const external = (liquidityUsd: number, fadeExponent = 0) => {
    const dex = pick(next, externalDexes);
    const quote = next() < 0.8 ? "SOL" : "USDC";
    pools.push(pool(next, dex.dexId, dex.labels, quote, liquidityUsd, 1, fadeExponent, between(next, 0, 2)));
  };
  switch (kind) {
    case "active": {
      const withPump = next() < 0.85;
      if (withPump) pump(logBetween(next, 8_000, 80_000));
      const externals = withPump ? 1 + Math.floor(next() * 3) : 2 + Math.floor(next() * 2);
      for (let i = 0; i < externals; i++) external(logBetween(next, 1_500, 40_000));
      break;
    }
    case "monitoring": {
      const variant = next();
      if (variant < 0.4) pump(logBetween(next, 3_000, 30_000));
      else if (variant < 0.7) {
        // External pools exist but stay under the 200 USD threshold (the wave adds at most 8%).
        pump(logBetween(next, 3_000, 30_000));
        const externals = 1 + Math.floor(next() * 2);
        for (let i = 0; i < externals; i++) external(between(next, 15, 170));
      } else if (variant < 0.85) pump(logBetween(next, 1_000, 10_000), 0, "pumpfun");
      else external(logBetween(next, 1_000, 20_000));
      break;
    }
    case "fading": {
      pump(logBetween(next, 5_000, 40_000), 0.5);
      const externals = 1 + Math.floor(next() * 2);
      for (let i = 0; i < externals; i++) external(logBetween(next, 2_000, 6_000), 1);
      break;
    }
    case "dead":
      break;
  }
  const total = pools.reduce((sum, p) => sum + p.share, 0);
  for (const p of pools) p.share /= total;
  return pools;
}

function pool(
  next: () => number,
  dexId: string,
  labels: string[],
  quote: "SOL" | "USDC",
  liquidityUsd: number,
  weight: number,
  fadeExponent: number,
  createdAfterMin: number,
): PoolProfile {
  return {
    dexId,
    labels,
    pairAddress: seededAddress(next),
    quote,
    liquidityUsd,
    share: weight * between(next, 0.5, 1.5),
    fadeExponent,
    createdAfterMin,
    seed: Math.floor(next() * 4294967296),
  };
}

function between(next: () => number, lo: number, hi: number): number {
  return lo + (hi - lo) * next();
}

function logBetween(next: () => number, lo: number, hi: number): number {
  return lo * Math.exp(Math.log(hi / lo) * next());
}

function pick<T>(next: () => number, items: readonly T[]): T {
  const item = items[Math.floor(next() * items.length)];
  if (item === undefined) throw new Error("pick from an empty list");
  return item;
}
