import { describe, expect, it } from "vitest";
import fc from "fast-check";
import type { LoadLevel, Readings } from "@moonfleet/domain";
import {
  assessHealth,
  checkStatuses,
  CLEAR_AFTER_READINGS,
  RAISE_AFTER_READINGS,
  settleHealth,
  STALENESS_CRITICAL_TTLS,
  type HealthReading,
  type SettledHealth,
} from "../../apps/api/src/health-model.js";
import readings from "../fixtures/health-readings.json" with { type: "json" };

// Issue 17: one health model for /health, /health/scheduler, the pill and /metrics; a host busy
// with others' work is information while every lane is fresh; no flapping.

const limits = { eventLoopLagMs: 250, highMemoryPercent: 85 };

type Worker = { id: string; level: LoadLevel; readings: Partial<Readings> };
const calmWorker: Worker = {
  id: "w1",
  level: "normal",
  readings: { cpuPercent: 35, memoryPercent: 40, processCpuPercent: 30, eventLoopDelayP99Ms: 12 },
};

function reading(over: Partial<HealthReading> & { hotP95?: number | null; coldP95?: number | null } = {}) {
  const { hotP95 = 4, coldP95 = 20, ...rest } = over;
  return {
    workers: [calmWorker],
    producerLeading: true,
    breakerOpen: 0,
    budgetPausedMs: 0,
    lanes: {
      hot: { stalenessP95: hotP95, ttlSeconds: 15, failedJobsLastHour: 0, timeoutRate: 0 },
      cold: { stalenessP95: coldP95, ttlSeconds: 60, failedJobsLastHour: 0, timeoutRate: 0 },
    },
    ...rest,
  } satisfies HealthReading;
}

/** Replays readings through the model and returns the shown status after each. */
function replay(rs: readonly HealthReading[]): SettledHealth[] {
  let s: SettledHealth | null = null;
  return rs.map((r, i) => (s = settleHealth(s, assessHealth(r, limits), i * 1_000)));
}

describe("assessHealth on recorded readings", () => {
  it("a host whose CPU others use, with fresh lanes, is ok with a note, not degraded", () => {
    for (const r of readings.busyHostFreshLanes as HealthReading[]) {
      const a = assessHealth(r, limits);
      expect(a.status, JSON.stringify(a.reasons)).toBe("ok");
      expect(a.notes.join(" ")).toMatch(/host CPU at \d+%/);
    }
  });

  it("the same load with a stale lane is degraded, and says why", () => {
    for (const r of readings.busyHostStaleHot as HealthReading[]) {
      const a = assessHealth(r, limits);
      expect(a.status).toBe("degraded");
      expect(a.reasons.map((x) => x.code)).toEqual(expect.arrayContaining(["hot_stale", "high_load_stale"]));
    }
  });

  it("a worker's own event loop lagging, or memory pressure, degrades whatever its level", () => {
    const lag = assessHealth(
      reading({
        workers: [{ ...calmWorker, readings: { ...calmWorker.readings, eventLoopDelayP99Ms: 400 } }],
      }),
      limits,
    );
    expect(lag.status).toBe("degraded");
    expect(lag.reasons[0]).toMatchObject({ code: "event_loop_lag", check: "workers:load" });
    const mem = assessHealth(
      reading({ workers: [{ ...calmWorker, readings: { ...calmWorker.readings, memoryPercent: 93 } }] }),
      limits,
    );
    expect(mem.reasons.map((x) => x.code)).toEqual(["memory_pressure"]);
  });

  it("hot staleness: over its TTL degraded, over STALENESS_CRITICAL_TTLS times critical; cold never critical", () => {
    expect(STALENESS_CRITICAL_TTLS).toBe(3);
    expect(assessHealth(reading({ hotP95: 3.7 * 15 }), limits).status).toBe("critical");
    expect(assessHealth(reading({ hotP95: 2 * 15 }), limits).status).toBe("degraded");
    expect(assessHealth(reading({ hotP95: 15 }), limits).status).toBe("ok");
    expect(assessHealth(reading({ hotP95: null }), limits).status).toBe("ok");
    expect(assessHealth(reading({ coldP95: 10 * 60 }), limits).status).toBe("degraded");
  });

  it("no worker, no producer or every breaker open is critical; some breakers open, a 429 pause, failures or timeouts degrade", () => {
    expect(assessHealth(reading({ workers: [] }), limits).reasons[0]?.code).toBe("no_workers");
    expect(assessHealth(reading({ producerLeading: false }), limits).status).toBe("critical");
    expect(assessHealth(reading({ breakerOpen: 1 }), limits).status).toBe("critical");
    const two = [calmWorker, { ...calmWorker, id: "w2" }];
    expect(assessHealth(reading({ workers: two, breakerOpen: 1 }), limits).status).toBe("degraded");
    expect(assessHealth(reading({ budgetPausedMs: 30_000 }), limits).reasons[0]?.check).toBe(
      "upstream:rateLimit",
    );
    const lanes = reading().lanes;
    const failing = reading({ lanes: { ...lanes, cold: { ...lanes.cold, failedJobsLastHour: 2 } } });
    expect(assessHealth(failing, limits).reasons[0]?.code).toBe("cold_failed_jobs");
    const slow = reading({ lanes: { ...lanes, hot: { ...lanes.hot, timeoutRate: 0.3 } } });
    expect(assessHealth(slow, limits).reasons[0]?.check).toBe("upstream:timeouts");
  });

  it("a budget that does not cover the staleness floor degrades, and says what to do", () => {
    const a = assessHealth(reading({ floorCovered: false }), limits);
    expect(a.status).toBe("degraded");
    expect(a.reasons[0]).toMatchObject({ code: "floor_not_covered", check: "scheduler:floor" });
    expect(a.reasons[0]?.message).toMatch(/UPSTREAM_RPM/);
    expect(assessHealth(reading({ floorCovered: true }), limits).status).toBe("ok");
  });

  it("critical reasons come first, and each /health check takes the worst severity of its reasons", () => {
    const a = assessHealth(reading({ producerLeading: false, budgetPausedMs: 5_000, hotP95: 20 }), limits);
    expect(a.reasons[0]?.severity).toBe("critical");
    const checks = checkStatuses(a);
    expect(checks["producer:heartbeat"]).toBe("fail");
    expect(checks["upstream:rateLimit"]).toBe("warn");
    expect(checks["tokens:hotStalenessP95"]).toBe("warn");
    expect(checks["workers:count"]).toBe("pass");
  });
});

describe("settleHealth", () => {
  it("does not flap on readings that alternate between ok and degraded", () => {
    const shown = replay(readings.alternating as HealthReading[]).map((s) => s.status);
    expect(new Set(shown)).toEqual(new Set(["ok"]));
  });

  it(`shows a worse status after ${RAISE_AFTER_READINGS} readings and a better one after ${CLEAR_AFTER_READINGS}`, () => {
    const stale = reading({ hotP95: 30 });
    const fresh = reading();
    const shown = replay([fresh, stale, stale, stale, fresh, fresh, fresh, fresh]).map((s) => s.status);
    expect(shown).toEqual(["ok", "ok", "degraded", "degraded", "degraded", "degraded", "ok", "ok"]);
  });

  it("keeps the shown status's reasons while a change is pending, and says what is pending", () => {
    const [, pending] = replay([reading({ hotP95: 30 }), reading()]);
    expect(pending?.status).toBe("degraded");
    expect(pending?.reasons.map((r) => r.code)).toEqual(["hot_stale"]);
    expect(pending?.pending).toEqual({ status: "ok", readings: 1 });
  });

  it("property: the shown status only changes after the new status held for its streak", () => {
    const arb = fc.array(fc.constantFrom(reading(), reading({ hotP95: 30 }), reading({ workers: [] })), {
      minLength: 1,
      maxLength: 60,
    });
    fc.assert(
      fc.property(arb, (rs) => {
        const assessed = rs.map((r) => assessHealth(r, limits).status);
        const shown = replay(rs).map((s) => s.status);
        for (let i = 1; i < shown.length; i++) {
          if (shown[i] === shown[i - 1]) continue;
          const rank = { ok: 0, degraded: 1, critical: 2 };
          const need = rank[shown[i]!] > rank[shown[i - 1]!] ? RAISE_AFTER_READINGS : CLEAR_AFTER_READINGS;
          const streak = assessed.slice(i + 1 - need, i + 1);
          expect(streak).toHaveLength(need);
          expect(streak.every((s) => s === shown[i])).toBe(true);
        }
      }),
    );
  });
});
