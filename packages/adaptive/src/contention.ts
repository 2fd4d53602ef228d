// Whose CPU is it? The host's CPU reading alone cannot tell a fleet that keeps the cores busy
// doing its own work (cutting it only lowers throughput: measured, holding every worker at the
// under-load cap cost unbounded 35 % of its tokens/s and 4 workers 42 %) from a co-tenant that
// needs the CPU the fleet holds. So the fleet's own share is taken out (the workers' process CPU
// from their heartbeats, on the same kernel, and a Redis on this host), and a cut for CPU is an
// experiment that must pay:
//
//   none      the host's CPU does not raise the load level at all: a saturated host harms nobody
//             the fleet could help by cutting unless this experiment says so (measured: a level that
//             answered to the others' share held a budgeted fleet at 2 cold slots through a latency
//             surge while another job kept the host 60-70 % busy). A probe starts when the host is saturated (>= highCpu), the others hold a real share
//             (>= OTHERS_MIN_PERCENT), the fleet has something to give (>= FLEET_MIN_PERCENT) and
//             no failed probe is cooling down; or, as soon as a co-tenant arrives, when the
//             others' share has risen OTHERS_RISE_PERCENT above its own long-run level (the
//             baseline, learned outside experiments) to at least OTHERS_RELEASE_PERCENT.
//   probing   the level answers to the host's CPU (high: the hot lane goes to the under-load cap)
//             and the elastic lane halves every YIELD_STEP_TICKS. After PROBE_TICKS it is judged:
//             the fleet's CPU fell and the others took at least half of what it gave up -> the
//             co-tenant was starving: yielding. The others did not take it (the host went idle)
//             -> the cut only lost throughput: undo (each lane back to its limit before the probe)
//             and wait a backoff (doubling) before the next probe. The fleet's CPU did not fall
//             yet -> go on probing, up to MAX_PROBE_TICKS, then undo.
//   yielding  as probing, the elastic lane halving while the host stays saturated; released when
//             the others' share falls below OTHERS_RELEASE_PERCENT (the co-tenant left).
//
// Figures are percentages of the host's CPUs, smoothed by the caller.

import type { ContentionPhase } from "@moonfleet/domain";

export interface HostCpu {
  /** The host's CPU use (0-100 of all its CPUs). */
  readonly hostPercent: number;
  /** moonfleet's own processes on this host (0-100 of the host's CPUs). */
  readonly fleetPercent: number;
}

export interface ContentionState {
  readonly phase: ContentionPhase;
  /** Ticks spent in the current phase. */
  readonly ticks: number;
  /** The reading at the start of the probe (null outside a probe). */
  readonly start: HostCpu | null;
  /** Ticks left before another probe may start. */
  readonly quietTicks: number;
  /** The next backoff after a probe that did not pay. */
  readonly backoffTicks: number;
  /** The others' long-run share outside experiments (null before the first reading). */
  readonly baseline: number | null;
  /** Readings the baseline has learned from (its first BASELINE_TICKS are a plain mean). */
  readonly baselineReadings: number;
}

/**
 * What one tick decided: `probe` (a probe starts), `probing`, `confirmed` (the probe paid),
 * `yield` (yielding goes on), `undo` (the probe did not pay: restore the limits), `released`
 * (the co-tenant left), `none`.
 */
export type ContentionVerdict = "none" | "probe" | "probing" | "confirmed" | "yield" | "undo" | "released";

export interface ContentionDecision {
  readonly state: ContentionState;
  readonly verdict: ContentionVerdict;
  /** The others' share of the host (host - fleet, not below 0). */
  readonly othersPercent: number;
  /** The CPU figure the load level answers to this tick. */
  readonly levelCpuPercent: number;
  /** The elastic lane halves this tick. */
  readonly yieldStep: boolean;
}

/**
 * The others' share of the host from which a probe may start: a co-tenant as big as the fleet.
 * Below it, in this machine's benchmarks, were the simulator, the producer and a neighbour keeping
 * one core half busy (about 45 %); above it, busy loops that want every core (60-80 %).
 */
export const OTHERS_MIN_PERCENT = 50;
export const OTHERS_RELEASE_PERCENT = 35;
/**
 * A rise of the others' share above its baseline that starts a probe below OTHERS_MIN_PERCENT: a
 * co-tenant arriving. With the bench's redis-server at nice -10 (REDIS_SERVER_NICE), two busy
 * loops beside a saturated fleet held only 45-47 % (the simulator's ~20 % among it) for their first
 * 13 s, so the probe waited for 50 % until then; the others' share had risen from ~20 to 38 % within
 * 3 s. Steady neighbours are their own baseline: one core kept half busy read 29-33 % (nice -10)
 * and 37-53 % around a ~44 % mean (nice 0), neither 15 points above it.
 */
export const OTHERS_RISE_PERCENT = 15;
/** Readings the baseline's EWMA spans (a plain mean over the first ones). */
export const BASELINE_TICKS = 32;
export const FLEET_MIN_PERCENT = 10;
/** The fleet's CPU must fall by this much (host %) for a probe to be judged. */
export const MIN_DROP_PERCENT = 5;
/** Share of the CPU the fleet gave up that the others must take for a probe to pay. */
export const TAKEN_SHARE = 0.5;
export const PROBE_TICKS = 5;
export const MAX_PROBE_TICKS = 12;
export const YIELD_STEP_TICKS = 3;
export const BACKOFF_TICKS = 60;
export const MAX_BACKOFF_TICKS = 600;

/**
 * Ticks after start before the first probe: a fleet's first seconds (registering, the first claims
 * of every due token, JIT) make the others' share jump for reasons no cut would help (measured: both
 * workers of a starting unbounded fleet probed at once and were judged only 6-12 ticks later).
 */
export const START_QUIET_TICKS = 20;

export function initialContention(): ContentionState {
  return {
    phase: "none",
    ticks: 0,
    start: null,
    quietTicks: START_QUIET_TICKS,
    backoffTicks: BACKOFF_TICKS,
    baseline: null,
    baselineReadings: 0,
  };
}

/** The baseline after one more reading outside an experiment: a mean at first, then an EWMA. */
export function nextOthersBaseline(
  state: Pick<ContentionState, "baseline" | "baselineReadings">,
  others: number,
): Pick<ContentionState, "baseline" | "baselineReadings"> {
  const n = Math.min(BASELINE_TICKS, state.baselineReadings + 1);
  const baseline = state.baseline === null ? others : state.baseline + (others - state.baseline) / n;
  return { baseline, baselineReadings: n };
}

/** A co-tenant arrived: the others' share rose OTHERS_RISE_PERCENT above its baseline, to a real share. */
export const othersRose = (others: number, baseline: number | null): boolean =>
  baseline !== null && others >= OTHERS_RELEASE_PERCENT && others - baseline >= OTHERS_RISE_PERCENT;

export function nextContention(
  state: ContentionState,
  cpu: HostCpu,
  highCpuPercent: number,
): ContentionDecision {
  const host = finite(cpu.hostPercent);
  const fleet = Math.min(host, finite(cpu.fleetPercent));
  const others = Math.max(0, host - fleet);
  const quiet = Math.max(0, state.quietTicks - 1);
  const saturated = host >= highCpuPercent;

  const none = (s: Partial<ContentionState>, verdict: ContentionVerdict): ContentionDecision => ({
    state: { ...state, phase: "none", ticks: 0, start: null, quietTicks: quiet, ...s },
    verdict,
    othersPercent: others,
    levelCpuPercent: 0,
    yieldStep: false,
  });
  const cutting = (s: ContentionState, verdict: ContentionVerdict): ContentionDecision => ({
    state: s,
    verdict,
    othersPercent: others,
    levelCpuPercent: host,
    yieldStep: saturated && s.ticks % YIELD_STEP_TICKS === 0,
  });

  switch (state.phase) {
    case "none": {
      const wants = others >= OTHERS_MIN_PERCENT || othersRose(others, state.baseline);
      const probe = saturated && wants && fleet >= FLEET_MIN_PERCENT && quiet === 0;
      if (!probe) return none(nextOthersBaseline(state, others), "none");
      return cutting(
        {
          ...state,
          phase: "probing",
          ticks: 0,
          start: { hostPercent: host, fleetPercent: fleet },
          quietTicks: 0,
        },
        "probe",
      );
    }
    case "probing": {
      const ticks = state.ticks + 1;
      const start = state.start ?? { hostPercent: host, fleetPercent: fleet };
      if (ticks < PROBE_TICKS) return cutting({ ...state, ticks, start }, "probing");
      const gaveUp = start.fleetPercent - fleet;
      const taken = others - Math.max(0, start.hostPercent - start.fleetPercent);
      if (gaveUp >= MIN_DROP_PERCENT && taken >= TAKEN_SHARE * gaveUp) {
        return cutting(
          { ...state, phase: "yielding", ticks: 0, start: null, backoffTicks: BACKOFF_TICKS },
          "confirmed",
        );
      }
      if (gaveUp < MIN_DROP_PERCENT && ticks < MAX_PROBE_TICKS)
        return cutting({ ...state, ticks, start }, "probing");
      return none(
        {
          quietTicks: state.backoffTicks,
          backoffTicks: Math.min(MAX_BACKOFF_TICKS, state.backoffTicks * 2),
        },
        "undo",
      );
    }
    case "yielding": {
      if (others < OTHERS_RELEASE_PERCENT) return none({ backoffTicks: BACKOFF_TICKS }, "released");
      return cutting({ ...state, ticks: state.ticks + 1 }, "yield");
    }
  }
}

function finite(n: number): number {
  return Number.isFinite(n) ? Math.min(100, Math.max(0, n)) : 0;
}
