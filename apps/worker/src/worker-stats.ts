import { LANES, type Lane } from "@moonfleet/domain";
import type { BatchResult } from "@moonfleet/queues";
import type { HedgeEvent } from "@moonfleet/upstream";

interface LaneTotals {
  jobs: number;
  tokens: number;
  failed: number;
  busyMs: number;
  maxJobMs: number;
  /** Hedged calls sent beside slow calls carrying an exported token, and how many answered first. */
  hedges: number;
  hedgesWon: number;
}

const empty = (): LaneTotals => ({
  jobs: 0,
  tokens: 0,
  failed: 0,
  busyMs: 0,
  maxJobMs: 0,
  hedges: 0,
  hedgesWon: 0,
});

/** Counts finished jobs between periodic summaries, so logs stay one line per lane per period. */
export class WorkerStats {
  private since = performance.now();
  private lanes: Record<Lane, LaneTotals> = { hot: empty(), cold: empty() };

  record(lane: Lane, r: BatchResult): void {
    const t = this.lanes[lane];
    t.jobs++;
    t.tokens += r.scored;
    t.failed += r.failed;
    t.busyMs += r.durationMs;
    t.maxJobMs = Math.max(t.maxJobMs, r.durationMs);
  }

  /** A hedge went out (sent) or answered before the call it backed up (won). */
  hedge(lane: Lane, event: HedgeEvent): void {
    if (event === "sent") this.lanes[lane].hedges++;
    else if (event === "won") this.lanes[lane].hedgesWon++;
  }

  /** The totals since the last call, with rates, and a fresh period. */
  take() {
    const seconds = Math.max(0.001, (performance.now() - this.since) / 1000);
    const out = Object.fromEntries(
      LANES.map((lane) => {
        const t = this.lanes[lane];
        return [
          lane,
          {
            ...t,
            tokensPerSecond: Math.round((t.tokens / seconds) * 10) / 10,
            avgJobMs: t.jobs ? Math.round(t.busyMs / t.jobs) : 0,
          },
        ];
      }),
    ) as Record<Lane, LaneTotals & { tokensPerSecond: number; avgJobMs: number }>;
    this.since = performance.now();
    this.lanes = { hot: empty(), cold: empty() };
    return { seconds: Math.round(seconds * 10) / 10, ...out };
  }
}
