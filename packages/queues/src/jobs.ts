import { laneSchema } from "@moonfleet/domain";
import { z } from "zod";

/** One job: a batch of mints the producer claimed together. */
export const batchJobSchema = z.object({
  lane: laneSchema,
  mints: z.array(z.string().min(1)).min(1).max(1_000),
  /** When the producer claimed the batch (epoch ms). */
  claimedAt: z.number(),
  /** Its tokens' due time while the job holds them (claimedAt + LEASE_MS): a lost job's tokens are
   * handed back only while they still carry it (not fetched, not claimed again since). */
  leaseUntil: z.number().optional(),
  /**
   * When the job was to start at the latest (epoch ms): SCHEDULING=value sets its tokens' earliest
   * deadline less the claim's lead (groupDeadlines). A cold job not started by then takes the
   * request budget as hot does (takesAs), and a cold job still queued past it is late.
   */
  urgentAt: z.number().optional(),
});
export type BatchJob = z.infer<typeof batchJobSchema>;

/**
 * The tokens a job holds and the due time its claim gave them (its lease end; a job from a release
 * before leaseUntil was written: claimedAt + leaseMs), as the hand-backs match them.
 */
export function leasedTokens(job: BatchJob, leaseMs: number): Array<{ mint: string; leaseUntil: number }> {
  const leaseUntil = job.leaseUntil ?? job.claimedAt + leaseMs;
  return job.mints.map((mint) => ({ mint, leaseUntil }));
}

/** What a finished batch job returns (stored by BullMQ as the job's return value). */
export const batchResultSchema = z.object({
  scored: z.number(),
  skipped: z.number(),
  failed: z.number(),
  /** Tokens told "not now" (the request budget, a 429, an open breaker): they run again, not failed. */
  deferred: z.number(),
  durationMs: z.number(),
});
export type BatchResult = z.infer<typeof batchResultSchema>;
