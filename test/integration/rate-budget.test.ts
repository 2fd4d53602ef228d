import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, describe, expect, it } from "vitest";
import { FIRST_GRACE_MS, RateBudget, type BudgetSettings } from "@moonfleet/upstream";
import { testRedis, uniquePrefix } from "../support/harness.js";

// The fleet-wide budget is only as good as its Lua on a real Redis: these run against the suite's
// redis-server, one fresh key per test.
const redis = testRedis("rate-budget");
const prefix = uniquePrefix();
afterAll(() => redis.quit());

let keys = 0;
const freshKey = () => `${prefix}:budget:${++keys}`;

function budget(settings: Partial<BudgetSettings> = {}, key = freshKey(), conn = redis) {
  const s: BudgetSettings = {
    rpm: 65,
    burst: 5,
    hotReserve: 2,
    penaltyFactor: 0.5,
    penaltyMs: 60_000,
    ...settings,
  };
  return new RateBudget(conn, key, () => s);
}

async function takeMany(b: RateBudget, lane: "hot" | "cold", n: number) {
  const out = [];
  for (let i = 0; i < n; i++) out.push(await b.take(lane));
  return out;
}

const waitOf = (t: Awaited<ReturnType<RateBudget["take"]>>): number => {
  expect(t.granted).toBe(false);
  return t.granted ? 0 : t.waitMs;
};

describe("RateBudget (Redis token bucket)", () => {
  it("grants burst permits at once, then refuses with the time to the next token", async () => {
    // 65 rpm with a burst of 5 refills (65 - 5) / min = one token per second.
    const b = budget({ rpm: 65, burst: 5 });
    const takes = await takeMany(b, "hot", 5);
    expect(takes.every((t) => t.granted)).toBe(true);
    const wait = waitOf(await b.take("hot"));
    expect(wait).toBeGreaterThan(800);
    expect(wait).toBeLessThanOrEqual(1_000);
    // Still refused right after, with a wait that did not grow.
    expect(waitOf(await b.take("hot"))).toBeLessThanOrEqual(wait);
  });

  it("refills over time: after the wait it grants again", async () => {
    // 100 ms per token: slow enough that three round trips on a busy machine do not refill one
    // before the refusal (at 10 ms a token, the fresh-clone check of 2026-12-07 saw one granted)
    const b = budget({ rpm: 602, burst: 2 });
    await takeMany(b, "hot", 2);
    const wait = waitOf(await b.take("hot"));
    expect(wait).toBeLessThanOrEqual(100);
    await sleep(wait + 20);
    expect((await b.take("hot")).granted).toBe(true);
  });

  it("lets hot take the last tokens while cold needs more than hotReserve left", async () => {
    // 6 rpm, burst 5: one token a minute, so nothing refills during the test.
    const b = budget({ rpm: 6, burst: 5, hotReserve: 2 });
    expect((await takeMany(b, "hot", 2)).every((t) => t.granted)).toBe(true); // 3 left
    expect((await b.take("cold")).granted).toBe(true); // 3 > reserve: cold may take one, 2 left
    const coldAt2 = await b.take("cold");
    expect(coldAt2.granted).toBe(false);
    expect((await b.take("hot")).granted).toBe(true); // 1 left
    const coldAt1 = await b.take("cold");
    expect(coldAt1.granted).toBe(false);
    expect((await b.take("hot")).granted).toBe(true); // the last token goes to hot
    const hotAt0 = await b.take("hot");
    expect(hotAt0.granted).toBe(false);
    // Cold waits for reserve + 1 tokens, hot for one: cold's wait is the longer.
    expect(waitOf(await b.take("cold"))).toBeGreaterThan(waitOf(hotAt0));
  });

  it("leaves the next token to a refused call past its start-by while its wait lasts", async () => {
    // 100 ms a token, burst 1: the race for each new token is what this decides
    const b = budget({ rpm: 601, burst: 1, hotReserve: 0 });
    expect((await b.take("hot")).granted).toBe(true);
    const firstWait = waitOf(await b.take("hot", "urgent-call"));
    await sleep(firstWait + 150); // a token (and a half) is back: enough for one call
    // a call that can wait asks first, but the token is the waiting urgent call's: refused (it
    // would need two, more than the burst of 1 holds, so it is told to look again a token later)
    const later = waitOf(await b.take("hot"));
    expect(later).toBeGreaterThan(0);
    expect((await b.take("hot", "urgent-call")).granted).toBe(true);
    // granted, it waits no more: the next token is anyone's again
    await sleep(120);
    expect((await b.take("hot")).granted).toBe(true);
    // a claim lapses with its wait and FIRST_GRACE_MS: a call that gave up holds nobody back long
    waitOf(await b.take("hot", "gave-up"));
    await sleep(100 + FIRST_GRACE_MS + 150);
    expect((await b.take("hot")).granted).toBe(true);
  });

  it("counts each waiting urgent call's token ahead of a call that can wait, until it is granted or gives up", async () => {
    // 1 s a token, burst 3: a plain call needs 1 + the urgent calls waiting
    const b = budget({ rpm: 63, burst: 3, hotReserve: 0 });
    expect((await takeMany(b, "hot", 3)).every((t) => t.granted)).toBe(true);
    const a = waitOf(await b.take("hot", "a"));
    waitOf(await b.take("cold", "b"));
    // two urgent calls ahead: the plain call waits for three tokens, the urgent ones for one and two
    const plain = waitOf(await b.take("hot"));
    expect(plain).toBeGreaterThan(2 * a);
    // one gives up: it leaves the set, and the plain call waits for two
    await b.release("b");
    const after = waitOf(await b.take("hot"));
    expect(after).toBeLessThan(plain - 500);
    expect(after).toBeGreaterThan(a);
    // more urgent calls than the bucket can hold: a plain call looks again a token later, not never
    for (const id of ["c", "d", "e", "f"]) waitOf(await b.take("hot", id));
    const crowded = waitOf(await b.take("hot"));
    expect(crowded).toBeLessThanOrEqual(3_000);
  });

  it("serves calls past their start-by in the order they asked, one carrying an exported token with its head start", async () => {
    // 1 s a token, burst 3, all taken: each call ahead costs a waiting call a token's time
    const b = budget({ rpm: 63, burst: 3, hotReserve: 0 });
    expect((await takeMany(b, "hot", 3)).every((t) => t.granted)).toBe(true);
    const a = waitOf(await b.take("hot", "a"));
    // b asked after a: it waits for a's token and its own
    const bWait = waitOf(await b.take("cold", "b"));
    expect(bWait).toBeGreaterThan(a + 500);
    // x asked last, 5 s ahead: before both, one token's wait; a now waits behind it
    const x = waitOf(await b.take("hot", "x", 5_000));
    expect(x).toBeLessThan(a + 500);
    expect(waitOf(await b.take("hot", "a"))).toBeGreaterThan(x + 500);
    // its head start goes with it: asking again without one, x keeps its place
    expect(waitOf(await b.take("hot", "x"))).toBeLessThan(x + 500);
    // the next token goes to x, not to a, which asked first; then to a, not to b
    await sleep(x + 100);
    waitOf(await b.take("hot", "a"));
    expect((await b.take("hot", "x")).granted).toBe(true);
    await sleep(waitOf(await b.take("hot", "a")) + 100);
    waitOf(await b.take("cold", "b"));
    expect((await b.take("hot", "a")).granted).toBe(true);
    // a call no longer kept first (an older worker's take drops expired claims from the first set
    // only) holds nobody back: b's place is forgotten, and c waits for its own token alone
    await redis.zrem(`${b.key}:first`, "b");
    const c = waitOf(await b.take("hot", "c"));
    expect(c).toBeLessThanOrEqual(1_000);
    expect(await redis.zscore(`${b.key}:first:order`, "b")).toBeNull();
  });

  it("keeps nobody first during a 429 pause, and its override clears who was", async () => {
    // 1 s a token: a plain call alone waits at most one token's time, behind an urgent call two
    const b = budget({ rpm: 63, burst: 3, hotReserve: 0 });
    await b.penalize(30_000);
    waitOf(await b.take("hot", "paused"));
    await b.clearPause();
    // the pause emptied the bucket; nothing was kept during it: one token's wait
    expect(waitOf(await b.take("hot"))).toBeLessThanOrEqual(1_000);
    // kept outside a pause, then cleared by the override
    const c = budget({ rpm: 63, burst: 3, hotReserve: 0 });
    await takeMany(c, "hot", 3);
    waitOf(await c.take("hot", "kept"));
    expect(waitOf(await c.take("hot"))).toBeGreaterThan(1_500);
    await c.clearPause();
    expect(waitOf(await c.take("hot"))).toBeLessThanOrEqual(1_000);
    expect(await redis.exists(`${c.key}:first`, `${c.key}:first:order`)).toBe(0);
  });

  it("with no reserve, cold takes the same as hot", async () => {
    const b = budget({ rpm: 6, burst: 3, hotReserve: 0 });
    expect((await takeMany(b, "cold", 3)).every((t) => t.granted)).toBe(true);
    expect((await b.take("cold")).granted).toBe(false);
  });

  it("penalize(ms) makes every take of either lane wait about ms", async () => {
    const b = budget({ rpm: 6_000, burst: 50 });
    expect((await b.take("hot")).granted).toBe(true);
    const paused = await b.penalize(3_000);
    expect(paused).toBe(3_000);
    for (const lane of ["hot", "cold", "hot"] as const) {
      const wait = waitOf(await b.take(lane));
      expect(wait).toBeGreaterThan(2_500);
      expect(wait).toBeLessThanOrEqual(3_000);
    }
    const use = await b.use();
    expect(use.pausedForMs).toBeGreaterThan(2_500);
    expect(use.penaltyAt).toBeGreaterThan(0);
    // A shorter Retry-After later does not cut the pause short.
    await b.penalize(100);
    expect(waitOf(await b.take("hot"))).toBeGreaterThan(2_500);
  });

  it("runs slower for penaltyMs after the pause, then recovers", async () => {
    // One token a second normally; at factor 0.5 one every two seconds.
    const b = budget({ rpm: 65, burst: 5, penaltyFactor: 0.5, penaltyMs: 600 });
    const normal = budget({ rpm: 65, burst: 5 });
    await takeMany(normal, "hot", 5);
    const normalWait = waitOf(await normal.take("hot"));
    expect(normalWait).toBeLessThanOrEqual(1_000);

    await b.penalize(200);
    await sleep(250); // the pause is over, the penalty is not
    const slowWait = waitOf(await b.take("hot"));
    expect(slowWait).toBeGreaterThan(1_500);
    expect(slowWait).toBeLessThanOrEqual(2_000);

    await sleep(1_300); // past 2 * penaltyMs: the rate is back to normal
    let t = await b.take("hot");
    for (let i = 0; i < 10 && t.granted; i++) t = await b.take("hot");
    expect(waitOf(t)).toBeLessThanOrEqual(1_000);
  });

  it("grants fewer permits under penalty over the same stretch of time", async () => {
    const s = { rpm: 6_000, burst: 5, penaltyFactor: 0.25, penaltyMs: 60_000 };
    const penalized = budget(s);
    const normal = budget(s);
    await takeMany(normal, "hot", 5);
    await penalized.penalize(0); // no pause, only the lower rate (and an empty bucket)
    let slow = 0;
    let fast = 0;
    const end = Date.now() + 600;
    while (Date.now() < end) {
      if ((await penalized.take("hot")).granted) slow++;
      if ((await normal.take("hot")).granted) fast++;
      await sleep(2);
    }
    // ~100/s against ~25/s; generous margins, only the order of the counts matters.
    expect(fast).toBeGreaterThan(10);
    expect(slow).toBeGreaterThan(0);
    expect(slow).toBeLessThan(fast * 0.6);
  });

  it("use() counts the permits granted this minute", async () => {
    // Stay clear of a minute boundary so every take lands in the same clock minute.
    const intoMinute = Date.now() % 60_000;
    if (intoMinute > 57_000) await sleep(60_000 - intoMinute + 100);
    const b = budget({ rpm: 6, burst: 3 });
    expect(await b.use()).toMatchObject({ thisMinute: 0, pausedForMs: 0, penaltyAt: 0 });
    const takes = await takeMany(b, "hot", 5); // 3 granted, 2 refused
    expect(takes.filter((t) => t.granted)).toHaveLength(3);
    expect((await b.use()).thisMinute).toBe(3);
  });

  it("is one bucket for every instance on the same key (the fleet-wide budget)", async () => {
    const key = freshKey();
    const other = testRedis("rate-budget-2");
    try {
      const a = budget({ rpm: 6, burst: 4 }, key);
      const b = budget({ rpm: 6, burst: 4 }, key, other);
      expect((await takeMany(a, "hot", 3)).every((t) => t.granted)).toBe(true);
      expect((await b.take("hot")).granted).toBe(true);
      expect((await b.take("hot")).granted).toBe(false);
      expect((await a.take("hot")).granted).toBe(false);
      // A pause set through one is seen by the other.
      await a.penalize(5_000);
      expect(waitOf(await b.take("hot"))).toBeGreaterThan(4_000);
      expect((await b.use()).thisMinute + (await b.use()).lastMinute).toBe(4);
      // A different key is a different bucket.
      expect((await budget({ rpm: 6, burst: 4 }, freshKey(), other).take("hot")).granted).toBe(true);
    } finally {
      await other.quit();
    }
  });

  it("never grants more than the bucket holds to concurrent takers on several connections", async () => {
    const key = freshKey();
    const conns = [redis, testRedis("rate-budget-a"), testRedis("rate-budget-b"), testRedis("rate-budget-c")];
    try {
      const takers = conns.map((c) => budget({ rpm: 10, burst: 8 }, key, c));
      const takes = await Promise.all(
        Array.from({ length: 40 }, (_, i) => takers[i % takers.length]!.take(i % 2 ? "hot" : "cold")),
      );
      expect(takes.filter((t) => t.granted)).toHaveLength(8);
    } finally {
      await Promise.all(conns.slice(1).map((c) => c.quit()));
    }
  });
});
