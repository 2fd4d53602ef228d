import { describe, expect, it } from "vitest";
import { deadlineIntervalMs, loadConfig, refreshParams } from "@moonfleet/config";
import { exportSettingsOf } from "../src/export-bodies.js";

describe("exportSettingsOf", () => {
  it("under value scheduling lets a token in only with a snapshot young enough to be refreshed within EXPORT_REFRESH_S", () => {
    const c = loadConfig({ SCHEDULING: "value" });
    const entry = exportSettingsOf(c).entryMaxAgeMs;
    expect(entry).toBe(deadlineIntervalMs("hot", true, refreshParams(c)));
    // the refresh that follows an entry must still land within the guarantee
    expect(entry).toBeLessThan(c.exportRefreshS * 1000);
    expect(entry).toBeGreaterThan(0);
    expect(
      exportSettingsOf(loadConfig({ SCHEDULING: "value", EXPORT_REFRESH_S: "10" })).entryMaxAgeMs,
    ).toBeGreaterThan(entry!);
  });

  it("under lane scheduling sets no entry age", () => {
    expect(exportSettingsOf(loadConfig({ SCHEDULING: "lanes" })).entryMaxAgeMs).toBeUndefined();
  });
});
