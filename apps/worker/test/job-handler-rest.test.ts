import { describe, expect, it } from "vitest";
import type { Job, Queue } from "bullmq";
import { lanePolicy, loadConfig } from "@moonfleet/config";
import type { BatchJob, BatchResult } from "@moonfleet/queues";
import type { BatchOutcome } from "../src/batch-processor.js";
import { createJobHandler } from "../src/job-handler.js";
import { LaneController } from "../src/lane-controller.js";
import { WorkerEvents } from "../src/worker-events.js";

// The job handler is the shell that applies a slot's duty: it rests after a job for the time the
// lane's controller says (restAfter), and a drain for shutdown ends the rest.
const JOB_MS = 100;
const config = loadConfig({ MAX_CONCURRENT_COLD: "4", MAX_CONCURRENT_UNDER_LOAD: "1" });

function setup(duty: "full" | "quarter", draining?: AbortSignal) {
  const policy = lanePolicy(config, "cold");
  const lane = (): LaneController => new LaneController(policy, 0);
  const lanes = { hot: lane(), cold: lane() };
  if (duty === "quarter")
    for (let i = 0; i < 3; i++)
      lanes.cold.tick("high", 5, policy, i, 1_000, 0, null, {
        verdict: "yield",
        yieldStep: true,
        elastic: true,
      });
  const started: number[] = [];
  const processBatch = (job: BatchJob): Promise<BatchOutcome> => {
    started.push(performance.now());
    const result = { scored: job.mints.length, skipped: 0, failed: 0, deferred: 0, durationMs: JOB_MS };
    return Promise.resolve({ ...result, notNow: null, delayMs: null });
  };
  const handler = createJobHandler({
    processBatch,
    lanes,
    queues: {} as Record<"hot" | "cold", Queue>,
    events: new WorkerEvents(),
    now: () => Date.now(),
    ...(draining ? { draining } : {}),
  })("cold");
  const run = (id: string): Promise<BatchResult> =>
    handler({ id, data: { lane: "cold", mints: ["m1", "m2"], claimedAt: Date.now() } } as unknown as Job<
      BatchJob,
      BatchResult
    >);
  return { lanes, started, run };
}

describe("job handler: a slot below full duty", () => {
  it("rests after its job, before it takes the next, for the job's time x (1/duty - 1)", async () => {
    const { lanes, started, run } = setup("quarter");
    expect(lanes.cold.duty).toBe(0.25);
    const t0 = performance.now();
    await run("1");
    // 100 ms at a quarter of the time: 300 ms of rest (a timer may fire a millisecond early)
    expect(performance.now() - t0).toBeGreaterThanOrEqual(3 * JOB_MS - 2);
    expect(started).toHaveLength(1);
    // counted busy while it rested, free once it returned
    expect(lanes.cold.state()).toMatchObject({ jobs: 1, active: 0 });
  });

  it("does not rest at full duty", async () => {
    const { lanes, run } = setup("full");
    expect(lanes.cold.duty).toBe(1);
    const t0 = performance.now();
    await run("1");
    await run("2");
    expect(performance.now() - t0).toBeLessThan(3 * JOB_MS - 2);
  });

  it("ends the rest when the process drains for shutdown", async () => {
    const drain = new AbortController();
    const { run } = setup("quarter", drain.signal);
    const t0 = performance.now();
    const first = run("1");
    // once the rest has begun
    setTimeout(() => drain.abort(), JOB_MS / 2);
    await first;
    expect(performance.now() - t0).toBeLessThan(3 * JOB_MS - 2);
  });
});
