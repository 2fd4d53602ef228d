import { DELETED_HOLD_MS, laneSchema, tokenStatusSchema } from "@moonfleet/domain";
import express, { Router } from "express";
import { z } from "zod";
import { mintSchema, storedMintSchema } from "@moonfleet/scoring";
import type { TokenStore } from "@moonfleet/store";
import { EVENTS, type Logger } from "@moonfleet/telemetry";
import { badRequest } from "./http-errors.js";
import { isoOrNull, tokenDetail, tokenRow } from "./token-views.js";
import type { RequestHandler } from "express";

const MAX_MINTS_PER_REQUEST = 1_000;
/** Parsed only after the admin check, so an anonymous body is never read. */
const jsonBody = express.json({ limit: "256kb", strict: true });

/** No token on a Solana AMM migrated before 2020: an older createdAt is a unit mistake (s for ms). */
export const EARLIEST_CREATED_AT = Date.UTC(2020, 0, 1);
/** How far ahead of this api's clock a registering client's clock may run. */
export const CREATED_AT_SKEW_MS = 5 * 60_000;

/**
 * The body of POST /tokens. createdAt is bounded by `now`: a far-future one (9e15) made every
 * read of the token and every page holding it fail in toISOString.
 */
export function registerBodySchema(now: number) {
  const latest = now + CREATED_AT_SKEW_MS;
  const newToken = z.union([
    mintSchema,
    z.strictObject({
      mint: mintSchema,
      name: z.string().max(200).optional(),
      symbol: z.string().max(50).optional(),
      createdAt: z
        .number()
        .int()
        .min(EARLIEST_CREATED_AT, { error: "createdAt must be 2020-01-01 or later (epoch ms)" })
        .max(latest, {
          error: `createdAt must not be after ${new Date(latest).toISOString()} (now plus 5 minutes of clock skew; epoch ms)`,
        })
        .optional()
        .describe("migration time, epoch ms"),
    }),
  ]);
  return z.union([
    z.strictObject({ mints: z.array(newToken).min(1).max(MAX_MINTS_PER_REQUEST) }),
    z.strictObject({ mint: mintSchema }),
  ]);
}

// Query values are strings: an empty or non-numeric one is an error, never a silent 0.
const numeric = z
  .string()
  .regex(/^-?\d+(\.\d+)?$/, { error: "expected a number" })
  .transform(Number);
const int = (min: number, max: number, dflt: number) =>
  numeric.pipe(z.number().int().min(min).max(max)).default(dflt);

export const listQuerySchema = z.strictObject({
  limit: int(1, 100, 50),
  offset: int(0, 1_000_000, 0),
  sort: z.enum(["score_desc", "score_asc", "updated_desc"]).default("score_desc"),
  status: tokenStatusSchema.optional(),
  lane: laneSchema.optional(),
  min_score: numeric.pipe(z.number().min(-100).max(100)).optional(),
});

export function tokensRouter(deps: {
  store: TokenStore;
  admin: RequestHandler;
  logger: Logger;
  now?: () => number;
}) {
  const now = deps.now ?? Date.now;
  const r = Router();

  r.post("/tokens", deps.admin, jsonBody, async (req, res) => {
    const parsed = registerBodySchema(now()).safeParse(req.body);
    if (!parsed.success)
      return badRequest(res, "invalid tokens: nothing was registered", parsed.error.issues);
    const items = "mint" in parsed.data ? [parsed.data.mint] : parsed.data.mints;
    const seen = new Set<string>();
    const tokens = items
      .map((t) => (typeof t === "string" ? { mint: t } : t))
      .filter((t) => !seen.has(t.mint) && seen.add(t.mint));
    const result = await deps.store.register(tokens, now());
    deps.logger.info(
      { event: EVENTS.tokensRegistered, added: result.added.length, existing: result.existing.length },
      "tokens registered",
    );
    res.status(result.added.length > 0 ? 201 : 200).json({ added: result.added, existing: result.existing });
  });

  r.delete("/tokens/:mint", deps.admin, async (req, res) => {
    const mint = storedMintSchema.safeParse(req.params.mint);
    if (!mint.success) return badRequest(res, "invalid mint", mint.error.issues);
    const removed = await deps.store.remove(mint.data, { holdMs: DELETED_HOLD_MS });
    if (!removed) return void res.status(404).json({ error: "token is not registered" });
    res.status(204).end();
  });

  r.get("/tokens", async (req, res) => {
    const q = listQuerySchema.safeParse(req.query);
    if (!q.success) return badRequest(res, "invalid query", q.error.issues);
    const { limit, offset, sort, status, lane, min_score } = q.data;
    const at = now();
    const page = await deps.store.list({ limit, offset, sort, status, lane, minScore: min_score });
    res.json({
      total: page.total,
      items: page.items.map((item) => tokenRow(item, at)),
      meta: {
        limit,
        offset,
        sort,
        status: status ?? null,
        lane: lane ?? null,
        minScore: min_score ?? null,
        generatedAt: new Date(at).toISOString(),
      },
    });
  });

  r.get("/tokens/:mint", async (req, res) => {
    const mint = storedMintSchema.safeParse(req.params.mint);
    if (!mint.success) return badRequest(res, "invalid mint", mint.error.issues);
    const found = await deps.store.get(mint.data);
    if (!found) return void res.status(404).json({ error: "token is not registered" });
    const at = now();
    res.json({
      ...tokenDetail(found.token, found.snapshot, at),
      history: found.history.map((h) => ({ ...h, t: isoOrNull(h.t) })),
    });
  });

  return r;
}
