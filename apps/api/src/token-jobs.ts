import type { Queue } from "bullmq";
import { batchJobSchema } from "@moonfleet/queues";

/** Where Bull Board is mounted (app.ts), for links into a job's page. */
export const BULL_BOARD_PATH = "/admin/queues";

/** Jobs read per state and queue when looking for a mint: BullMQ keeps ~500 completed per queue. */
const JOBS_PER_STATE = 500;
const STATES = ["active", "waiting", "prioritized", "delayed", "completed", "failed"] as const;

export interface MintJob {
  readonly queue: string;
  readonly id: string;
  readonly name: string;
  readonly state: (typeof STATES)[number];
  readonly mints: number;
  readonly enqueuedAt: string | null;
  readonly finishedAt: string | null;
  /** The job's page in Bull Board. */
  readonly url: string;
}

const iso = (ms: number | undefined) => (ms ? new Date(ms).toISOString() : null);

/**
 * The kept jobs whose batch carries `mint`, newest first: how the token page finds the job that
 * last refreshed a token. Reads at most JOBS_PER_STATE jobs per state and queue.
 */
export async function jobsOfMint(queues: readonly Queue[], mint: string): Promise<MintJob[]> {
  const found: Array<MintJob & { at: number }> = [];
  for (const queue of queues)
    for (const state of STATES) {
      const jobs = await queue.getJobs([state], 0, JOBS_PER_STATE - 1);
      for (const job of jobs) {
        const data = batchJobSchema.safeParse(job?.data);
        if (!job?.id || !data.success || !data.data.mints.includes(mint)) continue;
        found.push({
          queue: queue.name,
          id: job.id,
          name: job.name,
          state,
          mints: data.data.mints.length,
          enqueuedAt: iso(job.timestamp),
          finishedAt: iso(job.finishedOn),
          url: `${BULL_BOARD_PATH}/queue/${encodeURIComponent(queue.name)}/${encodeURIComponent(job.id)}`,
          at: job.finishedOn ?? job.processedOn ?? job.timestamp,
        });
      }
    }
  return found.sort((a, b) => b.at - a.at).map(({ at: _at, ...job }) => job);
}
