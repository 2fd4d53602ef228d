export { createLogger, safeUrl, REDACT_PATHS, type Logger } from "./logger.js";
export { EVENTS, type EventName } from "./events.js";
