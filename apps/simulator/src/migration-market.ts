import { buildMarketProfile } from "./market-profile.js";
import type { MarketKind, MarketProfile } from "./market-profile.js";

const MINUTE = 60_000;
const PUMP_DEXES = new Set(["pumpswap", "pumpfun-amm", "pumpfun"]);

/**
 * What becomes of a freshly migrated mint, as on the real chain: most never find liquidity
 * beyond their Pump.fun pool, a few grow external pools and activate, some activate and fade.
 * `roll` is uniform in [0, 1).
 */
export function migratedKind(roll: number): MarketKind {
  if (roll < 0.15) return "active";
  if (roll < 0.25) return "fading";
  if (roll < 0.95) return "monitoring";
  return "dead";
}

/**
 * The market of a mint that migrated at market time `t0`: the kind's usual profile with its life
 * cycle starting at `t0`, so its pools are created then. An active token's external pools grow from
 * nothing over `rampMin` minutes (it activates part-way through) and then hold for the cycle.
 */
export function migratedProfile(mint: string, kind: MarketKind, t0: number, rampMin: number): MarketProfile {
  const base = buildMarketProfile(mint, kind);
  const cycle = { periodMs: base.cycle.periodMs, phaseMs: mod(-t0, base.cycle.periodMs) };
  if (kind !== "active") return { ...base, cycle };
  const periodMin = base.cycle.periodMs / MINUTE;
  return {
    ...base,
    cycle,
    fade: { rampMin, holdMin: periodMin, tauMin: periodMin },
    pools: base.pools.map((pool) => (PUMP_DEXES.has(pool.dexId) ? pool : { ...pool, fadeExponent: 1 })),
  };
}

function mod(value: number, modulus: number): number {
  return ((value % modulus) + modulus) % modulus;
}
