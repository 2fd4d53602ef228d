import { CONNECTION_NAME_PREFIX } from "@moonfleet/domain";
import { Redis, type RedisOptions } from "ioredis";

export type { Redis };

export interface ConnectionOptions {
  /** The name the connection shows in CLIENT LIST. */
  readonly name: string;
  /**
   * Blocking users (BullMQ workers) must wait for Redis forever rather than fail a command;
   * request/response users (the api) fail fast so a request can answer 503.
   */
  readonly blocking?: boolean;
  /**
   * Told when Redis cannot be reached: at the first connection error, then at most every
   * UNAVAILABLE_REPORT_MS while it lasts (with how many errors were held back), so a wrong REDIS_URL
   * or a Redis that went away is said in the logs, and said once, not 10 times a second.
   */
  readonly onUnavailable?: (e: { readonly error: string; readonly suppressed: number }) => void;
  /** Told when the connection is ready again after onUnavailable. */
  readonly onRecovered?: () => void;
}

/** The longest wait between two attempts to reconnect, ms. */
export const RECONNECT_MAX_DELAY_MS = 2_000;

/** How often a lasting Redis outage is reported again. */
export const UNAVAILABLE_REPORT_MS = 30_000;

/** One Redis connection, reconnecting with capped backoff. */
export function createRedis(url: string, opts: ConnectionOptions): Redis {
  const options: RedisOptions = {
    connectionName: `${CONNECTION_NAME_PREFIX}${opts.name}`,
    maxRetriesPerRequest: opts.blocking ? null : 2,
    enableOfflineQueue: true,
    retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 5), RECONNECT_MAX_DELAY_MS),
    lazyConnect: false,
  };
  const redis = new Redis(url, options);
  // Errors surface through commands and the reconnect loop; without a listener ioredis would print
  // them. The owner hears of an outage once, then every UNAVAILABLE_REPORT_MS while it lasts.
  let down = false;
  let reportedAt = -Infinity;
  let suppressed = 0;
  redis.on("error", (err: Error) => {
    const now = Date.now();
    if (!down || now - reportedAt >= UNAVAILABLE_REPORT_MS) {
      opts.onUnavailable?.({ error: err.message, suppressed });
      reportedAt = now;
      suppressed = 0;
    } else suppressed++;
    down = true;
  });
  redis.on("ready", () => {
    if (!down) return;
    down = false;
    opts.onRecovered?.();
  });
  return redis;
}
