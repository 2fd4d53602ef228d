import { describe, expect, it } from "vitest";
import type { WorkerHeartbeat } from "@moonfleet/domain";
import { RECONNECT_MAX_DELAY_MS, leasedTokens } from "@moonfleet/queues";
import { jobsTakenByLiveWorkers } from "../src/producer.js";
import { testHeartbeat, testLaneState } from "../../../test/support/heartbeat.js";
import { goneWorkers, lockHolder, lostJobTimes, lostJobs, type ActiveJob } from "../src/lost-jobs.js";

const worker = (id: string, o: { holders?: string[]; hot?: number; cold?: number } = {}): WorkerHeartbeat =>
  testHeartbeat({
    id,
    lanes: { hot: testLaneState({ active: o.hot ?? 0 }), cold: testLaneState({ active: o.cold ?? 0 }) },
    ...(o.holders ? { jobHolders: o.holders } : {}),
  });

const NOW = 100_000;
const GRACE = 5_000;
const job = (id: string, lock: string | null, agoMs: number | null): ActiveJob => ({
  id,
  lock,
  takenAt: agoMs === null ? null : NOW - agoMs,
});

describe("lockHolder", () => {
  it("is the worker id before the lock's last ':' (the id itself holds none)", () => {
    expect(lockHolder("2a65f541-3d5b-44ef-bd0c-563a21fa48a7:30")).toBe(
      "2a65f541-3d5b-44ef-bd0c-563a21fa48a7",
    );
    expect(lockHolder("a:b:7")).toBe("a:b");
    expect(lockHolder("bare")).toBe("bare");
  });
});

describe("lostJobs", () => {
  const live = [worker("w1", { holders: ["A", "B"] }), worker("w2", { holders: ["C"] })];
  const times = { graceMs: GRACE, missingForMs: 2_500, goneForMs: 5_000 };
  const active = [
    job("1", "A:1", 10_000), // held by a live worker
    job("2", "D:4", 10_000), // a dead worker's
    job("3", null, 40_000), // its lock ran out
    job("4", "D:5", 1_000), // a dead worker's, but too young: a new worker before its first heartbeat
    job("5", "C:9", 60_000), // held by a live worker, however long
    job("6", "E:1", null), // unknown age
  ];

  it("first only watches the jobs whose lock no live worker holds", () => {
    const first = lostJobs(active, live, NOW, times, new Map());
    expect(first.lost).toEqual([]);
    expect([...first.missingSince.keys()].sort()).toEqual(["2 D:4", "3 ", "4 D:5", "6 E:1"]);
    expect([...first.missingSince.values()].every((t) => t === NOW)).toBe(true);
  });

  it("names them once their holder has stayed missing for missingForMs and they are older than the grace", () => {
    const first = lostJobs(active, live, NOW, times, new Map());
    const later = lostJobs(active, live, NOW + 2_499, times, first.missingSince);
    expect(later.lost).toEqual([]);
    const then = lostJobs(active, live, NOW + 2_500, times, later.missingSince);
    expect(then.lost).toEqual(["2", "3"]); // "4" is still younger than the grace, "6" of unknown age
    expect(then.missingSince.get("2 D:4")).toBe(NOW); // the watch goes on from when it began
  });

  it("forgets a suspect that a live worker holds again, or that left the active list", () => {
    const first = lostJobs(active, live, NOW, times, new Map());
    const back = [job("2", "C:10", 10_000)]; // taken again by a live worker; the others finished
    const later = lostJobs(back, live, NOW + 3_000, times, first.missingSince);
    expect(later.lost).toEqual([]);
    expect(later.missingSince.size).toBe(0);
  });

  it("starts the watch again when a suspect's lock changes (another dead holder)", () => {
    const first = lostJobs([job("2", "D:4", 10_000)], live, NOW, times, new Map());
    const later = lostJobs([job("2", "F:1", 10_000)], live, NOW + 3_000, times, first.missingSince);
    expect(later.lost).toEqual([]);
    expect(later.missingSince.get("2 F:1")).toBe(NOW + 3_000);
  });

  it("with no live worker, every job old enough is lost once the watch has run", () => {
    const jobs = [job("1", "A:1", 6_000), job("2", "A:2", 100)];
    const first = lostJobs(jobs, [], NOW, times, new Map());
    expect(lostJobs(jobs, [], NOW + 2_500, times, first.missingSince).lost).toEqual(["1"]);
  });

  it("cannot tell (null) while a live worker's heartbeat names no holders (an older release)", () => {
    const watched = new Map([["2 D:4", NOW - 60_000]]);
    expect(
      lostJobs([job("2", "D:4", 60_000)], [...live, worker("old")], NOW, times, watched).lost,
    ).toBeNull();
  });

  it("reads a gone process's jobs as lost after goneForMs, however young or old, while its heartbeat lives on", () => {
    const jobs = [job("1", "A:1", 300), job("2", "C:2", 300), job("3", "Z:1", 300), job("4", "B:1", 60_000)];
    const gone = new Set(["w1"]); // w1 (holders A and B) closed its connections; w2 did not
    const first = lostJobs(jobs, live, NOW, times, new Map(), gone);
    expect(first.lost).toEqual([]);
    expect([...first.missingSince.keys()].sort()).toEqual(["1 A:1", "3 Z:1", "4 B:1"]);
    // at 5 s less a millisecond only "3" is lost (no heartbeat names its holder, and it is past the
    // watch and the grace); w1's jobs, however old, wait: its connection may be coming back
    const early = lostJobs(jobs, live, NOW + 4_999, times, first.missingSince, gone);
    expect(early.lost).toEqual(["3"]);
    const later = lostJobs(jobs, live, NOW + 5_000, times, early.missingSince, gone);
    expect(later.lost).toEqual(["1", "3", "4"]);
    // without the connections w1's jobs are held: only "3"
    expect(lostJobs(jobs, live, NOW + 5_000, times, early.missingSince).lost).toEqual(["3"]);
  });

  it("lostJobTimes: the grace is the heartbeat's TTL, the watch half of it, a gone process's at least two reconnects and a second", () => {
    expect(lostJobTimes({ controllerIntervalMs: 1_000 })).toEqual({
      graceMs: 5_000,
      missingForMs: 2_500,
      goneForMs: 2 * RECONNECT_MAX_DELAY_MS + 1_000,
    });
    expect(lostJobTimes({ controllerIntervalMs: 4_000 })).toEqual({
      graceMs: 20_000,
      missingForMs: 10_000,
      goneForMs: 10_000,
    });
  });
});

describe("goneWorkers", () => {
  const hb = (id: string, connection?: string) =>
    testHeartbeat({ id, jobHolders: [`${id}-bull`], ...(connection ? { connection } : {}) });
  const SELF = "moonfleet:producer";

  it("is a live process whose heartbeat's connection the server no longer lists", () => {
    const workers = [hb("w1", "moonfleet:worker:w1"), hb("w2", "moonfleet:worker:w2")];
    expect(goneWorkers(new Set(["moonfleet:worker:w2", SELF]), workers, SELF)).toEqual(new Set(["w1"]));
    expect(goneWorkers(new Set(["moonfleet:worker:w1", "moonfleet:worker:w2", SELF]), workers, SELF)).toEqual(
      new Set(),
    );
  });

  it("judges nobody when the server does not list its clients, nor a heartbeat that names no connection", () => {
    expect(goneWorkers(null, [hb("w1", "moonfleet:worker:w1")], SELF)).toEqual(new Set());
    expect(goneWorkers(new Set([SELF]), [hb("old")], SELF)).toEqual(new Set());
  });

  it("judges nobody from a list without the reader's own connection (a proxy's, one node's of several)", () => {
    const workers = [hb("w1", "moonfleet:worker:w1")];
    expect(goneWorkers(new Set(["moonfleet:worker:w2"]), workers, SELF)).toEqual(new Set());
    expect(goneWorkers(new Set(["moonfleet:worker:w2"]), workers, undefined)).toEqual(new Set());
  });
});

describe("leasedTokens", () => {
  it("gives each mint the job's lease end, or claimedAt + LEASE_MS for a job without one", () => {
    expect(leasedTokens({ lane: "hot", mints: ["a", "b"], claimedAt: 10, leaseUntil: 500 }, 30_000)).toEqual([
      { mint: "a", leaseUntil: 500 },
      { mint: "b", leaseUntil: 500 },
    ]);
    expect(leasedTokens({ lane: "cold", mints: ["a"], claimedAt: 10 }, 30_000)).toEqual([
      { mint: "a", leaseUntil: 30_010 },
    ]);
  });
});

describe("jobsTakenByLiveWorkers", () => {
  it("is the queue's active count, but no more than the live heartbeats hold", () => {
    const ws = [worker("w1", { hot: 3, cold: 1 }), worker("w2", { hot: 2 })];
    expect(jobsTakenByLiveWorkers(12, ws, "hot")).toBe(5); // 7 belong to a dead worker
    expect(jobsTakenByLiveWorkers(4, ws, "hot")).toBe(4); // heartbeats not yet down from jobs done
    expect(jobsTakenByLiveWorkers(9, ws, "cold")).toBe(1);
    expect(jobsTakenByLiveWorkers(9, [], "cold")).toBe(0);
  });
});
