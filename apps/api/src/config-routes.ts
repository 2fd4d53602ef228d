import express, { Router, type RequestHandler } from "express";
import {
  ConfigConflictError,
  ConfigError,
  SETTINGS,
  camelCase,
  clearOptimizationOverrides,
  updateOptimizationConfig,
  type LiveConfig,
  type ResolvedConfig,
} from "@moonfleet/config";
import type { Redis } from "@moonfleet/queues";
import { EVENTS, safeUrl, type Logger } from "@moonfleet/telemetry";

const HIDDEN = new Set(["adminToken", "discoveryApiKey"]);
const URLS = new Set(["redisUrl", "upstreamUrl", "discoveryUrl"]);

/** Every effective value with its source; secrets hidden, credentials cut from URLs. */
export function describeConfig(r: ResolvedConfig) {
  const values: Record<string, { env: string; value: unknown; source: string; runtime: boolean }> = {};
  for (const s of SETTINGS) {
    const key = camelCase(s.env) as keyof typeof r.config;
    const raw = r.config[key];
    const value = HIDDEN.has(key)
      ? raw === undefined
        ? null
        : "(set)"
      : URLS.has(key) && typeof raw === "string"
        ? safeUrl(raw)
        : (raw ?? null);
    values[key] = { env: s.env, value, source: r.sources[key], runtime: s.runtime };
  }
  return {
    profile: r.profile,
    machine: { cpus: r.machine.cpus, memoryGiB: Math.round((r.machine.memoryBytes / 1024 ** 3) * 10) / 10 },
    values,
  };
}

/** GET /config; PATCH /config and DELETE /config/overrides (admin) change the whole fleet live. */
export function configRouter(deps: {
  live: LiveConfig;
  redis: Redis;
  admin: RequestHandler;
  logger: Logger;
}) {
  const { live, redis } = deps;
  const prefix = live.base.config.redisKeyPrefix;
  const r = Router();
  const json = express.json({ limit: "16kb", strict: true });

  r.get("/config", (_req, res) => void res.json(describeConfig(live.current)));

  r.patch("/config", deps.admin, json, async (req, res) => {
    try {
      await updateOptimizationConfig(req.body, { redis, prefix, base: live.base });
    } catch (err) {
      if (err instanceof ConfigConflictError) return void res.status(409).json({ error: err.message });
      if (!(err instanceof ConfigError)) throw err;
      return void res.status(400).json({
        error: "invalid config change: nothing was changed",
        issues: err.problems.map((message) => ({ message })),
      });
    }
    await live.refresh(true);
    deps.logger.info(
      { event: EVENTS.configChange, keys: Object.keys(req.body as object) },
      "runtime config changed",
    );
    res.json(describeConfig(live.current));
  });

  r.delete("/config/overrides", deps.admin, async (_req, res) => {
    await clearOptimizationOverrides({ redis, prefix });
    await live.refresh(true);
    deps.logger.info({ event: EVENTS.configChange, cleared: true }, "runtime overrides cleared");
    res.json(describeConfig(live.current));
  });
  return r;
}
