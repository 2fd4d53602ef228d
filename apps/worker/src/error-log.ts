import { runLoop } from "@moonfleet/runtime";
import { LogThrottle, type Logger } from "@moonfleet/telemetry";

/** Repeated worker, job and controller errors: one line per kind per interval, with a count. */
export const ERROR_LOG_INTERVAL_MS = 10_000;

type Held = { fields: Record<string, unknown>; msg: string; level: "warn" | "error" };

export interface ErrorLog {
  /** Logs the line unless one of the same `key` was logged this interval (then it is counted). */
  log(key: string, fields: Record<string, unknown>, msg: string, level?: Held["level"]): void;
  /** Stops the flushing loop and logs what is still held back. */
  stop(): Promise<void>;
}

/**
 * Redis at maxmemory makes every write fail many times a second: one line per kind of error per
 * interval, carrying how many like it were held back, instead of a line per failure.
 */
export function startErrorLog(logger: Logger, now: () => number): ErrorLog {
  const throttle = new LogThrottle<Held>(ERROR_LOG_INTERVAL_MS, now);
  const flush = () => {
    for (const { held, last } of throttle.drain())
      logger[last.level]({ ...last.fields, repeated: held }, `${last.msg} (repeated)`);
  };
  const stopping = new AbortController();
  const flushing = runLoop(flush, { intervalMs: ERROR_LOG_INTERVAL_MS, signal: stopping.signal });
  return {
    log(key, fields, msg, level = "error") {
      const repeated = throttle.admit(key, { fields, msg, level });
      if (repeated === null) return;
      logger[level]({ ...fields, ...(repeated > 0 ? { repeated } : {}) }, msg);
    },
    async stop() {
      stopping.abort();
      await flushing;
      flush();
    },
  };
}
