import { z } from "zod";
import { laneSchema, tokenStatusSchema } from "@moonfleet/domain";

/** A pool as the exports read it from a snapshot's metrics. */
export const exportPoolSchema = z.object({
  address: z.string(),
  dexId: z.string(),
  poolType: z.string(),
  quote: z.string(),
  liquidityUsd: z.number(),
});
export type ExportPool = z.infer<typeof exportPoolSchema>;

/**
 * The part of a stored snapshot the exports need. Snapshots written before pools were stored have
 * none: such a token has no route until its next refresh.
 */
export const exportCandidateSchema = z.object({
  mint: z.string(),
  name: z.string().nullable().catch(null),
  symbol: z.string().nullable().catch(null),
  status: tokenStatusSchema,
  lane: laneSchema.nullable(),
  fetchedAt: z.number(),
  smoothedScore: z.number(),
  band: z.string(),
  metrics: z.object({ pools: z.array(exportPoolSchema).catch([]).default([]) }).catch({ pools: [] }),
});
export type ExportCandidate = z.infer<typeof exportCandidateSchema>;

/** Parses a snapshot's JSON; null when it is missing or not a snapshot (never throws). */
export function parseCandidate(raw: string | null | undefined): ExportCandidate | null {
  if (!raw) return null;
  try {
    const parsed = exportCandidateSchema.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
