import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { hostname } from "node:os";
import { LiveConfig, resolveConfigOrExit } from "@moonfleet/config";
import { createRedis } from "@moonfleet/queues";
import { onShutdown, runLoop } from "@moonfleet/runtime";
import { TokenStore } from "@moonfleet/store";
import { EVENTS, createLogger, redisLogging, safeUrl } from "@moonfleet/telemetry";
import { createApiApp } from "./app.js";
import { createExporter } from "./exporter.js";
import { createApiServer } from "./server-limits.js";

const resolved = resolveConfigOrExit("api");
const { config } = resolved;
const logger = createLogger("api", config.logLevel);
const redisUrl = config.redisUrl ?? "redis://127.0.0.1:6379";
const redis = createRedis(redisUrl, { name: "api", ...redisLogging(logger, redisUrl, "api") });
const store = new TokenStore(redis, config.redisKeyPrefix);
const live = new LiveConfig(resolved, { redis, prefix: config.redisKeyPrefix }, (err) =>
  logger.warn({ event: EVENTS.configChange, err: String(err) }, "runtime config not applied"),
);
await live.start();
const background = new AbortController();
const refreshing = runLoop(async () => void (await live.refresh()), {
  intervalMs: 1_000,
  signal: background.signal,
});
// One exporter per fleet: every api replica runs the loop, the one holding the lock does the work.
const exporter = createExporter({
  redis,
  config: () => live.config,
  logger,
  id: `api:${hostname()}:${process.pid}:${randomBytes(3).toString("hex")}`,
});
const exporting = exporter.run(background.signal);

let stopping = false;
const closers: Array<() => Promise<void>> = [];
const app = createApiApp({
  live,
  redis,
  store,
  logger,
  stopping: () => stopping,
  signal: background.signal,
  onClose: (c) => closers.push(c),
});
const server = createApiServer(app, { maxConnections: config.apiMaxConnections, logger });
server.listen(config.apiPort, config.apiHost);
await once(server, "listening");
if (!config.adminToken) logger.warn("ADMIN_TOKEN is not set: admin endpoints refuse every request");
logger.info(
  { event: EVENTS.startup, port: config.apiPort, redis: safeUrl(redisUrl), profile: resolved.profile },
  "api listening",
);

onShutdown({
  timeoutMs: config.shutdownTimeoutMs,
  stop: async () => {
    stopping = true;
    background.abort();
    await refreshing;
    await exporting;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
    });
    await Promise.all(closers.map((close) => close().catch(() => undefined)));
    await live.stop();
    await redis.quit().catch(() => undefined);
  },
  log: (msg, fields) => logger.info({ event: EVENTS.shutdown, ...fields }, msg),
});
