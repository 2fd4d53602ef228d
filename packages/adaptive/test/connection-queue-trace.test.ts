import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { initialConcurrency, nextConcurrency } from "../src/concurrency.js";
import type { ConcurrencyBounds, ConcurrencyState } from "../src/types.js";

// Recorded `unbounded` cells (see the trace's description): at each number of slots a worker
// held, the fleet's tokens/s and each worker's per-second reading of its connection pool. The
// replay closes the loop: each tick a worker's two lanes read the pool as the cell nearest the
// slots they hold now recorded it, with work always waiting and every slot busy.
interface Cell {
  readonly slotsPerWorker: number;
  readonly tokensPerS: number;
  readonly queue: readonly number[];
}
const trace = JSON.parse(
  readFileSync(new URL("./traces/connection-queue.json", import.meta.url), "utf8"),
) as { readonly cells: readonly Cell[] };

// The medium profile's bounds.
const hotBounds: ConcurrencyBounds = { max: 8, underLoad: 4 };
const coldBounds: ConcurrencyBounds = { max: 12, underLoad: 4 };

/** The recorded cell nearest `slots` (the lower one on a tie). */
function nearest(slots: number): Cell {
  let best = trace.cells[0]!;
  for (const c of trace.cells)
    if (Math.abs(c.slotsPerWorker - slots) < Math.abs(best.slotsPerWorker - slots)) best = c;
  return best;
}

/** Slots the worker held per tick, replayed with the pool's readings (or without them: `blind`). */
function replay(ticks: number, blind = false): number[] {
  let hot: ConcurrencyState = initialConcurrency(hotBounds).state;
  let cold: ConcurrencyState = initialConcurrency(coldBounds).state;
  const held: number[] = [];
  for (let i = 0; i < ticks; i++) {
    const cell = nearest(hot.limit + cold.limit);
    const reading = cell.queue[i % cell.queue.length]!;
    const step = (s: ConcurrencyState, b: ConcurrencyBounds) =>
      nextConcurrency(
        s,
        {
          level: "normal",
          parallel: true,
          queue: { waiting: 500, active: s.limit },
          upstream: {
            calls: 300,
            timeouts: 0,
            errors: 0,
            rateLimited: 0,
            latencyP50Ms: 120,
            latencyP95Ms: 250,
            baselineLatencyMs: 120,
            connectionQueue: blind ? null : reading,
          },
        },
        b,
      ).state;
    hot = step(hot, hotBounds);
    cold = step(cold, coldBounds);
    held.push(hot.limit + cold.limit);
  }
  return held;
}

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe("the connection rules on a recorded unbounded trace", () => {
  it("the trace shows the knee: past it the pool's queue more than doubles, tokens/s does not rise 5 %", () => {
    const bySlots = [...trace.cells].sort((a, b) => a.slotsPerWorker - b.slotsPerWorker);
    const queues = bySlots.map((c) => mean(c.queue));
    for (let i = 1; i < queues.length; i++) expect(queues[i]).toBeGreaterThan(queues[i - 1]!);
    const [knee, past] = bySlots.slice(-2) as [Cell, Cell];
    expect(mean(past.queue)).toBeGreaterThan(2 * mean(knee.queue));
    expect(past.tokensPerS).toBeLessThan(1.05 * knee.tokensPerS);
  });

  it("settles where the pool is full, fewer slots than max, at the best recorded tokens/s", () => {
    const held = replay(300);
    const settled = held.slice(100);
    const max = hotBounds.max + coldBounds.max;
    expect(Math.max(...settled)).toBeLessThan(max);
    expect(Math.min(...settled)).toBeGreaterThanOrEqual(hotBounds.underLoad + coldBounds.underLoad);
    // What the slots held would have scored, per the recorded cells: within 5 % of the best cell.
    const best = Math.max(...trace.cells.map((c) => c.tokensPerS));
    expect(mean(settled.map((s) => nearest(s).tokensPerS))).toBeGreaterThanOrEqual(0.95 * best);
    // Without the pool's reading the controller grows to max, where the recorded queue is deepest.
    expect(replay(300, true).slice(100)).toEqual(Array<number>(200).fill(max));
  });
});
