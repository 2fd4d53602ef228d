import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { DELETED_HOLD_MS, LANES, laneOf, laneSchema, tokenStatusSchema, type Lane } from "@moonfleet/domain";
import { stringify } from "csv-stringify";
import express, { Router } from "express";
import { z } from "zod";
import type { Queue } from "bullmq";
import type { Redis } from "@moonfleet/queues";
import { SCORE_BANDS, mintSchema, storedMintSchema } from "@moonfleet/scoring";
import type { TokenStore } from "@moonfleet/store";
import { EVENTS, type Logger } from "@moonfleet/telemetry";
import { badRequest } from "./http-errors.js";
import { jsonNumbers } from "./json-numbers.js";
import { jobsOfMint } from "./token-jobs.js";
import { needsWalk, pageOfWalk, walkTokens, type TokenFilter } from "./token-walk.js";
import { isoOrNull, tokenDetail, tokenRow, TOKEN_ROW_COLUMNS } from "./token-views.js";
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
  q: z.string().trim().max(64).optional().describe("a symbol prefix (any case) or a mint prefix"),
  band: z.enum(SCORE_BANDS).optional().describe("the smoothed score's band"),
  format: z
    .enum(["json", "ndjson", "csv"])
    .default("json")
    .describe("ndjson and csv stream every matching token (limit and offset do not apply)"),
});

export const mintParamsSchema = z.strictObject({ mint: storedMintSchema });

export function tokensRouter(deps: {
  store: TokenStore;
  admin: RequestHandler;
  logger: Logger;
  now?: () => number;
  /** For a token's next due time and the jobs that carried it. */
  redis: Redis;
  queues: Readonly<Record<Lane, Queue>>;
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
    const { limit, offset, sort, status, lane, min_score, band, format } = q.data;
    const search = q.data.q === "" ? undefined : q.data.q;
    const filter: TokenFilter = { sort, status, lane, minScore: min_score, q: search, band };
    const at = now();
    if (format !== "json") return streamTokens(res, format, filter, at);
    const page = needsWalk(filter)
      ? await pageOfWalk(deps.store, filter, offset, limit)
      : await deps.store.list({ limit, offset, sort, status, lane, minScore: min_score });
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
        q: search ?? null,
        band: band ?? null,
        generatedAt: new Date(at).toISOString(),
      },
    });
  });

  /** The whole filtered list as NDJSON or CSV, one index page in memory at a time. */
  async function streamTokens(
    res: express.Response,
    format: "ndjson" | "csv",
    filter: TokenFilter,
    at: number,
  ): Promise<void> {
    // The response closes when it ends or when the client goes away: the walk stops either way.
    const abort = new AbortController();
    res.once("close", () => abort.abort());
    const rows = async function* () {
      for await (const item of walkTokens(deps.store, filter, abort.signal)) yield tokenRow(item, at);
    };
    const stamp = new Date(at).toISOString().replace(/[:.]/g, "-");
    res.setHeader("Content-Disposition", `attachment; filename="tokens-${stamp}.${format}"`);
    res.setHeader("Cache-Control", "no-store");
    try {
      if (format === "ndjson") {
        res.type("application/x-ndjson");
        await pipeline(
          Readable.from(
            (async function* () {
              for await (const row of rows()) yield `${JSON.stringify(row, jsonNumbers)}\n`;
            })(),
          ),
          res,
        );
      } else {
        res.type("text/csv; charset=utf-8");
        const csv = stringify({
          header: true,
          columns: [...TOKEN_ROW_COLUMNS],
          cast: { number: (v) => String(jsonNumbers("", v)) },
        });
        await pipeline(Readable.from(rows()), csv, res);
      }
    } catch (err) {
      // The client went away mid-stream: nothing to answer. A failure before the first row gets
      // the usual error answer (503 when Redis is away); after it, the stream ends short.
      if (abort.signal.aborted && res.headersSent) return;
      if (!res.headersSent) throw err;
      deps.logger.error({ err: err instanceof Error ? err.message : String(err) }, "token export failed");
      res.destroy();
    }
  }

  r.get("/tokens/:mint", async (req, res) => {
    const mint = storedMintSchema.safeParse(req.params.mint);
    if (!mint.success) return badRequest(res, "invalid mint", mint.error.issues);
    const found = await deps.store.get(mint.data);
    if (!found) return void res.status(404).json({ error: "token is not registered" });
    const at = now();
    const lane = laneOf(found.token.status);
    const due = lane ? await deps.redis.zscore(deps.store.keys.due(lane), mint.data) : null;
    res.json({
      ...tokenDetail(found.token, found.snapshot, at),
      nextDueAt: due === null ? null : isoOrNull(Number(due)),
      history: found.history.map((h) => ({ ...h, lane: laneOf(h.status), t: isoOrNull(h.t) })),
    });
  });

  r.get("/tokens/:mint/jobs", async (req, res) => {
    const mint = storedMintSchema.safeParse(req.params.mint);
    if (!mint.success) return badRequest(res, "invalid mint", mint.error.issues);
    const jobs = await jobsOfMint(
      LANES.map((lane) => deps.queues[lane]),
      mint.data,
    );
    res.json({ mint: mint.data, jobs });
  });

  return r;
}
