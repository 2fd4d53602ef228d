import { afterAll, describe, expect, it } from "vitest";
import { redisKeys } from "@moonfleet/domain";
import { lanePolicy, loadConfig } from "@moonfleet/config";
import { exchangeFleetLatency, FLEET_LATENCY_HALF_LIFE_MS } from "@moonfleet/store";
import { LaneController } from "../../apps/worker/src/lane-controller.js";
import { shareTimeoutBursts } from "../../apps/worker/src/timeout-bursts.js";
import { testRedis, uniquePrefix } from "../support/harness.js";

// Issue 15: at production call rates (about 0.3 calls/s per lane for the whole fleet) one worker's
// own histogram never holds enough samples, so /health/scheduler showed upstreamLatencyP95Ms: null
// and every worker logged "timeout 1500 -> 3000 ms (no_data)". The fleet shares its samples in Redis.

const redis = testRedis("fleet-latency");
afterAll(() => redis.quit());
const policy = lanePolicy(loadConfig({}), "cold");

describe("the fleet's shared latency histogram", () => {
  it("merges the workers' samples and decays them by their half-life", async () => {
    const prefix = uniquePrefix();
    const t0 = 1_000_000;
    const a = await exchangeFleetLatency(redis, prefix, "cold", new Map([[100, 3]]), t0);
    expect([...a]).toEqual([[100, 3]]);
    const b = await exchangeFleetLatency(
      redis,
      prefix,
      "cold",
      new Map([
        [100, 1],
        [120, 2],
      ]),
      t0,
    );
    expect(new Map(b)).toEqual(
      new Map([
        [100, 4],
        [120, 2],
      ]),
    );
    // One half-life later, nothing new: every count halved.
    const later = await exchangeFleetLatency(
      redis,
      prefix,
      "cold",
      new Map(),
      t0 + FLEET_LATENCY_HALF_LIFE_MS,
    );
    expect(new Map(later)).toEqual(
      new Map([
        [100, 2],
        [120, 1],
      ]),
    );
    // Lanes do not mix, and the key expires by itself.
    expect((await exchangeFleetLatency(redis, prefix, "hot", new Map(), t0)).size).toBe(0);
    expect(await redis.pttl(redisKeys(prefix).upstreamLatency("cold"))).toBeGreaterThan(0);
  });

  it("gives two workers at 0.15 calls/s each a p95 within 60 s, which one alone does not have", async () => {
    const prefix = uniquePrefix();
    const workers = [new LaneController(policy, 0), new LaneController(policy, 0)];
    const alone = new LaneController(policy, 0);
    // 60 one-second ticks; each worker makes a call every ~7 s (latency 250-450 ms).
    for (let s = 1; s <= 60; s++) {
      for (const [i, w] of workers.entries()) {
        if ((s + i * 3) % 7 === 0) w.recordCall(250 + ((s * 53) % 200), "ok");
        const fleet = await exchangeFleetLatency(redis, prefix, "cold", w.takeUnshared(), s * 1_000);
        w.tick("normal", 0, policy, s * 1_000, 1_000, 0, fleet);
      }
      if (s % 7 === 0) alone.recordCall(250 + ((s * 53) % 200), "ok");
      alone.tick("normal", 0, policy, s * 1_000, 1_000);
    }
    for (const w of workers) {
      const p95 = w.state().latencyP95Ms;
      expect(p95).not.toBeNull();
      expect(p95!).toBeGreaterThan(250);
      expect(p95!).toBeLessThan(500);
      expect(w.state().timeoutReason).toBe("estimate");
    }
    expect(alone.state().latencyP95Ms).toBeNull();
    expect(alone.state().timeoutReason).toBe("no_data");
  });

  it("a timeout raises the lane's timeout at once, and a call that ran out under the old one does not raise it again", () => {
    const lane = new LaneController(policy, 0);
    for (let i = 0; i < 30; i++) lane.recordCall(300, "ok");
    lane.tick("normal", 0, policy, 1_000, 1_000);
    const before = lane.timeout;
    lane.recordCall(before, "timeout");
    // At once, before any tick: the calls in flight read it when theirs runs out.
    expect(lane.timeout).toBe(Math.min(5_000, before * 2));
    lane.recordCall(before, "timeout");
    expect(lane.timeout).toBe(Math.min(5_000, before * 2));
    const t = lane.tick("normal", 0, policy, 2_000, 1_000);
    expect(t.timeout).toMatchObject({
      changed: true,
      reason: "timeout_burst",
      from: before,
      ms: Math.min(5_000, before * 2),
    });
    // A call that times out under the raised value raises it again.
    lane.recordCall(lane.timeout, "timeout");
    expect(lane.timeout).toBe(Math.min(5_000, before * 4));
  });

  it("a lane follows another lane's raise at once, never lowering its own", () => {
    const lane = new LaneController(policy, 0);
    for (let i = 0; i < 30; i++) lane.recordCall(300, "ok");
    lane.tick("normal", 0, policy, 1_000, 1_000);
    const before = lane.timeout;
    expect(lane.followBurst(before * 2)).toBe(true);
    expect(lane.timeout).toBe(before * 2);
    expect(lane.state().timeoutReason).toBe("timeout_burst");
    expect(lane.followBurst(before)).toBe(false);
    expect(lane.timeout).toBe(before * 2);
  });

  it("a worker whose timeout rose at a timeout raises the other workers' at once, through Redis", async () => {
    const prefix = uniquePrefix();
    const lanesOf = () => ({ hot: new LaneController(policy, 0), cold: new LaneController(policy, 0) });
    const a = lanesOf();
    const b = lanesOf();
    const shareA = shareTimeoutBursts({ redis, prefix, id: "a", lanes: a });
    const shareB = shareTimeoutBursts({ redis, prefix, id: "b", lanes: b });
    try {
      const before = b.cold.timeout;
      // Wait until both subscriptions are in place, then say a burst.
      await waitFor(
        async () => (await redis.pubsub("NUMSUB", redisKeys(prefix).timeoutBurstChannel))[1] === 2,
      );
      shareA.raised(before * 2);
      await waitFor(() => b.cold.timeout === before * 2 && b.hot.timeout === before * 2);
      expect(b.cold.state().timeoutReason).toBe("timeout_burst");
      // Its own message does not move the sender; a garbled one moves nobody.
      expect(a.cold.timeout).toBe(before);
      await redis.publish(redisKeys(prefix).timeoutBurstChannel, "not json");
      await redis.publish(redisKeys(prefix).timeoutBurstChannel, JSON.stringify({ worker: "c", ms: -1 }));
      shareA.raised(before * 3);
      await waitFor(() => b.cold.timeout === Math.min(5_000, before * 3));
    } finally {
      await shareA.close();
      await shareB.close();
    }
  });
});

async function waitFor(ok: () => boolean | Promise<boolean>, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 20));
  }
}
