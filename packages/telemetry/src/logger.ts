import { pino, type Logger, type LevelWithSilent } from "pino";

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
