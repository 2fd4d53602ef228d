import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import express, { Router } from "express";

const here = dirname(fileURLToPath(import.meta.url));
/** The page's files (apps/api/static), next to dist/ and src/ alike. */
export const STATIC_DIR = join(here, "..", "static");
/** uPlot from node_modules: the page loads nothing from outside this host. */
const UPLOT_DIR = join(dirname(createRequire(import.meta.url).resolve("uplot")), "..", "dist");

/** The fleet dashboard at `/`, its scripts under `/dashboard/`, and the chart library. */
export function dashboardRouter() {
  const r = Router();
  r.get("/", (_req, res) => res.sendFile(join(STATIC_DIR, "index.html")));
  r.use("/dashboard", express.static(STATIC_DIR, { index: false, maxAge: "1m" }));
  r.use("/vendor/uplot", express.static(UPLOT_DIR, { index: false, maxAge: "1h" }));
  return r;
}
