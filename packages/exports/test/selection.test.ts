import { describe, expect, it } from "vitest";
import { decodeBase58 } from "@moonfleet/scoring";
import {
  EMPTY_EXPORT_STATE,
  isStale,
  judge,
  parseCandidate,
  stepExport,
  tradablePools,
  type ExportPool,
} from "../src/index.js";
import { SETTINGS, addr, candidate, pools } from "./fixtures.js";

const NOW = 1_000_000;

describe("tradable pools: one rule for every format", () => {
  it("keeps the supported DEXes with a SOL or USDC quote and enough liquidity, most liquid first", () => {
    const p = (label: string, poolType: string, quote: string, liquidityUsd: number): ExportPool => ({
      address: addr(label),
      dexId: poolType.split("_")[0] ?? "x",
      poolType,
      quote,
      liquidityUsd,
    });
    const c = candidate("mixed", 0.8, {
      metrics: {
        pools: [
          p("small", "raydium_clmm", "SOL", 499),
          p("curve", "pumpfun_pool", "SOL", 90_000),
          p("launch", "launchlab_pool", "SOL", 80_000),
          p("unknown", "meteora_pool", "SOL", 70_000),
          p("usd1", "raydium_cpmm", "USD1", 60_000),
          p("usdc", "orca_whirlpool", "USDC", 2_000),
          p("wsol", "meteora_dlmm", "WSOL", 9_000),
          p("pump", "pumpfun_amm", "SOL", 5_000),
        ],
      },
    });
    expect(tradablePools(c, SETTINGS).map((x) => x.address)).toEqual([
      addr("wsol"),
      addr("pump"),
      addr("usdc"),
    ]);
  });

  it.each([
    [0, "no_route"],
    [1, "no_route"],
    [2, null],
    [5, null],
  ] as const)("a token with %i pools: excluded %s", (n, reason) => {
    expect(judge(candidate(`p${n}`, 0.9, { poolCount: n }), NOW, SETTINGS).excluded).toBe(reason);
  });

  it("exports at most EXPORT_POOLS_PER_TOKEN pools, the most liquid", () => {
    const c = candidate("five", 0.9, { poolCount: 5 });
    const { state } = stepExport(EMPTY_EXPORT_STATE, [c], NOW, SETTINGS);
    expect(state.members[0]?.pools.map((p) => p.address)).toEqual(pools(c.mint, 3).map((p) => p.address));
    for (const p of state.members[0]?.pools ?? []) expect(decodeBase58(p.address)?.length).toBe(32);
  });

  it("holds a token whose snapshot is older than entryMaxAgeMs at the door, its slot kept, until a fresh one", () => {
    const s = { ...SETTINGS, entryMaxAgeMs: 5_000 };
    const cands = [
      candidate("old", 0.95, { fetchedAt: NOW - 5_001 }),
      candidate("fresh", 0.9, { fetchedAt: NOW - 5_000 }),
      candidate("coldold", 0.85, { fetchedAt: NOW - 20_000, lane: "cold" }),
      candidate("next", 0.8, { fetchedAt: NOW }),
    ];
    const r = stepExport(EMPTY_EXPORT_STATE, cands, NOW, s);
    // the two held tokens keep their slots: "next" does not take one
    expect(r.state.members.map((m) => m.mint)).toEqual([addr("fresh")]);
    expect(r.held).toEqual([
      { mint: addr("old"), lane: "hot", fetchedAt: NOW - 5_001 },
      { mint: addr("coldold"), lane: "cold", fetchedAt: NOW - 20_000 },
    ]);
    // refreshed: they enter
    const later = NOW + 1_000;
    const refreshed = cands.map((c) => ({ ...c, fetchedAt: later - 500 }));
    const r2 = stepExport(r.state, refreshed, later, s);
    expect(new Set(r2.state.members.map((m) => m.mint))).toEqual(
      new Set([addr("old"), addr("fresh"), addr("coldold")]),
    );
    expect(r2.held).toEqual([]);
    // a member is not held: it keeps its place on a snapshot within maxStalenessMs
    const aged = refreshed.map((c) => ({ ...c, fetchedAt: later - 20_000 }));
    expect(stepExport(r2.state, aged, later, s).state.members).toHaveLength(3);
    // a member kept out of the top by minHoldMs holds a slot: the held token keeps the other one,
    // so the lower-ranked fresh token does not take it
    const kept = stepExport(EMPTY_EXPORT_STATE, [candidate("keep", 0.9, { fetchedAt: NOW })], NOW, s);
    const crowd = [
      candidate("keep", 0.5, { fetchedAt: NOW }),
      candidate("late", 0.95, { fetchedAt: NOW - 6_000 }),
      candidate("c", 0.9, { fetchedAt: NOW }),
      candidate("d", 0.85, { fetchedAt: NOW }),
    ];
    const r3 = stepExport(kept.state, crowd, NOW + 1_000, s);
    expect(new Set(r3.state.members.map((m) => m.mint))).toEqual(new Set([addr("keep"), addr("c")]));
    expect(r3.held.map((h) => h.mint)).toEqual([addr("late")]);
    // without the bound (SCHEDULING=lanes) the old snapshot enters at once
    expect(stepExport(EMPTY_EXPORT_STATE, cands, NOW, SETTINGS).held).toEqual([]);
    expect(stepExport(EMPTY_EXPORT_STATE, cands, NOW, SETTINGS).state.members).toHaveLength(3);
  });

  it("takes the top N active tokens at or above the minimum score", () => {
    const cands = [
      candidate("a", 0.95),
      candidate("b", 0.7),
      candidate("c", 0.6),
      candidate("d", 0.55),
      candidate("low", 0.49),
      candidate("mon", 0.99, { status: "monitoring", lane: "cold" }),
    ];
    const r = stepExport(EMPTY_EXPORT_STATE, cands, NOW, SETTINGS);
    expect(new Set(r.state.members.map((m) => m.mint))).toEqual(new Set([addr("a"), addr("b"), addr("c")]));
    expect(r.state.version).toBe(1);
    expect(r.excluded.inactive).toBe(1);
    expect(r.excluded.below_min).toBe(1); // 0.49; d (0.55) qualifies but has no slot: not excluded
    expect(r.excluded.below_exit).toBe(0);
  });
});

describe("the staleness guard", () => {
  it("is stale past the lane's bound and fresh at it", () => {
    const c = candidate("s", 0.9, { fetchedAt: NOW - 30_000 });
    expect(isStale(c, NOW, SETTINGS)).toBe(false);
    expect(isStale(c, NOW + 1, SETTINGS)).toBe(true);
  });

  it("a stale member leaves at once; the list empties rather than keeping the last good one", () => {
    const cands = [candidate("a", 0.9), candidate("b", 0.8)];
    const first = stepExport(EMPTY_EXPORT_STATE, cands, NOW, SETTINGS);
    expect(first.state.members).toHaveLength(2);
    const later = NOW + 31_000; // both snapshots now 31 s old
    const second = stepExport(first.state, cands, later, SETTINGS);
    expect(second.state.members).toEqual([]);
    expect(second.left.map((x) => x.reason)).toEqual(["stale", "stale"]);
    expect(second.excluded.stale).toBe(2);
    expect(second.state.version).toBe(2);
    // Fresh again: back in.
    const fresh = cands.map((c) => ({ ...c, fetchedAt: later - 1_000 }));
    const third = stepExport(second.state, fresh, later, SETTINGS);
    expect(third.state.members).toHaveLength(2);
    expect(third.entered).toHaveLength(2);
  });
});

describe("the hysteresis", () => {
  const base = [candidate("a", 0.9), candidate("b", 0.8), candidate("c", 0.7), candidate("d", 0.6)];

  it("a member dropping out of the top N stays for EXPORT_MIN_HOLD_S, then leaves", () => {
    let r = stepExport(EMPTY_EXPORT_STATE, base, NOW, SETTINGS);
    expect(r.state.members.map((m) => m.mint)).not.toContain(addr("d"));
    const swapped = base.map((c) => (c.mint === addr("d") ? { ...c, smoothedScore: 0.75 } : c));
    const c = addr("c");
    // d overtakes c: c is out of the top 3 but keeps its slot while held.
    r = stepExport(r.state, swapped, NOW + 1_000, SETTINGS);
    expect(r.changed).toBe(false);
    expect(r.state.members.find((m) => m.mint === c)?.outOfTopSince).toBe(NOW + 1_000);
    r = stepExport(
      r.state,
      swapped.map((x) => ({ ...x, fetchedAt: NOW + 59_000 })),
      NOW + 60_000,
      SETTINGS,
    );
    expect(r.changed).toBe(false);
    r = stepExport(
      r.state,
      swapped.map((x) => ({ ...x, fetchedAt: NOW + 60_000 })),
      NOW + 61_000,
      SETTINGS,
    );
    expect(r.left).toEqual([{ mint: c, symbol: "C", reason: "out_of_top" }]);
    expect(r.entered).toEqual([{ mint: addr("d"), symbol: "D", reason: "qualified" }]);
    expect(r.state.version).toBe(2);
  });

  it("a member stays between the exit and the entry score and leaves below the exit score", () => {
    let r = stepExport(EMPTY_EXPORT_STATE, [candidate("a", 0.6), candidate("b", 0.9)], NOW, SETTINGS);
    r = stepExport(r.state, [candidate("a", 0.46), candidate("b", 0.9)], NOW, SETTINGS);
    expect(r.state.members).toHaveLength(2);
    r = stepExport(r.state, [candidate("a", 0.44), candidate("b", 0.9)], NOW, SETTINGS);
    expect(r.left).toEqual([{ mint: addr("a"), symbol: "A", reason: "below_exit" }]);
    // And it does not come back at 0.47 (below the entry score).
    r = stepExport(r.state, [candidate("a", 0.47), candidate("b", 0.9)], NOW, SETTINGS);
    expect(r.state.members.map((m) => m.mint)).toEqual([addr("b")]);
  });

  it("score noise around the entry line changes nothing with damping and flaps without", () => {
    const undampedSettings = { ...SETTINGS, exitScore: SETTINGS.minScore, minHoldMs: 0 };
    let damped = EMPTY_EXPORT_STATE;
    let plain = EMPTY_EXPORT_STATE;
    let dampedChanges = 0;
    let plainChanges = 0;
    for (let i = 0; i < 20; i++) {
      const noise = i % 2 === 0 ? 0.02 : -0.02;
      const cands = [candidate("a", 0.9), candidate("b", 0.8), candidate("c", 0.5 + noise)];
      const d = stepExport(damped, cands, NOW + i * 1_000, SETTINGS);
      const p = stepExport(plain, cands, NOW + i * 1_000, undampedSettings);
      damped = d.state;
      plain = p.state;
      dampedChanges += d.entered.length + d.left.length;
      plainChanges += p.entered.length + p.left.length;
    }
    expect(dampedChanges).toBe(3); // the three entries, nothing after
    expect(plainChanges).toBeGreaterThan(15);
  });

  it("keeps a member's pools while a close rival trades places, switches when a pool is much deeper", () => {
    const c = candidate("p", 0.9, { poolCount: 4 });
    let r = stepExport(EMPTY_EXPORT_STATE, [c], NOW, SETTINGS);
    const chosen = r.state.members[0]?.pools.map((p) => p.address);
    const [p0, p1, p2, p3] = c.metrics.pools as [ExportPool, ExportPool, ExportPool, ExportPool];
    const close = {
      ...c,
      metrics: { pools: [p0, p1, { ...p2, liquidityUsd: 12_000 }, { ...p3, liquidityUsd: 13_000 }] },
    };
    r = stepExport(r.state, [close], NOW + 1_000, SETTINGS);
    expect(r.changed).toBe(false);
    expect(r.state.members[0]?.pools.map((p) => p.address)).toEqual(chosen);
    const deep = {
      ...c,
      metrics: { pools: [p0, p1, { ...p2, liquidityUsd: 12_000 }, { ...p3, liquidityUsd: 40_000 }] },
    };
    r = stepExport(r.state, [deep], NOW + 2_000, SETTINGS);
    expect(r.changed).toBe(true);
    expect(r.updated).toEqual([c.mint]);
    expect(r.state.members[0]?.pools.map((p) => p.address)).toEqual([p0.address, p3.address, p1.address]);
  });

  it("a member whose snapshot is gone or no longer active leaves", () => {
    let r = stepExport(EMPTY_EXPORT_STATE, [candidate("a", 0.9), candidate("b", 0.9)], NOW, SETTINGS);
    r = stepExport(r.state, [candidate("a", 0.9, { status: "archived", lane: null })], NOW, SETTINGS);
    expect(r.left.map((x) => x.reason).sort()).toEqual(["inactive", "inactive"]);
    expect(r.state.members).toEqual([]);
  });
});

describe("parseCandidate", () => {
  it("reads a snapshot without pools as a token without a route, and junk as nothing", () => {
    const raw = JSON.stringify({ ...candidate("old", 0.9), metrics: { liquidityUsd: 5 } });
    expect(parseCandidate(raw)?.metrics.pools).toEqual([]);
    expect(parseCandidate("{not json")).toBeNull();
    expect(parseCandidate(JSON.stringify({ mint: 1 }))).toBeNull();
    expect(parseCandidate(null)).toBeNull();
  });
});

describe("the ranking", () => {
  it("a token below the entry score does not push a member out of the top N", () => {
    const one = { ...SETTINGS, topN: 1 };
    let r = stepExport(EMPTY_EXPORT_STATE, [candidate("m", 0.6)], NOW, one);
    // m sinks to 0.46 (held); x at 0.48 ranks above it but may not enter: m is still the top 1.
    const later = [
      candidate("m", 0.46, { fetchedAt: NOW + 59_000 }),
      candidate("x", 0.48, { fetchedAt: NOW + 59_000 }),
    ];
    r = stepExport(r.state, later, NOW + 1_000, one);
    r = stepExport(r.state, later, NOW + 62_000, one);
    expect(r.state.members.map((m) => m.mint)).toEqual([addr("m")]);
    expect(r.left).toEqual([]);
  });
});
