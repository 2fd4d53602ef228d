import type { ErrorRequestHandler, RequestHandler, Response } from "express";
import type { z } from "zod";

/** A 400 body that carries the zod issues, so a client sees every problem at once. */
export function badRequest(res: Response, error: string, issues: readonly z.core.$ZodIssue[] = []): void {
  res.status(400).json({
    error,
    issues: issues.map((i) => ({ path: i.path.map(String).join("."), message: i.message, code: i.code })),
  });
}

export const notFound: RequestHandler = (req, res) => {
  res.status(404).json({ error: `no route for ${req.method} ${req.path}` });
};

/** Last handler: body-parser errors become 400/413, anything else a 500 without a stack trace. */
export function errorHandler(log: (err: unknown) => void): ErrorRequestHandler {
  return (err: unknown, _req, res, _next) => {
    const e = err as { type?: string; status?: number; message?: string };
    if (e.type === "entity.parse.failed")
      return badRequest(res, "request body is not valid JSON (a JSON object or array is expected)");
    if (e.type === "entity.too.large")
      return void res.status(413).json({ error: "request body is too large" });
    if (e.type === "encoding.unsupported" || e.type === "charset.unsupported")
      return badRequest(res, "unsupported body encoding");
    if (typeof e.status === "number" && e.status >= 400 && e.status < 500)
      return void res.status(e.status).json({ error: e.message ?? "bad request" });
    log(err);
    if (!res.headersSent) res.status(500).json({ error: "internal error" });
  };
}
