import express from "express";
import type { LiveConfig } from "@moonfleet/config";
import { redisKeys } from "@moonfleet/domain";
import type { Redis } from "@moonfleet/queues";
import { runLoop } from "@moonfleet/runtime";
import type { TokenStore } from "@moonfleet/store";
import type { Logger } from "@moonfleet/telemetry";
import { requireAdmin, requireAdminLogin } from "./admin-auth.js";
import { budgetRouter } from "./budget-routes.js";
import { createBullBoardRouter } from "./bull-board.js";
import { eventsRouter } from "./events-routes.js";
import { exportsRouter } from "./exports-routes.js";
import { errorHandler, notFound } from "./http-errors.js";
import { configRouter } from "./config-routes.js";
import { controllerRouter } from "./controller-routes.js";
import { dashboardRouter } from "./dashboard-route.js";
import { openFleetParts } from "./fleet-parts.js";
import { docsRouter } from "./docs-route.js";
import { HealthMonitor } from "./health-monitor.js";
import { healthRouter } from "./health-routes.js";
import { historyRouter } from "./history-routes.js";
import { HISTORY_STEP_MS, sampleFleet } from "./history-sampler.js";
import { jsonNumbers } from "./json-numbers.js";
import { metricsRouter } from "./metrics-route.js";
import { probesRouter } from "./probes.js";
import { redisErrors, requireRedis, watchRedis } from "./redis-guard.js";
import { securityHeaders } from "./security-headers.js";
import { tokensRouter } from "./tokens-routes.js";

export interface ApiDeps {
  readonly live: LiveConfig;
  readonly redis: Redis;
  readonly store: TokenStore;
  readonly logger: Logger;
  readonly stopping?: () => boolean;
  readonly now?: () => number;
  /** Aborted when the process stops: GET /events streams end so the server can close. */
  readonly signal?: AbortSignal;
  /** GET /events heartbeat interval (tests shorten it); HEARTBEAT_MS by default. */
  readonly eventsHeartbeatMs?: number;
  /** Receives the close() of what the app opens (Bull Board's queues), for the owner's shutdown. */
  readonly onClose?: (close: () => Promise<void>) => void;
}

export function createApiApp(deps: ApiDeps): express.Express {
  const app = express();
  app.disable("x-powered-by");
  app.set("query parser", "simple");
  // Numbers without float noise in every JSON answer (0.0715, not 0.07150000000000001).
  app.set("json replacer", jsonNumbers);
  const admin = requireAdmin(deps.live.config.adminToken);
  app.use(securityHeaders);
  // Redis away: a quick 503 on the routes that need it, instead of a 500 after ioredis's retries.
  const link = watchRedis(deps.redis);
  const probeKey = redisKeys(deps.live.config.redisKeyPrefix).readyzProbe;
  app.use(probesRouter(deps.redis, deps.stopping ?? (() => false), link, probeKey));
  app.use(
    [
      "/tokens",
      "/config",
      "/metrics",
      "/health/scheduler",
      "/health/system",
      "/exports",
      "/events",
      "/controller",
      "/fleet/history",
    ],
    requireRedis(link),
  );
  app.use(
    exportsRouter({
      redis: deps.redis,
      config: () => deps.live.config,
      ...(deps.now ? { now: deps.now } : {}),
    }),
  );
  app.use(
    eventsRouter({
      redis: deps.redis,
      prefix: deps.live.config.redisKeyPrefix,
      maxStreams: () => deps.live.config.eventsMaxStreams,
      ...(deps.eventsHeartbeatMs ? { heartbeatMs: deps.eventsHeartbeatMs } : {}),
      ...(deps.onClose ? { onClose: deps.onClose } : {}),
      ...(deps.signal ? { signal: deps.signal } : {}),
    }),
  );
  const parts = openFleetParts(deps.redis, deps.live);
  deps.onClose?.(() => parts.close());
  app.use(
    tokensRouter({
      store: deps.store,
      admin,
      logger: deps.logger,
      redis: deps.redis,
      queues: parts.queues,
      ...(deps.now ? { now: deps.now } : {}),
    }),
  );
  app.use(configRouter({ live: deps.live, redis: deps.redis, admin, logger: deps.logger }));
  const fleet = {
    store: deps.store,
    queues: parts.queues,
    budget: parts.budget,
    redis: deps.redis,
    config: () => deps.live.config,
    ...(deps.now ? { now: deps.now } : {}),
  };
  // The one health model: every route that shows a status shows this monitor's answer.
  const health = new HealthMonitor(fleet);
  deps.onClose?.(() => Promise.resolve(health.close()));
  app.use(
    healthRouter({
      ...fleet,
      sampler: parts.sampler,
      stopping: deps.stopping ?? (() => false),
      link,
      health,
    }),
  );
  app.use(metricsRouter({ ...fleet, health }));
  app.use(controllerRouter({ redis: deps.redis, prefix: deps.live.config.redisKeyPrefix }));
  app.use(budgetRouter({ ...fleet, admin, logger: deps.logger }));
  app.use(historyRouter(fleet));
  // The charts' history: every replica samples, the first writer of each 10 s slot keeps it.
  if (deps.signal) {
    const sampling = runLoop(
      async () =>
        void (await sampleFleet(fleet).catch((err: unknown) =>
          deps.logger.warn(
            { err: err instanceof Error ? err.message : String(err) },
            "fleet history sample failed",
          ),
        )),
      { intervalMs: HISTORY_STEP_MS, signal: deps.signal },
    );
    deps.onClose?.(() => sampling);
  }
  app.use(dashboardRouter());
  app.use(docsRouter());
  const { config } = deps.live;
  const board = createBullBoardRouter({
    queues: parts.queues,
    basePath: "/admin/queues",
    readOnly: config.bullBoardReadOnly,
    guard: requireAdminLogin(config.adminToken, config.adminUser),
  });
  app.use("/admin/queues", board.router);
  app.use(notFound);
  app.use(redisErrors);
  app.use(
    errorHandler((err) =>
      deps.logger.error({ err: err instanceof Error ? err.message : String(err) }, "request failed"),
    ),
  );
  return app;
}
