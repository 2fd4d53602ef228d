export { createLogger, safeUrl, redisLogging, REDACT_PATHS, type Logger } from "./logger.js";
export { EVENTS, type EventName } from "./events.js";
export { LogThrottle } from "./log-throttle.js";
export { createWorkerMetrics, BREAKER_CODES, LEVEL_CODES, type WorkerMetrics } from "./worker-metrics.js";
