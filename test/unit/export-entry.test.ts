import { describe, expect, it } from "vitest";
import { guaranteeMs, refreshParams } from "@moonfleet/config";
import { exportEntryMaxAgeMs, exportSettingsOf } from "../../apps/api/src/export-bodies.js";
import { testConfig } from "../support/harness.js";

// A token enters the exports only on a snapshot young enough that its next refresh, started at
// the latest when an exported token's refresh starts, lands within EXPORT_REFRESH_S.
describe("the exports' entry age under SCHEDULING=value", () => {
  it("is the interval an exported token's refreshes start at: EXPORT_REFRESH_S less its slack and the due margin", () => {
    expect(exportEntryMaxAgeMs(testConfig({ EXPORT_REFRESH_S: "5", DUE_MARGIN_MS: "2000" }))).toBe(2_500);
    expect(exportEntryMaxAgeMs(testConfig({ EXPORT_REFRESH_S: "10", DUE_MARGIN_MS: "1000" }))).toBe(8_000);
  });

  it("leaves a refresh room within the exported guarantee, for any refresh interval and margin", () => {
    for (const refreshS of ["3", "5", "8", "20"])
      for (const margin of ["0", "500", "2000"]) {
        const c = testConfig({ EXPORT_REFRESH_S: refreshS, DUE_MARGIN_MS: margin });
        const guarantee = guaranteeMs("hot", true, refreshParams(c));
        expect(exportEntryMaxAgeMs(c)).toBeLessThan(guarantee);
      }
  });

  it("applies under value only: the lanes' exports take any snapshot within the staleness bound", () => {
    expect(exportSettingsOf(testConfig({ SCHEDULING: "value" })).entryMaxAgeMs).toBe(2_500);
    expect(exportSettingsOf(testConfig({ SCHEDULING: "lanes" })).entryMaxAgeMs).toBeUndefined();
  });
});
