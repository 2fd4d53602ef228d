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
}

/** One Redis connection, reconnecting with capped backoff. */
export function createRedis(url: string, opts: ConnectionOptions): Redis {
  const options: RedisOptions = {
    connectionName: `moonfleet:${opts.name}`,
    maxRetriesPerRequest: opts.blocking ? null : 2,
    enableOfflineQueue: true,
    retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 5), 2_000),
    lazyConnect: false,
  };
  const redis = new Redis(url, options);
  // Errors surface through commands and the reconnect loop; without a listener ioredis would print them.
  redis.on("error", () => undefined);
  return redis;
}
