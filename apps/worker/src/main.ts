import { loadConfigOrExit } from "@moonfleet/config";
import { onShutdown } from "@moonfleet/runtime";
import { EVENTS, createLogger, safeUrl } from "@moonfleet/telemetry";
import { startWorkerProcess } from "./worker-process.js";

const config = loadConfigOrExit("worker");
const logger = createLogger("worker", config.logLevel);
const redisUrl = config.redisUrl ?? "redis://127.0.0.1:6379";
const upstreamUrl = config.upstreamUrl ?? `http://127.0.0.1:${config.simulatorPort}`;

const fleet = startWorkerProcess({ config, redisUrl, upstreamUrl, logger });
logger.info(
  {
    event: EVENTS.startup,
    redis: safeUrl(redisUrl),
    upstream: safeUrl(upstreamUrl),
    optimized: config.enableSchedulerOptimization,
  },
  "worker started",
);
onShutdown({
  timeoutMs: config.shutdownTimeoutMs,
  stop: () => fleet.stop(config.shutdownTimeoutMs),
  log: (msg, fields) => logger.info({ event: EVENTS.shutdown, ...fields }, msg),
});
