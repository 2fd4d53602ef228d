import { createHash } from "node:crypto";
import { Router, type Request, type Response } from "express";
import type { Config } from "@moonfleet/config";
import { redisKeys } from "@moonfleet/domain";
import {
  parseCandidate,
  parseExportDocument,
  poolConfigs,
  tradablePools,
  type ExportDocument,
} from "@moonfleet/exports";
import type { Redis } from "@moonfleet/queues";
import { storedMintSchema } from "@moonfleet/scoring";
import { exportBodies, exportSettingsOf, type ExportBodies } from "./export-bodies.js";
import { badRequest } from "./http-errors.js";

export interface ExportsRouteDeps {
  readonly redis: Redis;
  readonly config: () => Config;
  readonly now?: () => number;
}

const etagOf = (body: string) => `"${createHash("sha1").update(body).digest("base64url").slice(0, 22)}"`;

/** True when the client already holds this entity (If-None-Match, a list or `*`, weak or strong). */
function fresh(req: Request, etag: string): boolean {
  const header = req.headers["if-none-match"];
  if (!header) return false;
  return header.split(",").some((t) => {
    const tag = t.trim().replace(/^W\//, "");
    return tag === "*" || tag === etag;
  });
}

/** Sends a body with its ETag and the export version; 304 when the client's copy is current. */
function send(req: Request, res: Response, body: string, type: string, version: number): void {
  const etag = etagOf(body);
  res.setHeader("ETag", etag);
  res.setHeader("X-Export-Version", String(version));
  // Bots poll: let a proxy keep it but ask every time.
  res.setHeader("Cache-Control", "no-cache");
  if (fresh(req, etag)) return void res.status(304).end();
  res.type(type).send(body);
}

/** An empty document for a fleet whose exporter has not run yet: bots get an empty list, not a 404. */
const emptyDocument = (config: Config, now: number): ExportDocument => ({
  version: 0,
  changedAt: 0,
  generatedAt: now,
  members: [],
  settings: exportSettingsOf(config),
  excluded: {},
  changes: {},
});

/**
 * The bot exports, served by every api replica from the document the exporter leader stores; the
 * staleness guard applies again here, so a token never goes out staler than its bound even when
 * the leader has stopped.
 */
export function exportsRouter(deps: ExportsRouteDeps): Router {
  const r = Router();
  const now = deps.now ?? Date.now;
  const keys = redisKeys(deps.config().redisKeyPrefix);

  async function current(): Promise<{ doc: ExportDocument; bodies: ExportBodies }> {
    const at = now();
    const doc =
      parseExportDocument(await deps.redis.get(keys.exportDocument)) ?? emptyDocument(deps.config(), at);
    return { doc, bodies: exportBodies(doc, at) };
  }

  r.get("/exports/notarb/markets.json", async (req, res) => {
    const { doc, bodies } = await current();
    send(req, res, bodies.notArb, "application/json", doc.version);
  });

  r.get("/exports/smb/config.toml", async (req, res) => {
    const { doc, bodies } = await current();
    send(req, res, bodies.smb, "application/toml; charset=utf-8", doc.version);
  });

  r.get("/exports/markets.json", async (req, res) => {
    const { doc, bodies } = await current();
    send(req, res, bodies.markets, "application/json", doc.version);
  });

  r.get("/tokens/:mint/pool-configs", async (req, res) => {
    const mint = storedMintSchema.safeParse(req.params.mint);
    if (!mint.success) return badRequest(res, "invalid mint", mint.error.issues);
    const [raw, docRaw] = await Promise.all([
      deps.redis.get(keys.snapshot(mint.data)),
      deps.redis.get(keys.exportDocument),
    ]);
    const candidate = parseCandidate(raw);
    if (!candidate) return void res.status(404).json({ error: "token is not registered or not scored yet" });
    const settings = exportSettingsOf(deps.config());
    const member = parseExportDocument(docRaw)?.members.find((m) => m.mint === mint.data);
    const pools = member?.pools ?? tradablePools(candidate, settings).slice(0, settings.poolsPerToken);
    res.setHeader("Cache-Control", "no-cache");
    res.json({
      ...poolConfigs({ mint: candidate.mint, symbol: candidate.symbol, pools }),
      selected: member !== undefined,
      routable: pools.length >= 2,
    });
  });

  return r;
}
