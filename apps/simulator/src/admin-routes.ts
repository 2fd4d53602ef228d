import type { PairInput } from "@moonfleet/scoring";
import express from "express";
import type { Router } from "express";
import { z } from "zod";
import { demoMints } from "./demo-mints.js";
import { marketOverrideSchema } from "./market-book.js";
import type { MarketBook, MarketOverride } from "./market-book.js";
import { SettingsValidationError } from "./settings.js";
import type { SimulatorSettings } from "./settings.js";
import type { Truth } from "./server.js";
import type { SimulatorStats } from "./stats.js";

export interface AdminContext {
  getSettings(): SimulatorSettings;
  updateSettings(patch: unknown): SimulatorSettings;
  book: MarketBook;
  stats: { snapshot(): SimulatorStats; reset(): void };
  marketNow(): number;
  truth(mints: readonly string[], at?: number): Truth;
  dropConnections(): number;
}

/** Mints per truth request: enough for a benchmark's fleet in a few calls, small enough to answer fast. */
export const MAX_TRUTH_MINTS = 10_000;

const truthBody = z.strictObject({
  mints: z.array(z.string().min(1).max(100)).min(1).max(MAX_TRUTH_MINTS),
  /** Market time, epoch ms; now when left out. */
  at: z.number().int().min(0).optional(),
});

const demoMintsQuery = z.object({
  count: z.coerce.number().int().min(1).max(100_000).default(500),
  seed: z.string().min(1).max(200).default("moonfleet"),
});

/** Control routes for tests and operators: settings, markets, demo mints and counters. */
export function adminRouter(ctx: AdminContext): Router {
  const router = express.Router();
  const json = express.json({ limit: "5mb" });

  router.get("/admin/settings", (_req, res) => {
    res.json(ctx.getSettings());
  });

  router.patch("/admin/settings", json, (req, res) => {
    try {
      res.json(ctx.updateSettings(req.body));
    } catch (error) {
      if (!(error instanceof SettingsValidationError)) throw error;
      res.status(400).json({ error: "invalid settings", issues: error.issues });
    }
  });

  router.get("/admin/demo-mints", (req, res) => {
    const parsed = demoMintsQuery.safeParse(req.query);
    if (!parsed.success) {
      res.status(400).json({ error: "invalid query", issues: parsed.error.issues });
      return;
    }
    res.json({ mints: demoMints(parsed.data.count, parsed.data.seed) });
  });

  router.get("/admin/markets/:mint", (req, res) => {
    const now = ctx.marketNow();
    res.json({ marketTime: now, ...ctx.book.view(req.params.mint, now) });
  });

  router.put("/admin/markets/:mint", json, (req, res) => {
    const parsed = marketOverrideSchema.safeParse(req.body);
    if (!parsed.success) {
      res.status(400).json({ error: "invalid override", issues: parsed.error.issues });
      return;
    }
    // Explicit pairs are served exactly as given, so they are not parsed as Pair here.
    ctx.book.set(req.params.mint, parsed.data as MarketOverride | { pairs: PairInput[] });
    const now = ctx.marketNow();
    res.json({ marketTime: now, ...ctx.book.view(req.params.mint, now) });
  });

  router.delete("/admin/markets/:mint", (req, res) => {
    res.json({ deleted: ctx.book.delete(req.params.mint) });
  });

  // The benchmark's truth: what the data endpoints would answer for each mint at `at`, without
  // latency, faults, omissions or rate limits.
  router.post("/admin/truth", json, (req, res) => {
    const parsed = truthBody.safeParse(req.body);
    if (!parsed.success) {
      res.status(400).json({ error: "invalid truth request", issues: parsed.error.issues });
      return;
    }
    res.json(ctx.truth(parsed.data.mints, parsed.data.at));
  });

  router.post("/admin/stream/drop", (_req, res) => {
    res.json({ dropped: ctx.dropConnections() });
  });

  router.get("/admin/stats", (_req, res) => {
    res.json(ctx.stats.snapshot());
  });

  router.post("/admin/stats/reset", (_req, res) => {
    ctx.stats.reset();
    res.json(ctx.stats.snapshot());
  });

  return router;
}
