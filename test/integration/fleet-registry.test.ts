import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, describe, expect, it } from "vitest";
import { redisKeys } from "@moonfleet/domain";
import { liveWorkers, publishHeartbeat, removeHeartbeat } from "@moonfleet/store";
import { testHeartbeat } from "../support/heartbeat.js";
import { testRedis, uniquePrefix } from "../support/harness.js";

const redis = testRedis();
afterAll(async () => {
  await redis.quit();
});

describe("liveWorkers (one script: the index read and each heartbeat's GET)", () => {
  it("answers the heartbeats whose key lives and whose index entry is inside the window, and no other", async () => {
    const prefix = uniquePrefix();
    const now = Date.now();
    // its key expires while its index entry stays (each beat trims the index by its own TTL: first)
    await publishHeartbeat(redis, prefix, testHeartbeat({ id: "expired", at: now }), 50);
    await publishHeartbeat(redis, prefix, testHeartbeat({ id: "fresh", at: now }), 60_000);
    await publishHeartbeat(redis, prefix, testHeartbeat({ id: "slow", at: now - 20_000 }), 60_000);
    await publishHeartbeat(redis, prefix, testHeartbeat({ id: "gone", at: now }), 60_000);
    await removeHeartbeat(redis, prefix, "gone");
    await sleep(100);

    const ids = async (windowMs: number) =>
      (await liveWorkers(redis, prefix, now, windowMs)).map((w) => w.id).sort();
    expect(await ids(30_000)).toEqual(["fresh", "slow"]);
    // the window is the index's: an entry older than it is not read, though its key lives
    expect(await ids(10_000)).toEqual(["fresh"]);
    expect(await redis.zscore(redisKeys(prefix).workers, "expired")).not.toBeNull();
    // a heartbeat that does not parse is left out, not thrown
    await redis.set(redisKeys(prefix).worker("fresh"), "{not json");
    expect(await ids(30_000)).toEqual(["slow"]);
    expect(await liveWorkers(redis, uniquePrefix(), now, 30_000)).toEqual([]);
  });
});
