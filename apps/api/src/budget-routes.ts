import { LANES, type Lane } from "@moonfleet/domain";
import { Router, type RequestHandler } from "express";
import type { Config } from "@moonfleet/config";
import { type Redis } from "@moonfleet/queues";
import { EVENTS, type Logger } from "@moonfleet/telemetry";
import { RateBudget } from "@moonfleet/upstream";

export interface BudgetRouteDeps {
  readonly redis: Redis;
  /** The fleet's budget (the api only reads it, and clears its pause on request). */
  readonly budget: RateBudget;
  /** The lanes' queues: a 429 also holds them through BullMQ's rate limit. */
  readonly queues: Readonly<Record<Lane, { removeRateLimitKey(): Promise<number> }>>;
  readonly config: () => Config;
  readonly admin: RequestHandler;
  readonly logger: Logger;
}

/**
 * GET /admin/budget shows the fleet's upstream budget (pause, penalty, use, the fallback share);
 * DELETE /admin/budget/pause ends a pause and its slower rate at once: the operator's way out of
 * a pause the upstream imposed, instead of a hand-typed `redis-cli hdel`.
 */
export function budgetRouter(deps: BudgetRouteDeps): Router {
  const { budget, config } = deps;
  const fallback = RateBudget.forFallbacks(deps.redis, config().redisKeyPrefix, config);
  const r = Router();

  async function describe() {
    const c = config();
    const [main, fb] = await Promise.all([budget.use(), fallback.use()]);
    return {
      key: budget.key,
      rpm: c.upstreamRpm,
      pausedForMs: main.pausedForMs,
      maxPauseMs: c.upstreamMaxPauseMs,
      penaltyAt: main.penaltyAt,
      penaltyFactor: c.upstreamPenaltyFactor,
      penaltyMs: c.upstreamPenaltyMs,
      usedThisMinute: main.thisMinute,
      usedLastMinute: main.lastMinute,
      fallback: {
        key: fallback.key,
        share: c.upstreamFallbackShare,
        rpm: Math.floor(c.upstreamRpm * c.upstreamFallbackShare),
        usedThisMinute: fb.thisMinute,
        usedLastMinute: fb.lastMinute,
      },
    };
  }

  r.get("/admin/budget", deps.admin, async (_req, res) => {
    res.json(await describe());
  });

  r.delete("/admin/budget/pause", deps.admin, async (_req, res) => {
    const cleared = await budget.clearPause();
    // The jobs that met the 429 hold their queues through BullMQ's rate limit: lift it too.
    const limits = await Promise.all(LANES.map((l) => deps.queues[l].removeRateLimitKey()));
    const queueLimitsCleared = limits.reduce((a, b) => a + b, 0);
    deps.logger.warn(
      { event: EVENTS.apiCall, ...cleared, queueLimitsCleared },
      "upstream budget pause cleared by an admin",
    );
    res.json({ cleared: { ...cleared, queueLimitsCleared }, budget: await describe() });
  });
  return r;
}
