import { Router } from "express";
import type { Redis } from "@moonfleet/queues";

/** `/livez`: the process answers. `/readyz`: Redis answers and we are not stopping. */
export function probesRouter(redis: Redis, stopping: () => boolean) {
  const r = Router();
  r.get("/livez", (_req, res) => void res.json({ status: "ok" }));
  r.get("/readyz", async (_req, res) => {
    if (stopping()) return void res.status(503).json({ status: "stopping" });
    try {
      await Promise.race([
        redis.ping(),
        new Promise((_, reject) =>
          setTimeout(() => reject(new Error("redis ping timed out")), 1_000).unref(),
        ),
      ]);
      res.json({ status: "ready" });
    } catch (err) {
      res
        .status(503)
        .json({ status: "unavailable", reason: err instanceof Error ? err.message : "redis unavailable" });
    }
  });
  return r;
}
