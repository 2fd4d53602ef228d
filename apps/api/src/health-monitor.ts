import { EVENT_LOOP_HIGH_MS } from "@moonfleet/adaptive";
import { perLane } from "@moonfleet/domain";
import { readFleet, readProducer, type Fleet, type FleetDeps } from "./fleet-status.js";
import { assessHealth, settleHealth, type HealthReading, type SettledHealth } from "./health-model.js";

/** How often the api reads the fleet for the health model (each reading is ~20 O(log N) Redis reads). */
export const HEALTH_READING_INTERVAL_MS = 1_000;

/** The health model's reading of the fleet's figures. */
export function healthReading(f: Fleet, producerLeading: boolean): HealthReading {
  return {
    workers: f.workers.map((w) => ({ id: w.id, level: w.level, readings: w.readings })),
    producerLeading,
    breakerOpen: f.upstream.breaker.open,
    budgetPausedMs: f.upstream.budget.pausedForMs,
    floorCovered: f.classes.floorCovered,
    lanes: perLane((l) => ({
      stalenessP95: f.lanes[l].staleness.p95,
      ttlSeconds: f.lanes[l].staleness.ttlSeconds,
      failedJobsLastHour: f.lanes[l].failedJobsLastHour,
      timeoutRate: f.lanes[l].timeoutRate,
    })),
  };
}

/**
 * The thin shell around the health model: reads the fleet every second once someone asks, and
 * keeps the settled answer that every route shows. Started lazily, so an app that never serves a
 * health route never polls.
 */
export class HealthMonitor {
  private settled: SettledHealth | null = null;
  private first: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private reading = false;
  private closed = false;

  constructor(
    private readonly deps: FleetDeps,
    private readonly intervalMs = HEALTH_READING_INTERVAL_MS,
  ) {}

  /** The shown health; the first call waits for the first reading (it throws when Redis does not answer). */
  async current(): Promise<SettledHealth> {
    if (!this.first) {
      this.first = this.read();
      this.timer = setInterval(() => void this.read().catch(() => undefined), this.intervalMs);
      this.timer.unref();
    }
    if (!this.settled) {
      await this.first.catch(() => undefined);
      if (!this.settled) await this.read();
      if (!this.settled) throw new Error("the health model has no reading of the fleet yet");
    }
    return this.settled;
  }

  private async read(): Promise<void> {
    if (this.reading || this.closed) return;
    this.reading = true;
    try {
      const c = this.deps.config();
      const [fleet, producer] = await Promise.all([
        readFleet(this.deps),
        readProducer(this.deps.redis, c.redisKeyPrefix),
      ]);
      const a = assessHealth(healthReading(fleet, producer.leading), {
        eventLoopLagMs: EVENT_LOOP_HIGH_MS,
        highMemoryPercent: c.highMemoryThreshold,
      });
      this.settled = settleHealth(this.settled, a, fleet.now);
    } finally {
      this.reading = false;
    }
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
  }
}
