import { LANES, clientNames, heartbeatTtlMs, type Lane, type WorkerHeartbeat } from "@moonfleet/domain";
import type { Config } from "@moonfleet/config";
import {
  RECONNECT_MAX_DELAY_MS,
  batchJobSchema,
  leasedTokens,
  type BatchJob,
  type Redis,
} from "@moonfleet/queues";
import type { TokenStore } from "@moonfleet/store";
import { EVENTS, type Logger } from "@moonfleet/telemetry";
import type { Queue } from "bullmq";

// A worker that is SIGKILLed (an OOM kill, a crash, a node lost) leaves its jobs active in BullMQ
// until their locks run out and a stalled check moves them (lockDuration 30 s, then up to 15 s),
// and their tokens due again only when their lease ends (LEASE_MS). The producer looks at the
// active jobs about once a second and hands back the tokens of those no live worker holds: they
// are due at once, not a lease later. A killed process's Redis connections close at once (its
// heartbeat names the one it is written on, which CLIENT LIST then no longer shows), so its jobs
// count as lost a watch (goneForMs) after that; a lost node keeps its connections open until TCP
// gives up, and its heartbeat is gone within a heartbeat TTL (5 s). The job itself runs later if
// BullMQ moves it on, and skips every token fetched since it was claimed.

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

/** How long a job's holder must stay unknown to the sweeps before its job counts as lost, ms. */
export interface LostJobTimes {
  /** A worker took it at least this long ago (a worker publishes its heartbeat before it takes jobs). */
  readonly graceMs: number;
  /**
   * Its holder has been missing from every sweep for this long: after a Redis outage every
   * heartbeat may have expired while the locks live on, and the workers publish again within a
   * controller tick or two.
   */
  readonly missingForMs: number;
  /**
   * Its holder's process has been gone from the server's clients (its heartbeat's connection
   * closed) for this long: longer than two reconnect attempts, so a worker whose connection dropped
   * and comes back is not read as dead.
   */
  readonly goneForMs: number;
}

/**
 * The times a producer under `c` judges lost jobs by: the heartbeat's TTL, and half of it; a gone
 * process's for two reconnect attempts and a second, or half the TTL if that is longer.
 */
export const lostJobTimes = (c: Pick<Config, "controllerIntervalMs">): LostJobTimes => ({
  graceMs: heartbeatTtlMs(c.controllerIntervalMs),
  missingForMs: heartbeatTtlMs(c.controllerIntervalMs) / 2,
  goneForMs: Math.max(heartbeatTtlMs(c.controllerIntervalMs) / 2, 2 * RECONNECT_MAX_DELAY_MS + 1_000),
});

/** The BullMQ worker id a lock token names: all before its last ':'. */
export function lockHolder(lock: string): string {
  const i = lock.lastIndexOf(":");
  return i > 0 ? lock.slice(0, i) : lock;
}

/** A job as the sweeps remember it: its id and the lock it had when its holder went missing. */
const suspectKey = (j: ActiveJob): string => `${j.id} ${j.lock ?? ""}`;

/**
 * The active jobs no live worker holds. A job is suspect while its lock has run out or names a
 * worker that no live heartbeat lists (`jobHolders`), or one whose process is `gone` (its
 * connections closed while its heartbeat lives on); `missingSince` says since when each suspect
 * (id and lock) has been one, and the result carries it on for the next sweep (suspects only: a job
 * gone or held again is forgotten). A gone process's job is lost once it has been one for
 * `goneForMs`; another once it has been one for `missingForMs` and a worker took it at least
 * `graceMs` ago (a holder no heartbeat lists may be a new worker's whose first heartbeat this sweep
 * did not read). `lost` is null when the fleet cannot tell: a live worker's heartbeat lists no
 * holders (a release before this one).
 */
export function lostJobs(
  active: readonly ActiveJob[],
  workers: readonly WorkerHeartbeat[],
  now: number,
  times: LostJobTimes,
  missingSince: ReadonlyMap<string, number>,
  gone: ReadonlySet<string> = new Set(),
): { lost: string[] | null; missingSince: Map<string, number> } {
  const holders = new Set<string>();
  const goneHolders = new Set<string>();
  for (const w of workers) {
    if (!w.jobHolders) return { lost: null, missingSince: new Map() };
    for (const h of w.jobHolders) (gone.has(w.id) ? goneHolders : holders).add(h);
  }
  const next = new Map<string, number>();
  const lost: string[] = [];
  for (const j of active) {
    const holder = j.lock === null ? null : lockHolder(j.lock);
    if (holder !== null && holders.has(holder)) continue;
    const key = suspectKey(j);
    const since = missingSince.get(key) ?? now;
    next.set(key, since);
    const watched = now - since;
    if (holder !== null && goneHolders.has(holder)) {
      if (watched >= times.goneForMs) lost.push(j.id);
    } else if (watched >= times.missingForMs && j.takenAt !== null && now - j.takenAt >= times.graceMs)
      lost.push(j.id);
  }
  return { lost, missingSince: next };
}

/**
 * The processes gone from Redis: live by their heartbeat, but the connection it says it is written
 * on (`connection`) is not among the server's clients (`names`, null when the server does not list
 * them). A list without the reader's own connection (`self`) is not the whole server's (a proxy, a
 * node of several) and judges nobody, nor does a heartbeat that names no connection.
 */
export function goneWorkers(
  names: ReadonlySet<string> | null,
  workers: readonly WorkerHeartbeat[],
  self: string | undefined,
): Set<string> {
  const gone = new Set<string>();
  if (names === null || self === undefined || !names.has(self)) return gone;
  for (const w of workers) if (w.connection !== undefined && !names.has(w.connection)) gone.add(w.id);
  return gone;
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
  let lastOkAt = -Infinity;
  const missing: Record<Lane, Map<string, number>> = { hot: new Map(), cold: new Map() };
  // lost jobs already handled stay active until BullMQ moves them: one log line each, not one a sweep
  const handled: Record<Lane, Set<string>> = { hot: new Set(), cold: new Set() };

  async function readActive(q: Queue<BatchJob>): Promise<ActiveJob[]> {
    const ids = await redis.lrange(q.toKey("active"), 0, -1);
    if (ids.length === 0) return [];
    const p = redis.pipeline();
    for (const id of ids) p.hget(q.toKey(id), "processedOn").get(`${q.toKey(id)}:lock`);
    const r = (await p.exec()) ?? [];
    return ids.map((id, i) => {
      const takenAt = Number(r[2 * i]?.[1] ?? NaN);
      const lock = r[2 * i + 1]?.[1];
      return {
        id,
        takenAt: Number.isFinite(takenAt) && takenAt > 0 ? takenAt : null,
        lock: typeof lock === "string" ? lock : null,
      };
    });
  }

  /** The names of the server's connections, null when it does not list them (told once). */
  let unlisted = false;
  async function connections(): Promise<Set<string> | null> {
    try {
      const names = clientNames(String(await redis.call("CLIENT", "LIST", "TYPE", "normal")));
      unlisted = false;
      return names;
    } catch (err) {
      if (!unlisted)
        logger.warn(
          { event: EVENTS.lostJobs, err: err instanceof Error ? err.message : String(err) },
          "CLIENT LIST is not answered: a dead worker's jobs are told by its heartbeat's expiry alone",
        );
      unlisted = true;
      return null;
    }
  }

  async function sweepLane(
    lane: Lane,
    active: readonly ActiveJob[],
    at: number,
    c: Config,
    workers: readonly WorkerHeartbeat[],
    gone: ReadonlySet<string>,
  ) {
    const q = queues[lane];
    const ids = new Set(active.map((j) => j.id));
    for (const id of handled[lane]) if (!ids.has(id)) handled[lane].delete(id);
    const judged = lostJobs(active, workers, at, lostJobTimes(c), missing[lane], gone);
    missing[lane] = judged.missingSince;
    const lost = (judged.lost ?? []).filter((id) => !handled[lane].has(id));
    if (lost.length === 0) return;
    const byId = new Map(active.map((j) => [j.id, j]));
    let released = 0;
    for (const id of lost) {
      handled[lane].add(id);
      const json = await redis.hget(q.toKey(id), "data");
      const job = json === null ? null : parseJob(json);
      if (!job) continue;
      released += await store.releaseLeased(
        {
          id,
          activeKey: q.toKey("active"),
          lockKey: `${q.toKey(id)}:lock`,
          lock: byId.get(id)?.lock ?? null,
        },
        leasedTokens(job, c.leaseMs),
        at,
      );
    }
    logger.warn(
      { event: EVENTS.lostJobs, lane, jobs: lost.length, tokens: released },
      "handed back the tokens of jobs no live worker holds",
    );
  }

  return {
    /** Looks at most once per LOST_JOB_SWEEP_MS; logs what it hands back. */
    async sweep(at: number, c: Config, workers: readonly WorkerHeartbeat[]): Promise<void> {
      if (at - lastAt < LOST_JOB_SWEEP_MS) return;
      lastAt = at;
      // sweeps stopped a while (Redis away, a long tick): what went missing before is not known to
      // have stayed missing, so the watch starts again
      if (at - lastOkAt > 3 * LOST_JOB_SWEEP_MS) for (const lane of LANES) missing[lane].clear();
      // the server's clients are read beside the active jobs, not before them
      const [names, active] = await Promise.all([
        connections(),
        Promise.all(LANES.map((lane) => readActive(queues[lane]))),
      ]);
      const gone = goneWorkers(names, workers, redis.options.connectionName);
      await Promise.all(LANES.map((lane, i) => sweepLane(lane, active[i]!, at, c, workers, gone)));
      lastOkAt = at;
    },
    /** A producer that loses the lead forgets what it saw: a new lead watches afresh. */
    reset(): void {
      lastAt = -Infinity;
      lastOkAt = -Infinity;
      for (const lane of LANES) {
        missing[lane].clear();
        handled[lane].clear();
      }
    },
  };
}

function parseJob(json: string): BatchJob | null {
  try {
    const job = batchJobSchema.safeParse(JSON.parse(json));
    return job.success ? job.data : null;
  } catch {
    return null;
  }
}
