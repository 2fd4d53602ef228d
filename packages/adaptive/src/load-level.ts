// Load levels with hysteresis. Each level is entered at one threshold and left only at a lower one,
// so a reading that wobbles around a single threshold changes the level at most once instead of
// flapping the concurrency limit up and down every tick.
//
//            enter at                          leave at (all must hold)
//   high     cpu >= highCpu | mem >= highMemory | loop p99 >= 250 ms
//                                              -> reduced when cpu < mediumCpu & mem < mediumMemory & p99 < 100
//   reduced  cpu >= mediumCpu | mem >= mediumMemory | loop p99 >= 100 ms
//                                              -> normal when cpu < lowCpu & mem < lowMemory & p99 < 50
//
// The event-loop delay counts as load because a process whose loop stalls times out its own calls
// even when the host's CPU looks idle (one hot core, GC pauses).
import type { LoadLevel, Readings } from "@moonfleet/domain";
import type { Thresholds } from "./types.js";

/** Event-loop delay p99 (ms) at which the process counts as under high load. */
export const EVENT_LOOP_HIGH_MS = 250;
/** Event-loop delay p99 (ms) at which the process counts as under reduced load (and below which it leaves high). */
export const EVENT_LOOP_MEDIUM_MS = 100;
/** Event-loop delay p99 (ms) below which the process may return to normal. */
export const EVENT_LOOP_LOW_MS = 50;

export type LevelReadings = Pick<Readings, "cpuPercent" | "memoryPercent" | "eventLoopDelayP99Ms">;

export function nextLoadLevel(previous: LoadLevel, r: LevelReadings, t: Thresholds): LoadLevel {
  const high =
    r.cpuPercent >= t.highCpu ||
    r.memoryPercent >= t.highMemory ||
    r.eventLoopDelayP99Ms >= EVENT_LOOP_HIGH_MS;
  if (high) return "high";

  const belowMedium =
    r.cpuPercent < t.mediumCpu &&
    r.memoryPercent < t.mediumMemory &&
    r.eventLoopDelayP99Ms < EVENT_LOOP_MEDIUM_MS;
  const belowLow =
    r.cpuPercent < t.lowCpu && r.memoryPercent < t.lowMemory && r.eventLoopDelayP99Ms < EVENT_LOOP_LOW_MS;

  switch (previous) {
    case "high":
      // Step down one level at a time: high -> reduced -> normal, each at its own exit threshold.
      return belowMedium ? "reduced" : "high";
    case "reduced":
      return belowLow ? "normal" : "reduced";
    case "normal":
      return belowMedium ? "normal" : "reduced";
  }
}
