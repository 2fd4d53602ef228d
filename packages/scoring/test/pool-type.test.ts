import { describe, expect, it } from "vitest";
import { poolType } from "../src/index.js";

describe("poolType", () => {
  it.each([
    ["raydium", ["CLMM"], "raydium_clmm"],
    ["raydium", ["clmm"], "raydium_clmm"],
    ["raydium", ["CPMM"], "raydium_cpmm"],
    ["raydium", [], "raydium_amm"],
    ["raydium", null, "raydium_amm"],
    ["orca", ["wp"], "orca_whirlpool"],
    ["orca", undefined, "orca_whirlpool"],
    ["meteora", ["DLMM"], "meteora_dlmm"],
    ["meteora", ["DAMM v2"], "meteora_damm_v2"],
    ["meteora", ["damm"], "meteora_damm_v2"],
    ["meteora", [], "meteora_pool"],
    ["pumpfun-amm", [], "pumpfun_amm"],
    ["pumpswap", [], "pumpfun_amm"],
    ["pumpfun", [], "pumpfun_pool"],
    ["launchlab", [], "launchlab_pool"],
    ["lifinity", ["v2"], "lifinity_pool"],
  ] as const)("%s with labels %j is %s", (dex, labels, expected) => {
    expect(poolType(dex, labels)).toBe(expected);
  });
});
