import { describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  BACKOFF_TICKS,
  FLEET_MIN_PERCENT,
  initialContention,
  BASELINE_TICKS,
  MAX_PROBE_TICKS,
  nextOthersBaseline,
  nextContention,
  OTHERS_MIN_PERCENT,
  OTHERS_RELEASE_PERCENT,
  OTHERS_RISE_PERCENT,
  PROBE_TICKS,
  START_QUIET_TICKS,
  type ContentionDecision,
  type ContentionState,
  type HostCpu,
} from "../src/contention.js";

const HIGH = 80;

/** A state past the start-up's quiet ticks. */
const started = (): ContentionState => ({ ...initialContention(), quietTicks: 0 });

/** Runs readings through the rule. */
function run(
  readings: readonly HostCpu[],
  state: ContentionState = started(),
): { decisions: ContentionDecision[]; state: ContentionState } {
  const decisions: ContentionDecision[] = [];
  for (const r of readings) {
    const d = nextContention(state, r, HIGH);
    decisions.push(d);
    state = d.state;
  }
  return { decisions, state };
}

const repeat = (n: number, r: HostCpu): HostCpu[] => Array.from({ length: n }, () => r);

describe("nextContention: whose CPU the host's is", () => {
  it("does not probe in its first ticks after start, whatever the readings", () => {
    const full = { hostPercent: 100, fleetPercent: 50 };
    const first = run(repeat(START_QUIET_TICKS - 1, full), initialContention());
    expect(first.decisions.every((d) => d.verdict === "none")).toBe(true);
    expect(run([full], first.state).decisions[0]!.verdict).toBe("probe");
  });

  it("never cuts for the fleet's own CPU: a saturated host the fleet itself keeps busy", () => {
    const { decisions } = run(repeat(300, { hostPercent: 100, fleetPercent: 80 }));
    expect(decisions.every((d) => d.verdict === "none" && !d.yieldStep)).toBe(true);
    // The level does not answer to the host's 100 %.
    expect(decisions.at(-1)!.levelCpuPercent).toBe(0);
  });

  it("does not probe when the fleet has nothing to give, whatever the others use", () => {
    const { decisions } = run(repeat(50, { hostPercent: 100, fleetPercent: FLEET_MIN_PERCENT - 1 }));
    expect(decisions.every((d) => d.verdict === "none")).toBe(true);
    // Nor does a host the others keep at 91 %: cutting a fleet that uses 9 % of it helps nobody.
    expect(decisions.at(-1)!.levelCpuPercent).toBe(0);
  });

  it("does not probe below the saturation threshold or below the others' minimum share", () => {
    expect(
      run(repeat(20, { hostPercent: HIGH - 1, fleetPercent: 40 })).decisions.every(
        (d) => d.verdict === "none",
      ),
    ).toBe(true);
    expect(
      run(repeat(20, { hostPercent: 100, fleetPercent: 100 - OTHERS_MIN_PERCENT + 1 })).decisions.every(
        (d) => d.verdict === "none",
      ),
    ).toBe(true);
  });

  it("probes when the others' share rises well above its own level, before it reaches OTHERS_MIN_PERCENT", () => {
    const calm = run(repeat(BASELINE_TICKS, { hostPercent: 100, fleetPercent: 80 }));
    expect(calm.decisions.every((d) => d.verdict === "none")).toBe(true);
    expect(calm.state.baseline).toBeCloseTo(20);
    // Co-tenants arrive: 38 % is under OTHERS_MIN_PERCENT but 18 points above the 20 % it was.
    const arrived = 20 + OTHERS_RISE_PERCENT + 3;
    expect(arrived).toBeLessThan(OTHERS_MIN_PERCENT);
    const d = run([{ hostPercent: 100, fleetPercent: 100 - arrived }], calm.state).decisions[0]!;
    expect(d.verdict).toBe("probe");
    // A rise one point short of OTHERS_RISE_PERCENT does not.
    const short = 20 + OTHERS_RISE_PERCENT - 1;
    expect(run([{ hostPercent: 100, fleetPercent: 100 - short }], calm.state).decisions[0]!.verdict).toBe(
      "none",
    );
  });

  it("does not probe for a rise that stays under OTHERS_RELEASE_PERCENT, nor for a steady share under the minimum", () => {
    const low = run(repeat(BASELINE_TICKS, { hostPercent: 100, fleetPercent: 95 }));
    const rise = OTHERS_RELEASE_PERCENT - 1;
    expect(rise - 5).toBeGreaterThanOrEqual(OTHERS_RISE_PERCENT);
    expect(
      run(repeat(5, { hostPercent: 100, fleetPercent: 100 - rise }), low.state).decisions.map(
        (d) => d.verdict,
      ),
    ).toEqual(repeat(5, { hostPercent: 0, fleetPercent: 0 }).map(() => "none"));
    // A neighbour at 45 % from the start is its own baseline: never a probe, however long.
    const steady = run(repeat(300, { hostPercent: 100, fleetPercent: 55 }), initialContention());
    expect(steady.decisions.every((d) => d.verdict === "none")).toBe(true);
  });

  it("learns its baseline as a mean at first, then an EWMA, and holds it through an experiment", () => {
    let b = { baseline: null as number | null, baselineReadings: 0 };
    for (const x of [10, 20, 30]) b = nextOthersBaseline(b, x);
    expect(b.baseline).toBeCloseTo(20);
    for (let i = 0; i < 200; i++) b = nextOthersBaseline(b, 50);
    expect(b.baselineReadings).toBe(BASELINE_TICKS);
    expect(b.baseline).toBeCloseTo(50, 1);
    expect(nextOthersBaseline(b, 80).baseline).toBeCloseTo(50 + 30 / BASELINE_TICKS, 1);
    // Probing and yielding leave it where it was before the co-tenant came.
    const calm = run(repeat(BASELINE_TICKS, { hostPercent: 100, fleetPercent: 80 }));
    const during = run(
      [
        { hostPercent: 100, fleetPercent: 40 },
        ...repeat(PROBE_TICKS + 5, { hostPercent: 100, fleetPercent: 20 }),
      ],
      calm.state,
    );
    expect(during.decisions.at(-1)!.verdict).toBe("yield");
    expect(during.state.baseline).toBe(calm.state.baseline);
  });

  it("confirms a co-tenant that takes the CPU the fleet gives up, and yields until it leaves", () => {
    // Probe from 50/50; the fleet falls to 20 and the host stays full: the others took it all.
    const probe = [
      { hostPercent: 100, fleetPercent: 50 },
      ...repeat(PROBE_TICKS, { hostPercent: 100, fleetPercent: 20 }),
    ];
    const { decisions, state } = run(probe);
    expect(decisions[0]!.verdict).toBe("probe");
    expect(decisions[0]!.yieldStep).toBe(true);
    expect(decisions[0]!.levelCpuPercent).toBe(100);
    expect(decisions.at(-1)!.verdict).toBe("confirmed");
    expect(state.phase).toBe("yielding");
    // Yielding halves the elastic lane every few ticks while the host stays saturated...
    const yielding = run(repeat(9, { hostPercent: 100, fleetPercent: 20 }), state);
    expect(yielding.decisions.filter((d) => d.yieldStep).length).toBe(3);
    // ...holds once the host has room...
    const room = run(repeat(3, { hostPercent: 70, fleetPercent: 20 }), yielding.state);
    expect(room.decisions.every((d) => d.verdict === "yield" && !d.yieldStep)).toBe(true);
    // ...and lets go when the co-tenant leaves.
    const left = run([{ hostPercent: 40, fleetPercent: 30 }], room.state);
    expect(left.decisions[0]!.verdict).toBe("released");
    expect(left.state.phase).toBe("none");
  });

  it("undoes a probe the others did not take (the host went idle), and backs off, doubling", () => {
    const notTaken = [
      { hostPercent: 100, fleetPercent: 45 },
      ...repeat(PROBE_TICKS, { hostPercent: 70, fleetPercent: 25 }),
    ];
    const first = run(notTaken);
    expect(first.decisions.at(-1)!.verdict).toBe("undo");
    expect(first.state.phase).toBe("none");
    expect(first.state.quietTicks).toBe(BACKOFF_TICKS);
    // No new probe until the backoff has passed, then one, whose failure doubles the wait.
    const waiting = run(repeat(BACKOFF_TICKS - 1, { hostPercent: 100, fleetPercent: 45 }), first.state);
    expect(waiting.decisions.every((d) => d.verdict === "none")).toBe(true);
    const second = run(notTaken, waiting.state);
    expect(second.decisions[0]!.verdict).toBe("probe");
    expect(second.decisions.at(-1)!.verdict).toBe("undo");
    expect(second.state.quietTicks).toBe(2 * BACKOFF_TICKS);
  });

  it("goes on probing while the cut has not bitten, then gives up", () => {
    const { decisions, state } = run([
      { hostPercent: 100, fleetPercent: 50 },
      ...repeat(MAX_PROBE_TICKS, { hostPercent: 100, fleetPercent: 49 }),
    ]);
    expect(decisions.slice(1, MAX_PROBE_TICKS).every((d) => d.verdict === "probing")).toBe(true);
    expect(decisions.at(-1)!.verdict).toBe("undo");
    expect(state.phase).toBe("none");
  });

  it("property: outside an experiment the host's CPU never raises the level, and figures stay in range", () => {
    const reading = fc.record({
      hostPercent: fc.oneof(fc.double({ min: -10, max: 150, noNaN: true }), fc.constant(Number.NaN)),
      fleetPercent: fc.oneof(fc.double({ min: -10, max: 150, noNaN: true }), fc.constant(Number.NaN)),
    });
    fc.assert(
      fc.property(fc.array(reading, { maxLength: 200 }), (readings) => {
        let state = initialContention();
        for (const r of readings) {
          const d = nextContention(state, r, HIGH);
          expect(d.othersPercent).toBeGreaterThanOrEqual(0);
          expect(d.othersPercent).toBeLessThanOrEqual(100);
          expect(d.levelCpuPercent).toBeGreaterThanOrEqual(0);
          expect(d.levelCpuPercent).toBeLessThanOrEqual(100);
          if (d.state.phase === "none") expect(d.levelCpuPercent).toBe(0);
          if (d.yieldStep) expect(d.state.phase).not.toBe("none");
          state = d.state;
        }
      }),
    );
  });
});
