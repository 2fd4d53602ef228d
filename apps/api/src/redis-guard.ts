import type { ErrorRequestHandler, RequestHandler } from "express";
import type { Redis } from "@moonfleet/queues";

/** Redis is not connected, or did not answer within a request's deadline. */
export class RedisUnavailableError extends Error {
  override readonly name = "RedisUnavailableError";
}

/** Redis refuses writes: it is at maxmemory with the noeviction policy. */
export const isRedisOutOfMemory = (err: unknown): boolean =>
  err instanceof Error && /^OOM\b/.test(err.message);

/** ioredis's ways of saying the server is not there (closed, refused, retried out, timed out). */
export function isRedisUnreachable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  return (
    err instanceof RedisUnavailableError ||
    err.name === "MaxRetriesPerRequestError" ||
    /Connection is closed|Stream isn't writeable|ECONNREFUSED|ECONNRESET|EPIPE|Command timed out/.test(
      err.message,
    )
  );
}

export interface RedisLink {
  /** True once a connection that was up is lost, until it is ready again. */
  readonly down: boolean;
}

/**
 * Follows the connection's state, so a request can be refused at once while Redis is away instead
 * of waiting out ioredis's reconnect retries. Before the first connect it is not "down": the first
 * commands wait for it as before.
 */
export function watchRedis(redis: Redis): RedisLink {
  let wasReady = redis.status === "ready";
  redis.on("ready", () => (wasReady = true));
  return {
    get down() {
      return redis.status === "end" || (wasReady && redis.status !== "ready");
    },
  };
}

/** Rejects with RedisUnavailableError when `work` has not settled within `ms`. */
export async function withDeadline<T>(work: Promise<T>, ms: number, what = "Redis"): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new RedisUnavailableError(`${what} did not answer within ${ms} ms`)), ms);
  });
  work.catch(() => undefined); // a late failure after the deadline is not an unhandled rejection
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

const UNAVAILABLE = "Redis is unavailable: try again shortly";
const OUT_OF_MEMORY = "Redis is out of memory (maxmemory reached): writes are refused until it has room";

/** For routes that need Redis: a quick 503 while the connection is down. */
export function requireRedis(link: RedisLink): RequestHandler {
  return (_req, res, next) => {
    if (!link.down) return next();
    res.status(503).set("Retry-After", "1").json({ error: UNAVAILABLE });
  };
}

/** Redis failures become a 503 with a clear error (not a 500); anything else goes on. */
export const redisErrors: ErrorRequestHandler = (err: unknown, _req, res, next) => {
  if (res.headersSent) return next(err);
  if (isRedisOutOfMemory(err))
    return void res.status(503).set("Retry-After", "5").json({ error: OUT_OF_MEMORY });
  if (isRedisUnreachable(err))
    return void res.status(503).set("Retry-After", "1").json({ error: UNAVAILABLE });
  next(err);
};
