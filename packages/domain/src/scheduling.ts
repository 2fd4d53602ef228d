import { z } from "zod";
import type { Lane, PerLane } from "./lanes.js";

/**
 * How the producer spends the upstream budget: `value` gives each token a due time from what a
 * refresh is worth (within hard staleness guarantees); `lanes` is the lane TTLs alone.
 */
export const SCHEDULING_MODES = ["value", "lanes"] as const;
export const schedulingModeSchema = z.enum(SCHEDULING_MODES);
export type SchedulingMode = z.infer<typeof schedulingModeSchema>;

/**
 * The classes the bots' view is judged by: exported tokens, the top 50 by score (not exported),
 * other active tokens, monitoring tokens. A token is in the first class that holds it.
 */
export const TOKEN_CLASSES = ["exported", "top50", "active", "monitoring"] as const;
export const tokenClassSchema = z.enum(TOKEN_CLASSES);
export type TokenClass = z.infer<typeof tokenClassSchema>;

/** How many tokens by score make the `top50` class. */
export const TOP_CLASS_SIZE = 50;

/**
 * The tiers of a value claim: `urgent` tokens whose deadline is within the lane's lead (a tick and
 * the wait its job will have: urgentLeadMs in @moonfleet/config), `exported` the exported tokens
 * due within the claim's lookahead (the bots' tokens do not queue behind the lane's other due ones,
 * nor wait for the tick after their due time), `wanted` tokens that are due, `early` the earliest deadlines ahead (budget that would go unspent).
 */
export const CLAIM_TIER_KINDS = ["urgent", "exported", "wanted", "early"] as const;
export type ClaimTierKind = (typeof CLAIM_TIER_KINDS)[number];

/**
 * One step of a value claim: a lane's tier; `hotFirst`: bounded by the hot lane's first share;
 * `topUp`: only as many tokens as complete the last call of the lane that carries them, even past
 * the budget's slots (a call costs the same with 3 mints or 30); `into`: the lane whose jobs carry
 * the step's tokens, its own when absent (cold tokens completing a hot call: each token is still
 * scheduled, leased and committed in its own lane).
 */
export interface ClaimTier {
  readonly lane: Lane;
  readonly tier: ClaimTierKind;
  readonly hotFirst: boolean;
  readonly topUp: boolean;
  readonly into?: Lane;
}

/** What bounds a value claim's steps (stepMax in @moonfleet/config; the claim script in Redis). */
export interface ClaimLimits {
  /** Mint slots the budget leaves this claim (the steps spend it; top-ups may go past it). */
  readonly budget: number;
  /**
   * Mint slots queued in the cold lane that hot's urgent and first-share steps may spend on top of
   * the budget: the budget serves hot first (UPSTREAM_HOT_RESERVE), so a hot job claimed now is
   * fetched before the cold jobs already waiting, and cold's queue must not keep hot past its TTL.
   */
  readonly hotPasses: number;
  /**
   * Cold's oldest queued job has waited past what its lead allows (hotYieldsToCold): hot's wanted
   * step beyond its first share takes nothing, since it would pass that job again.
   */
  readonly hotYields: boolean;
  /** Mint slots each lane's queue has room for. */
  readonly room: PerLane<number>;
  /**
   * How many hot tokens the urgent and hotFirst steps may have claimed in all: hot's credit, which
   * grows at hotFirstShare of the budget's rate.
   */
  readonly hotFirst: number;
  /** Mints per upstream call of each lane. */
  readonly fill: PerLane<number>;
}
