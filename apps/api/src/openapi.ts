import { optimizationPatchSchema } from "@moonfleet/config";
import { z } from "zod";
import { decisionsQuerySchema } from "./controller-routes.js";
import { eventsQuerySchema } from "./events-routes.js";
import { historyQuerySchema } from "./history-routes.js";
import { listQuerySchema, mintParamsSchema, registerBodySchema } from "./tokens-routes.js";

type Method = "get" | "post" | "patch" | "delete";

/** One documented route: the zod schemas it validates with, and what it answers. */
export interface RouteDoc {
  readonly method: Method;
  /** Express's form: `/tokens/:mint`. */
  readonly path: string;
  readonly summary: string;
  readonly tag: "tokens" | "fleet" | "health" | "config" | "exports" | "pages" | "admin";
  readonly query?: z.ZodObject;
  readonly params?: z.ZodObject;
  readonly body?: z.ZodType;
  /** Bearer ADMIN_TOKEN (or Basic for the board's pages). */
  readonly auth?: "bearer" | "basic";
  /** Media types of the success answer; application/json by default. */
  readonly produces?: readonly string[];
  readonly status?: number;
}

const html = ["text/html"] as const;

/** Every route of the api. A test walks the app's router and fails on one missing here. */
export const ROUTES: readonly RouteDoc[] = [
  { method: "get", path: "/", summary: "The fleet dashboard page", tag: "pages", produces: html },
  {
    method: "get",
    path: "/ui/tokens",
    summary: "The tokens page (search, filters, paging)",
    tag: "pages",
    produces: html,
  },
  {
    method: "get",
    path: "/ui/tokens/:mint",
    summary: "One token's page",
    tag: "pages",
    params: mintParamsSchema,
    produces: html,
  },
  { method: "get", path: "/docs", summary: "This document, rendered", tag: "pages", produces: html },
  { method: "get", path: "/openapi.json", summary: "This document (OpenAPI 3.1)", tag: "pages" },
  {
    method: "get",
    path: "/tokens",
    summary: "A page of tokens, or with format=ndjson|csv every matching token, streamed",
    tag: "tokens",
    query: listQuerySchema,
    produces: ["application/json", "application/x-ndjson", "text/csv"],
  },
  {
    method: "post",
    path: "/tokens",
    summary: "Register one or many mints (new ones start monitoring, due now)",
    tag: "tokens",
    body: registerBodySchema(Date.now()),
    auth: "bearer",
    status: 201,
  },
  {
    method: "get",
    path: "/tokens/:mint",
    summary: "One token: snapshot, score breakdown, history, next due time",
    tag: "tokens",
    params: mintParamsSchema,
  },
  {
    method: "delete",
    path: "/tokens/:mint",
    summary: "Remove a token and everything stored about it",
    tag: "tokens",
    params: mintParamsSchema,
    auth: "bearer",
    status: 204,
  },
  {
    method: "get",
    path: "/tokens/:mint/jobs",
    summary: "The kept queue jobs whose batch carries this mint, newest first",
    tag: "tokens",
    params: mintParamsSchema,
  },
  {
    method: "get",
    path: "/tokens/:mint/pool-configs",
    summary: "The token's SMB and NotArb blocks",
    tag: "exports",
    params: mintParamsSchema,
  },
  {
    method: "get",
    path: "/exports/notarb/markets.json",
    summary: "NotArb markets: one array of pool addresses per token",
    tag: "exports",
  },
  {
    method: "get",
    path: "/exports/smb/config.toml",
    summary: "SolanaMevBot mint_config_list",
    tag: "exports",
    produces: ["application/toml"],
  },
  {
    method: "get",
    path: "/exports/markets.json",
    summary: "The exported tokens and pools, with why others are left out",
    tag: "exports",
  },
  {
    method: "get",
    path: "/events",
    summary: "Server-sent events: export changes, activations, ...",
    tag: "exports",
    query: eventsQuerySchema,
    produces: ["text/event-stream"],
  },
  {
    method: "get",
    path: "/fleet/history",
    summary: "The fleet's figures every 10 s over a range (kept 24 h in Redis)",
    tag: "fleet",
    query: historyQuerySchema,
  },
  { method: "get", path: "/livez", summary: "The process answers", tag: "health" },
  { method: "get", path: "/readyz", summary: "Redis answers and takes writes; not stopping", tag: "health" },
  {
    method: "get",
    path: "/health",
    summary: "Overall health",
    tag: "health",
    produces: ["application/health+json"],
  },
  {
    method: "get",
    path: "/health/scheduler",
    summary: "Per lane: tokens/s, staleness, jobs, alerts; upstream; workers",
    tag: "health",
  },
  {
    method: "get",
    path: "/controller/decisions",
    summary: "Each lane's controller decisions with the readings and signals they came from, newest first",
    tag: "fleet",
    query: decisionsQuerySchema,
  },
  { method: "get", path: "/health/system", summary: "CPU, memory and event loop per process", tag: "health" },
  { method: "get", path: "/metrics", summary: "Prometheus metrics", tag: "health", produces: ["text/plain"] },
  {
    method: "get",
    path: "/config",
    summary: "Every effective setting and where it came from",
    tag: "config",
  },
  {
    method: "patch",
    path: "/config",
    summary: "Change runtime settings for the whole fleet",
    tag: "config",
    body: optimizationPatchSchema,
    auth: "bearer",
  },
  {
    method: "delete",
    path: "/config/overrides",
    summary: "Clear every runtime override",
    tag: "config",
    auth: "bearer",
  },
  {
    method: "get",
    path: "/admin/budget",
    summary: "The fleet's upstream budget",
    tag: "admin",
    auth: "bearer",
  },
  {
    method: "delete",
    path: "/admin/budget/pause",
    summary: "Clear a 429 pause and its slower rate",
    tag: "admin",
    auth: "bearer",
  },
  {
    method: "get",
    path: "/admin/queues",
    summary: "Bull Board (HTTP Basic: ADMIN_USER / ADMIN_TOKEN)",
    tag: "admin",
    auth: "basic",
    produces: html,
  },
];

/** `/tokens/:mint` -> `/tokens/{mint}`. */
export const openApiPath = (path: string): string => path.replace(/:([A-Za-z0-9_]+)/g, "{$1}");

type JsonSchema = Record<string, unknown> & { properties?: Record<string, unknown>; required?: string[] };

/** A request schema as JSON Schema 2020-12, as a client sends it (before transforms). */
const inputSchema = (schema: z.ZodType): JsonSchema => {
  const json = z.toJSONSchema(schema, {
    io: "input",
    target: "draft-2020-12",
    unrepresentable: "any",
  }) as JsonSchema;
  delete json.$schema;
  return json;
};

function parameters(schema: z.ZodObject | undefined, where: "query" | "path") {
  if (!schema) return [];
  const json = inputSchema(schema);
  const required = new Set(json.required ?? []);
  return Object.entries(json.properties ?? {}).map(([name, s]) => {
    const { description, ...rest } = s as { description?: string };
    return {
      name,
      in: where,
      required: where === "path" || required.has(name),
      ...(description ? { description } : {}),
      schema: rest,
    };
  });
}

/** The OpenAPI 3.1 document of `routes`, built from the zod schemas the routes validate with. */
export function openApiDocument(routes: readonly RouteDoc[] = ROUTES, version = "0.1.0") {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const status = String(route.status ?? 200);
    const media = route.produces ?? ["application/json"];
    const params = [...parameters(route.params, "path"), ...parameters(route.query, "query")];
    (paths[openApiPath(route.path)] ??= {})[route.method] = {
      summary: route.summary,
      tags: [route.tag],
      operationId: `${route.method}${openApiPath(route.path).replace(/[^A-Za-z0-9]+(.)?/g, (_m, c?: string) => (c ? c.toUpperCase() : ""))}`,
      ...(params.length ? { parameters: params } : {}),
      ...(route.body
        ? {
            requestBody: {
              required: true,
              content: { "application/json": { schema: inputSchema(route.body) } },
            },
          }
        : {}),
      ...(route.auth ? { security: [{ [route.auth === "bearer" ? "adminToken" : "adminLogin"]: [] }] } : {}),
      responses: {
        [status]: {
          description: "OK",
          ...(status === "204" ? {} : { content: Object.fromEntries(media.map((m) => [m, {}])) }),
        },
        ...(params.length || route.body ? { "400": { description: "Invalid input: the zod issues" } } : {}),
        ...(route.auth ? { "401": { description: "Admin credentials required" } } : {}),
      },
    };
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "moonfleet api",
      version,
      description: "Token scores, the fleet's health, runtime config and the bots' exports.",
    },
    tags: [...new Set(routes.map((r) => r.tag))].map((name) => ({ name })),
    components: {
      securitySchemes: {
        adminToken: { type: "http", scheme: "bearer", description: "ADMIN_TOKEN" },
        adminLogin: { type: "http", scheme: "basic", description: "ADMIN_USER and ADMIN_TOKEN" },
      },
    },
    paths,
  };
}
