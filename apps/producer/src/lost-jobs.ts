import { LANES, heartbeatTtlMs, type Lane, type WorkerHeartbeat } from "@moonfleet/domain";
import type { Config } from "@moonfleet/config";
import { batchJobSchema, type BatchJob, type Redis } from "@moonfleet/queues";
import type { TokenStore } from "@moonfleet/store";
import { EVENTS, type Logger } from "@moonfleet/telemetry";
import type { Queue } from "bullmq";

// A worker that is SIGKILLed (an OOM kill, a crash, a node lost) leaves its jobs active in BullMQ
// until their locks run out and a stalled check moves them (lockDuration 30 s, then up to 15 s),
// and their tokens due again only when their lease ends (LEASE_MS). Its heartbeat is gone within
// a heartbeat TTL (5 s). The producer looks at the active jobs about once a second and hands back
// the tokens of those no live worker holds: they are due at once, not a lease later. The job
// itself runs later if BullMQ moves it on, and skips every token fetched since it was claimed.

/** How often the producer looks for jobs a dead worker held, ms. */
export const LOST_JOB_SWEEP_MS = 1_000;

/** An active job as the sweep reads it. */
export interface ActiveJob {
  readonly id: string;
  /** When a worker took it (BullMQ's processedOn), null when unknown. */
  readonly takenAt: number | null;
  /** Its lock token (`<BullMQ worker id>:<n>`), null once the lock has run out. */
  readonly lock: string | null;
}

/** The BullMQ worker id a lock token names: all before its last ':'. */
export function lockHolder(lock: string): string {
  const i = lock.lastIndexOf(":");
  return i > 0 ? lock.slice(0, i) : lock;
}

/**
 * The active jobs no live worker holds: their lock has run out or names a worker no live heartbeat
 * lists (`jobHolders`), and a worker took them at least `graceMs` ago (a worker just started takes
 * jobs before its first heartbeat; one alive that long has published one). Null when the fleet
 * cannot tell: a live worker's heartbeat lists no holders (a release before this one).
 */
export function lostJobs(
  active: readonly ActiveJob[],
  workers: readonly WorkerHeartbeat[],
  now: number,
  graceMs: number,
): string[] | null {
  const holders = new Set<string>();
  for (const w of workers) {
    if (!w.jobHolders) return null;
    for (const h of w.jobHolders) holders.add(h);
  }
  return active
    .filter(
      (j) =>
        j.takenAt !== null &&
        now - j.takenAt >= graceMs &&
        (j.lock === null || !holders.has(lockHolder(j.lock))),
    )
    .map((j) => j.id);
}

/** The tokens a lost job holds and the due time its claim gave them. */
export function leasedTokens(job: BatchJob, leaseMs: number): Array<{ mint: string; leaseUntil: number }> {
  const leaseUntil = job.leaseUntil ?? job.claimedAt + leaseMs;
  return job.mints.map((mint) => ({ mint, leaseUntil }));
}

/** The producer's sweep: reads each lane's active jobs and hands back the tokens of lost ones. */
export function createLostJobSweeper(deps: {
  readonly redis: Redis;
  readonly queues: Readonly<Record<Lane, Queue<BatchJob>>>;
  readonly store: TokenStore;
  readonly logger: Logger;
}) {
  const { redis, queues, store, logger } = deps;
  let lastAt = -Infinity;
  // lost jobs already handled stay active until BullMQ moves them: one log line each, not one a sweep
  const handled: Record<Lane, Set<string>> = { hot: new Set(), cold: new Set() };

  async function sweepLane(lane: Lane, at: number, c: Config, workers: readonly WorkerHeartbeat[]) {
    const q = queues[lane];
    const ids = await redis.lrange(q.toKey("active"), 0, -1);
    for (const id of handled[lane]) if (!ids.includes(id)) handled[lane].delete(id);
    if (ids.length === 0) return;
    const p = redis.pipeline();
    for (const id of ids) p.hget(q.toKey(id), "processedOn").get(`${q.toKey(id)}:lock`);
    const r = (await p.exec()) ?? [];
    const active: ActiveJob[] = ids.map((id, i) => {
      const takenAt = Number(r[2 * i]?.[1] ?? NaN);
      const lock = r[2 * i + 1]?.[1];
      return {
        id,
        takenAt: Number.isFinite(takenAt) && takenAt > 0 ? takenAt : null,
        lock: typeof lock === "string" ? lock : null,
      };
    });
    const lost = (lostJobs(active, workers, at, heartbeatTtlMs(c.controllerIntervalMs)) ?? []).filter(
      (id) => !handled[lane].has(id),
    );
    if (lost.length === 0) return;
    const dp = redis.pipeline();
    for (const id of lost) dp.hget(q.toKey(id), "data");
    const raw = ((await dp.exec()) ?? []).map(([, v]) => v);
    const tokens = raw.flatMap((json) => {
      if (typeof json !== "string") return [];
      try {
        const job = batchJobSchema.safeParse(JSON.parse(json));
        return job.success ? leasedTokens(job.data, c.leaseMs) : [];
      } catch {
        return [];
      }
    });
    const released = await store.releaseLeased(lane, tokens, at);
    for (const id of lost) handled[lane].add(id);
    logger.warn(
      { event: EVENTS.lostJobs, lane, jobs: lost.length, tokens: released },
      "handed back the tokens of jobs no live worker holds",
    );
  }

  return {
    /** Looks at most once per LOST_JOB_SWEEP_MS; returns nothing, logs what it hands back. */
    async sweep(at: number, c: Config, workers: readonly WorkerHeartbeat[]): Promise<void> {
      if (at - lastAt < LOST_JOB_SWEEP_MS) return;
      lastAt = at;
      await Promise.all(LANES.map((lane) => sweepLane(lane, at, c, workers)));
    },
  };
}
