import { resolveConfigOrExit } from "@moonfleet/config";
import { onShutdown, runUntilShutdown } from "@moonfleet/runtime";
import { EVENTS, createLogger, safeUrl } from "@moonfleet/telemetry";
import { PUMPPORTAL_URL, createDiscovery } from "./discovery.js";

const { config } = resolveConfigOrExit("discovery", process.env);
const logger = createLogger("discovery", config.logLevel);
const redisUrl = config.redisUrl ?? "redis://127.0.0.1:6379";
const url = config.discoveryUrl ?? PUMPPORTAL_URL;

if (url === "off") {
  // Idle until stopped, so a supervisor or compose does not restart a process that is off on purpose.
  const idle = setInterval(() => undefined, 3_600_000);
  logger.info({ event: EVENTS.startup, discovery: "off" }, "discovery is off (DISCOVERY_URL=off)");
  onShutdown({
    timeoutMs: config.shutdownTimeoutMs,
    stop: () => Promise.resolve(clearInterval(idle)),
    log: (msg, fields) => logger.info({ event: EVENTS.shutdown, ...fields }, msg),
  });
} else {
  const discovery = createDiscovery({
    redisUrl,
    prefix: config.redisKeyPrefix,
    url,
    apiKey: config.discoveryApiKey,
    pingMs: config.discoveryPingMs,
    logger,
  });
  runUntilShutdown(discovery, {
    timeoutMs: config.shutdownTimeoutMs,
    log: (msg, fields) => logger.info({ event: EVENTS.shutdown, ...fields }, msg),
  });
  logger.info({ event: EVENTS.startup, redis: safeUrl(redisUrl), stream: safeUrl(url) }, "discovery started");
}
