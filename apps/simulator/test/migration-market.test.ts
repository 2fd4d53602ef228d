import { DEFAULT_WEIGHTS, MIN_SCORE, evaluateToken, pairsSchema } from "@moonfleet/scoring";
import type { Scores } from "@moonfleet/scoring";
import { describe, expect, it } from "vitest";
import { MigrationFeed, migratedProfile, pairsForProfile } from "../src/index.js";
import type { Migration } from "../src/index.js";
import { meetsActivationRule } from "./support.js";

const MINUTE = 60_000;
const T0 = Date.UTC(2026, 0, 1);

const migrations = (seed: string, n: number): Migration[] => {
  const feed = new MigrationFeed(seed);
  return Array.from({ length: n }, () => feed.next());
};

/** The pairs of `m`'s market `minutes` of market time after it migrated at T0. */
const pairsAt = (m: Migration, minutes: number) =>
  pairsSchema.parse(pairsForProfile(migratedProfile(m.mint, m.kind, T0, m.life), T0 + minutes * MINUTE));

/** What the token scores, leaving out freshness (a term of its age alone, not of its market). */
const marketScore = (s: Scores) => s.score - DEFAULT_WEIGHTS.freshness * s.freshness;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

describe("migrated markets: one life (ramp, peak, fade)", () => {
  const all = migrations("lifecycle", 1_000);
  const liquid = all.filter((m) => m.kind === "active" || m.kind === "fading");
  /** Market minutes from the migration until its external liquidity has decayed by e^-6. */
  const end = (m: Migration) => m.life.rampMin + m.life.lifetimeMin + 3 * m.life.fadeMin;

  it("makes most migrated mints never liquid, and draws the liquid ones' lifetimes from a distribution", () => {
    expect(liquid.length / all.length).toBeGreaterThan(0.2);
    expect(liquid.length / all.length).toBeLessThan(0.3);
    const active = liquid.filter((m) => m.kind === "active").map((m) => m.life.lifetimeMin);
    const fading = liquid.filter((m) => m.kind === "fading").map((m) => m.life.lifetimeMin);
    // Liquid tokens peak for about 2 hours (a day at most), pumps-and-dumps for under an hour.
    expect(median(active)).toBeGreaterThan(90);
    expect(median(active)).toBeLessThan(160);
    expect(Math.max(...active)).toBeLessThanOrEqual(1_440);
    expect(new Set(active.map(Math.round)).size).toBeGreaterThan(active.length / 2);
    expect(Math.max(...fading)).toBeLessThan(60);
    expect(migrations("lifecycle", 50)).toEqual(all.slice(0, 50));
  });

  it("lets a liquid token activate at its peak, then drains it below the activation rule for good", () => {
    let goodAtPeak = 0;
    for (const m of liquid) {
      const peak = pairsAt(m, m.life.rampMin + m.life.lifetimeMin / 2);
      expect(meetsActivationRule(m.mint, peak), `${m.kind} ${m.mint} at its peak`).toBe(true);
      const atPeak = evaluateToken({ ...token(m), pairs: peak, now: T0 + MINUTE });
      if (marketScore(atPeak.raw) >= MIN_SCORE) goodAtPeak++;
      for (const later of [end(m), end(m) + 60, end(m) + 24 * 60]) {
        const pairs = pairsAt(m, later);
        expect(meetsActivationRule(m.mint, pairs), `${m.kind} ${m.mint} ${later} min on`).toBe(false);
        if (later === end(m)) continue;
        // An hour on its trades have died: it scores under the bar but for its age.
        const dead = evaluateToken({ ...token(m), pairs, now: T0 + later * MINUTE });
        expect(marketScore(dead.raw), `${m.kind} ${m.mint} ${later} min on`).toBeLessThan(MIN_SCORE);
        expect(dead.status).toBe("monitoring");
      }
    }
    expect(goodAtPeak / liquid.length).toBeGreaterThan(0.5);
  });

  it("never lets a token that is not liquid meet the activation rule, and lets its trades die", () => {
    const quiet = all.filter((m) => m.kind === "monitoring").slice(0, 150);
    for (const m of quiet) {
      for (const minutes of [0, m.life.lifetimeMin / 2, m.life.lifetimeMin + 60])
        expect(meetsActivationRule(m.mint, pairsAt(m, minutes))).toBe(false);
      const later = m.life.lifetimeMin + 5 * m.life.fadeMin;
      const dead = evaluateToken({ ...token(m), pairs: pairsAt(m, later), now: T0 + later * MINUTE });
      expect(marketScore(dead.raw)).toBeLessThan(MIN_SCORE);
    }
  });
});

function token(m: Migration) {
  return {
    mint: m.mint,
    status: "active" as const,
    createdAt: T0,
    lastGoodScoreAt: null,
    activeSince: T0,
    previous: null,
  };
}
