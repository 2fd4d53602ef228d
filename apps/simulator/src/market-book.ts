import type { PairInput } from "@moonfleet/scoring";
import { z } from "zod";
import { pairsForProfile } from "./market.js";
import type { DexPair } from "./market.js";
import { buildMarketProfile, marketKinds, marketProfile } from "./market-profile.js";
import type { MarketKind, MarketProfile } from "./market-profile.js";

/** A test's say over one mint: explicit pairs (served exactly as given) or a forced profile kind. */
export type MarketOverride = { pairs: PairInput[] } | { profile: MarketKind } | MarketKind;

// Pairs are only checked to be objects: a test may want to serve odd shapes on purpose.
export const marketOverrideSchema = z.union([
  z.object({ pairs: z.array(z.looseObject({})) }),
  z.object({ profile: z.enum(marketKinds) }),
  z.enum(marketKinds),
]);

export type ServedPair = DexPair | PairInput;

export interface MarketView {
  mint: string;
  source: "model" | "migration" | "override-profile" | "override-pairs";
  profile: MarketProfile | null;
  pairs: ServedPair[];
}

type Entry = { pairs: PairInput[] } | { profile: MarketProfile };

interface Launch {
  profile: MarketProfile;
  /** Market time of the migration: before it the mint has no pools. */
  since: number;
}

// Mints the migration stream announced; beyond this many the oldest fall back to the plain model.
const LAUNCH_LIMIT = 50_000;

/**
 * The markets the simulator serves: the deterministic model, the markets of migrated mints from
 * their migration on, and per-mint overrides on top. Every answer is a function of (mint, time)
 * for the book's current entries.
 */
export class MarketBook {
  readonly #overrides = new Map<string, Entry>();
  readonly #launches = new Map<string, Launch>();

  /** Gives `mint` the market `profile` from market time `since` on (no pools before it). */
  launch(mint: string, profile: MarketProfile, since: number): void {
    if (this.#launches.size >= LAUNCH_LIMIT) {
      const oldest = this.#launches.keys().next();
      if (oldest.done !== true) this.#launches.delete(oldest.value);
    }
    this.#launches.set(mint, { profile, since });
  }

  set(mint: string, override: MarketOverride): void {
    if (typeof override === "string")
      this.#overrides.set(mint, { profile: buildMarketProfile(mint, override) });
    else if ("pairs" in override) this.#overrides.set(mint, { pairs: override.pairs });
    else this.#overrides.set(mint, { profile: buildMarketProfile(mint, override.profile) });
  }

  delete(mint: string): boolean {
    return this.#overrides.delete(mint);
  }

  clear(): void {
    this.#overrides.clear();
  }

  get size(): number {
    return this.#overrides.size;
  }

  pairs(mint: string, tMs: number): ServedPair[] {
    const entry = this.#overrides.get(mint);
    if (entry === undefined) return this.#modelPairs(mint, tMs);
    return "pairs" in entry ? entry.pairs : pairsForProfile(entry.profile, tMs);
  }

  #modelPairs(mint: string, tMs: number): DexPair[] {
    const launch = this.#launches.get(mint);
    if (launch === undefined) return pairsForProfile(marketProfile(mint), tMs);
    return tMs < launch.since ? [] : pairsForProfile(launch.profile, tMs);
  }

  view(mint: string, tMs: number): MarketView {
    const entry = this.#overrides.get(mint);
    if (entry === undefined) {
      const launch = this.#launches.get(mint);
      if (launch !== undefined)
        return { mint, source: "migration", profile: launch.profile, pairs: this.#modelPairs(mint, tMs) };
      const profile = marketProfile(mint);
      return { mint, source: "model", profile, pairs: pairsForProfile(profile, tMs) };
    }
    if ("pairs" in entry) return { mint, source: "override-pairs", profile: null, pairs: entry.pairs };
    return {
      mint,
      source: "override-profile",
      profile: entry.profile,
      pairs: pairsForProfile(entry.profile, tMs),
    };
  }
}
