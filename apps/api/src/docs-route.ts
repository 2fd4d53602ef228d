import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import express, { Router } from "express";
import { STATIC_DIR } from "./dashboard-route.js";
import { openApiDocument } from "./openapi.js";

/** swagger-ui-dist from node_modules: the docs page loads nothing from outside this host. */
const SWAGGER_UI_DIR = dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"));

/** `/openapi.json` (built once from the routes' zod schemas) and `/docs`, which renders it. */
export function docsRouter() {
  const r = Router();
  const doc = openApiDocument();
  r.get("/openapi.json", (_req, res) => void res.json(doc));
  r.get("/docs", (_req, res) => res.sendFile(join(STATIC_DIR, "docs.html")));
  r.use("/vendor/swagger-ui", express.static(SWAGGER_UI_DIR, { index: false, maxAge: "1h" }));
  return r;
}
