import { loadConfigOrExit } from "@moonfleet/config";
import { onShutdown } from "@moonfleet/runtime";
import { EVENTS, createLogger } from "@moonfleet/telemetry";
import { createSimulator } from "./server.js";

const config = loadConfigOrExit("simulator");
const logger = createLogger("simulator", config.logLevel);
const sim = createSimulator({
  settings: {
    latencyMs: config.simulatorLatencyMs,
    jitterMs: config.simulatorJitterMs,
    errorRate: config.simulatorErrorRate,
    rateLimitRpm: config.simulatorRateLimitRpm,
    migrationsPerMinute: config.simulatorMigrationsPerMinute,
  },
});
const { url } = await sim.listen(config.simulatorPort, "0.0.0.0");
logger.info({ event: EVENTS.startup, url, settings: sim.settings.get() }, "DexScreener simulator listening");
onShutdown({
  timeoutMs: config.shutdownTimeoutMs,
  stop: () => sim.close(),
  log: (msg, fields) => logger.info({ event: EVENTS.shutdown, ...fields }, msg),
});
