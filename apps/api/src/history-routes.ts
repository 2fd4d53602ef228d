import { Router } from "express";
import { z } from "zod";
import type { Redis } from "@moonfleet/queues";
import type { Config } from "@moonfleet/config";
import { badRequest } from "./http-errors.js";
import type { RateBudget } from "@moonfleet/upstream";
import { HISTORY_STEP_MS, budgetLast60s, readSamples } from "./history-sampler.js";

/** The ranges the dashboard's picker offers. */
export const HISTORY_RANGES = { "15m": 15 * 60_000, "1h": 3_600_000, "24h": 24 * 3_600_000 } as const;
/** At most this many samples per answer: 24 h (8,640 samples) is thinned to every 12th. */
export const HISTORY_MAX_POINTS = 720;

export const historyQuerySchema = z.strictObject({
  range: z
    .enum(Object.keys(HISTORY_RANGES) as [keyof typeof HISTORY_RANGES, ...Array<keyof typeof HISTORY_RANGES>])
    .default("1h"),
});

/** Every `n`-th sample, always keeping the newest. Pure. */
export function thin<T>(samples: readonly T[], max: number): { step: number; samples: T[] } {
  const step = Math.max(1, Math.ceil(samples.length / max));
  if (step === 1) return { step, samples: [...samples] };
  const out = samples.filter((_s, i) => (samples.length - 1 - i) % step === 0);
  return { step, samples: out };
}

/** GET /fleet/history?range=15m|1h|24h: the sampler's figures from Redis, oldest first. */
export function historyRouter(deps: {
  redis: Redis;
  config: () => Config;
  budget: Pick<RateBudget, "use">;
  now?: () => number;
}) {
  const r = Router();
  r.get("/fleet/history", async (req, res) => {
    const q = historyQuerySchema.safeParse(req.query);
    if (!q.success) return badRequest(res, "invalid query", q.error.issues);
    const now = (deps.now ?? Date.now)();
    const c = deps.config();
    const budget = await budgetLast60s(deps.redis, c.redisKeyPrefix, deps.budget, c.upstreamRpm);
    const all = await readSamples(
      deps.redis,
      deps.config().redisKeyPrefix,
      now - HISTORY_RANGES[q.data.range],
      now + HISTORY_STEP_MS,
    );
    const { step, samples } = thin(all, HISTORY_MAX_POINTS);
    res.setHeader("Cache-Control", "no-store");
    res.json({ range: q.data.range, stepSeconds: (HISTORY_STEP_MS / 1000) * step, budget, samples });
  });
  return r;
}
