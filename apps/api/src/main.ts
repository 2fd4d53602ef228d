import { once } from "node:events";
import { loadConfigOrExit } from "@moonfleet/config";
import { createRedis } from "@moonfleet/queues";
import { onShutdown } from "@moonfleet/runtime";
import { TokenStore } from "@moonfleet/store";
import { EVENTS, createLogger, safeUrl } from "@moonfleet/telemetry";
import { createApiApp } from "./app.js";

const config = loadConfigOrExit("api");
const logger = createLogger("api", config.logLevel);
const redisUrl = config.redisUrl ?? "redis://127.0.0.1:6379";
const redis = createRedis(redisUrl, { name: "api" });
const store = new TokenStore(redis, config.redisKeyPrefix);

let stopping = false;
const app = createApiApp({ config, redis, store, logger, stopping: () => stopping });
const server = app.listen(config.apiPort, config.apiHost);
await once(server, "listening");
if (!config.adminToken) logger.warn("ADMIN_TOKEN is not set: admin endpoints refuse every request");
logger.info({ event: EVENTS.startup, port: config.apiPort, redis: safeUrl(redisUrl) }, "api listening");

onShutdown({
  timeoutMs: config.shutdownTimeoutMs,
  stop: async () => {
    stopping = true;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
    });
    await redis.quit().catch(() => undefined);
  },
  log: (msg, fields) => logger.info({ event: EVENTS.shutdown, ...fields }, msg),
});
