import { afterAll, describe, expect, it } from "vitest";
import { TokenStore, type Snapshot } from "@moonfleet/store";
import { createBatchProcessor } from "../../apps/worker/src/batch-processor.js";
import { demoMints } from "../../apps/simulator/src/index.js";
import { startSimulator, testConfig, testGateway, testRedis, uniquePrefix } from "../support/harness.js";

// ENABLE_SCHEDULER_OPTIMIZATION=false is the rollback path and the benchmark baseline: it must
// score the same tokens to the same values, only slower.
const redis = testRedis();
afterAll(() => redis.quit());

async function scoreOnce(env: Record<string, string>, url: string, mints: string[], at: number) {
  const prefix = uniquePrefix();
  const config = testConfig({ REDIS_KEY_PREFIX: prefix, ...env });
  const store = new TokenStore(redis, prefix);
  const upstream = testGateway(url, { now: () => at });
  await store.register(
    mints.map((mint) => ({ mint, createdAt: at - 3_600_000 })),
    at - 1_000,
  );
  const processBatch = createBatchProcessor({
    config: () => config,
    store,
    gateway: upstream.gateway,
    now: () => at,
  });
  const result = await processBatch({ lane: "cold", mints, claimedAt: at });
  await upstream.close();
  const loaded = await store.load(mints);
  const snapshots: Array<Snapshot | null> = loaded.map((x) => x?.snapshot ?? null);
  return { result, snapshots };
}

describe("the legacy path", () => {
  it("scores the same tokens to the same values as the optimized path, one call per token", async () => {
    const { sim, url } = await startSimulator({ frozenAt: Date.parse("2026-11-01T12:00:00Z") });
    const mints = demoMints(45, "legacy-equivalence");
    const at = Date.now();

    sim.resetStats();
    const optimized = await scoreOnce({}, url, mints, at);
    const optimizedCalls = sim.stats().byEndpoint.tokens;
    sim.resetStats();
    const legacy = await scoreOnce({ ENABLE_SCHEDULER_OPTIMIZATION: "false" }, url, mints, at);
    const legacyCalls = sim.stats().byEndpoint.tokens;
    await sim.close();

    expect(optimized.result.scored).toBe(45);
    expect(legacy.result.scored).toBe(45);
    expect(optimizedCalls).toBe(2); // 30 + 15 mints
    expect(legacyCalls).toBe(45); // one request per token
    expect(legacy.snapshots.every((s) => s !== null)).toBe(true);
    expect(legacy.snapshots).toEqual(optimized.snapshots);
    // Not a vacuous comparison: the set has both lanes and non-zero scores.
    const statuses = new Set(optimized.snapshots.map((s) => s!.status));
    expect(statuses).toEqual(new Set(["active", "monitoring"]));
    expect(optimized.snapshots.some((s) => s!.score > 0)).toBe(true);
  });
});
