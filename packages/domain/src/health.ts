import { z } from "zod";

/** The fleet's health, as /health/scheduler, the dashboard's pill and /metrics say it. */
export const HEALTH_STATUSES = ["ok", "degraded", "critical"] as const;
export const healthStatusSchema = z.enum(HEALTH_STATUSES);
export type HealthStatus = z.infer<typeof healthStatusSchema>;

/** The same answer in the words of the health+json draft that GET /health speaks. */
export const HEALTH_CHECK_STATUS = {
  ok: "pass",
  degraded: "warn",
  critical: "fail",
} as const satisfies Record<HealthStatus, string>;
export type HealthCheckStatus = (typeof HEALTH_CHECK_STATUS)[HealthStatus];

/** The checks of GET /health; each reason of the health model belongs to one. */
export const HEALTH_CHECKS = [
  "workers:count",
  "workers:load",
  "producer:heartbeat",
  "queues:waiting",
  "upstream:circuitBreaker",
  "upstream:rateLimit",
  "upstream:timeouts",
  "scheduler:floor",
  "tokens:hotStalenessP95",
  "tokens:coldStalenessP95",
] as const;
export type HealthCheck = (typeof HEALTH_CHECKS)[number];
