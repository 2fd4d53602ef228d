import { afterEach, describe, expect, it, vi } from "vitest";
import { Coalescer, type MintResult } from "../src/coalescer.js";

interface Pending {
  mints: string[];
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** A call function that records every call and answers only when the test says so. */
function manualCalls() {
  const calls: Pending[] = [];
  const call = (mints: string[]) =>
    new Promise<Map<string, MintResult<string>>>((resolve, reject) => {
      calls.push({
        mints,
        resolve: () => resolve(new Map(mints.map((m) => [m, { ok: true, value: `pairs of ${m}` }]))),
        reject,
      });
    });
  return { calls, call };
}

/** A call function that answers at once. */
function instantCalls() {
  const calls: string[][] = [];
  const call = (mints: string[]) => {
    calls.push(mints);
    return Promise.resolve(
      new Map(mints.map((m): [string, MintResult<string>] => [m, { ok: true, value: m }])),
    );
  };
  return { calls, call };
}

const mints = (n: number, from = 0) => Array.from({ length: n }, (_, i) => `mint${i + from}`);

afterEach(() => {
  vi.useRealTimers();
});

describe("Coalescer", () => {
  it("merges concurrent overlapping requests into one call per 30 distinct mints", async () => {
    const { calls, call } = instantCalls();
    const coalescer = new Coalescer(() => 50, 30, call);
    const all = mints(90);
    // Five jobs, 40 mints each, overlapping; together they cover all 90.
    const jobs = [0, 1, 2, 3, 4].map((j) => [...all, ...all].slice(j * 20, j * 20 + 40));
    const results = await Promise.all(jobs.map((job) => coalescer.request(job)));

    expect(calls).toHaveLength(3);
    expect(calls.every((c) => c.length === 30)).toBe(true);
    expect(new Set(calls.flat())).toEqual(new Set(all));
    results.forEach((r, j) => {
      expect([...r.keys()].sort()).toEqual([...jobs[j]!].sort());
      expect([...r.values()].every((v) => v.ok)).toBe(true);
    });
  });

  it("does not ask again for a mint that is waiting or in flight", async () => {
    const { calls, call } = manualCalls();
    const coalescer = new Coalescer(() => 0, 30, call);
    const first = coalescer.request(["a", "b"]);
    expect(calls).toHaveLength(1);
    // "a" is in flight now: the second asker shares its answer, only "c" is new.
    const second = coalescer.request(["a", "c", "c"]);
    expect(calls.map((c) => c.mints)).toEqual([["a", "b"], ["c"]]);
    calls[0]!.resolve();
    calls[1]!.resolve();
    const [r1, r2] = await Promise.all([first, second]);
    expect(r1.get("a")).toEqual({ ok: true, value: "pairs of a" });
    expect(r2.get("a")).toEqual({ ok: true, value: "pairs of a" });
    expect([...r2.keys()]).toEqual(["a", "c"]);
    // Once answered, a mint is asked for again.
    const third = coalescer.request(["a"]);
    expect(calls).toHaveLength(3);
    expect(calls[2]!.mints).toEqual(["a"]);
    calls[2]!.resolve();
    await third;
  });

  it("does not ask twice for a mint that waits for the window", async () => {
    vi.useFakeTimers();
    const { calls, call } = instantCalls();
    const coalescer = new Coalescer(() => 200, 30, call);
    const a = coalescer.request(["x", "y"]);
    const b = coalescer.request(["y", "z"]);
    expect(calls).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(200);
    expect(calls).toEqual([["x", "y", "z"]]);
    const [ra, rb] = await Promise.all([a, b]);
    expect(ra.get("y")).toEqual({ ok: true, value: "y" });
    expect(rb.get("y")).toEqual({ ok: true, value: "y" });
  });

  it("flushes a full group at once and lets a partial group wait for the window", async () => {
    vi.useFakeTimers();
    const { calls, call } = instantCalls();
    const coalescer = new Coalescer(() => 200, 30, call);
    const done = coalescer.request(mints(45));
    expect(calls.map((c) => c.length)).toEqual([30]);
    await vi.advanceTimersByTimeAsync(199);
    expect(calls.map((c) => c.length)).toEqual([30]);
    // Mints asked within the window join the partial group.
    const more = coalescer.request(mints(5, 45));
    await vi.advanceTimersByTimeAsync(1);
    expect(calls.map((c) => c.length)).toEqual([30, 20]);
    expect((await done).size).toBe(45);
    expect((await more).size).toBe(5);
  });

  it("flushes a partial group as soon as later asks fill it", async () => {
    vi.useFakeTimers();
    const { calls, call } = instantCalls();
    const coalescer = new Coalescer(() => 200, 30, call);
    const a = coalescer.request(mints(20));
    expect(calls).toHaveLength(0);
    const b = coalescer.request(mints(10, 20));
    expect(calls.map((c) => c.length)).toEqual([30]);
    await Promise.all([a, b]);
  });

  it("fails only the mints of the group whose call failed", async () => {
    const { calls, call } = manualCalls();
    const coalescer = new Coalescer(() => 0, 30, call);
    const result = coalescer.request(mints(40));
    expect(calls.map((c) => c.mints.length)).toEqual([30, 10]);
    const boom = new Error("upstream down");
    calls[0]!.reject(boom);
    calls[1]!.resolve();
    const r = await result;
    const failed = mints(30).map((m) => r.get(m));
    const good = mints(10, 30).map((m) => r.get(m));
    expect(failed.every((x) => x?.ok === false && x.error === boom)).toBe(true);
    expect(good.every((x) => x?.ok === true)).toBe(true);
  });

  it("gives a mint the call did not answer a failure of its own", async () => {
    const coalescer = new Coalescer<string>(
      () => 0,
      30,
      (ms) => Promise.resolve(new Map([[ms[0]!, { ok: true, value: "only the first" }]])),
    );
    const r = await coalescer.request(["a", "b"]);
    expect(r.get("a")).toEqual({ ok: true, value: "only the first" });
    const b = r.get("b");
    expect(b?.ok).toBe(false);
    expect(b?.ok === false && b.error).toBeInstanceOf(Error);
  });

  it("flushes at once when the window is 0", () => {
    vi.useFakeTimers();
    const { calls, call } = instantCalls();
    const coalescer = new Coalescer(() => 0, 30, call);
    void coalescer.request(["a"]);
    expect(calls).toEqual([["a"]]);
    void coalescer.request(["b", "c"]);
    expect(calls).toEqual([["a"], ["b", "c"]]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("reads the window live", async () => {
    vi.useFakeTimers();
    const { calls, call } = instantCalls();
    let windowMs = 500;
    const coalescer = new Coalescer(() => windowMs, 30, call);
    const a = coalescer.request(["a"]);
    await vi.advanceTimersByTimeAsync(500);
    expect(calls).toHaveLength(1);
    windowMs = 0;
    const b = coalescer.request(["b"]);
    expect(calls).toHaveLength(2);
    await Promise.all([a, b]);
  });
});
