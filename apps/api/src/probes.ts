import { Router } from "express";
import type { Redis } from "@moonfleet/queues";
import { isRedisOutOfMemory, withDeadline, type RedisLink } from "./redis-guard.js";

const PROBE_DEADLINE_MS = 1_000;

/**
 * `/livez`: the process answers. `/readyz`: Redis answers, takes writes, and we are not stopping.
 * Writes are probed with `SET <probeKey> 1 XX` on a key that never exists: Redis refuses it when
 * it is out of memory (SET is a "denyoom" command) and otherwise writes nothing.
 */
export function probesRouter(redis: Redis, stopping: () => boolean, link: RedisLink, probeKey: string) {
  const r = Router();
  r.get("/livez", (_req, res) => void res.json({ status: "ok" }));
  r.get("/readyz", async (_req, res) => {
    if (stopping()) return void res.status(503).json({ status: "stopping" });
    if (link.down)
      return void res.status(503).json({ status: "unavailable", reason: "redis is unavailable" });
    try {
      await withDeadline(redis.set(probeKey, "1", "XX"), PROBE_DEADLINE_MS, "redis");
      res.json({ status: "ready" });
    } catch (err) {
      const reason = isRedisOutOfMemory(err)
        ? "redis is out of memory: writes are refused"
        : err instanceof Error
          ? err.message
          : "redis unavailable";
      res.status(503).json({ status: "unavailable", reason });
    }
  });
  return r;
}
