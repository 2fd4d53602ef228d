import express from "express";
import type { LiveConfig } from "@moonfleet/config";
import type { Redis } from "@moonfleet/queues";
import type { TokenStore } from "@moonfleet/store";
import type { Logger } from "@moonfleet/telemetry";
import { requireAdmin } from "./admin-auth.js";
import { errorHandler, notFound } from "./http-errors.js";
import { configRouter } from "./config-routes.js";
import { probesRouter } from "./probes.js";
import { tokensRouter } from "./tokens-routes.js";

export interface ApiDeps {
  readonly live: LiveConfig;
  readonly redis: Redis;
  readonly store: TokenStore;
  readonly logger: Logger;
  readonly stopping?: () => boolean;
  readonly now?: () => number;
}

export function createApiApp(deps: ApiDeps): express.Express {
  const app = express();
  app.disable("x-powered-by");
  app.set("query parser", "simple");
  const admin = requireAdmin(deps.live.config.adminToken);
  app.use(probesRouter(deps.redis, deps.stopping ?? (() => false)));
  app.use(
    tokensRouter({ store: deps.store, admin, logger: deps.logger, ...(deps.now ? { now: deps.now } : {}) }),
  );
  app.use(configRouter({ live: deps.live, redis: deps.redis, admin, logger: deps.logger }));
  app.use(notFound);
  app.use(
    errorHandler((err) =>
      deps.logger.error({ err: err instanceof Error ? err.message : String(err) }, "request failed"),
    ),
  );
  return app;
}
