import { detectMachine } from "@moonfleet/adaptive";
import { resolveConfigOrExit } from "@moonfleet/config";
import { onShutdown } from "@moonfleet/runtime";
import { EVENTS, createLogger, safeUrl } from "@moonfleet/telemetry";
import { startWorkerProcess } from "./worker-process.js";

const resolved = resolveConfigOrExit("worker", process.env, { machine: await detectMachine() });
const { config } = resolved;
const logger = createLogger("worker", config.logLevel);
const redisUrl = config.redisUrl ?? "redis://127.0.0.1:6379";
const upstreamUrl = config.upstreamUrl ?? `http://127.0.0.1:${config.simulatorPort}`;

const fleet = startWorkerProcess({ resolved, redisUrl, upstreamUrl, logger });
logger.info(
  {
    event: EVENTS.startup,
    id: fleet.id,
    redis: safeUrl(redisUrl),
    upstream: safeUrl(upstreamUrl),
    optimized: config.enableSchedulerOptimization,
    profile: resolved.profile,
    cpus: resolved.machine.cpus,
    maxConcurrent: { hot: config.maxConcurrentHot, cold: config.maxConcurrentCold },
  },
  "worker started",
);
onShutdown({
  timeoutMs: config.shutdownTimeoutMs,
  stop: () => fleet.stop(config.shutdownTimeoutMs),
  log: (msg, fields) => logger.info({ event: EVENTS.shutdown, ...fields }, msg),
});
