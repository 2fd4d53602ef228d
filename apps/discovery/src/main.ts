import { resolveConfigOrExit } from "@moonfleet/config";
import { onShutdown } from "@moonfleet/runtime";
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
  const stopping = new AbortController();
  const running = discovery.run(stopping.signal);
  logger.info({ event: EVENTS.startup, redis: safeUrl(redisUrl), stream: safeUrl(url) }, "discovery started");
  onShutdown({
    timeoutMs: config.shutdownTimeoutMs,
    stop: async () => {
      stopping.abort();
      await running;
      await discovery.close();
    },
    log: (msg, fields) => logger.info({ event: EVENTS.shutdown, ...fields }, msg),
  });
}
