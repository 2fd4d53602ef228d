import { z } from "zod";
import { laneSchema } from "./lanes.js";
import { loadLevelSchema } from "./load-level.js";
import { fleetCpuSchema } from "./heartbeat.js";

/**
 * One decision of a worker's controller for one lane, with what it decided on: kept in a bounded
 * Redis stream and served at GET /controller/decisions, so an operator can see why a worker holds
 * the slots and the timeout it holds. A decision is recorded when its outcome or its rule differs
 * from the lane's previous one (a run of identical holds is one entry).
 */
export const controllerDecisionSchema = z.object({
  at: z.number(),
  worker: z.string(),
  lane: laneSchema,
  level: loadLevelSchema,
  concurrency: z.object({
    from: z.number(),
    to: z.number(),
    rule: z.string(),
    /** The one slot's duty before and after, when either was below 1 (a lane yielding below one slot). */
    dutyFrom: z.number().optional(),
    duty: z.number().optional(),
  }),
  timeout: z.object({ fromMs: z.number(), toMs: z.number(), rule: z.string() }),
  /** The readings the level came from. */
  readings: z.object({
    cpuPercent: z.number(),
    memoryPercent: z.number(),
    processCpuPercent: z.number(),
    eventLoopP99Ms: z.number(),
  }),
  /** Whose CPU the host's was (absent in entries older than the co-tenant rule). */
  cpu: fleetCpuSchema.optional(),
  /** The lane's queue and upstream signals of the tick. */
  signals: z.object({
    waiting: z.number(),
    active: z.number(),
    calls: z.number(),
    timeouts: z.number(),
    errors: z.number(),
    rateLimited: z.number(),
    budgetWaits: z.number(),
    latencyP50Ms: z.number().nullable(),
    latencyP95Ms: z.number().nullable(),
    baselineLatencyMs: z.number().nullable(),
    /**
     * Calls found waiting for one of the process's upstream connections, per connection (absent in
     * entries older than the connection rules; null without calls).
     */
    connectionQueue: z.number().nullable().optional(),
  }),
});
export type ControllerDecision = z.infer<typeof controllerDecisionSchema>;

/** The decisions stream keeps about this many entries (XADD MAXLEN ~). */
export const CONTROLLER_DECISIONS_MAXLEN = 5_000;

/** The decision in `raw` (JSON), or null when it does not parse. */
export function parseControllerDecision(raw: string): ControllerDecision | null {
  try {
    const r = controllerDecisionSchema.safeParse(JSON.parse(raw));
    return r.success ? r.data : null;
  } catch {
    return null;
  }
}
