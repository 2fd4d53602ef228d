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

/** A URL safe to log or print: the password of a Redis or upstream URL is replaced. */
export function safeUrl(raw: string): string {
  try {
    const u = new URL(raw);
    if (u.password) u.password = "redacted";
    return u.toString();
  } catch {
    return "[invalid url]";
  }
}
