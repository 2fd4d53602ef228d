import { buildMarketProfile } from "./market-profile.js";
import type { MarketKind, MarketProfile } from "./market-profile.js";

const MINUTE = 60_000;
const PUMP_DEXES = new Set(["pumpswap", "pumpfun-amm", "pumpfun"]);
/**
 * A migrated market lives once: its cycle is longer than any run, so it never starts over (the
 * plain model's markets repeat daily).
 */
const ONE_LIFE_MS = 365 * 24 * 60 * MINUTE;
/**
 * External liquidity and trades fall as fade^2: at the fade's floor (1 %) a 40,000 USD pool holds
 * 4 USD, far under the 200 USD activation threshold, and 40 trades a minute become none. The
 * Pump.fun pool keeps its liquidity (its LP tokens are burnt at the migration).
 */
const DRAIN_EXPONENT = 2;

/**
 * What becomes of a freshly migrated mint, as on the real chain: most never find liquidity
 * beyond their Pump.fun pool, a few grow external pools and activate for hours (`active`), some
 * are pumped and dumped within the hour (`fading`). `roll` is uniform in [0, 1).
 */
export function migratedKind(roll: number): MarketKind {
  if (roll < 0.15) return "active";
  if (roll < 0.25) return "fading";
  if (roll < 0.95) return "monitoring";
  return "dead";
}

/** A migrated market's one life, in market minutes: it grows, holds at its peak, then fades out. */
export interface MigrationLife {
  /** Minutes its external pools take to grow to full liquidity (0: trades start at their peak). */
  rampMin: number;
  /** Minutes at its peak after the ramp. */
  lifetimeMin: number;
  /** Time constant of the fade after the peak: trades and external liquidity fall as exp(-2t/fadeMin). */
  fadeMin: number;
}

/**
 * Draws a migrated market's life from `next` (uniform in [0, 1)); always four draws, so the
 * migrations after it do not depend on the kind. Liquid tokens peak for a lifetime drawn from a
 * log-normal (median 2 h, capped at a day), pumps-and-dumps for 10 to 40 minutes; tokens that
 * never get liquid keep trading for about 45 minutes. Market minutes: the simulator's time scale
 * shortens them in real time along with everything else in the market.
 */
export function migratedLife(kind: MarketKind, next: () => number): MigrationLife {
  const u1 = next();
  const u2 = next();
  const u3 = next();
  const u4 = next();
  const fadeMin = 5 + 25 * u4;
  switch (kind) {
    case "active":
      return { rampMin: 2 + 18 * u3, lifetimeMin: clamp(logNormal(120, 1, u1, u2), 20, 1_440), fadeMin };
    case "fading":
      return { rampMin: 2 + 4 * u3, lifetimeMin: 10 + 30 * u1, fadeMin: 3 + 7 * u4 };
    case "monitoring":
    case "dead":
      return { rampMin: 0, lifetimeMin: clamp(logNormal(45, 1, u1, u2), 5, 720), fadeMin };
  }
}

/**
 * The market of a mint that migrated at market time `t0`: the kind's usual pools, created then,
 * living the one life `life`. Before the ramp ends external pools hold a share of their liquidity;
 * after the peak its trades, volume and external liquidity die out (to 0.01 %), so a token that
 * activated stops meeting the activation rule and its score falls to its freshness term alone.
 */
export function migratedProfile(
  mint: string,
  kind: MarketKind,
  t0: number,
  life: MigrationLife,
): MarketProfile {
  const base = buildMarketProfile(mint, kind);
  const cycle = { periodMs: ONE_LIFE_MS, phaseMs: mod(-t0, ONE_LIFE_MS) };
  return {
    ...base,
    cycle,
    fade: {
      rampMin: life.rampMin,
      holdMin: life.rampMin + life.lifetimeMin,
      tauMin: life.fadeMin,
      tradeExponent: DRAIN_EXPONENT,
    },
    pools: base.pools.map((pool) => ({
      ...pool,
      fadeExponent: PUMP_DEXES.has(pool.dexId) ? 0 : DRAIN_EXPONENT,
    })),
  };
}

/** exp(N(ln median, sigma)) from two uniforms (Box-Muller). */
function logNormal(median: number, sigma: number, u1: number, u2: number): number {
  const z = Math.sqrt(-2 * Math.log(1 - u1)) * Math.cos(2 * Math.PI * u2);
  return median * Math.exp(sigma * z);
}

function clamp(value: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, value));
}

function mod(value: number, modulus: number): number {
  return ((value % modulus) + modulus) % modulus;
}
