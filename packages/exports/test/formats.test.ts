import { describe, expect, it } from "vitest";
import { parse } from "smol-toml";
import { decodeBase58 } from "@moonfleet/scoring";
import {
  EMPTY_EXPORT_STATE,
  SMB_POOL_LISTS,
  marketsJson,
  notArbMarketsJson,
  poolConfigs,
  smbConfigToml,
  stepExport,
  type ExportedToken,
} from "../src/index.js";
import { SETTINGS, addr, candidate, pools } from "./fixtures.js";

const NOW = 1_000_000;
const selected = () =>
  stepExport(
    EMPTY_EXPORT_STATE,
    [
      candidate("one", 0.95, { poolCount: 5, symbol: "🚀 MOON\nx = 1" }),
      candidate("two", 0.8, { poolCount: 2, symbol: "日本語" }),
      candidate("three", 0.7, { poolCount: 7, symbol: null }),
    ],
    NOW,
    SETTINGS,
  ).state.members;

describe("NotArb markets JSON", () => {
  it("is an array of arrays of valid base58 pool addresses, one per token", () => {
    const members = selected();
    const parsed = JSON.parse(notArbMarketsJson(members)) as unknown;
    expect(Array.isArray(parsed)).toBe(true);
    const groups = parsed as unknown[][];
    expect(groups).toHaveLength(3);
    for (const g of groups) {
      expect(g.length).toBeGreaterThanOrEqual(2);
      for (const a of g) expect(decodeBase58(a as string)?.length).toBe(32);
    }
    expect(groups).toEqual(members.map((m) => m.pools.map((p) => p.address)));
    expect(JSON.parse(notArbMarketsJson([]))).toEqual([]);
  });
});

describe("SolanaMevBot TOML", () => {
  it("parses back with the TOML library to the same mints and pools, in the per-DEX lists", () => {
    const members = selected();
    const text = smbConfigToml(members, ["moonfleet export v1"]);
    const doc = parse(text) as { routing: { mint_config_list: Array<Record<string, unknown>> } };
    const list = doc.routing.mint_config_list;
    expect(list.map((e) => e.mint)).toEqual(members.map((m) => m.mint));
    list.forEach((entry, i) => {
      const m = members[i]!;
      const listed = Object.values(SMB_POOL_LISTS).flatMap((k) => entry[k] as string[]);
      expect(new Set(listed)).toEqual(new Set(m.pools.map((p) => p.address)));
      for (const p of m.pools)
        expect(entry[SMB_POOL_LISTS[p.poolType as keyof typeof SMB_POOL_LISTS]]).toContain(p.address);
    });
  });

  it("heads each block with its symbol as one comment line, unicode kept, newlines removed", () => {
    const text = smbConfigToml(selected());
    expect(text).toContain("#🚀 MOONx = 1\n");
    expect(text).toContain("#日本語\n");
    expect(text).toContain(`#${addr("three")}\n`); // no symbol: the mint
    expect(text).not.toMatch(/^x = 1/m);
  });

  it("an empty selection is a valid config with an empty list", () => {
    const doc = parse(smbConfigToml([])) as { routing: { mint_config_list: unknown[] } };
    expect(doc.routing.mint_config_list).toEqual([]);
  });
});

describe("markets.json and pool-configs", () => {
  it("carries the rule, the version and each pool's dex, type, quote and liquidity", () => {
    const r = stepExport(EMPTY_EXPORT_STATE, [candidate("one", 0.95), candidate("two", 0.8)], NOW, SETTINGS);
    const doc = marketsJson(
      {
        version: r.state.version,
        generatedAt: NOW,
        changedAt: r.state.changedAt,
        settings: SETTINGS,
        tokens: r.state.members,
      },
      NOW + 2_000,
    );
    expect(doc.version).toBe(1);
    expect(doc.rule).toMatchObject({ topN: 3, minScore: 0.5, exitScore: 0.45, maxStalenessS: { hot: 30 } });
    expect(doc.tokens).toHaveLength(2);
    expect(doc.tokens[0]).toMatchObject({ smoothedScore: expect.any(Number), stalenessS: 2 });
    expect(doc.tokens[0]?.pools[0]).toEqual({
      address: expect.any(String),
      dex: "raydium",
      type: "raydium_clmm",
      quote: "SOL",
      liquidityUsd: 50_000,
    });
  });

  it("gives one token's SMB block and NotArb line", () => {
    const mint = addr("solo");
    const t: ExportedToken = { mint, symbol: "SOLO", pools: pools(mint, 2) };
    const cfg = poolConfigs(t);
    expect(JSON.parse(cfg.notArbLine)).toEqual(t.pools.map((p) => p.address));
    const doc = parse(cfg.smbToml) as { routing: { mint_config_list: Array<Record<string, unknown>> } };
    expect(doc.routing.mint_config_list[0]).toMatchObject({
      mint,
      raydium_clmm_pool_list: [t.pools[0]?.address],
      meteora_dlmm_pool_list: [t.pools[1]?.address],
    });
    expect(cfg.smbToml.startsWith("#SOLO\n")).toBe(true);
  });
});
