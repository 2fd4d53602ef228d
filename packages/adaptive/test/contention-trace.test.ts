import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { initialContention, nextContention, type ContentionVerdict } from "../src/contention.js";

// Recorded traces (scripts/extract-contention-traces.mjs): each worker's split of the host's CPU as
// its controller saw it, every second of a `npm run bench` cell on this 2-core machine. Replayed
// through the rule, they must give the verdicts the live controllers reached.
interface Reading {
  readonly tS: number;
  readonly phase: string;
  readonly hostPercent: number;
  readonly fleetPercent: number;
  readonly contention: string;
}
interface Trace {
  readonly name: string;
  readonly scenario: string;
  readonly worker: string;
  readonly readings: readonly Reading[];
}
const { traces } = JSON.parse(readFileSync(new URL("./traces/contention.json", import.meta.url), "utf8")) as {
  traces: Trace[];
};
const HIGH_CPU = 80;

function replay(t: Trace): Array<{ r: Reading; verdict: ContentionVerdict; phase: string }> {
  let state = initialContention();
  return t.readings.map((r) => {
    const d = nextContention(state, r, HIGH_CPU);
    state = d.state;
    return { r, verdict: d.verdict, phase: d.state.phase };
  });
}
const named = (name: string) => traces.filter((t) => t.name === name);

describe("the co-tenant rule on recorded traces", () => {
  it("holds a trace of each kind", () => {
    for (const name of ["own-saturation", "scale-out-4", "cotenant", "background", "cotenant-arrival"])
      expect(named(name).length, name).toBeGreaterThan(0);
  });

  it("never probes while the fleet alone keeps the host busy (unbounded, 2 and 4 workers)", () => {
    for (const t of [...named("own-saturation"), ...named("scale-out-4")]) {
      const busy = t.readings.filter((r) => r.hostPercent >= HIGH_CPU).length;
      // The trace shows a saturated host: the old rule would have held every worker at its cap.
      expect(busy, `${t.name} ${t.worker}`).toBeGreaterThan(t.readings.length / 2);
      const verdicts = replay(t).map((x) => x.verdict);
      expect(
        verdicts.filter((v) => v !== "none"),
        `${t.name} ${t.worker}`,
      ).toEqual([]);
      expect(t.readings.every((r) => r.contention === "none")).toBe(true);
    }
  });

  it("confirms the co-tenants that take what the fleet gives up, and yields while they run", () => {
    for (const t of named("cotenant")) {
      const out = replay(t);
      const confirmed = out.filter((x) => x.verdict === "confirmed");
      expect(confirmed.length, t.worker).toBeGreaterThan(0);
      // Confirmed while the co-tenants ran (the middle third), as the live controller was.
      expect(
        confirmed.some((x) => x.r.phase === "during"),
        t.worker,
      ).toBe(true);
      expect(
        t.readings.some((r) => r.phase === "during" && r.contention === "yielding"),
        t.worker,
      ).toBe(true);
    }
  });

  it("undoes every probe beside a neighbour that is not starving (one core half busy)", () => {
    for (const t of named("background")) {
      const out = replay(t);
      expect(
        out.some((x) => x.verdict === "confirmed"),
        t.worker,
      ).toBe(false);
      expect(
        t.readings.some((r) => r.contention === "yielding"),
        t.worker,
      ).toBe(false);
    }
  });

  it("probes within 5 s of co-tenants arriving, where waiting for the others' 50 % took 13 s", () => {
    for (const t of named("cotenant-arrival")) {
      const during = t.readings.filter((r) => r.phase === "during");
      const arrivedS = during[0]!.tS;
      // The live controller (the others' share alone) was still not probing 10 s in.
      const liveFirst = during.find((r) => r.contention !== "none");
      expect(liveFirst === undefined || liveFirst.tS - arrivedS > 10, t.worker).toBe(true);
      const probe = replay(t).find((x) => x.verdict === "probe" && x.r.phase === "during");
      expect(probe, t.worker).toBeDefined();
      expect(probe!.r.tS - arrivedS, t.worker).toBeLessThanOrEqual(5);
      // ...and not before they came.
      expect(
        replay(t).some((x) => x.verdict === "probe" && x.r.phase !== "during"),
        t.worker,
      ).toBe(false);
    }
  });
});
