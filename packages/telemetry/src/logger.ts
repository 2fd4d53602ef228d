import { pino, type Logger, type LevelWithSilent } from "pino";
import { EVENTS } from "./events.js";

export type { Logger };

/** Keys whose values never reach a log line. */
export const REDACT_PATHS = [
  "adminToken",
  "*.adminToken",
  "authorization",
  "*.authorization",
  "req.headers.authorization",
  "headers.authorization",
  "redisUrl",
  "*.redisUrl",
  "upstreamUrl",
  "*.upstreamUrl",
  "password",
  "*.password",
];

export function createLogger(app: string, level: LevelWithSilent = "info"): Logger {
  return pino({
    level,
    base: { app, pid: process.pid },
    redact: { paths: REDACT_PATHS, censor: "[redacted]" },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  });
}

/** Query parameters that carry credentials (PumpPortal's `api-key`, tokens, passwords). */
const SECRET_PARAM = /key|token|secret|pass/i;

/** A URL safe to log or print: the password of a Redis or upstream URL and credential parameters are replaced. */
export function safeUrl(raw: string): string {
  try {
    const u = new URL(raw);
    if (u.password) u.password = "redacted";
    for (const name of [...u.searchParams.keys()])
      if (SECRET_PARAM.test(name)) u.searchParams.set(name, "redacted");
    return u.toString();
  } catch {
    return "[invalid url]";
  }
}

/**
 * What a connection tells its logger about Redis: `redis_unavailable` (warn) with the Redis it tried
 * (password redacted), the error, and how many errors were held back since the last line; and one
 * line when it is reachable again. Spread into createRedis's options.
 */
export function redisLogging(logger: Logger, url: string, connection: string) {
  const redis = safeUrl(url);
  return {
    onUnavailable: (e: { readonly error: string; readonly suppressed: number }) =>
      logger.warn(
        { event: EVENTS.redisUnavailable, redis, connection, err: e.error, suppressed: e.suppressed },
        "redis unavailable: retrying",
      ),
    onRecovered: () =>
      logger.info(
        { event: EVENTS.redisUnavailable, redis, connection, recovered: true },
        "redis reachable again",
      ),
  };
}
