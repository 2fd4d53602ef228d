import { detectMachine } from "@moonfleet/adaptive";
import { resolveConfigOrExit } from "@moonfleet/config";
import { runUntilShutdown } from "@moonfleet/runtime";
import { EVENTS, createLogger, safeUrl } from "@moonfleet/telemetry";
import { createProducer } from "./producer.js";

const resolved = resolveConfigOrExit("producer", process.env, { machine: await detectMachine() });
const { config } = resolved;
const logger = createLogger("producer", config.logLevel);
const redisUrl = config.redisUrl ?? "redis://127.0.0.1:6379";

const producer = createProducer({ resolved, redisUrl, logger });
runUntilShutdown(producer, {
  timeoutMs: config.shutdownTimeoutMs,
  log: (msg, fields) => logger.info({ event: EVENTS.shutdown, ...fields }, msg),
});
logger.info(
  { event: EVENTS.startup, redis: safeUrl(redisUrl), tickMs: config.producerTickMs },
  "producer started",
);
