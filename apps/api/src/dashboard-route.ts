import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import express, { Router } from "express";

const here = dirname(fileURLToPath(import.meta.url));
/** The page's files (apps/api/static), next to dist/ and src/ alike. */
export const STATIC_DIR = join(here, "..", "static");
/** uPlot from node_modules: the page loads nothing from outside this host. */
const UPLOT_DIR = join(dirname(createRequire(import.meta.url).resolve("uplot")), "..", "dist");

/** The fleet dashboard at `/`, the tokens pages, their scripts under `/dashboard/`, the chart library. */
export function dashboardRouter() {
  const r = Router();
  r.get("/", (_req, res) => res.sendFile(join(STATIC_DIR, "index.html")));
  r.get("/ui/tokens", (_req, res) => res.sendFile(join(STATIC_DIR, "tokens.html")));
  // The page validates the mint itself (it asks /tokens/:mint, which answers 400 or 404).
  r.get("/ui/tokens/:mint", (_req, res) => res.sendFile(join(STATIC_DIR, "token.html")));
  r.use("/dashboard", express.static(STATIC_DIR, { index: false, maxAge: "1m" }));
  r.use("/vendor/uplot", express.static(UPLOT_DIR, { index: false, maxAge: "1h" }));
  return r;
}
