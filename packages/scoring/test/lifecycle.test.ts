import { laneOf, laneSchema, tokenStatusSchema } from "@moonfleet/domain";
import { describe, expect, it } from "vitest";
import { ARCHIVE_WINDOW_MS, nextStatus, shouldArchive } from "../src/index.js";
import { HOUR, NOW } from "./fixtures.js";

const base = { createdAt: NOW - 48 * HOUR, lastGoodScoreAt: null, activeSince: null, now: NOW };

describe("statuses and lanes", () => {
  it("parses the three statuses and two lanes", () => {
    expect(tokenStatusSchema.options).toEqual(["monitoring", "active", "archived"]);
    expect(tokenStatusSchema.safeParse("dead").success).toBe(false);
    expect(laneSchema.options).toEqual(["hot", "cold"]);
  });

  it("puts active tokens on the hot lane, monitoring on the cold one, archived nowhere", () => {
    expect(laneOf("active")).toBe("hot");
    expect(laneOf("monitoring")).toBe("cold");
    expect(laneOf("archived")).toBeNull();
  });
});

describe("shouldArchive", () => {
  it("uses a 12 hour window", () => {
    expect(ARCHIVE_WINDOW_MS).toBe(12 * HOUR);
  });

  it("archives monitoring tokens registered more than 12 h ago", () => {
    expect(shouldArchive({ ...base, status: "monitoring", createdAt: NOW - 12 * HOUR - 1 })).toBe(true);
    expect(shouldArchive({ ...base, status: "monitoring", createdAt: NOW - 12 * HOUR })).toBe(false);
    expect(shouldArchive({ ...base, status: "monitoring", createdAt: NOW - HOUR })).toBe(false);
  });

  it("archives active tokens without a good score in the last 12 h", () => {
    const active = { ...base, status: "active" as const, activeSince: NOW - 40 * HOUR };
    expect(shouldArchive({ ...active, lastGoodScoreAt: NOW - 13 * HOUR })).toBe(true);
    expect(shouldArchive({ ...active, lastGoodScoreAt: NOW - 11 * HOUR })).toBe(false);
  });

  it("judges an active token that never scored well from when it became active, else from registration", () => {
    expect(shouldArchive({ ...base, status: "active", activeSince: NOW - 13 * HOUR })).toBe(true);
    expect(shouldArchive({ ...base, status: "active", activeSince: NOW - 2 * HOUR })).toBe(false);
    expect(shouldArchive({ ...base, status: "active", createdAt: NOW - 13 * HOUR })).toBe(true);
    expect(shouldArchive({ ...base, status: "active", createdAt: NOW - 2 * HOUR })).toBe(false);
  });

  it("gives a re-activated token a full window even if its last good score is old", () => {
    expect(
      shouldArchive({ ...base, status: "active", lastGoodScoreAt: NOW - 30 * HOUR, activeSince: NOW - HOUR }),
    ).toBe(false);
  });

  it("honours a custom window and never re-archives archived tokens", () => {
    expect(shouldArchive({ ...base, status: "monitoring", createdAt: NOW - 2 * HOUR, windowMs: HOUR })).toBe(
      true,
    );
    expect(shouldArchive({ ...base, status: "archived" })).toBe(false);
  });
});

describe("nextStatus", () => {
  const young = { ...base, createdAt: NOW - HOUR };

  it("activates a monitoring token, even an old one", () => {
    expect(nextStatus({ ...young, status: "monitoring", activated: true })).toBe("active");
    expect(nextStatus({ ...base, status: "monitoring", activated: true })).toBe("active");
  });

  it("keeps a young monitoring token and archives an old one that did not activate", () => {
    expect(nextStatus({ ...young, status: "monitoring", activated: false })).toBe("monitoring");
    expect(nextStatus({ ...base, status: "monitoring", activated: false })).toBe("archived");
  });

  it("drops an active token back to monitoring when the rule stops holding", () => {
    expect(nextStatus({ ...base, status: "active", activated: false, activeSince: NOW - HOUR })).toBe(
      "monitoring",
    );
  });

  it("keeps an active token that scores, archives one that has not for 12 h", () => {
    const active = { ...base, status: "active" as const, activated: true, activeSince: NOW - 20 * HOUR };
    expect(nextStatus({ ...active, lastGoodScoreAt: NOW - HOUR })).toBe("active");
    expect(nextStatus({ ...active, lastGoodScoreAt: NOW - 13 * HOUR })).toBe("archived");
  });

  it("never revives an archived token", () => {
    expect(nextStatus({ ...young, status: "archived", activated: true, lastGoodScoreAt: NOW })).toBe(
      "archived",
    );
  });

  it("judges monitoring and active tokens by their own windows", () => {
    const monitoring = {
      ...base,
      status: "monitoring" as const,
      activated: false,
      createdAt: NOW - 2 * HOUR,
    };
    expect(nextStatus({ ...monitoring, monitoringWindowMs: HOUR, activeWindowMs: 10 * HOUR })).toBe(
      "archived",
    );
    expect(nextStatus({ ...monitoring, monitoringWindowMs: 3 * HOUR, activeWindowMs: HOUR / 2 })).toBe(
      "monitoring",
    );
    const active = { ...base, status: "active" as const, activated: true, activeSince: NOW - 5 * HOUR };
    const quiet = { ...active, lastGoodScoreAt: NOW - 2 * HOUR };
    expect(nextStatus({ ...quiet, activeWindowMs: HOUR, monitoringWindowMs: 10 * HOUR })).toBe("archived");
    expect(nextStatus({ ...quiet, activeWindowMs: 3 * HOUR, monitoringWindowMs: HOUR / 2 })).toBe("active");
  });
});
