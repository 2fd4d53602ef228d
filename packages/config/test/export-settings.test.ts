import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../src/index.js";

describe("the export settings", () => {
  it("default to the replaced system's rule", () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      exportTopN: 3,
      exportMinScore: 0.5,
      exportExitScore: 0.45,
      exportMinPoolLiquidityUsd: 500,
      exportPoolsPerToken: 3,
      exportMinHoldS: 60,
    });
    expect(c.exportMaxStalenessS).toBeUndefined();
    expect(c.exportDir).toBeUndefined();
  });

  it("refuse an exit score above the entry score, naming both", () => {
    expect(() => loadConfig({ EXPORT_MIN_SCORE: "0.4", EXPORT_EXIT_SCORE: "0.6" })).toThrow(ConfigError);
    expect(() => loadConfig({ EXPORT_MIN_SCORE: "0.4", EXPORT_EXIT_SCORE: "0.6" })).toThrow(
      /EXPORT_EXIT_SCORE=0.6 must be at most EXPORT_MIN_SCORE=0.4/,
    );
    expect(() => loadConfig({ EXPORT_TOP_N: "101" })).toThrow(/EXPORT_TOP_N/);
  });
});
