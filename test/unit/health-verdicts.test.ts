import { describe, expect, it } from "vitest";
import { STALENESS_FAIL_TTLS, healthVerdicts } from "../../apps/api/src/health-routes.js";
import type { Fleet } from "../../apps/api/src/fleet-status.js";
import { LogThrottle } from "@moonfleet/telemetry";

// Issue 20 item 12: hot p95 staleness at 3.7x its TTL left /health at "warn". Beyond
// STALENESS_FAIL_TTLS times the TTL it fails; a missing producer fails it too.

const fleet = (hotP95: number | null, ttl = 15): Fleet =>
  ({
    workers: [{ id: "w1" }],
    upstream: { breaker: { open: 0 } },
    lanes: {
      hot: { failedJobsLastHour: 0, staleness: { p95: hotP95, ttlSeconds: ttl } },
      cold: { failedJobsLastHour: 0, staleness: { p95: null, ttlSeconds: 30 } },
    },
  }) as unknown as Fleet;

describe("healthVerdicts", () => {
  it("fails hot staleness beyond a multiple of the TTL, warns between one TTL and that", () => {
    expect(STALENESS_FAIL_TTLS).toBe(3);
    expect(healthVerdicts(fleet(3.7 * 15), true).freshness).toBe("fail");
    expect(healthVerdicts(fleet(2 * 15), true).freshness).toBe("warn");
    expect(healthVerdicts(fleet(15), true).freshness).toBe("pass");
    expect(healthVerdicts(fleet(null), true).freshness).toBe("pass");
  });

  it("fails the producer check when no producer leads", () => {
    expect(healthVerdicts(fleet(1), false).producer).toBe("fail");
    expect(healthVerdicts(fleet(1), true).producer).toBe("pass");
  });
});

describe("LogThrottle", () => {
  it("lets one line per key through per interval and counts the rest", () => {
    let t = 0;
    const th = new LogThrottle<string>(10_000, () => t);
    expect(th.admit("oom", "a")).toBe(0);
    for (let i = 0; i < 1_666; i++) expect(th.admit("oom", `b${i}`)).toBeNull();
    expect(th.admit("other", "c")).toBe(0);
    t = 9_999;
    expect(th.drain()).toEqual([]);
    t = 10_000;
    expect(th.drain()).toEqual([{ key: "oom", held: 1_666, last: "b1665" }]);
    expect(th.admit("oom", "d")).toBe(0);
    t = 20_000;
    th.admit("oom", "e");
    expect(th.admit("oom", "f")).toBeNull();
    t = 30_000;
    expect(th.admit("oom", "g")).toBe(1);
  });
});
