import { createHash, timingSafeEqual } from "node:crypto";
import type { RequestHandler } from "express";

const digest = (s: string) => createHash("sha256").update(s).digest();

/**
 * Requires `Authorization: Bearer <ADMIN_TOKEN>`, compared in constant time. With no token
 * configured, every admin request is refused: there is no open default.
 */
export function requireAdmin(adminToken: string | undefined): RequestHandler {
  const expected = adminToken ? digest(adminToken) : null;
  return (req, res, next) => {
    const header = req.headers.authorization ?? "";
    const match = /^Bearer\s+(.+)$/i.exec(header);
    if (expected && match?.[1] && timingSafeEqual(digest(match[1].trim()), expected)) return next();
    res
      .status(401)
      .set("WWW-Authenticate", 'Bearer realm="moonfleet"')
      .json({
        error: expected ? "admin token required" : "admin endpoints are disabled: ADMIN_TOKEN is not set",
      });
  };
}
