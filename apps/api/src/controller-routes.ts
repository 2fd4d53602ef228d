import { laneSchema } from "@moonfleet/domain";
import { Router } from "express";
import { z } from "zod";
import type { Redis } from "@moonfleet/queues";
import { readControllerDecisions } from "@moonfleet/store";
import { badRequest } from "./http-errors.js";

export const decisionsQuerySchema = z.strictObject({
  worker: z.string().min(1).max(200).optional(),
  lane: laneSchema.optional(),
  limit: z.coerce.number().int().min(1).max(1_000).default(100),
});

/** GET /controller/decisions: why each worker holds the slots and timeouts it holds, newest first. */
export function controllerRouter(deps: { redis: Redis; prefix: string }) {
  const r = Router();
  r.get("/controller/decisions", async (req, res) => {
    const q = decisionsQuerySchema.safeParse(req.query);
    if (!q.success) return badRequest(res, "invalid query", q.error.issues);
    const decisions = await readControllerDecisions(deps.redis, deps.prefix, q.data);
    res.json({ decisions });
  });
  return r;
}
